package io.maskbeam.image;

/**
 * Resizing for training data. Images use a separable triangle (bilinear) filter whose support widens with the
 * reduction factor, so downscaling averages every source pixel instead of aliasing (as PIL's and TensorFlow's
 * antialiased bilinear resize do). Masks use nearest neighbour on pixel centres: a class id is never blended.
 */
public final class Resampler {
  private Resampler() {}

  /** Contributions of source pixels to each destination pixel along one axis. */
  private record Kernel(int[] start, int[] count, float[] weights, int maxTaps) {}

  private static Kernel kernel(int src, int dst) {
    double scale = (double) src / dst;
    double support = Math.max(1.0, scale);
    int maxTaps = (int) Math.ceil(support) * 2 + 1;
    int[] start = new int[dst];
    int[] count = new int[dst];
    float[] weights = new float[dst * maxTaps];
    for (int i = 0; i < dst; i++) {
      double center = (i + 0.5) * scale - 0.5;
      int lo = Math.max(0, (int) Math.floor(center - support + 1e-9) );
      int hi = Math.min(src - 1, (int) Math.ceil(center + support - 1e-9));
      double sum = 0;
      int n = 0;
      for (int s = lo; s <= hi && n < maxTaps; s++) {
        double w = 1.0 - Math.abs(s - center) / support;
        if (w > 0) {
          if (n == 0) {
            start[i] = s;
          }
          weights[i * maxTaps + n] = (float) w;
          sum += w;
          n++;
        } else if (n > 0) {
          break;
        }
      }
      if (n == 0) {
        // Destination centre outside every source pixel's reach (extreme upscale at the border): copy the nearest.
        start[i] = Math.min(src - 1, Math.max(0, (int) Math.round(center)));
        weights[i * maxTaps] = 1f;
        n = 1;
        sum = 1;
      }
      for (int k = 0; k < n; k++) {
        weights[i * maxTaps + k] /= (float) sum;
      }
      count[i] = n;
    }
    return new Kernel(start, count, weights, maxTaps);
  }

  /** Whether a source already has the target size, refusing a target that is not positive. */
  private static boolean sameSize(int sourceWidth, int sourceHeight, int width, int height) {
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException("target size must be positive, got " + width + "x" + height);
    }
    return sourceWidth == width && sourceHeight == height;
  }

  /** Smooth resize of an RGB image to {@code width x height}. */
  public static RgbImage resize(RgbImage src, int width, int height) {
    if (sameSize(src.width(), src.height(), width, height)) {
      return src;
    }
    int sw = src.width();
    int sh = src.height();
    byte[] in = src.pixels();
    Kernel kx = kernel(sw, width);
    Kernel ky = kernel(sh, height);
    float[] tmp = new float[sh * width * 3];
    for (int y = 0; y < sh; y++) {
      int row = y * sw * 3;
      for (int x = 0; x < width; x++) {
        float r = 0;
        float g = 0;
        float b = 0;
        int base = x * kx.maxTaps;
        int s = kx.start[x];
        for (int k = 0; k < kx.count[x]; k++) {
          float w = kx.weights[base + k];
          int p = row + (s + k) * 3;
          r += w * (in[p] & 0xFF);
          g += w * (in[p + 1] & 0xFF);
          b += w * (in[p + 2] & 0xFF);
        }
        int o = (y * width + x) * 3;
        tmp[o] = r;
        tmp[o + 1] = g;
        tmp[o + 2] = b;
      }
    }
    byte[] out = new byte[width * height * 3];
    for (int y = 0; y < height; y++) {
      int base = y * ky.maxTaps;
      int s = ky.start[y];
      int n = ky.count[y];
      for (int x = 0; x < width; x++) {
        float r = 0;
        float g = 0;
        float b = 0;
        for (int k = 0; k < n; k++) {
          float w = ky.weights[base + k];
          int p = ((s + k) * width + x) * 3;
          r += w * tmp[p];
          g += w * tmp[p + 1];
          b += w * tmp[p + 2];
        }
        int o = (y * width + x) * 3;
        out[o] = clamp(r);
        out[o + 1] = clamp(g);
        out[o + 2] = clamp(b);
      }
    }
    return new RgbImage(width, height, out);
  }

  /** {@link #resize(RgbImage, int, int)} or {@link #resize(BandImage, int, int)}, as the image is. */
  public static Pixels resize(Pixels src, int width, int height) {
    return src instanceof BandImage b ? resize(b, width, height) : resize((RgbImage) src, width, height);
  }

  /**
   * The same filter over N bands of raw samples (no clamping: the samples keep their scale). NaN (no data) spreads to
   * the output pixels it touches, so a blended value never pretends to be data.
   */
  public static BandImage resize(BandImage src, int width, int height) {
    if (sameSize(src.width(), src.height(), width, height)) {
      return src;
    }
    int sw = src.width();
    int sh = src.height();
    int c = src.channels();
    float[] in = src.samples();
    Kernel kx = kernel(sw, width);
    Kernel ky = kernel(sh, height);
    float[] tmp = new float[sh * width * c];
    for (int y = 0; y < sh; y++) {
      for (int x = 0; x < width; x++) {
        int o = (y * width + x) * c;
        for (int k = 0; k < kx.count[x]; k++) {
          float w = kx.weights[x * kx.maxTaps + k];
          int p = (y * sw + kx.start[x] + k) * c;
          for (int b = 0; b < c; b++) {
            tmp[o + b] += w * in[p + b];
          }
        }
      }
    }
    float[] out = new float[width * height * c];
    for (int y = 0; y < height; y++) {
      for (int k = 0; k < ky.count[y]; k++) {
        float w = ky.weights[y * ky.maxTaps + k];
        int row = (ky.start[y] + k) * width * c;
        int o = y * width * c;
        for (int i = 0; i < width * c; i++) {
          out[o + i] += w * tmp[row + i];
        }
      }
    }
    return new BandImage(width, height, c, out);
  }

  private static byte clamp(float v) {
    int i = Math.round(v);
    return (byte) (i < 0 ? 0 : Math.min(255, i));
  }

  /** Nearest-neighbour resize of a label image: every output value is a value of the input. */
  public static LabelImage resizeNearest(LabelImage src, int width, int height) {
    if (sameSize(src.width(), src.height(), width, height)) {
      return src;
    }
    int[] xs = nearestIndex(src.width(), width);
    int[] ys = nearestIndex(src.height(), height);
    byte[] in = src.labels();
    byte[] out = new byte[width * height];
    for (int y = 0; y < height; y++) {
      int row = ys[y] * src.width();
      for (int x = 0; x < width; x++) {
        out[y * width + x] = in[row + xs[x]];
      }
    }
    return new LabelImage(width, height, out);
  }

  private static int[] nearestIndex(int src, int dst) {
    int[] idx = new int[dst];
    double scale = (double) src / dst;
    for (int i = 0; i < dst; i++) {
      idx[i] = Math.min(src - 1, (int) Math.floor((i + 0.5) * scale));
    }
    return idx;
  }
}
