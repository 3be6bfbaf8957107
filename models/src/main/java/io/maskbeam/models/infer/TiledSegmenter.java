package io.maskbeam.models.infer;

import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;

/**
 * Sliding-window inference for images too large to run whole: tiles of {@code tileSize} overlapping by
 * {@code overlap} pixels, whose class probabilities are blended with weights that fall linearly towards each
 * tile's edge (so seams disappear), then the arg-max is taken. Probabilities are accumulated one band of tile rows
 * at a time, so besides the output labels memory is one band: tileSize x width x classes floats, independent of
 * the image's height (and the network only ever sees one tile).
 */
public final class TiledSegmenter {
  private final ProbabilityModel model;
  private final int tileSize;
  private final int overlap;

  public TiledSegmenter(ProbabilityModel model, int tileSize, int overlap) {
    if (tileSize < 16) {
      throw new IllegalArgumentException("tile size must be at least 16, got " + tileSize);
    }
    if (overlap < 0 || overlap * 2 >= tileSize) {
      throw new IllegalArgumentException("tile overlap must be in [0, tileSize/2), got " + overlap);
    }
    this.model = model;
    this.tileSize = tileSize;
    this.overlap = overlap;
  }

  /** Tile origins along one axis: stepping by tileSize - overlap, the last tile flush with the end. */
  static int[] origins(int length, int tile, int overlap) {
    if (length <= tile) {
      return new int[] {0};
    }
    int step = tile - overlap;
    int n = (int) Math.ceil((double) (length - tile) / step) + 1;
    int[] o = new int[n];
    for (int i = 0; i < n; i++) {
      o[i] = Math.min(i * step, length - tile);
    }
    return o;
  }

  /** Blending weight of a position inside a tile: 1 in the middle, falling linearly over the overlap margin. */
  private float ramp(int position, int size, boolean atStart, boolean atEnd) {
    if (overlap == 0) {
      return 1f;
    }
    float w = 1f;
    if (!atStart) {
      w = Math.min(w, (position + 1f) / (overlap + 1f));
    }
    if (!atEnd) {
      w = Math.min(w, (size - position) / (overlap + 1f));
    }
    return w;
  }

  public LabelImage segment(RgbImage image) {
    int w = image.width();
    int h = image.height();
    if (w <= tileSize && h <= tileSize) {
      return model.segment(image);
    }
    int c = model.numClasses();
    int[] ys = origins(h, tileSize, overlap);
    int[] xs = origins(w, tileSize, overlap);
    byte[] labels = new byte[w * h];
    byte[] src = image.pixels();
    // Accumulate one band of tile rows at a time: only rows [y0, y0 + tile) are ever live. Every class at a pixel
    // gets the same blending weight, so the weighted sum needs no normalisation before the arg-max.
    int th = Math.min(tileSize, h);
    int tw = Math.min(tileSize, w);
    float[] carried = new float[0];
    for (int yi = 0; yi < ys.length; yi++) {
      int y0 = ys[yi];
      int bandEnd = yi + 1 < ys.length ? ys[yi + 1] : h;  // rows [y0, bandEnd) are final once this band is added
      float[] acc = new float[th * w * c];
      System.arraycopy(carried, 0, acc, 0, carried.length);
      for (int xi = 0; xi < xs.length; xi++) {
        int x0 = xs[xi];
        byte[] tile = new byte[th * tw * 3];
        for (int y = 0; y < th; y++) {
          System.arraycopy(src, ((y0 + y) * w + x0) * 3, tile, y * tw * 3, tw * 3);
        }
        float[] p = model.probabilities(tile, 1, th, tw);
        for (int y = 0; y < th; y++) {
          float wy = ramp(y, th, yi == 0, yi == ys.length - 1);
          for (int x = 0; x < tw; x++) {
            float wt = wy * ramp(x, tw, xi == 0, xi == xs.length - 1);
            int o = (y * w + x0 + x) * c;
            int q = (y * tw + x) * c;
            for (int k = 0; k < c; k++) {
              acc[o + k] += wt * p[q + k];
            }
          }
        }
      }
      for (int y = y0; y < bandEnd; y++) {
        for (int x = 0; x < w; x++) {
          int o = ((y - y0) * w + x) * c;
          int best = 0;
          for (int k = 1; k < c; k++) {
            if (acc[o + k] > acc[o + best]) {
              best = k;
            }
          }
          labels[y * w + x] = (byte) best;
        }
      }
      // Rows [bandEnd, y0 + tile) continue into the next band, which starts at bandEnd.
      int keepRows = y0 + th - bandEnd;
      carried = new float[Math.max(0, keepRows) * w * c];
      if (keepRows > 0) {
        System.arraycopy(acc, (bandEnd - y0) * w * c, carried, 0, carried.length);
      }
    }
    return new LabelImage(w, h, labels);
  }
}
