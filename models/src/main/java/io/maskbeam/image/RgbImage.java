package io.maskbeam.image;

/** 8-bit RGB pixels, interleaved row-major (r, g, b, r, g, b, ...). */
public record RgbImage(int width, int height, byte[] pixels) implements Pixels {
  public RgbImage {
    if ((long) width * height * 3 != pixels.length) {
      throw new IllegalArgumentException("expected " + ((long) width * height * 3) + " bytes for " + width + "x"
          + height + " RGB, got " + pixels.length);
    }
  }

  @Override
  public int channels() {
    return 3;
  }

  @Override
  public Object samples() {
    return pixels;
  }
}
