package io.maskbeam.labels;

import java.io.Serializable;
import java.util.Locale;

/** One output class: its id (the pixel value written to label PNGs), a human name and a display colour. */
public record LabelClass(int id, String name, int rgb) implements Serializable {

  public int red() {
    return (rgb >> 16) & 0xFF;
  }

  public int green() {
    return (rgb >> 8) & 0xFF;
  }

  public int blue() {
    return rgb & 0xFF;
  }

  /** The colour as {@code #rrggbb}. */
  public String hexColor() {
    return String.format(Locale.ROOT, "#%06x", rgb & 0xFFFFFF);
  }

  public static int packRgb(int r, int g, int b) {
    return ((r & 0xFF) << 16) | ((g & 0xFF) << 8) | (b & 0xFF);
  }
}
