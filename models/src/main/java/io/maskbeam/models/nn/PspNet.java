package io.maskbeam.models.nn;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * PSPNet (Zhao et al. 2017) on a dilated ResNet: a pyramid pooling module (adaptive average pooling to 1, 2, 3 and
 * 6 bins, a 1x1 conv-BN-ReLU each, upsampled back), concatenated with the features, a 3x3 conv-BN-ReLU, a 1x1
 * classifier and bilinear upsampling to the input size.
 */
public record PspNet(int numClasses, ResNet backbone) implements SegmentationNetwork {
  static final int[] BINS = {1, 2, 3, 6};

  @Override
  public int stride() {
    return 16;
  }

  @Override
  public String describe() {
    return "psp(resnet-" + backbone.layers() + ", output stride " + backbone.outputStride() + ")";
  }

  @Override
  public Operand<TFloat32> logits(Net net, Operand<TFloat32> images, boolean training) {
    ResNet.Features f = backbone.build(net, images, training);
    Operand<TFloat32> x = f.high();
    int c = ResNet.HIGH_CHANNELS;
    int branch = c / BINS.length;
    List<Operand<TFloat32>> parts = new ArrayList<>();
    parts.add(x);
    for (int bins : BINS) {
      Operand<TFloat32> pooled = net.convBnRelu("psp_b" + bins, net.adaptiveAvgPool(x, bins), 1, c, branch, 1, training);
      parts.add(net.resizeLike(pooled, x));
    }
    Operand<TFloat32> h = net.tf().concat(parts, net.tf().constant(3));
    h = net.convBnRelu("psp_fuse", h, 3, c + branch * BINS.length, 512, 1, training);
    Operand<TFloat32> logits = net.conv("psp_cls", h, 1, 512, numClasses, 1, true);
    return net.resizeLike(logits, images);
  }
}
