package io.maskbeam.models.infer;

import io.maskbeam.image.LabelImage;
import io.maskbeam.image.Pixels;
import io.maskbeam.image.RgbImage;

/**
 * Sliding-window inference for images too large to run whole: tiles of {@code tileSize} overlapping by
 * {@code overlap} pixels, whose class probabilities are blended with weights that fall linearly towards each
 * tile's edge (so seams disappear), then the arg-max is taken. Probabilities are accumulated one band of tile rows
 * at a time, so besides the output labels memory is one band: tileSize x width x classes floats, independent of
 * the image's height, and the network only ever sees tiles (up to {@code tileBatch} of one band per call).
 */
public final class TiledSegmenter {
  private final ProbabilityModel model;
  private final int tileSize;
  private final int overlap;
  private final int tileBatch;
  private long peakWorkingFloats;

  public TiledSegmenter(ProbabilityModel model, int tileSize, int overlap) {
    this(model, tileSize, overlap, 1);
  }

  public TiledSegmenter(ProbabilityModel model, int tileSize, int overlap, int tileBatch) {
    if (tileSize < 16) {
      throw new IllegalArgumentException("tile size must be at least 16, got " + tileSize);
    }
    if (overlap < 0 || overlap * 2 >= tileSize) {
      throw new IllegalArgumentException("tile overlap must be in [0, tileSize/2), got " + overlap);
    }
    if (tileBatch < 1) {
      throw new IllegalArgumentException("tile batch must be at least 1, got " + tileBatch);
    }
    this.model = model;
    this.tileSize = tileSize;
    this.overlap = overlap;
    this.tileBatch = tileBatch;
  }

  public int tileSize() {
    return tileSize;
  }

  /** Whether an image of this size runs whole (fits in one tile). */
  public boolean fitsInOneTile(int width, int height) {
    return width <= tileSize && height <= tileSize;
  }

  /**
   * The most floats this segmenter's buffers held at once during its last {@link #segment} call, measured from
   * the arrays it allocated (accumulators, carried rows, weights and model outputs).
   */
  public long peakWorkingFloats() {
    return peakWorkingFloats;
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
    return segment(image, null);
  }

  /**
   * Segments an image; when {@code probabilities} is given it also receives the blended, normalised class
   * probabilities in row order.
   */
  public LabelImage segment(Pixels image, ProbabilitySink probabilities) {
    int w = image.width();
    int h = image.height();
    int c = model.numClasses();
    if (fitsInOneTile(w, h)) {
      float[] p = model.probabilitiesOf(image.samples(), 1, h, w);
      peakWorkingFloats = p.length;
      if (probabilities != null) {
        probabilities.accept(p, 0, p.length);
      }
      return new LabelImage(w, h, ProbabilityMaps.argMax(p, 0, w * h, c));
    }
    peakWorkingFloats = 0;
    int[] ys = origins(h, tileSize, overlap);
    int[] xs = origins(w, tileSize, overlap);
    byte[] labels = new byte[w * h];
    Object src = image.samples();
    int ch = image.channels();
    // Only rows [y0, y0 + tile) are ever live. Every class at a pixel gets the same blending weight, so the arg-max
    // needs no normalisation; the weights are summed only when normalised probabilities are asked for.
    int th = Math.min(tileSize, h);
    int tw = Math.min(tileSize, w);
    float[] carried = new float[0];
    float[] carriedWeight = new float[0];
    for (int yi = 0; yi < ys.length; yi++) {
      int y0 = ys[yi];
      int bandEnd = yi + 1 < ys.length ? ys[yi + 1] : h;  // rows [y0, bandEnd) are final once this band is added
      float[] acc = new float[th * w * c];
      float[] weight = probabilities == null ? null : new float[th * w];
      System.arraycopy(carried, 0, acc, 0, carried.length);
      if (weight != null) {
        System.arraycopy(carriedWeight, 0, weight, 0, carriedWeight.length);
      }
      for (int first = 0; first < xs.length; first += tileBatch) {
        int n = Math.min(tileBatch, xs.length - first);
        Object tiles = Pixels.allocate(image, n * th * tw * ch);
        for (int t = 0; t < n; t++) {
          int x0 = xs[first + t];
          for (int y = 0; y < th; y++) {
            System.arraycopy(src, ((y0 + y) * w + x0) * ch, tiles, ((t * th + y) * tw) * ch, tw * ch);
          }
        }
        float[] p = model.probabilitiesOf(tiles, n, th, tw);
        peakWorkingFloats = Math.max(peakWorkingFloats, (long) acc.length + carried.length + p.length
            + (weight == null ? 0 : weight.length + carriedWeight.length));
        for (int t = 0; t < n; t++) {
          int xi = first + t;
          int x0 = xs[xi];
          for (int y = 0; y < th; y++) {
            float wy = ramp(y, th, yi == 0, yi == ys.length - 1);
            for (int x = 0; x < tw; x++) {
              float wt = wy * ramp(x, tw, xi == 0, xi == xs.length - 1);
              int o = (y * w + x0 + x) * c;
              int q = ((t * th + y) * tw + x) * c;
              for (int k = 0; k < c; k++) {
                acc[o + k] += wt * p[q + k];
              }
              if (weight != null) {
                weight[y * w + x0 + x] += wt;
              }
            }
          }
        }
      }
      int finalRows = bandEnd - y0;
      byte[] band = ProbabilityMaps.argMax(acc, 0, finalRows * w, c);
      System.arraycopy(band, 0, labels, y0 * w, band.length);
      if (probabilities != null) {
        float[] normalised = new float[finalRows * w * c];
        for (int i = 0; i < finalRows * w; i++) {
          float inv = 1f / weight[i];
          for (int k = 0; k < c; k++) {
            normalised[i * c + k] = acc[i * c + k] * inv;
          }
        }
        probabilities.accept(normalised, 0, normalised.length);
      }
      // Rows [bandEnd, y0 + tile) continue into the next band, which starts at bandEnd.
      int keepRows = Math.max(0, y0 + th - bandEnd);
      carried = new float[keepRows * w * c];
      System.arraycopy(acc, finalRows * w * c, carried, 0, carried.length);
      if (weight != null) {
        carriedWeight = new float[keepRows * w];
        System.arraycopy(weight, finalRows * w, carriedWeight, 0, carriedWeight.length);
      }
    }
    return new LabelImage(w, h, labels);
  }
}
