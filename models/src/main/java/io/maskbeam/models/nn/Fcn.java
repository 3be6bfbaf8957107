package io.maskbeam.models.nn;

import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * FCN with a dilated ResNet backbone, as in SageMaker's default algorithm (GluonCV's FCN): a 3x3 conv-BN-ReLU head
 * of a quarter of the backbone's channels, a 1x1 classifier, and bilinear upsampling to the input size.
 */
public record Fcn(int numClasses, ResNet backbone) implements SegmentationNetwork {
  @Override
  public int stride() {
    return 16;
  }

  @Override
  public String describe() {
    return "fcn(resnet-" + backbone.layers() + ", output stride " + backbone.outputStride() + ")";
  }

  @Override
  public Operand<TFloat32> logits(Net net, Operand<TFloat32> images, boolean training) {
    ResNet.Features f = backbone.build(net, images, training);
    int inter = ResNet.HIGH_CHANNELS / 4;
    Operand<TFloat32> h = net.convBnRelu("fcn_head", f.high(), 3, ResNet.HIGH_CHANNELS, inter, 1, training);
    Operand<TFloat32> logits = net.conv("fcn_cls", h, 1, inter, numClasses, 1, true);
    return net.resizeLike(logits, images);
  }
}
