package io.maskbeam.annotations;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Cityscapes' polygon annotations ({@code gtFine/<split>/<city>/<name>_gtFine_polygons.json}: {@code imgWidth},
 * {@code imgHeight}, {@code objects} of {@code label} and {@code polygon}). Objects paint in file order, later on
 * top, as Cityscapes' own {@code createLabelImgs} draws them; objects marked {@code deleted} are skipped; a label
 * ending in {@code group} ({@code cargroup}) is its class ({@code car}), as in Cityscapes' scripts.
 */
public final class CityscapesFormat {
  private static final ObjectMapper JSON = new ObjectMapper();

  private CityscapesFormat() {}

  public static ImageAnnotation read(byte[] json) throws InvalidAnnotationException {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new InvalidAnnotationException("not JSON: " + e.getMessage().lines().findFirst().orElse(""), e);
    }
    if (root == null || !root.isObject() || !root.path("objects").isArray()) {
      throw new InvalidAnnotationException("a Cityscapes polygons file is an object with \"objects\"");
    }
    List<Region> regions = new ArrayList<>();
    JsonNode objects = root.get("objects");
    for (int k = 0; k < objects.size(); k++) {
      JsonNode o = objects.get(k);
      if (o.path("deleted").asInt(0) != 0) {
        continue;
      }
      String label = o.path("label").asText("");
      String where = "object " + k + " ('" + label + "')";
      if (label.isBlank()) {
        throw new InvalidAnnotationException("object " + k + " has no \"label\"");
      }
      if (label.endsWith("group") && label.length() > "group".length()) {
        label = label.substring(0, label.length() - "group".length());
      }
      JsonNode polygon = o.get("polygon");
      if (polygon == null || !polygon.isArray() || polygon.size() < 3) {
        throw new InvalidAnnotationException(where + ": a polygon needs at least 3 points; got "
            + (polygon == null || !polygon.isArray() ? 0 : polygon.size()));
      }
      double[] ring = new double[polygon.size() * 2];
      for (int i = 0; i < polygon.size(); i++) {
        JsonNode p = polygon.get(i);
        if (!p.isArray() || p.size() != 2 || !p.get(0).isNumber() || !p.get(1).isNumber()) {
          throw new InvalidAnnotationException(where + ": point " + i + " is not [x, y]");
        }
        ring[2 * i] = p.get(0).asDouble();
        ring[2 * i + 1] = p.get(1).asDouble();
      }
      regions.add(Region.polygons(label, null, List.of(ring)));
    }
    return new ImageAnnotation(root.path("imgWidth").asInt(0), root.path("imgHeight").asInt(0), regions,
        ImageAnnotation.Overlap.LATER_WINS);
  }
}
