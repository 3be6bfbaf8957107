package io.maskbeam.image;

import java.io.Serializable;
import java.util.Locale;

/**
 * How preprocessing sizes images: {@code keep}, {@code WxH} (fixed), {@code shorter:N} (shorter side to N, aspect
 * kept) or {@code longer:N} (longer side to N, aspect kept).
 */
public record ResizePolicy(Mode mode, int width, int height, int side) implements Serializable {

  public enum Mode { KEEP, FIXED, SHORTER_SIDE, LONGER_SIDE }

  public static final ResizePolicy KEEP = new ResizePolicy(Mode.KEEP, 0, 0, 0);

  public static ResizePolicy parse(String spec) {
    String s = spec == null ? "keep" : spec.trim().toLowerCase(Locale.ROOT);
    try {
      if (s.isEmpty() || s.equals("keep") || s.equals("none")) {
        return KEEP;
      }
      if (s.startsWith("shorter:")) {
        return new ResizePolicy(Mode.SHORTER_SIDE, 0, 0, positive(s.substring(8), spec));
      }
      if (s.startsWith("longer:")) {
        return new ResizePolicy(Mode.LONGER_SIDE, 0, 0, positive(s.substring(7), spec));
      }
      String dims = s.startsWith("fixed:") ? s.substring(6) : s;
      String[] wh = dims.split("x");
      if (wh.length == 2) {
        return new ResizePolicy(Mode.FIXED, positive(wh[0], spec), positive(wh[1], spec), 0);
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException("cannot read resize policy '" + spec
        + "'; use keep, WIDTHxHEIGHT (e.g. 512x512), shorter:N or longer:N");
  }

  private static int positive(String s, String spec) {
    int v = Integer.parseInt(s.trim());
    if (v <= 0 || v > 65535) {
      throw new IllegalArgumentException("resize policy '" + spec + "': sizes must be in 1..65535");
    }
    return v;
  }

  /** Output {width, height} for an input of the given size. */
  public int[] targetSize(int w, int h) {
    return switch (mode) {
      case KEEP -> new int[] {w, h};
      case FIXED -> new int[] {width, height};
      case SHORTER_SIDE -> scaleTo(w, h, side, Math.min(w, h));
      case LONGER_SIDE -> scaleTo(w, h, side, Math.max(w, h));
    };
  }

  private static int[] scaleTo(int w, int h, int target, int current) {
    double f = (double) target / current;
    return new int[] {Math.max(1, (int) Math.round(w * f)), Math.max(1, (int) Math.round(h * f))};
  }

  @Override
  public String toString() {
    return switch (mode) {
      case KEEP -> "keep";
      case FIXED -> width + "x" + height;
      case SHORTER_SIDE -> "shorter:" + side;
      case LONGER_SIDE -> "longer:" + side;
    };
  }
}
