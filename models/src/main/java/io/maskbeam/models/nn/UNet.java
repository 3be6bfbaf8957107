package io.maskbeam.models.nn;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * U-Net (Ronneberger et al. 2015) with batch norm: {@code depth} 2x poolings, {@code baseWidth} channels at full
 * resolution doubling per level, two 3x3 conv-BN-ReLU per block, skip connections by concatenation, and 2x
 * upsampling by transposed convolution or bilinear resize + 3x3 conv.
 */
public record UNet(int numClasses, int depth, int baseWidth, boolean transposedUpsampling)
    implements SegmentationNetwork {

  public UNet {
    if (depth < 1 || depth > 6) {
      throw new IllegalArgumentException("U-Net depth must be in 1..6, got " + depth);
    }
    if (baseWidth < 1) {
      throw new IllegalArgumentException("U-Net base width must be positive");
    }
    if (numClasses < 2) {
      throw new IllegalArgumentException("segmentation needs at least 2 classes");
    }
  }

  @Override
  public int stride() {
    return 1 << depth;
  }

  @Override
  public String describe() {
    return "unet(depth=" + depth + ", width=" + baseWidth + ", " + (transposedUpsampling ? "transposed" : "bilinear")
        + " upsampling)";
  }

  private Operand<TFloat32> block(Net net, String name, Operand<TFloat32> x, int cin, int cout, boolean training) {
    Operand<TFloat32> h = net.convBnRelu(name + "_c1", x, 3, cin, cout, 1, training);
    return net.convBnRelu(name + "_c2", h, 3, cout, cout, 1, training);
  }

  @Override
  public Operand<TFloat32> logits(Net net, Operand<TFloat32> images, boolean training) {
    List<Operand<TFloat32>> skips = new ArrayList<>();
    Operand<TFloat32> h = images;
    int c = net.inputChannels();
    for (int level = 0; level < depth; level++) {
      int w = baseWidth << level;
      h = block(net, "enc" + level, h, c, w, training);
      skips.add(h);
      h = net.maxPool2(h);
      c = w;
    }
    int bottom = baseWidth << depth;
    h = block(net, "mid", h, c, bottom, training);
    c = bottom;
    for (int level = depth - 1; level >= 0; level--) {
      int w = baseWidth << level;
      Operand<TFloat32> up = transposedUpsampling
          ? net.upConv2("up" + level, h, c, w)
          : net.convBnRelu("up" + level, net.upsample2(h), 3, c, w, 1, training);
      h = block(net, "dec" + level, net.concat(up, skips.get(level)), 2 * w, w, training);
      c = w;
    }
    return net.conv("head", h, 1, c, numClasses, 1, true);
  }
}
