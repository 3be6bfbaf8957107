package io.maskbeam.models.nn;

import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * ResNet-50/101 (He et al. 2016, v1 with bottleneck strides on the 3x3 convolution as in torchvision and GluonCV)
 * as a segmentation backbone: output stride 16 or 8, the later stages dilated instead of strided (the dilation by
 * space-to-batch, see {@link Net#atrousConv}).
 */
public record ResNet(int layers, int outputStride) {
  public ResNet {
    if (layers != 50 && layers != 101) {
      throw new IllegalArgumentException("ResNet backbone must be resnet-50 or resnet-101, got resnet-" + layers);
    }
    if (outputStride != 8 && outputStride != 16) {
      throw new IllegalArgumentException("output stride must be 8 or 16, got " + outputStride);
    }
  }

  public static ResNet parse(String backbone, int outputStride) {
    return switch (backbone.trim().toLowerCase(java.util.Locale.ROOT).replace("_", "-")) {
      case "resnet-50", "resnet50" -> new ResNet(50, outputStride);
      case "resnet-101", "resnet101" -> new ResNet(101, outputStride);
      default -> throw new IllegalArgumentException("--backbone must be resnet-50 or resnet-101, got '" + backbone + "'");
    };
  }

  int[] blocks() {
    return layers == 50 ? new int[] {3, 4, 6, 3} : new int[] {3, 4, 23, 3};
  }

  /** Backbone outputs: stride-4 features (256 channels) for decoders, and the last stage (2048 channels). */
  public record Features(Operand<TFloat32> low, Operand<TFloat32> high) {}

  public static final int LOW_CHANNELS = 256;
  public static final int HIGH_CHANNELS = 2048;

  public Features build(Net net, Operand<TFloat32> images, boolean training) {
    Operand<TFloat32> h = net.convBnRelu("conv1", images, 7, net.inputChannels(), 64, 2, training);
    h = net.maxPool3s2(h);
    int cin = 64;
    int[] widths = {64, 128, 256, 512};
    int[] blocks = blocks();
    int stride = 4;
    int dilation = 1;
    Operand<TFloat32> low = null;
    for (int stage = 0; stage < 4; stage++) {
      int s = stage == 0 ? 1 : 2;
      int d = dilation;
      if (s == 2 && stride >= outputStride) {
        // Past the output stride: keep the resolution and widen the receptive field instead.
        d = dilation * 2;
        s = 1;
      } else if (s == 2) {
        stride *= 2;
      }
      for (int b = 0; b < blocks[stage]; b++) {
        String name = "res" + (stage + 2) + "_" + (char) ('a' + Math.min(b, 25)) + (b > 25 ? b : "");
        h = bottleneck(net, name, h, cin, widths[stage], b == 0 ? s : 1, b == 0 ? dilation : d, training);
        cin = widths[stage] * 4;
      }
      dilation = d;
      if (stage == 0) {
        low = h;
      }
    }
    return new Features(low, h);
  }

  private static Operand<TFloat32> bottleneck(Net net, String name, Operand<TFloat32> x, int cin, int width, int stride,
      int dilation, boolean training) {
    int cout = width * 4;
    Operand<TFloat32> shortcut = x;
    if (stride != 1 || cin != cout) {
      shortcut = net.batchNorm(name + "_proj_bn", net.conv(name + "_proj", x, 1, cin, cout, stride, false), cout,
          training);
    }
    Operand<TFloat32> h = net.convBnRelu(name + "_c1", x, 1, cin, width, 1, training);
    h = stride == 1
        ? net.atrousConvBnRelu(name + "_c2", h, 3, width, width, dilation, training)
        : net.convBnRelu(name + "_c2", h, 3, width, width, stride, training);
    h = net.batchNorm(name + "_c3_bn", net.conv(name + "_c3", h, 1, width, cout, 1, false), cout, training);
    return net.tf().nn.relu(net.tf().math.add(h, shortcut));
  }
}
