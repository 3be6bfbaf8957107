package io.maskbeam.annotations;

import java.io.Serializable;
import java.util.List;

/**
 * One annotated area of an image: what it is (a label name, and a category id where the format has ids) and where
 * (polygon rings in the pixel frame of {@link Polygons}, or a {@link CocoRle}; never both).
 *
 * @param label the class name as the annotation gives it (COCO's category name, LabelMe's label)
 * @param category the format's category id, or null where the format has none (LabelMe, CVAT)
 * @param rings polygon rings, filled together under the even-odd rule; empty for an RLE region
 * @param rle the region as a run-length mask, or null for a polygon region
 */
public record Region(String label, Integer category, List<double[]> rings, CocoRle rle) implements Serializable {
  public Region {
    if (label == null && category == null) {
      throw new IllegalArgumentException("a region needs a label or a category id");
    }
    rings = rings == null ? List.of() : List.copyOf(rings);
    if (rle == null && rings.isEmpty()) {
      throw new IllegalArgumentException("a region needs polygons or an RLE mask");
    }
    if (rle != null && !rings.isEmpty()) {
      throw new IllegalArgumentException("a region is polygons or an RLE mask, not both");
    }
  }

  public static Region polygons(String label, Integer category, List<double[]> rings) {
    return new Region(label, category, rings, null);
  }

  public static Region mask(String label, Integer category, CocoRle rle) {
    return new Region(label, category, List.of(), rle);
  }

  /** How the region names itself in messages: its label, else its category id. */
  public String name() {
    return label != null ? label : "category " + category;
  }

  /** Visits the pixels of a width x height image the region covers; throws when an RLE has another size. */
  long paint(int width, int height, Polygons.PixelSink sink) {
    if (rle != null) {
      if (rle.width() != width || rle.height() != height) {
        throw new AnnotationSizeException(String.format(java.util.Locale.ROOT,
            "%s: RLE of %dx%d on an image of %dx%d (width x height)", name(), rle.width(), rle.height(), width,
            height));
      }
      return rle.visit(sink);
    }
    return Polygons.fill(rings, width, height, sink);
  }

  /** A region whose size disagrees with its image's. */
  public static final class AnnotationSizeException extends IllegalArgumentException {
    AnnotationSizeException(String message) {
      super(message);
    }
  }
}
