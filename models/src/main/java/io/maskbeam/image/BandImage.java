package io.maskbeam.image;

/**
 * N bands of raw sample values (a 16-bit reflectance stays 0..65535, a float band keeps its value; NaN where a pixel
 * has no data), interleaved row-major: band 1, band 2, ..., band N of pixel (0, 0), then of pixel (1, 0). Models
 * that take bands normalise them themselves, with the statistics of their training data.
 */
public record BandImage(int width, int height, int channels, float[] samples) implements Pixels {
  public BandImage {
    if (channels < 1) {
      throw new IllegalArgumentException("a band image needs at least one band, got " + channels);
    }
    if ((long) width * height * channels != samples.length) {
      throw new IllegalArgumentException("expected " + ((long) width * height * channels) + " samples for " + width
          + "x" + height + "x" + channels + ", got " + samples.length);
    }
  }

  /** The rectangle [x, x + w) x [y, y + h), copied. */
  public BandImage crop(int x, int y, int w, int h) {
    float[] out = new float[w * h * channels];
    for (int r = 0; r < h; r++) {
      System.arraycopy(samples, ((y + r) * width + x) * channels, out, r * w * channels, w * channels);
    }
    return new BandImage(w, h, channels, out);
  }
}
