package io.maskbeam.models.infer;

import io.maskbeam.image.ResizePolicy;
import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * How images become label maps, the same for segment, evaluate and serve: what size the network sees, when an image
 * runs in tiles, how images are batched, test-time augmentation, and how many threads a model call may use. Built
 * from {@link #defaults()} with {@code withX} methods; every value is checked when set.
 *
 * @param inferenceSize resize policy of what the network sees ({@code keep}, {@code WxH}, {@code shorter:N},
 *     {@code longer:N}), as {@link ResizePolicy#toString()} writes it
 * @param maxBatchBytes most decoded pixel bytes buffered for batching, per worker thread
 * @param ttaScales test-time scales ([1.0] alone: none)
 * @param runtime threads per model call and precision
 */
public record InferenceSettings(int tileSize, int tileOverlap, int maxBatchSize, long maxBatchBytes,
    String inferenceSize, boolean ttaFlip, List<Double> ttaScales, long maxPixels, ModelRuntime runtime)
    implements Serializable {

  public InferenceSettings {
    if (tileSize < 16) {
      throw new IllegalArgumentException("--tileSize must be at least 16, got " + tileSize);
    }
    if (tileOverlap < 0 || tileOverlap * 2 >= tileSize) {
      throw new IllegalArgumentException("--tileOverlap must be in [0, tileSize/2), got " + tileOverlap);
    }
    if (maxBatchSize < 1) {
      throw new IllegalArgumentException("--maxBatchSize must be at least 1, got " + maxBatchSize);
    }
    if (maxBatchBytes < 1) {
      throw new IllegalArgumentException("--maxBatchMb must be positive");
    }
    inferenceSize = ResizePolicy.parse(inferenceSize).toString();
    ttaScales = List.copyOf(ttaScales);
    if (ttaScales.isEmpty()) {
      throw new IllegalArgumentException("--ttaScales needs at least one scale, such as 1");
    }
    for (double s : ttaScales) {
      TestTimeAugmentation.checkScale(s, "--ttaScales");
    }
    if (maxPixels < 1) {
      throw new IllegalArgumentException("--maxPixels must be positive");
    }
    if (runtime == null) {
      throw new IllegalArgumentException("a model runtime is required");
    }
  }

  /** Whole images up to 1024 px a side, tiles of 1024 overlapping by 128, batches of 8, no TTA. */
  public static InferenceSettings defaults() {
    return new InferenceSettings(1024, 128, 8, 256L << 20, "keep", false, List.of(1.0),
        io.maskbeam.image.ImageLoader.DEFAULT_MAX_PIXELS, ModelRuntime.defaults());
  }

  public InferenceSettings withTiles(int size, int overlap) {
    return new InferenceSettings(size, overlap, maxBatchSize, maxBatchBytes, inferenceSize, ttaFlip, ttaScales,
        maxPixels, runtime);
  }

  public InferenceSettings withBatching(int images, long bytes) {
    return new InferenceSettings(tileSize, tileOverlap, images, bytes, inferenceSize, ttaFlip, ttaScales, maxPixels,
        runtime);
  }

  public InferenceSettings withInferenceSize(String policy) {
    return new InferenceSettings(tileSize, tileOverlap, maxBatchSize, maxBatchBytes, policy, ttaFlip, ttaScales,
        maxPixels, runtime);
  }

  public InferenceSettings withTestTimeAugmentation(boolean flip, List<Double> scales) {
    return new InferenceSettings(tileSize, tileOverlap, maxBatchSize, maxBatchBytes, inferenceSize, flip, scales,
        maxPixels, runtime);
  }

  public InferenceSettings withMaxPixels(long pixels) {
    return new InferenceSettings(tileSize, tileOverlap, maxBatchSize, maxBatchBytes, inferenceSize, ttaFlip,
        ttaScales, pixels, runtime);
  }

  public InferenceSettings withThreads(int perCall) {
    return withRuntime(runtime.withThreads(perCall));
  }

  public InferenceSettings withPrecision(String precision, boolean strict) {
    return withRuntime(runtime.withPrecision(precision, strict));
  }

  public InferenceSettings withRuntime(ModelRuntime r) {
    return new InferenceSettings(tileSize, tileOverlap, maxBatchSize, maxBatchBytes, inferenceSize, ttaFlip,
        ttaScales, maxPixels, r);
  }

  /** Threads per model call (0: every core). */
  public int threads() {
    return runtime.threads();
  }

  /** Parses "0.75,1,1.25". */
  public static List<Double> parseScales(String spec) {
    if (spec == null || spec.isBlank()) {
      return List.of(1.0);
    }
    try {
      return Arrays.stream(spec.split(",")).map(String::trim).filter(s -> !s.isEmpty()).map(Double::valueOf)
          .toList();
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--ttaScales must be comma-separated numbers such as 0.75,1,1.25, got '"
          + spec + "'");
    }
  }

  public ResizePolicy resizePolicy() {
    return ResizePolicy.parse(inferenceSize);
  }

  /** The model as it runs: itself, or wrapped in test-time augmentation. */
  public ProbabilityModel augment(ProbabilityModel model) {
    double[] scales = ttaScales.stream().mapToDouble(Double::doubleValue).toArray();
    return TestTimeAugmentation.isIdentity(ttaFlip, scales) ? model
        : new TestTimeAugmentation(model, ttaFlip, scales);
  }

  /** A segmenter for a model with these settings. */
  public Segmenter segmenter(ProbabilityModel model) {
    return new Segmenter(augment(model), tileSize, tileOverlap, maxBatchSize, resizePolicy());
  }

  /** A compact description for logs and summaries. */
  public String describe() {
    return String.format(Locale.ROOT, "tiles %d/%d, batch %d, size %s, tta flip %s scales %s, threads %s,"
        + " precision %s", tileSize, tileOverlap, maxBatchSize, inferenceSize, ttaFlip, ttaScales,
        threads() == 0 ? "all" : threads(), runtime.precision());
  }
}
