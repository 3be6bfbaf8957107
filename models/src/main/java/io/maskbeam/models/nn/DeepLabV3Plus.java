package io.maskbeam.models.nn;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * DeepLab v3+ (Chen et al. 2018): a dilated ResNet, atrous spatial pyramid pooling (a 1x1 branch, three 3x3 atrous
 * branches at rates 6/12/18 for output stride 16 or 12/24/36 for 8, and image-level pooling), and a decoder that
 * joins the ASPP output with stride-4 features before upsampling to the input size.
 */
public record DeepLabV3Plus(int numClasses, ResNet backbone) implements SegmentationNetwork {
  static final int ASPP_CHANNELS = 256;

  @Override
  public int stride() {
    // The network resizes to its input, so any size works; padding to 16 keeps the strided stages exact.
    return 16;
  }

  @Override
  public String describe() {
    return "deeplabv3plus(resnet-" + backbone.layers() + ", output stride " + backbone.outputStride() + ")";
  }

  @Override
  public Operand<TFloat32> logits(Net net, Operand<TFloat32> images, boolean training) {
    ResNet.Features f = backbone.build(net, images, training);
    int base = backbone.outputStride() == 16 ? 6 : 12;
    Operand<TFloat32> x = f.high();
    int c = ResNet.HIGH_CHANNELS;
    List<Operand<TFloat32>> branches = new ArrayList<>();
    branches.add(net.convBnRelu("aspp_1x1", x, 1, c, ASPP_CHANNELS, 1, training));
    for (int i = 1; i <= 3; i++) {
      branches.add(net.atrousConvBnRelu("aspp_r" + i, x, 3, c, ASPP_CHANNELS, base * i, training));
    }
    Operand<TFloat32> pooled = net.convBnRelu("aspp_pool", net.globalAveragePool(x), 1, c, ASPP_CHANNELS, 1, training);
    branches.add(net.resizeLike(pooled, x));
    Operand<TFloat32> aspp = net.tf().concat(branches, net.tf().constant(3));
    aspp = net.convBnRelu("aspp_proj", aspp, 1, 5 * ASPP_CHANNELS, ASPP_CHANNELS, 1, training);

    Operand<TFloat32> low = net.convBnRelu("dec_low", f.low(), 1, ResNet.LOW_CHANNELS, 48, 1, training);
    Operand<TFloat32> h = net.concat(net.resizeLike(aspp, low), low);
    h = net.convBnRelu("dec_c1", h, 3, ASPP_CHANNELS + 48, ASPP_CHANNELS, 1, training);
    h = net.convBnRelu("dec_c2", h, 3, ASPP_CHANNELS, ASPP_CHANNELS, 1, training);
    Operand<TFloat32> logits = net.conv("dec_head", h, 1, ASPP_CHANNELS, numClasses, 1, true);
    return net.resizeLike(logits, images);
  }
}
