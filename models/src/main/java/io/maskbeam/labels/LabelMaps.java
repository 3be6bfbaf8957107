package io.maskbeam.labels;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Builds {@link LabelMap}s from named presets or from JSON.
 *
 * <p>The JSON format is a superset of SageMaker's semantic segmentation label map:
 *
 * <pre>{@code
 * {"scale": 3}                              // SageMaker: class = floor(raw / 3)
 * {"map": {"0": 5, "1": 0, "2": 2}}         // SageMaker: class -> raw value (raw 5 is class 0, raw 0 class 1)
 * {"values": {"0": 0, "7": 1, "8": 1}}      // Maskbeam: raw value -> class, several raw values per class
 * {"classes": ["background", {"name": "cat", "color": "#ff0000"}],   // Maskbeam: names and colours
 *  "ignoreValue": 255,                      // default 255; raw 255 is ignored unless mapped
 *  "colors": {"#000000": 255, "#ff0000": 1}} // colour table for RGB (colour-coded) masks
 * }</pre>
 *
 * Without {@code values}, {@code map} or {@code scale}, raw values 0..N-1 are the classes themselves. Without {@code classes}, the
 * class count is the largest mapped class + 1 and names are {@code class_K} with the VOC palette's colours. Without
 * {@code colors}, the classes' own colours form the colour table.
 */
public final class LabelMaps {
  public static final int DEFAULT_IGNORE = 255;
  private static final ObjectMapper JSON = new ObjectMapper();

  private LabelMaps() {}

  /** Names of the built-in presets. */
  public static Set<String> presetNames() {
    return new TreeSet<>(LabelMapPresets.NAMES);
  }

  /** A preset by name, e.g. {@code cityscapes-8}, {@code camvid-11}. */
  public static LabelMap preset(String name) {
    String json = LabelMapPresets.json(name.toLowerCase(Locale.ROOT));
    if (json == null) {
      throw new IllegalArgumentException("unknown label map preset '" + name + "'; presets: " + presetNames());
    }
    return parse(json, name.toLowerCase(Locale.ROOT));
  }

  /**
   * Resolves what a user typed after {@code --labelMap}: a preset name or inline JSON. File paths are read by the
   * caller (they may live on any Beam filesystem) and handed to {@link #parse(String, String)}.
   */
  public static boolean isPresetOrInline(String spec) {
    String s = spec.trim();
    return s.startsWith("{") || LabelMapPresets.NAMES.contains(s.toLowerCase(Locale.ROOT));
  }

  public static LabelMap fromPresetOrInline(String spec) {
    String s = spec.trim();
    return s.startsWith("{") ? parse(s, "inline") : preset(s);
  }

  /** Parses a label map JSON document; {@code name} labels it in dataset.json and messages. */
  public static LabelMap parse(String json, String name) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("label map '" + name + "' is not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("label map '" + name + "' must be a JSON object");
    }
    checkKnownKeys(root, name);
    int ignore = root.path("ignoreValue").asInt(DEFAULT_IGNORE);
    if (root.has("name")) {
      name = root.get("name").asText();
    }

    int[] raw = new int[LabelMap.MAX_RAW_VALUE + 1];
    Arrays.fill(raw, LabelMap.UNKNOWN);
    int maxClass = -1;
    int ways = (root.has("map") ? 1 : 0) + (root.has("values") ? 1 : 0) + (root.has("scale") ? 1 : 0);
    if (ways > 1) {
      throw new IllegalArgumentException("label map '" + name + "': give one of \"values\", \"map\" and \"scale\"");
    }
    List<LabelClass> declared = parseClasses(root.get("classes"), name);
    if (root.has("values") || root.has("map")) {
      // "values": Maskbeam's raw value -> class (several raw values may share a class).
      // "map": SageMaker's class -> raw value ({"map": {"0": 5, "1": 0}}: raw 5 is class 0, raw 0 is class 1).
      boolean sageMaker = root.has("map");
      JsonNode map = root.get(sageMaker ? "map" : "values");
      if (!map.isObject()) {
        throw new IllegalArgumentException("label map '" + name + "': \"" + (sageMaker ? "map" : "values")
            + "\" must be an object of " + (sageMaker ? "class -> raw value" : "raw value -> class"));
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        int key = parseInt(e.getKey(), name, sageMaker ? "map key (class)" : "values key (raw value)");
        int value = parseInt(e.getValue().asText(), name, (sageMaker ? "map value for class " : "class of raw value ")
            + key);
        int from = sageMaker ? value : key;
        int to = sageMaker ? key : value;
        if (from < 0 || from > LabelMap.MAX_RAW_VALUE) {
          throw new IllegalArgumentException("label map '" + name + "': raw value " + from + " is outside 0.."
              + LabelMap.MAX_RAW_VALUE);
        }
        if (sageMaker && raw[from] != LabelMap.UNKNOWN) {
          throw new IllegalArgumentException("label map '" + name + "': raw value " + from + " is given to classes "
              + raw[from] + " and " + to);
        }
        raw[from] = to;
        if (to != ignore) {
          maxClass = Math.max(maxClass, to);
        }
      }
      if (raw[ignore] == LabelMap.UNKNOWN) {
        raw[ignore] = ignore;
      }
    } else if (root.has("scale")) {
      int scale = parseInt(root.get("scale").asText(), name, "scale");
      if (scale < 1) {
        throw new IllegalArgumentException("label map '" + name + "': scale must be >= 1, got " + scale);
      }
      // As SageMaker does: class = floor(raw / scale), for the classes there are.
      int n = declared.isEmpty() ? Math.min(ignore, LabelMap.MAX_RAW_VALUE / scale + 1) : declared.size();
      for (int v = 0; v <= LabelMap.MAX_RAW_VALUE && v / scale < n; v++) {
        if (v != ignore) {
          raw[v] = v / scale;
          maxClass = Math.max(maxClass, v / scale);
        }
      }
      raw[ignore] = ignore;
    } else {
      if (declared.isEmpty()) {
        throw new IllegalArgumentException("label map '" + name + "' needs \"classes\", \"values\", \"map\" or"
            + " \"scale\"");
      }
      for (int c = 0; c < declared.size(); c++) {
        raw[c] = c;
      }
      maxClass = declared.size() - 1;
      raw[ignore] = ignore;
    }

    List<LabelClass> classes;
    if (declared.isEmpty()) {
      classes = new ArrayList<>();
      for (int c = 0; c <= maxClass; c++) {
        classes.add(new LabelClass(c, "class_" + c, vocColor(c)));
      }
    } else {
      if (maxClass >= declared.size()) {
        throw new IllegalArgumentException("label map '" + name + "' maps to class " + maxClass + " but declares only "
            + declared.size() + " classes");
      }
      classes = declared;
    }

    Map<Integer, Integer> colors = new LinkedHashMap<>();
    if (root.has("colors")) {
      for (Iterator<Map.Entry<String, JsonNode>> it = root.get("colors").fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        colors.put(parseColor(e.getKey(), name), parseInt(e.getValue().asText(), name, "colour target"));
      }
    } else if (!declared.isEmpty()) {
      for (LabelClass c : classes) {
        colors.putIfAbsent(c.rgb(), c.id());
      }
      if (root.has("ignoreColor")) {
        colors.put(parseColor(root.get("ignoreColor").asText(), name), ignore);
      }
    }
    if (root.has("ignoreColor") && root.has("colors")) {
      colors.put(parseColor(root.get("ignoreColor").asText(), name), ignore);
    }
    try {
      return new LabelMap(name, classes, ignore, raw, colors, JSON.writeValueAsString(root));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("label map '" + name + "': " + e.getMessage(), e);
    }
  }

  private static final Set<String> KNOWN_KEYS =
      Set.of("name", "scale", "map", "values", "classes", "ignoreValue", "colors", "ignoreColor", "description");

  private static void checkKnownKeys(JsonNode root, String name) {
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!KNOWN_KEYS.contains(key)) {
        throw new IllegalArgumentException("label map '" + name + "': unknown key \"" + key + "\"; known keys: "
            + new TreeSet<>(KNOWN_KEYS));
      }
    }
  }

  private static List<LabelClass> parseClasses(JsonNode node, String name) {
    List<LabelClass> out = new ArrayList<>();
    if (node == null || node.isNull()) {
      return out;
    }
    if (!node.isArray()) {
      throw new IllegalArgumentException("label map '" + name + "': \"classes\" must be an array");
    }
    ArrayNode array = (ArrayNode) node;
    for (int i = 0; i < array.size(); i++) {
      JsonNode c = array.get(i);
      if (c.isTextual()) {
        out.add(new LabelClass(i, c.asText(), vocColor(i)));
      } else if (c.isObject()) {
        String cname = c.path("name").asText("class_" + i);
        int rgb = c.has("color") ? parseColorNode(c.get("color"), name) : vocColor(i);
        out.add(new LabelClass(i, cname, rgb));
      } else {
        throw new IllegalArgumentException("label map '" + name + "': class " + i + " must be a name or an object");
      }
    }
    return out;
  }

  private static int parseColorNode(JsonNode color, String name) {
    if (color.isArray() && color.size() == 3) {
      return LabelClass.packRgb(color.get(0).asInt(), color.get(1).asInt(), color.get(2).asInt());
    }
    return parseColor(color.asText(), name);
  }

  /** Parses {@code #rrggbb}, {@code rrggbb} or {@code r,g,b}. */
  static int parseColor(String s, String name) {
    String t = s.trim();
    try {
      if (t.contains(",")) {
        String[] p = t.split(",");
        if (p.length == 3) {
          return LabelClass.packRgb(Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim()), Integer.parseInt(p[2].trim()));
        }
      } else {
        if (t.startsWith("#")) {
          t = t.substring(1);
        }
        if (t.length() == 6) {
          return Integer.parseInt(t, 16);
        }
      }
    } catch (NumberFormatException ignored) {
      // fall through to the error below
    }
    throw new IllegalArgumentException("label map '" + name + "': cannot read colour '" + s + "' (use #rrggbb or r,g,b)");
  }

  private static int parseInt(String s, String name, String what) {
    try {
      return Integer.parseInt(s.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("label map '" + name + "': " + what + " '" + s + "' is not an integer");
    }
  }

  /** The PASCAL VOC colour palette, the de facto default for label PNGs. */
  public static int vocColor(int index) {
    int r = 0;
    int g = 0;
    int b = 0;
    int c = index;
    for (int j = 0; j < 8; j++) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    return LabelClass.packRgb(r, g, b);
  }

  /** A JSON object describing the map's classes, as written to dataset.json and model metadata. */
  public static ObjectNode describe(LabelMap map) {
    ObjectNode node = JSON.createObjectNode();
    node.put("name", map.name());
    node.put("numClasses", map.numClasses());
    node.put("ignoreValue", map.ignoreValue());
    ArrayNode classes = node.putArray("classes");
    for (LabelClass c : map.classes()) {
      ObjectNode cn = classes.addObject();
      cn.put("id", c.id());
      cn.put("name", c.name());
      cn.put("color", c.hexColor());
    }
    try {
      node.set("spec", JSON.readTree(map.specJson()));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    return node;
  }
}
