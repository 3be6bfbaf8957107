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
          && allIgnoreExamples == s.allIgnoreExamples && Arrays.equals(classPixels, s.classPixels)
          && Arrays.equals(pixelsOfImagesWithClass, s.pixelsOfImagesWithClass)
          && Arrays.equals(imagesWithClass, s.imagesWithClass);
    }

    @Override
    public int hashCode() {
      return java.util.Objects.hash(examples, ignorePixels, Arrays.hashCode(classPixels));
    }
  }

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

  /** Adds one written example. */
  public void add(String split, int sourceWidth, int sourceHeight, int width, int height, long[] classPixels,
      long ignorePixels, long unknownPixels, boolean reencoded) {
    if (classPixels.length != numClasses) {
      throw new IllegalArgumentException("histogram has " + classPixels.length + " classes, expected " + numClasses);
    }
    SplitStats s = splits.computeIfAbsent(split, k -> new SplitStats(numClasses));
    s.examples++;
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
        e.unknownPixels(), e.imageReencoded());
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
