package io.maskbeam.labels;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How raw annotation values become training classes.
 *
 * <p>Raw single-channel values (8 or 16 bit) are looked up in a dense table, so remapping a mask costs one array
 * read per pixel. Colour-coded RGB masks are converted through an exact colour table. Every raw value or colour
 * maps to a class id, to the ignore value, or to {@link #UNKNOWN}; what happens to unknown pixels is the caller's
 * policy (ignore or reject), but they are always counted.
 */
public final class LabelMap implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Marker for a raw value or colour that the map does not cover. */
  public static final int UNKNOWN = -1;

  /** Largest raw value a single-channel mask can carry (16-bit PNG). */
  public static final int MAX_RAW_VALUE = 0xFFFF;

  private final String name;
  private final List<LabelClass> classes;
  private final int ignoreValue;
  /** Dense lookup (256 KiB); rebuilt on deserialization from the compact {@link #mappedRaw} form. */
  private transient int[] rawToClass;
  /** Raw values that map to something other than UNKNOWN, and their targets: what is serialized. */
  private final int[] mappedRaw;
  private final int[] mappedTarget;
  private final Map<Integer, Integer> colorToClass;
  private final String specJson;

  LabelMap(
      String name,
      List<LabelClass> classes,
      int ignoreValue,
      int[] rawToClass,
      Map<Integer, Integer> colorToClass,
      String specJson) {
    if (classes.isEmpty()) {
      throw new IllegalArgumentException("a label map needs at least one class");
    }
    if (classes.size() > 255) {
      throw new IllegalArgumentException(
          "at most 255 classes fit in an 8-bit label PNG next to the ignore value; got " + classes.size());
    }
    if (ignoreValue < classes.size() || ignoreValue > 255) {
      throw new IllegalArgumentException(
          "ignore value " + ignoreValue + " must be in [" + classes.size() + ", 255] so it never collides with a class id");
    }
    for (int i = 0; i < classes.size(); i++) {
      if (classes.get(i).id() != i) {
        throw new IllegalArgumentException("class ids must be 0..N-1 in order; class " + i + " has id " + classes.get(i).id());
      }
    }
    if (rawToClass.length != MAX_RAW_VALUE + 1) {
      throw new IllegalArgumentException("raw lookup table must cover 0.." + MAX_RAW_VALUE);
    }
    for (int raw = 0; raw < rawToClass.length; raw++) {
      checkTarget(rawToClass[raw], classes.size(), ignoreValue, "raw value " + raw);
    }
    colorToClass.forEach(
        (rgb, target) -> checkTarget(target, classes.size(), ignoreValue, String.format("colour #%06x", rgb)));
    this.name = Objects.requireNonNull(name);
    this.classes = List.copyOf(classes);
    this.ignoreValue = ignoreValue;
    this.rawToClass = rawToClass.clone();
    int mapped = 0;
    for (int target : rawToClass) {
      if (target != UNKNOWN) {
        mapped++;
      }
    }
    this.mappedRaw = new int[mapped];
    this.mappedTarget = new int[mapped];
    for (int raw = 0, k = 0; raw < rawToClass.length; raw++) {
      if (rawToClass[raw] != UNKNOWN) {
        mappedRaw[k] = raw;
        mappedTarget[k++] = rawToClass[raw];
      }
    }
    this.colorToClass = Collections.unmodifiableMap(new LinkedHashMap<>(colorToClass));
    this.specJson = specJson;
  }

  private static void checkTarget(int target, int numClasses, int ignoreValue, String what) {
    if (target != UNKNOWN && target != ignoreValue && (target < 0 || target >= numClasses)) {
      throw new IllegalArgumentException(what + " maps to " + target + ", which is neither a class id in [0, "
          + numClasses + ") nor the ignore value " + ignoreValue);
    }
  }

  /**
   * Beam serializes DoFns, and the DirectRunner does so for every bundle: keep the serialized form small (a few
   * entries instead of the 65,536-entry table) and rebuild the table on arrival.
   */
  private void readObject(java.io.ObjectInputStream in) throws java.io.IOException, ClassNotFoundException {
    in.defaultReadObject();
    rawToClass = new int[MAX_RAW_VALUE + 1];
    Arrays.fill(rawToClass, UNKNOWN);
    for (int k = 0; k < mappedRaw.length; k++) {
      rawToClass[mappedRaw[k]] = mappedTarget[k];
    }
  }

  public String name() {
    return name;
  }

  public List<LabelClass> classes() {
    return classes;
  }

  public int numClasses() {
    return classes.size();
  }

  public int ignoreValue() {
    return ignoreValue;
  }

  /** Class id, the ignore value, or {@link #UNKNOWN} for a raw single-channel value. */
  public int mapRaw(int raw) {
    return raw < 0 || raw > MAX_RAW_VALUE ? UNKNOWN : rawToClass[raw];
  }

  /** Class id, the ignore value, or {@link #UNKNOWN} for a packed 0xRRGGBB colour. */
  public int mapColor(int rgb) {
    Integer target = colorToClass.get(rgb & 0xFFFFFF);
    return target == null ? UNKNOWN : target;
  }

  /** Whether colour-coded RGB masks can be converted. */
  public boolean hasColorTable() {
    return !colorToClass.isEmpty();
  }

  /** The JSON this map was built from (a preset's name and definition, or the user's JSON), for provenance. */
  public String specJson() {
    return specJson;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LabelMap other
        && name.equals(other.name)
        && classes.equals(other.classes)
        && ignoreValue == other.ignoreValue
        && Arrays.equals(rawToClass, other.rawToClass)
        && colorToClass.equals(other.colorToClass);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, classes, ignoreValue, Arrays.hashCode(rawToClass), colorToClass);
  }

  @Override
  public String toString() {
    return "LabelMap{" + name + ", " + classes.size() + " classes, ignore=" + ignoreValue + "}";
  }
}
