package io.maskbeam.models.infer;

import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;
import io.maskbeam.labels.LabelClass;
import java.util.List;

/** Colour masks, overlays and per-class pixel counts of a segmentation. */
public final class MaskRendering {
  private MaskRendering() {}

  /** Each pixel in its class colour; ids outside the classes (the ignore value) black. */
  public static RgbImage colorize(LabelImage labels, List<LabelClass> classes) {
    byte[] out = new byte[labels.labels().length * 3];
    for (int i = 0; i < labels.labels().length; i++) {
      int id = labels.labels()[i] & 0xFF;
      if (id < classes.size()) {
        LabelClass c = classes.get(id);
        out[i * 3] = (byte) c.red();
        out[i * 3 + 1] = (byte) c.green();
        out[i * 3 + 2] = (byte) c.blue();
      }
    }
    return new RgbImage(labels.width(), labels.height(), out);
  }

  /** The image blended with a colour mask: (1 - alpha) * image + alpha * colour. */
  public static RgbImage overlay(RgbImage image, RgbImage colour, float alpha) {
    if (image.width() != colour.width() || image.height() != colour.height()) {
      throw new IllegalArgumentException("overlay needs equal sizes");
    }
    if (alpha < 0 || alpha > 1) {
      throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
    }
    byte[] a = image.pixels();
    byte[] b = colour.pixels();
    byte[] out = new byte[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = (byte) Math.round((1 - alpha) * (a[i] & 0xFF) + alpha * (b[i] & 0xFF));
    }
    return new RgbImage(image.width(), image.height(), out);
  }

  /** Pixels per class id (length numClasses); other ids are not counted. */
  public static long[] classPixels(LabelImage labels, int numClasses) {
    long[] counts = new long[numClasses];
    for (byte b : labels.labels()) {
      int id = b & 0xFF;
      if (id < numClasses) {
        counts[id]++;
      }
    }
    return counts;
  }
}
