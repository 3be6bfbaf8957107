package io.maskbeam.annotations;

import io.maskbeam.image.LabelImage;
import java.util.ArrayList;
import java.util.List;

/**
 * A class mask as annotation regions, one per class present: the exact {@link CocoRle}, and polygon rings traced
 * along pixel edges and simplified by a tolerance in pixels. Outer rings and holes are both kept (even-odd), so
 * {@link Polygons#fill} gives the class's pixels back; tools that read polygons as a union of parts (COCO's own
 * {@code pycocotools}, LabelMe) see holes filled, and the RLE is the exact form.
 */
public final class MaskRegions {
  private MaskRegions() {}

  /** One class's pixels of a mask. */
  public record ClassRegion(int classId, CocoRle rle, List<double[]> rings) {
    /** Rings that bound the region from outside (clockwise on screen); holes excluded. */
    public List<double[]> outerRings() {
      List<double[]> outer = new ArrayList<>();
      for (double[] r : rings) {
        if (Polygons.signedArea(r) > 0) {
          outer.add(r);
        }
      }
      return outer;
    }
  }

  /**
   * The regions of every class present, in class order; {@code skip} (the ignore value, or -1) is not a class.
   * Rings shrunk away by the tolerance are dropped; a negative tolerance skips tracing (RLE only).
   */
  public static List<ClassRegion> of(LabelImage mask, int skip, double tolerance) {
    byte[] labels = mask.labels();
    boolean[] present = new boolean[256];
    for (byte b : labels) {
      present[b & 0xFF] = true;
    }
    List<ClassRegion> out = new ArrayList<>();
    for (int c = 0; c < 256; c++) {
      if (!present[c] || c == skip) {
        continue;
      }
      byte v = (byte) c;
      CocoRle.PixelTest inside = i -> labels[i] == v;
      List<double[]> rings = new ArrayList<>();
      if (tolerance >= 0) {
        for (double[] ring : Polygons.trace(inside, mask.width(), mask.height())) {
          double[] simple = Polygons.simplify(ring, tolerance);
          if (simple != null) {
            rings.add(simple);
          }
        }
      }
      out.add(new ClassRegion(c, CocoRle.encode(inside, mask.width(), mask.height()), rings));
    }
    return out;
  }
}
