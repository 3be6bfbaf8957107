package io.maskbeam.annotations;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.image.LabelImage;
import io.maskbeam.labels.LabelClass;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A predicted class mask as annotations that labelling tools load as pre-annotations: LabelMe files, and COCO
 * datasets (CVAT's "COCO 1.0" import, Label Studio's COCO converter). Pixels of the background class (a class named
 * {@code background} or {@code _background_}) are not annotated, as people leave them unlabelled; every other class
 * present is one region per image. COCO category ids are class ids + 1 (COCO keeps 0 for "no category").
 */
public final class AnnotationExport {
  private static final ObjectMapper JSON = new ObjectMapper();

  private AnnotationExport() {}

  /** The class people leave unlabelled, or -1. */
  public static int backgroundClass(List<LabelClass> classes) {
    for (LabelClass c : classes) {
      String n = c.name().trim().toLowerCase(Locale.ROOT);
      if (n.equals("background") || n.equals("_background_")) {
        return c.id();
      }
    }
    return -1;
  }

  /**
   * A LabelMe file: one polygon per outer ring of each class region, largest first. LabelMe has no holes and paints
   * later shapes on top, so a region inside another's hole, being smaller, is drawn after it and stays visible;
   * only background holes are filled.
   */
  public static byte[] labelMe(LabelImage labels, List<LabelClass> classes, String imagePath, double tolerance) {
    List<LabelMeFormat.Shape> shapes = new ArrayList<>();
    for (MaskRegions.ClassRegion r : MaskRegions.of(labels, backgroundClass(classes), tolerance)) {
      String name = r.classId() < classes.size() ? classes.get(r.classId()).name() : "class_" + r.classId();
      for (double[] ring : r.outerRings()) {
        shapes.add(new LabelMeFormat.Shape(name, ring));
      }
    }
    shapes.sort((a, b) -> Double.compare(Math.abs(Polygons.signedArea(b.ring())),
        Math.abs(Polygons.signedArea(a.ring()))));
    return LabelMeFormat.write(imagePath, labels.width(), labels.height(), shapes);
  }

  /**
   * One image's COCO entry: {@code file_name}, {@code width}, {@code height} and its {@code annotations} without
   * ids (assigned when the dataset is assembled): compressed RLE, or polygons (outer rings and holes; readers that
   * take polygons as a union fill holes) when {@code polygons} is set.
   */
  public static ObjectNode cocoImage(LabelImage labels, List<LabelClass> classes, String fileName, boolean polygons,
      double tolerance) {
    ObjectNode image = JSON.createObjectNode();
    image.put("file_name", fileName).put("width", labels.width()).put("height", labels.height());
    ArrayNode annotations = image.putArray("annotations");
    for (MaskRegions.ClassRegion r : MaskRegions.of(labels, backgroundClass(classes), polygons ? tolerance : -1)) {
      ObjectNode a = annotations.addObject();
      a.put("category_id", r.classId() + 1);
      if (polygons) {
        ArrayNode seg = a.putArray("segmentation");
        for (double[] ring : r.rings()) {
          ArrayNode p = seg.addArray();
          for (double v : ring) {
            p.add(v);
          }
        }
      } else {
        a.putObject("segmentation").put("counts", r.rle().toCompressedString())
            .set("size", JSON.createArrayNode().add(labels.height()).add(labels.width()));
      }
      a.put("area", r.rle().area());
      ArrayNode bbox = a.putArray("bbox");
      for (double v : r.rle().bbox()) {
        bbox.add(v);
      }
      a.put("iscrowd", 0);
    }
    return image;
  }

  /**
   * A COCO dataset of image entries made by {@link #cocoImage} (in the order given; ids from 1), with the classes
   * as categories.
   */
  public static byte[] cocoDataset(List<JsonNode> images, List<LabelClass> classes, String description) {
    ObjectNode root = JSON.createObjectNode();
    root.putObject("info").put("description", description);
    ArrayNode categories = root.putArray("categories");
    int background = backgroundClass(classes);
    for (LabelClass c : classes) {
      if (c.id() != background) {
        categories.addObject().put("id", c.id() + 1).put("name", c.name()).put("supercategory", "")
            .put("color", c.hexColor());
      }
    }
    ArrayNode imageList = root.putArray("images");
    ArrayNode annotationList = root.putArray("annotations");
    long imageId = 0;
    long annotationId = 0;
    for (JsonNode image : images) {
      imageId++;
      imageList.addObject().put("id", imageId).put("file_name", image.get("file_name").asText())
          .put("width", image.get("width").asInt()).put("height", image.get("height").asInt());
      for (JsonNode a : image.get("annotations")) {
        ObjectNode copy = ((ObjectNode) a).deepCopy();
        ObjectNode entry = annotationList.addObject().put("id", ++annotationId).put("image_id", imageId);
        entry.setAll(copy);
      }
    }
    try {
      return JSON.writeValueAsBytes(root);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
