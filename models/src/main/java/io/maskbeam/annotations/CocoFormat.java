package io.maskbeam.annotations;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * COCO's annotation objects ({@code instances_*.json}, {@code stuff_*.json}, results files): one object's
 * {@code segmentation} as polygons (a list of {@code [x0, y0, x1, y1, ...]}), uncompressed RLE
 * ({@code {"size": [h, w], "counts": [..]}}) or compressed RLE ({@code "counts": "..."}), per the format's definition
 * at cocodataset.org/#format-data. Crowd regions ({@code iscrowd: 1}) are painted with their category like the rest.
 */
public final class CocoFormat {
  private CocoFormat() {}

  /** An image entry of the {@code images} array. */
  public record ImageEntry(long id, String fileName, int width, int height) {}

  public static ImageEntry image(JsonNode node) throws InvalidAnnotationException {
    if (!node.isObject() || !node.path("id").canConvertToLong() || !node.path("file_name").isTextual()) {
      throw new InvalidAnnotationException("a COCO image needs a numeric \"id\" and a \"file_name\": " + clip(node));
    }
    return new ImageEntry(node.get("id").asLong(), node.get("file_name").asText(), node.path("width").asInt(0),
        node.path("height").asInt(0));
  }

  /** The image id an annotation object belongs to. */
  public static long imageId(JsonNode annotation) throws InvalidAnnotationException {
    if (!annotation.isObject() || !annotation.path("image_id").canConvertToLong()) {
      throw new InvalidAnnotationException("a COCO annotation needs a numeric \"image_id\": " + clip(annotation));
    }
    return annotation.get("image_id").asLong();
  }

  /**
   * The region of one annotation object, its category named by {@code categoryName} (null when the category is not
   * among the file's {@code categories}; the id alone then decides).
   */
  public static Region region(JsonNode annotation, String categoryName) throws InvalidAnnotationException {
    String where = "annotation " + annotation.path("id").asText("?");
    if (!annotation.path("category_id").canConvertToInt()) {
      throw new InvalidAnnotationException(where + " has no numeric \"category_id\"");
    }
    int category = annotation.get("category_id").asInt();
    JsonNode seg = annotation.get("segmentation");
    if (seg == null || seg.isNull()) {
      throw new InvalidAnnotationException(where + " has no \"segmentation\"");
    }
    try {
      if (seg.isArray()) {
        List<double[]> rings = new ArrayList<>();
        for (JsonNode polygon : seg) {
          rings.add(ring(polygon, where));
        }
        if (rings.isEmpty()) {
          throw new InvalidAnnotationException(where + " has an empty polygon list");
        }
        return Region.polygons(categoryName, category, rings);
      }
      if (seg.isObject()) {
        return Region.mask(categoryName, category, rle(seg, where));
      }
    } catch (IllegalArgumentException e) {
      throw new InvalidAnnotationException(where + ": " + e.getMessage(), e);
    }
    throw new InvalidAnnotationException(where + ": \"segmentation\" is neither polygons nor RLE");
  }

  /** A COCO RLE object, compressed or not. */
  public static CocoRle rle(JsonNode seg, String where) throws InvalidAnnotationException {
    JsonNode size = seg.get("size");
    if (size == null || !size.isArray() || size.size() != 2 || !size.get(0).canConvertToInt()
        || !size.get(1).canConvertToInt()) {
      throw new InvalidAnnotationException(where + ": an RLE needs \"size\": [height, width]");
    }
    int h = size.get(0).asInt();
    int w = size.get(1).asInt();
    JsonNode counts = seg.get("counts");
    if (counts != null && counts.isTextual()) {
      return CocoRle.fromCompressedString(counts.asText(), h, w);
    }
    if (counts != null && counts.isArray()) {
      long[] c = new long[counts.size()];
      for (int i = 0; i < c.length; i++) {
        if (!counts.get(i).canConvertToLong()) {
          throw new InvalidAnnotationException(where + ": RLE counts must be integers");
        }
        c[i] = counts.get(i).asLong();
      }
      return new CocoRle(h, w, c);
    }
    throw new InvalidAnnotationException(where + ": an RLE needs \"counts\" (a list or a string)");
  }

  private static double[] ring(JsonNode polygon, String where) throws InvalidAnnotationException {
    if (!polygon.isArray()) {
      throw new InvalidAnnotationException(where + ": a polygon must be a list of numbers");
    }
    if (polygon.size() % 2 != 0 || polygon.size() < 6) {
      throw new InvalidAnnotationException(String.format(Locale.ROOT,
          "%s: a polygon needs at least 3 points as x, y pairs; got %d numbers", where, polygon.size()));
    }
    double[] ring = new double[polygon.size()];
    for (int i = 0; i < ring.length; i++) {
      if (!polygon.get(i).isNumber() || !Double.isFinite(polygon.get(i).asDouble())) {
        throw new InvalidAnnotationException(where + ": polygon coordinate " + polygon.get(i) + " is not a number");
      }
      ring[i] = polygon.get(i).asDouble();
    }
    return ring;
  }

  static String clip(JsonNode node) {
    String s = String.valueOf(node);
    return s.length() > 120 ? s.substring(0, 117) + "..." : s;
  }
}
