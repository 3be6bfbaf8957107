package io.maskbeam.image;

/**
 * An image as a model takes it: 8-bit RGB ({@link RgbImage}, what photos become) or N bands of raw sample values
 * ({@link BandImage}, what multi-band and 16-bit rasters become). Channels last, rows top to bottom.
 */
public sealed interface Pixels permits RgbImage, BandImage {
  int width();

  int height();

  int channels();

  /** The samples: a {@code byte[]} for RGB, a {@code float[]} for bands; interleaved, {@code channels()} per pixel. */
  Object samples();

  /** An array for {@code count} samples of images like {@code like}: {@code byte[]} or {@code float[]}. */
  static Object allocate(Pixels like, int count) {
    return like instanceof BandImage ? new float[count] : new byte[count];
  }

  /** The image of {@code w x h} whose samples are {@code samples} (as {@link #allocate} makes them). */
  static Pixels of(Object samples, int w, int h, int channels) {
    return samples instanceof float[] f ? new BandImage(w, h, channels, f) : new RgbImage(w, h, (byte[]) samples);
  }
}
