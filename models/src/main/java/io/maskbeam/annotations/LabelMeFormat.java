package io.maskbeam.annotations;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * LabelMe's per-image JSON ({@code shapes}, {@code imagePath}, {@code imageWidth}, {@code imageHeight}), read and
 * written.
 *
 * <p>Reading: {@code polygon} shapes as drawn; {@code rectangle} from its two opposite corners; {@code circle} from
 * its centre and a point on it, as a polygon whose vertices lie at most half a pixel apart along the circle.
 * {@code line}, {@code linestrip} and {@code point} cover no area and are skipped (counted in {@link Document}).
 * Shapes paint in the order drawn, later on top, as LabelMe's own {@code labelme_json_to_dataset} does.
 */
public final class LabelMeFormat {
  private static final ObjectMapper JSON = new ObjectMapper();

  private LabelMeFormat() {}

  /** A LabelMe file: its image path as written (relative to the JSON's folder), the regions, and what was skipped. */
  public record Document(String imagePath, ImageAnnotation annotation, int skippedShapes) {}

  public static Document read(byte[] json) throws InvalidAnnotationException {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new InvalidAnnotationException("not JSON: " + firstLine(e.getMessage()), e);
    }
    if (root == null || !root.isObject()) {
      throw new InvalidAnnotationException("a LabelMe file is a JSON object with \"shapes\"");
    }
    JsonNode shapes = root.get("shapes");
    if (shapes == null || !shapes.isArray()) {
      throw new InvalidAnnotationException("no \"shapes\" list: not a LabelMe file");
    }
    // LabelMe on Windows writes ..\images\a.jpg.
    String imagePath = root.path("imagePath").asText("").replace('\\', '/');
    if (imagePath.isBlank()) {
      throw new InvalidAnnotationException("no \"imagePath\": the image this file annotates is not named");
    }
    List<Region> regions = new ArrayList<>();
    int skipped = 0;
    for (int k = 0; k < shapes.size(); k++) {
      JsonNode shape = shapes.get(k);
      String where = "shape " + k;
      String label = shape.path("label").asText("");
      if (label.isBlank()) {
        throw new InvalidAnnotationException(where + " has no \"label\"");
      }
      where += " ('" + label + "')";
      String type = shape.path("shape_type").asText("polygon");
      double[] points = points(shape.get("points"), where);
      switch (type) {
        case "polygon" -> {
          if (points.length < 6) {
            throw new InvalidAnnotationException(where + ": a polygon needs at least 3 points; got "
                + points.length / 2);
          }
          regions.add(Region.polygons(label, null, List.of(points)));
        }
        case "rectangle" -> {
          need(points, 2, where, type);
          double x0 = points[0];
          double y0 = points[1];
          double x1 = points[2];
          double y1 = points[3];
          regions.add(Region.polygons(label, null, List.of(new double[] {x0, y0, x1, y0, x1, y1, x0, y1})));
        }
        case "circle" -> {
          need(points, 2, where, type);
          regions.add(Region.polygons(label, null, List.of(circle(points[0], points[1],
              Math.hypot(points[2] - points[0], points[3] - points[1])))));
        }
        case "line", "linestrip", "point", "points" -> skipped++;
        default -> throw new InvalidAnnotationException(where + ": shape_type '" + type
            + "' is not read (polygon, rectangle and circle are; line, linestrip and point are skipped)");
      }
    }
    return new Document(imagePath, new ImageAnnotation(root.path("imageWidth").asInt(0),
        root.path("imageHeight").asInt(0), regions, ImageAnnotation.Overlap.LATER_WINS), skipped);
  }

  private static void need(double[] points, int n, String where, String type) throws InvalidAnnotationException {
    if (points.length != 2 * n) {
      throw new InvalidAnnotationException(String.format(Locale.ROOT, "%s: a %s needs %d points; got %d", where,
          type, n, points.length / 2));
    }
  }

  private static double[] points(JsonNode node, String where) throws InvalidAnnotationException {
    if (node == null || !node.isArray()) {
      throw new InvalidAnnotationException(where + " has no \"points\" list");
    }
    double[] out = new double[node.size() * 2];
    for (int i = 0; i < node.size(); i++) {
      JsonNode p = node.get(i);
      if (!p.isArray() || p.size() != 2 || !p.get(0).isNumber() || !p.get(1).isNumber()) {
        throw new InvalidAnnotationException(where + ": point " + i + " is not [x, y]: " + CocoFormat.clip(p));
      }
      out[2 * i] = p.get(0).asDouble();
      out[2 * i + 1] = p.get(1).asDouble();
    }
    return out;
  }

  /** A circle as a polygon with vertices at most half a pixel apart (at least 16). */
  static double[] circle(double cx, double cy, double radius) {
    int n = Math.max(16, (int) Math.ceil(2 * Math.PI * radius / 0.5));
    double[] ring = new double[2 * n];
    for (int i = 0; i < n; i++) {
      double a = 2 * Math.PI * i / n;
      ring[2 * i] = cx + radius * Math.cos(a);
      ring[2 * i + 1] = cy + radius * Math.sin(a);
    }
    return ring;
  }

  /** One labelled polygon of a LabelMe file being written. */
  public record Shape(String label, double[] ring) {}

  /**
   * A LabelMe file for an image: polygons as {@code shape_type: polygon}, no embedded image data (LabelMe and
   * CVAT load the image from {@code imagePath}).
   */
  public static byte[] write(String imagePath, int width, int height, List<Shape> shapes) {
    ObjectNode root = JSON.createObjectNode();
    root.put("version", "5.4.1");
    root.putObject("flags");
    ArrayNode list = root.putArray("shapes");
    for (Shape s : shapes) {
      ObjectNode n = list.addObject();
      n.put("label", s.label());
      ArrayNode pts = n.putArray("points");
      for (int i = 0; i < s.ring().length; i += 2) {
        pts.addArray().add(s.ring()[i]).add(s.ring()[i + 1]);
      }
      n.putNull("group_id");
      n.put("description", "");
      n.put("shape_type", "polygon");
      n.putObject("flags");
      n.putNull("mask");
    }
    root.put("imagePath", imagePath);
    root.putNull("imageData");
    root.put("imageHeight", height);
    root.put("imageWidth", width);
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String firstLine(String s) {
    return s == null ? "" : s.lines().findFirst().orElse("");
  }
}
