package io.maskbeam.dataset;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.labels.LabelMap;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Mergeable dataset statistics: examples and class pixel histograms per split, image size histograms, and the
 * median-frequency class weights of Eigen and Fergus (2015) as SegNet uses them.
 *
 * <p>Merging is associative and commutative, so a distributed combine gives the same result as a single pass.
 */
public final class DatasetStatistics implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Per-split accumulators. */
  public static final class SplitStats implements Serializable {
    private static final long serialVersionUID = 1L;
    long examples;
    long reencoded;
    long[] classPixels;
    /** For each class, the labelled pixels of the images in which that class occurs (median-frequency weights). */
    long[] pixelsOfImagesWithClass;
    long[] imagesWithClass;
    long ignorePixels;
    long unknownPixels;
    /** Examples none of whose pixels count for a class: written, but they teach nothing. */
    long allIgnoreExamples;
    /** Inputs (photos, rasters) the examples came from: a raster cut into chips is one input. */
    long sources;
    /** Chips of rasters dropped because none of their pixels held data. */
    long noDataChips;
    /** Raw band statistics by kind ({@link BandStatistics#kind}); empty for RGB datasets, one kind when usable. */
    TreeMap<String, BandStatistics> bands = new TreeMap<>();
    /** Examples of each kind ("rgb" for photos), to name the mix when a dataset has several. */
    TreeMap<String, Long> kinds = new TreeMap<>();

    SplitStats(int numClasses) {
      classPixels = new long[numClasses];
      pixelsOfImagesWithClass = new long[numClasses];
      imagesWithClass = new long[numClasses];
    }

    void merge(SplitStats o) {
      examples += o.examples;
      reencoded += o.reencoded;
      ignorePixels += o.ignorePixels;
      unknownPixels += o.unknownPixels;
      allIgnoreExamples += o.allIgnoreExamples;
      sources += o.sources;
      noDataChips += o.noDataChips;
      o.bands.forEach((k, v) -> bands.merge(k, copy(v), BandStatistics::merge));
      o.kinds.forEach((k, v) -> kinds.merge(k, v, Long::sum));
      for (int c = 0; c < classPixels.length; c++) {
        classPixels[c] += o.classPixels[c];
        pixelsOfImagesWithClass[c] += o.pixelsOfImagesWithClass[c];
        imagesWithClass[c] += o.imagesWithClass[c];
      }
    }

    public long examples() {
      return examples;
    }

    public long[] classPixels() {
      return classPixels.clone();
    }

    public long allIgnoreExamples() {
      return allIgnoreExamples;
    }

    public long ignorePixels() {
      return ignorePixels;
    }

    public long unknownPixels() {
      return unknownPixels;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof SplitStats s && examples == s.examples && reencoded == s.reencoded
          && ignorePixels == s.ignorePixels && unknownPixels == s.unknownPixels
          && allIgnoreExamples == s.allIgnoreExamples && sources == s.sources && noDataChips == s.noDataChips
          && Arrays.equals(classPixels, s.classPixels)
          && Arrays.equals(pixelsOfImagesWithClass, s.pixelsOfImagesWithClass)
          && Arrays.equals(imagesWithClass, s.imagesWithClass) && bands.equals(s.bands) && kinds.equals(s.kinds);
    }

    @Override
    public int hashCode() {
      return java.util.Objects.hash(examples, ignorePixels, Arrays.hashCode(classPixels));
    }
  }

  /** The kind of photo examples. */
  static final String RGB = "rgb (8-bit, 3 channels)";

  private final int numClasses;
  private final TreeMap<String, SplitStats> splits = new TreeMap<>();
  private final TreeMap<String, Long> sourceSizes = new TreeMap<>();
  private final TreeMap<String, Long> outputSizes = new TreeMap<>();

  public DatasetStatistics(int numClasses) {
    this.numClasses = numClasses;
  }

  public int numClasses() {
    return numClasses;
  }

  /** Written examples none of whose pixels count for a class, over all splits. */
  public long allIgnoreExamples() {
    return splits.values().stream().mapToLong(SplitStats::allIgnoreExamples).sum();
  }

  private static BandStatistics copy(BandStatistics b) {
    return new BandStatistics(b.dtype(), b.bandNumbers()).merge(b);
  }

  /** Adds one written RGB example. */
  public void add(String split, int sourceWidth, int sourceHeight, int width, int height, long[] classPixels,
      long ignorePixels, long unknownPixels, boolean reencoded) {
    add(split, sourceWidth, sourceHeight, width, height, classPixels, ignorePixels, unknownPixels, reencoded, null);
  }

  /** Adds one written example, of an input of its own; {@code bands}: the statistics of a raw band example. */
  public void add(String split, int sourceWidth, int sourceHeight, int width, int height, long[] classPixels,
      long ignorePixels, long unknownPixels, boolean reencoded, BandStatistics bands) {
    addChip(split, sourceWidth, sourceHeight, width, height, classPixels, ignorePixels, unknownPixels, reencoded,
        bands, true, 0);
  }

  /**
   * Counts an input of a split without an example ({@code firstOfSource}: a large raster whose chips come from units
   * on other workers) and chips of it dropped for holding no data.
   */
  public void addSource(String split, boolean firstOfSource, int noDataChips) {
    SplitStats s = splits.computeIfAbsent(split, k -> new SplitStats(numClasses));
    if (firstOfSource) {
      s.sources++;
    }
    s.noDataChips += noDataChips;
  }

  /**
   * Adds one written example cut from an input with others (a chip of a raster).
   *
   * @param firstOfSource whether the input is counted with this example (once per input)
   * @param noDataChips chips of the input dropped for holding no data (counted with its first example)
   */
  public void addChip(String split, int sourceWidth, int sourceHeight, int width, int height, long[] classPixels,
      long ignorePixels, long unknownPixels, boolean reencoded, BandStatistics bands, boolean firstOfSource,
      int noDataChips) {
    if (classPixels.length != numClasses) {
      throw new IllegalArgumentException("histogram has " + classPixels.length + " classes, expected " + numClasses);
    }
    SplitStats s = splits.computeIfAbsent(split, k -> new SplitStats(numClasses));
    s.examples++;
    if (firstOfSource) {
      s.sources++;
      s.noDataChips += noDataChips;
    }
    s.kinds.merge(bands == null ? RGB : bands.kind(), 1L, Long::sum);
    if (bands != null) {
      s.bands.merge(bands.kind(), copy(bands), BandStatistics::merge);
    }
    if (reencoded) {
      s.reencoded++;
    }
    s.ignorePixels += ignorePixels;
    if (ignorePixels == (long) width * height) {
      s.allIgnoreExamples++;
    }
    s.unknownPixels += unknownPixels;
    long labelled = 0;
    for (long p : classPixels) {
      labelled += p;
    }
    for (int c = 0; c < numClasses; c++) {
      s.classPixels[c] += classPixels[c];
      if (classPixels[c] > 0) {
        s.imagesWithClass[c]++;
        s.pixelsOfImagesWithClass[c] += labelled;
      }
    }
    sourceSizes.merge(sourceWidth + "x" + sourceHeight, 1L, Long::sum);
    outputSizes.merge(width + "x" + height, 1L, Long::sum);
  }

  public void add(String split, PreparedExample e) {
    add(split, e.sourceWidth(), e.sourceHeight(), e.width(), e.height(), e.classPixels(), e.ignorePixels(),
        e.unknownPixels(), e.imageReencoded(), e.bands());
  }

  public DatasetStatistics merge(DatasetStatistics other) {
    if (other.numClasses != numClasses) {
      throw new IllegalArgumentException("cannot merge statistics of " + other.numClasses + " and " + numClasses + " classes");
    }
    other.splits.forEach((k, v) -> splits.computeIfAbsent(k, x -> new SplitStats(numClasses)).merge(v));
    other.sourceSizes.forEach((k, v) -> sourceSizes.merge(k, v, Long::sum));
    other.outputSizes.forEach((k, v) -> outputSizes.merge(k, v, Long::sum));
    return this;
  }

  public Map<String, SplitStats> splits() {
    return splits;
  }

  public long totalExamples() {
    return splits.values().stream().mapToLong(s -> s.examples).sum();
  }

  /** Inputs that became at least one example (each raster once, however many chips). */
  public long totalSources() {
    return splits.values().stream().mapToLong(s -> s.sources).sum();
  }

  /** Raster chips dropped for holding no data. */
  public long totalNoDataChips() {
    return splits.values().stream().mapToLong(s -> s.noDataChips).sum();
  }

  public Map<String, Long> sourceSizes() {
    return sourceSizes;
  }

  public Map<String, Long> outputSizes() {
    return outputSizes;
  }

  /**
   * Median-frequency balancing: freq(c) = pixels of c / labelled pixels of the images where c occurs; weight(c) =
   * median(freq) / freq(c). Classes that never occur get weight 0 (they contribute no loss anyway).
   */
  public double[] medianFrequencyWeights(String split) {
    SplitStats s = splits.get(split);
    double[] weights = new double[numClasses];
    if (s == null) {
      return weights;
    }
    double[] freq = new double[numClasses];
    List<Double> present = new ArrayList<>();
    for (int c = 0; c < numClasses; c++) {
      if (s.classPixels[c] > 0 && s.pixelsOfImagesWithClass[c] > 0) {
        freq[c] = (double) s.classPixels[c] / s.pixelsOfImagesWithClass[c];
        present.add(freq[c]);
      }
    }
    if (present.isEmpty()) {
      return weights;
    }
    double[] sorted = present.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    int m = sorted.length;
    double median = m % 2 == 1 ? sorted[m / 2] : (sorted[m / 2 - 1] + sorted[m / 2]) / 2;
    for (int c = 0; c < numClasses; c++) {
      weights[c] = freq[c] > 0 ? median / freq[c] : 0;
    }
    return weights;
  }

  /**
   * The raw band statistics training normalises with (train split, else all), or null for an RGB dataset.
   *
   * @throws IllegalArgumentException when the examples are of several kinds (sample types, bands, or rasters and
   *     photos), naming each with its count: one model cannot take them all
   */
  public BandStatistics bandStatistics() {
    TreeMap<String, Long> kinds = new TreeMap<>();
    splits.values().forEach(s -> s.kinds.forEach((k, v) -> kinds.merge(k, v, Long::sum)));
    if (kinds.size() > 1) {
      StringBuilder text = new StringBuilder();
      kinds.forEach((k, v) -> text.append(text.length() == 0 ? "" : "; ").append(k).append(": ").append(v)
          .append(v == 1 ? " example" : " examples"));
      throw new IllegalArgumentException("the examples are of " + kinds.size() + " kinds, which one model cannot"
          + " take (" + text + "); preprocess them separately, or choose the bands with --bands");
    }
    SplitStats train = splits.get(SplitAssigner.TRAIN);
    BandStatistics result = null;
    for (SplitStats s : train != null ? List.of(train) : splits.values()) {
      for (BandStatistics b : s.bands.values()) {
        result = result == null ? copy(b) : result.merge(b);
      }
    }
    return result;
  }

  /** The statistics part of dataset.json. Weights come from {@code train}, or from all data if there is no train. */
  public ObjectNode toJson(ObjectMapper json, LabelMap labelMap) {
    ObjectNode root = json.createObjectNode();
    ObjectNode splitsNode = root.putObject("splits");
    DatasetStatistics all = new DatasetStatistics(numClasses);
    for (Map.Entry<String, SplitStats> e : splits.entrySet()) {
      SplitStats s = e.getValue();
      all.splits.computeIfAbsent("all", k -> new SplitStats(numClasses)).merge(s);
      ObjectNode sn = splitsNode.putObject(e.getKey());
      sn.put("examples", s.examples);
      if (s.sources != s.examples || s.noDataChips > 0) {
        sn.put("inputs", s.sources);
        sn.put("noDataChipsDropped", s.noDataChips);
      }
      sn.put("reencodedImages", s.reencoded);
      long labelled = Arrays.stream(s.classPixels).sum();
      sn.put("labelledPixels", labelled);
      sn.put("ignorePixels", s.ignorePixels);
      sn.put("allIgnoreExamples", s.allIgnoreExamples);
      sn.put("unknownLabelPixels", s.unknownPixels);
      ObjectNode hist = sn.putObject("classPixels");
      ObjectNode fraction = sn.putObject("classFrequency");
      ObjectNode images = sn.putObject("imagesWithClass");
      for (int c = 0; c < numClasses; c++) {
        String name = labelMap.classes().get(c).name();
        hist.put(name, s.classPixels[c]);
        fraction.put(name, labelled == 0 ? 0.0 : round((double) s.classPixels[c] / labelled));
        images.put(name, s.imagesWithClass[c]);
      }
    }
    String weightSplit = splits.containsKey(SplitAssigner.TRAIN) ? SplitAssigner.TRAIN : null;
    double[] weights = weightSplit != null ? medianFrequencyWeights(weightSplit) : all.medianFrequencyWeights("all");
    ObjectNode w = root.putObject("classWeights");
    w.put("method", "median-frequency");
    w.put("computedOn", weightSplit != null ? weightSplit : "all splits");
    ArrayNode wv = w.putArray("values");
    for (double v : weights) {
      wv.add(round(v));
    }
    BandStatistics bands = bandStatistics();
    if (bands != null) {
      ObjectNode b = root.putObject("bands");
      b.put("format", DeepLabExample.RAW_FORMAT);
      b.put("dtype", bands.dtype());
      b.put("channels", bands.bands());
      ArrayNode numbers = b.putArray("sourceBands");
      for (int n : bands.bandNumbers()) {
        numbers.add(n);
      }
      b.put("computedOn", splits.containsKey(SplitAssigner.TRAIN) ? SplitAssigner.TRAIN : "all splits");
      b.put("decode", "tf.reshape(tf.io.decode_raw(image/encoded, tf." + bands.dtype() + ", little_endian=True),"
          + " [image/height, image/width, image/channels])");
      bands.toJson(b.putArray("statistics"));
    }
    ObjectNode sizes = root.putObject("imageSizes");
    ObjectNode src = sizes.putObject("source");
    sourceSizes.forEach(src::put);
    ObjectNode out = sizes.putObject("output");
    outputSizes.forEach(out::put);
    return root;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DatasetStatistics d && numClasses == d.numClasses && splits.equals(d.splits)
        && sourceSizes.equals(d.sourceSizes) && outputSizes.equals(d.outputSizes);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(numClasses, splits, sourceSizes, outputSizes);
  }

  private static double round(double v) {
    return Math.round(v * 1e6) / 1e6;
  }
}
