package io.maskbeam.annotations;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.labels.LabelClass;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Vertex AI image segmentation JSON Lines ({@code image_segmentation_io_format_1.0.0}): per line an
 * {@code imageGcsUri} and its annotation, either a colour-coded mask ({@code segmentationAnnotation} or
 * {@code maskAnnotation}: {@code maskGcsUri} with {@code annotationSpecColors} of {@code color} (red, green, blue
 * as fractions 0-1) and {@code displayName}) or polygons ({@code polygonAnnotation(s)}: {@code vertexes} of
 * {@code x}, {@code y} as fractions of the image size, with {@code displayName}). The split comes from
 * {@code dataItemResourceLabels["aiplatform.googleapis.com/ml_use"]}: training, validation (val) or test.
 */
public final class VertexFormat {
  private VertexFormat() {}

  /** One line: the image, the mask file (or null), the annotation, and the split it names (or null). */
  public record Line(String imageUri, String maskUri, ImageAnnotation annotation, String split) {}

  public static Line line(JsonNode node) throws InvalidAnnotationException {
    if (node == null || !node.isObject()) {
      throw new InvalidAnnotationException("a line is a JSON object with \"imageGcsUri\"");
    }
    String image = node.path("imageGcsUri").asText("");
    if (image.isBlank()) {
      throw new InvalidAnnotationException("no \"imageGcsUri\"");
    }
    String split = switch (node.path("dataItemResourceLabels").path("aiplatform.googleapis.com/ml_use").asText("")) {
      case "training" -> "train";
      case "validation" -> "val";
      case "test" -> "test";
      case "" -> null;
      default -> throw new InvalidAnnotationException("ml_use is training, validation or test, not '"
          + node.path("dataItemResourceLabels").path("aiplatform.googleapis.com/ml_use").asText() + "'");
    };
    JsonNode mask = node.has("segmentationAnnotation") ? node.get("segmentationAnnotation")
        : node.get("maskAnnotation");
    if (mask != null && mask.has("maskGcsUri")) {
      Map<Integer, String> colours = new TreeMap<>();
      for (JsonNode spec : mask.path("annotationSpecColors")) {
        String name = spec.path("displayName").asText("");
        JsonNode c = spec.path("color");
        if (name.isBlank()) {
          throw new InvalidAnnotationException("an annotationSpecColor needs a \"displayName\"");
        }
        colours.put(LabelClass.packRgb(channel(c, "red"), channel(c, "green"), channel(c, "blue")), name);
      }
      if (colours.isEmpty()) {
        throw new InvalidAnnotationException("a mask annotation needs \"annotationSpecColors\"");
      }
      return new Line(image, mask.get("maskGcsUri").asText(), new ImageAnnotation(0, 0, List.of(),
          ImageAnnotation.Overlap.LATER_WINS, false, colours), split);
    }
    List<JsonNode> polygons = new ArrayList<>();
    if (node.path("polygonAnnotation").isObject()) {
      polygons.add(node.get("polygonAnnotation"));
    }
    node.path("polygonAnnotations").forEach(polygons::add);
    if (polygons.isEmpty()) {
      throw new InvalidAnnotationException("no \"segmentationAnnotation\", \"maskAnnotation\" or"
          + " \"polygonAnnotation\"");
    }
    List<Region> regions = new ArrayList<>();
    for (int k = 0; k < polygons.size(); k++) {
      JsonNode p = polygons.get(k);
      String name = p.path("displayName").asText("");
      String where = "polygon " + k + " ('" + name + "')";
      if (name.isBlank()) {
        throw new InvalidAnnotationException("polygon " + k + " needs a \"displayName\"");
      }
      JsonNode vertexes = p.path("vertexes");
      if (vertexes.size() < 3) {
        throw new InvalidAnnotationException(where + ": a polygon needs at least 3 points; got " + vertexes.size());
      }
      double[] ring = new double[vertexes.size() * 2];
      for (int i = 0; i < vertexes.size(); i++) {
        ring[2 * i] = vertexes.get(i).path("x").asDouble(0);
        ring[2 * i + 1] = vertexes.get(i).path("y").asDouble(0);
      }
      regions.add(Region.polygons(name, null, List.of(ring)));
    }
    return new Line(image, null, new ImageAnnotation(0, 0, regions, ImageAnnotation.Overlap.LATER_WINS, true,
        Map.of()), split);
  }

  private static int channel(JsonNode color, String name) throws InvalidAnnotationException {
    double v = color.path(name).asDouble(0); // protobuf JSON leaves zero channels out
    if (!(v >= 0 && v <= 1)) {
      throw new InvalidAnnotationException("colour channel " + name + " must be in [0, 1], got " + v);
    }
    return (int) Math.round(v * 255);
  }
}
