package io.maskbeam.image;

/** One 8-bit class id per pixel, row-major: the content of a label PNG. */
public record LabelImage(int width, int height, byte[] labels) {
  public LabelImage {
    if ((long) width * height != labels.length) {
      throw new IllegalArgumentException("expected " + ((long) width * height) + " labels for " + width + "x" + height
          + ", got " + labels.length);
    }
  }

  public int get(int x, int y) {
    return labels[y * width + x] & 0xFF;
  }
}
