package io.maskbeam.annotations;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.labels.LabelMap;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The regions drawn on one image, in one normalised form whatever tool wrote them, and how they become a class mask.
 *
 * <p><b>Classes.</b> A region's class is the label map's class of the same name (case and the separators space,
 * {@code _} and {@code -} ignored); failing that, for formats with category ids (COCO), the label map's class for
 * the id as a raw value. A region neither resolves is <em>unknown</em>: painted as the ignore value and counted, as
 * unknown mask values are, and named in the message. Pixels no region covers are background: the class named
 * {@code background} (or LabelMe's {@code _background_}), else the label map's class for raw value 0, else the
 * ignore value.
 *
 * <p><b>Overlaps.</b> {@link Overlap#SMALLER_ON_TOP} (COCO, whose annotation order means nothing) paints regions
 * from the largest to the smallest by pixel count, so a small object on a large one stays visible;
 * {@link Overlap#LATER_WINS} (LabelMe, CVAT: the order a person drew in) paints in file order.
 *
 * <p><b>Mask colours.</b> Where the annotation is a colour-coded mask file with a colour per label (Vertex AI's
 * {@code maskAnnotation}), {@code maskColors} holds that table and {@link #withMask} turns the decoded mask into
 * one RLE region per colour, painted before the polygons; colours the table lacks are unknown.
 *
 * @param width the image width the annotation states, or 0 where it states none
 * @param height the image height the annotation states, or 0
 * @param normalized whether polygon coordinates are fractions of the image size (Vertex AI) rather than pixels
 * @param maskColors for a colour-coded mask file: label name by {@code 0xRRGGBB} colour; else empty
 */
public record ImageAnnotation(int width, int height, List<Region> regions, Overlap overlap, boolean normalized,
    Map<Integer, String> maskColors) implements Serializable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Which region owns a pixel that several cover. */
  public enum Overlap { SMALLER_ON_TOP, LATER_WINS }

  public ImageAnnotation {
    regions = List.copyOf(regions);
    maskColors = maskColors == null ? Map.of() : Map.copyOf(maskColors);
    if (width < 0 || height < 0) {
      throw new IllegalArgumentException("image size must not be negative");
    }
  }

  public ImageAnnotation(int width, int height, List<Region> regions, Overlap overlap) {
    this(width, height, regions, overlap, false, Map.of());
  }

  /** Whether a mask file must be read for this annotation ({@link #withMask}). */
  public boolean needsMask() {
    return !maskColors.isEmpty();
  }

  /**
   * The annotation with the colour-coded mask's regions in front of the polygons: one RLE region per colour present
   * (named by {@code maskColors}, or {@code #rrggbb} when the table lacks it, which then counts as unknown). Black
   * is background when the table does not name it.
   */
  public ImageAnnotation withMask(int[] rgb, int maskWidth, int maskHeight) {
    java.util.TreeSet<Integer> colours = new java.util.TreeSet<>();
    int last = -1;
    for (int c : rgb) {
      if (c != last) {
        colours.add(c);
        last = c;
      }
    }
    List<Region> all = new ArrayList<>();
    for (int colour : colours) {
      String name = maskColors.get(colour);
      if (name == null && colour == 0) {
        continue;
      }
      all.add(Region.mask(name != null ? name : String.format(Locale.ROOT, "#%06x", colour), null,
          CocoRle.encode(i -> rgb[i] == colour, maskWidth, maskHeight)));
    }
    all.addAll(regions);
    return new ImageAnnotation(maskWidth, maskHeight, all, overlap, normalized, Map.of());
  }

  /** The class mask and what the label map did not cover. */
  public record Rasterized(byte[] classes, long unknownPixels, String unknownSample) {}

  /**
   * Paints the regions into a width x height class mask with the label map (see the class comment). An RLE region
   * of another size throws {@link Region.AnnotationSizeException}.
   */
  public Rasterized rasterize(LabelMap map, int imageWidth, int imageHeight) {
    if (needsMask()) {
      throw new IllegalStateException("read the mask file first (withMask)");
    }
    List<Region> regions = normalized ? scaled(imageWidth, imageHeight) : this.regions;
    int pixels = imageWidth * imageHeight;
    int[] owner = new int[pixels];
    Arrays.fill(owner, -1);
    List<Integer> order = new ArrayList<>();
    for (int k = 0; k < regions.size(); k++) {
      order.add(k);
    }
    if (overlap == Overlap.SMALLER_ON_TOP && regions.size() > 1) {
      long[] area = new long[regions.size()];
      for (int k = 0; k < regions.size(); k++) {
        area[k] = regions.get(k).paint(imageWidth, imageHeight, i -> { });
      }
      order.sort(Comparator.comparingLong((Integer k) -> -area[k])); // stable: ties keep file order
    }
    for (int k : order) {
      int region = k;
      regions.get(k).paint(imageWidth, imageHeight, i -> owner[i] = region);
    }
    byte ignore = (byte) map.ignoreValue();
    int[] regionClass = new int[regions.size()];
    for (int k = 0; k < regions.size(); k++) {
      regionClass[k] = classOf(regions.get(k), map);
    }
    int background = backgroundClass(map);
    byte[] classes = new byte[pixels];
    long[] unknownByRegion = new long[regions.size()];
    long unknown = 0;
    for (int i = 0; i < pixels; i++) {
      int k = owner[i];
      int c = k < 0 ? background : regionClass[k];
      if (c == LabelMap.UNKNOWN) {
        classes[i] = ignore;
        unknown++;
        unknownByRegion[k]++;
      } else {
        classes[i] = (byte) c;
      }
    }
    Map<String, Long> sample = new TreeMap<>();
    for (int k = 0; k < regions.size(); k++) {
      if (unknownByRegion[k] > 0 && (sample.size() < 8 || sample.containsKey(regions.get(k).name()))) {
        sample.merge(regions.get(k).name(), unknownByRegion[k], Long::sum);
      }
    }
    StringBuilder text = new StringBuilder();
    sample.forEach((name, count) -> text.append(text.length() > 0 ? ", " : "").append('\'').append(name)
        .append("' (").append(count).append(" px)"));
    return new Rasterized(classes, unknown, text.toString());
  }

  private List<Region> scaled(int w, int h) {
    List<Region> out = new ArrayList<>();
    for (Region r : regions) {
      if (r.rle() != null) {
        out.add(r);
        continue;
      }
      List<double[]> rings = new ArrayList<>();
      for (double[] ring : r.rings()) {
        double[] s = new double[ring.length];
        for (int i = 0; i < ring.length; i += 2) {
          s[i] = ring[i] * w;
          s[i + 1] = ring[i + 1] * h;
        }
        rings.add(s);
      }
      out.add(Region.polygons(r.label(), r.category(), rings));
    }
    return out;
  }

  /** The class a region resolves to under the label map, or {@link LabelMap#UNKNOWN}. */
  public static int classOf(Region region, LabelMap map) {
    if (region.label() != null) {
      int byName = classNamed(map, region.label());
      if (byName != LabelMap.UNKNOWN) {
        return byName;
      }
    }
    if (region.category() != null && region.category() >= 0 && region.category() <= LabelMap.MAX_RAW_VALUE) {
      return map.mapRaw(region.category());
    }
    return LabelMap.UNKNOWN;
  }

  /** The class of pixels no region covers (see the class comment). */
  public static int backgroundClass(LabelMap map) {
    for (String name : new String[] {"background", "_background_"}) {
      int c = classNamed(map, name);
      if (c != LabelMap.UNKNOWN) {
        return c;
      }
    }
    int raw0 = map.mapRaw(0);
    return raw0 == LabelMap.UNKNOWN ? map.ignoreValue() : raw0;
  }

  private static int classNamed(LabelMap map, String name) {
    String key = normalise(name);
    for (LabelClass c : map.classes()) {
      if (normalise(c.name()).equals(key)) {
        return c.id();
      }
    }
    return LabelMap.UNKNOWN;
  }

  private static String normalise(String name) {
    return name.trim().toLowerCase(Locale.ROOT).replaceAll("[\\s_\\-]+", "");
  }

  /** The compact JSON that carries an annotation between pipeline steps (not an exchange format). */
  public String toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("width", width).put("height", height).put("overlap", overlap.name()).put("normalized", normalized);
    if (!maskColors.isEmpty()) {
      ObjectNode colours = root.putObject("maskColors");
      maskColors.forEach((rgb, name) -> colours.put(Integer.toString(rgb), name));
    }
    ArrayNode list = root.putArray("regions");
    for (Region r : regions) {
      ObjectNode n = list.addObject();
      if (r.label() != null) {
        n.put("label", r.label());
      }
      if (r.category() != null) {
        n.put("category", r.category());
      }
      if (r.rle() != null) {
        n.put("rleHeight", r.rle().height()).put("rleWidth", r.rle().width())
            .put("rle", r.rle().toCompressedString());
      } else {
        ArrayNode rings = n.putArray("rings");
        for (double[] ring : r.rings()) {
          ArrayNode a = rings.addArray();
          for (double v : ring) {
            a.add(v);
          }
        }
      }
    }
    return root.toString();
  }

  public static ImageAnnotation fromJson(String json) {
    try {
      JsonNode root = JSON.readTree(json);
      List<Region> regions = new ArrayList<>();
      for (JsonNode n : root.get("regions")) {
        String label = n.hasNonNull("label") ? n.get("label").asText() : null;
        Integer category = n.hasNonNull("category") ? n.get("category").asInt() : null;
        if (n.has("rle")) {
          regions.add(Region.mask(label, category, CocoRle.fromCompressedString(n.get("rle").asText(),
              n.get("rleHeight").asInt(), n.get("rleWidth").asInt())));
        } else {
          List<double[]> rings = new ArrayList<>();
          for (JsonNode a : n.get("rings")) {
            double[] ring = new double[a.size()];
            for (int i = 0; i < ring.length; i++) {
              ring[i] = a.get(i).asDouble();
            }
            rings.add(ring);
          }
          regions.add(Region.polygons(label, category, rings));
        }
      }
      Map<Integer, String> colours = new TreeMap<>();
      root.path("maskColors").fields().forEachRemaining(e -> colours.put(Integer.parseInt(e.getKey()),
          e.getValue().asText()));
      return new ImageAnnotation(root.get("width").asInt(), root.get("height").asInt(), regions,
          Overlap.valueOf(root.get("overlap").asText()), root.path("normalized").asBoolean(false), colours);
    } catch (IOException e) {
      throw new IllegalArgumentException("not an annotation: " + e.getMessage(), e);
    }
  }
}
