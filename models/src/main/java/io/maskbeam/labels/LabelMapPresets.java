package io.maskbeam.labels;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Built-in label maps, written out as the same JSON a user would give, so dataset.json records them verbatim. */
final class LabelMapPresets {
  private LabelMapPresets() {}

  /** Cityscapes label ids 0..33: name, colour, train id (255 = not trained), category id (labels.py). */
  private static final Object[][] CITYSCAPES = {
    {"unlabeled", 0, 0, 0, 255, 0},
    {"ego vehicle", 0, 0, 0, 255, 0},
    {"rectification border", 0, 0, 0, 255, 0},
    {"out of roi", 0, 0, 0, 255, 0},
    {"static", 0, 0, 0, 255, 0},
    {"dynamic", 111, 74, 0, 255, 0},
    {"ground", 81, 0, 81, 255, 0},
    {"road", 128, 64, 128, 0, 1},
    {"sidewalk", 244, 35, 232, 1, 1},
    {"parking", 250, 170, 160, 255, 1},
    {"rail track", 230, 150, 140, 255, 1},
    {"building", 70, 70, 70, 2, 2},
    {"wall", 102, 102, 156, 3, 2},
    {"fence", 190, 153, 153, 4, 2},
    {"guard rail", 180, 165, 180, 255, 2},
    {"bridge", 150, 100, 100, 255, 2},
    {"tunnel", 150, 120, 90, 255, 2},
    {"pole", 153, 153, 153, 5, 3},
    {"polegroup", 153, 153, 153, 255, 3},
    {"traffic light", 250, 170, 30, 6, 3},
    {"traffic sign", 220, 220, 0, 7, 3},
    {"vegetation", 107, 142, 35, 8, 4},
    {"terrain", 152, 251, 152, 9, 4},
    {"sky", 70, 130, 180, 10, 5},
    {"person", 220, 20, 60, 11, 6},
    {"rider", 255, 0, 0, 12, 6},
    {"car", 0, 0, 142, 13, 7},
    {"truck", 0, 0, 70, 14, 7},
    {"bus", 0, 60, 100, 15, 7},
    {"caravan", 0, 0, 90, 255, 7},
    {"trailer", 0, 0, 110, 255, 7},
    {"train", 0, 80, 100, 16, 7},
    {"motorcycle", 0, 0, 230, 17, 7},
    {"bicycle", 119, 11, 32, 18, 7},
  };

  private static final String[] CITYSCAPES_CATEGORIES = {
    "void", "flat", "construction", "object", "nature", "sky", "human", "vehicle"
  };
  private static final String[] CITYSCAPES_CATEGORY_COLORS = {
    "#000000", "#804080", "#464646", "#999999", "#6b8e23", "#4682b4", "#dc143c", "#00008e"
  };

  private static final String[] VOC_CLASSES = {
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"
  };

  private static final Object[][] CAMVID = {
    {"Sky", 128, 128, 128},
    {"Building", 128, 0, 0},
    {"Pole", 192, 192, 128},
    {"Road", 128, 64, 128},
    {"Pavement", 60, 40, 222},
    {"Tree", 128, 128, 0},
    {"SignSymbol", 192, 128, 128},
    {"Fence", 64, 64, 128},
    {"Car", 64, 0, 128},
    {"Pedestrian", 64, 64, 0},
    {"Bicyclist", 0, 128, 192},
  };

  private static final Map<String, String> PRESETS = new LinkedHashMap<>();

  static {
    PRESETS.put("cityscapes-8", cityscapesCategories());
    PRESETS.put("cityscapes-19", cityscapesTrainIds());
    PRESETS.put("voc", voc());
    PRESETS.put("pets-trimap", petsTrimap());
    PRESETS.put("camvid-11", camvid());
  }

  static final Set<String> NAMES = PRESETS.keySet();

  static String json(String name) {
    return PRESETS.get(name);
  }

  private static String hex(int r, int g, int b) {
    return String.format(Locale.ROOT, "#%02x%02x%02x", r, g, b);
  }

  private static String cityscapesCategories() {
    StringBuilder map = new StringBuilder();
    for (int id = 0; id < CITYSCAPES.length; id++) {
      map.append(id == 0 ? "" : ",").append('"').append(id).append("\":").append(CITYSCAPES[id][5]);
    }
    StringBuilder classes = new StringBuilder();
    for (int c = 0; c < CITYSCAPES_CATEGORIES.length; c++) {
      classes.append(c == 0 ? "" : ",")
          .append("{\"name\":\"").append(CITYSCAPES_CATEGORIES[c]).append("\",\"color\":\"")
          .append(CITYSCAPES_CATEGORY_COLORS[c]).append("\"}");
    }
    return "{\"name\":\"cityscapes-8\",\"description\":\"Cityscapes gtFine labelIds grouped into the 8 categories of"
        + " labels.py (categoryId)\",\"ignoreValue\":255,\"values\":{" + map + "},\"classes\":[" + classes + "]}";
  }

  private static String cityscapesTrainIds() {
    StringBuilder map = new StringBuilder();
    String[] names = new String[19];
    String[] colors = new String[19];
    for (int id = 0; id < CITYSCAPES.length; id++) {
      Object[] row = CITYSCAPES[id];
      int trainId = (Integer) row[4];
      map.append(id == 0 ? "" : ",").append('"').append(id).append("\":").append(trainId);
      if (trainId != 255) {
        names[trainId] = (String) row[0];
        colors[trainId] = hex((Integer) row[1], (Integer) row[2], (Integer) row[3]);
      }
    }
    StringBuilder classes = new StringBuilder();
    for (int c = 0; c < 19; c++) {
      classes.append(c == 0 ? "" : ",")
          .append("{\"name\":\"").append(names[c]).append("\",\"color\":\"").append(colors[c]).append("\"}");
    }
    return "{\"name\":\"cityscapes-19\",\"description\":\"Cityscapes gtFine labelIds to the 19 evaluation train ids\","
        + "\"ignoreValue\":255,\"values\":{" + map + "},\"classes\":[" + classes + "]}";
  }

  private static String voc() {
    StringBuilder classes = new StringBuilder();
    for (int c = 0; c < VOC_CLASSES.length; c++) {
      int rgb = LabelMaps.vocColor(c);
      classes.append(c == 0 ? "" : ",")
          .append("{\"name\":\"").append(VOC_CLASSES[c]).append("\",\"color\":\"")
          .append(String.format(Locale.ROOT, "#%06x", rgb)).append("\"}");
    }
    // Palette index = class id; 255 marks object boundaries ("void"), and its palette colour is #e0e0c0.
    return "{\"name\":\"voc\",\"description\":\"PASCAL VOC 2012 SegmentationClass palette PNGs; 255 = boundary\","
        + "\"ignoreValue\":255,\"ignoreColor\":\"#e0e0c0\",\"classes\":[" + classes + "]}";
  }

  private static String petsTrimap() {
    // Oxford-IIIT Pet trimaps: 1 = pet, 2 = background, 3 = border (not classified by annotators).
    return "{\"name\":\"pets-trimap\",\"description\":\"Oxford-IIIT Pet trimaps: 1 pet, 2 background, 3 border\","
        + "\"ignoreValue\":255,\"values\":{\"1\":1,\"2\":0,\"3\":2},\"classes\":["
        + "{\"name\":\"background\",\"color\":\"#000000\"},{\"name\":\"pet\",\"color\":\"#ff8c00\"},"
        + "{\"name\":\"border\",\"color\":\"#ffffff\"}]}";
  }

  private static String camvid() {
    StringBuilder classes = new StringBuilder();
    for (int c = 0; c < CAMVID.length; c++) {
      Object[] row = CAMVID[c];
      classes.append(c == 0 ? "" : ",")
          .append("{\"name\":\"").append(row[0]).append("\",\"color\":\"")
          .append(hex((Integer) row[1], (Integer) row[2], (Integer) row[3])).append("\"}");
    }
    return "{\"name\":\"camvid-11\",\"description\":\"CamVid (SegNet split): 11 classes, 11 = void -> ignore\","
        + "\"ignoreValue\":255,\"ignoreColor\":\"#000000\",\"values\":{\"0\":0,\"1\":1,\"2\":2,\"3\":3,\"4\":4,\"5\":5,"
        + "\"6\":6,\"7\":7,\"8\":8,\"9\":9,\"10\":10,\"11\":255},\"classes\":[" + classes + "]}";
  }
}
