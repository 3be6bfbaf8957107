package io.maskbeam.models.infer;

/** Operations on class-probability maps stored [h, w, C] row-major. */
public final class ProbabilityMaps {
  private ProbabilityMaps() {}

  /**
   * Bilinear resize with half-pixel centres (TensorFlow's resize_bilinear with half_pixel_centers, no antialias),
   * used to bring probabilities computed at another scale back to the image's own size.
   */
  public static float[] resize(float[] src, int h, int w, int c, int outH, int outW) {
    if (h == outH && w == outW) {
      return src;
    }
    float[] out = new float[outH * outW * c];
    double sy = (double) h / outH;
    double sx = (double) w / outW;
    int[] x0 = new int[outW];
    int[] x1 = new int[outW];
    float[] fx = new float[outW];
    for (int x = 0; x < outW; x++) {
      double pos = Math.max(0, (x + 0.5) * sx - 0.5);
      x0[x] = Math.min((int) pos, w - 1);
      x1[x] = Math.min(x0[x] + 1, w - 1);
      fx[x] = (float) (pos - x0[x]);
    }
    for (int y = 0; y < outH; y++) {
      double pos = Math.max(0, (y + 0.5) * sy - 0.5);
      int y0 = Math.min((int) pos, h - 1);
      int y1 = Math.min(y0 + 1, h - 1);
      float fy = (float) (pos - y0);
      for (int x = 0; x < outW; x++) {
        int a = (y0 * w + x0[x]) * c;
        int b = (y0 * w + x1[x]) * c;
        int d = (y1 * w + x0[x]) * c;
        int e = (y1 * w + x1[x]) * c;
        int o = (y * outW + x) * c;
        float wx = fx[x];
        for (int k = 0; k < c; k++) {
          float top = src[a + k] + (src[b + k] - src[a + k]) * wx;
          float bottom = src[d + k] + (src[e + k] - src[d + k]) * wx;
          out[o + k] = top + (bottom - top) * fy;
        }
      }
    }
    return out;
  }

  /** Mirrors a map left to right. */
  public static void flipHorizontally(float[] map, int offset, int h, int w, int c) {
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w / 2; x++) {
        int a = offset + (y * w + x) * c;
        int b = offset + (y * w + (w - 1 - x)) * c;
        for (int k = 0; k < c; k++) {
          float t = map[a + k];
          map[a + k] = map[b + k];
          map[b + k] = t;
        }
      }
    }
  }

  /** The arg-max class of each pixel of {@code pixels} maps starting at {@code offset}; ties go to the lower id. */
  public static byte[] argMax(float[] map, int offset, int pixels, int c) {
    byte[] labels = new byte[pixels];
    for (int i = 0; i < pixels; i++) {
      int o = offset + i * c;
      int best = 0;
      for (int k = 1; k < c; k++) {
        if (map[o + k] > map[o + best]) {
          best = k;
        }
      }
      labels[i] = (byte) best;
    }
    return labels;
  }
}
