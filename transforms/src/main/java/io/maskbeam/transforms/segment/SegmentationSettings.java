package io.maskbeam.transforms.segment;

import io.maskbeam.image.ResizePolicy;
import io.maskbeam.transforms.io.Storage;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything a worker needs to segment and write one image, checked once when built.
 *
 * @param model model folder (local, gs:// or s3://)
 * @param output output prefix
 * @param run this run's id, sortable by time; names its stats and errors files
 * @param inferenceSize resize policy for what the network sees (keep, WxH, shorter:N, longer:N)
 * @param ttaScales test-time scales (1.0 alone: none)
 * @param maxBatchBytes most decoded pixel bytes buffered for batching
 * @param inferenceThreads threads per model call (0: every core)
 */
public record SegmentationSettings(
    String model, String output, String run, int tileSize, int tileOverlap, int maxBatchSize, long maxBatchBytes,
    String inferenceSize, boolean ttaFlip, double[] ttaScales, long maxPixels, boolean writeColor,
    boolean writeOverlays, boolean writeProbabilities, float overlayAlpha, int overlayQuality, boolean skipExisting,
    int inferenceThreads) implements Serializable {
  public static final String MASKS = "masks";
  public static final String COLOR = "color";
  public static final String OVERLAYS = "overlays";
  public static final String PROBABILITIES = "probabilities";
  public static final String STATS = "stats";
  public static final String ERRORS = "errors";

  public SegmentationSettings {
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
    if (overlayAlpha < 0 || overlayAlpha > 1) {
      throw new IllegalArgumentException("--overlayAlpha must be in [0, 1], got " + overlayAlpha);
    }
    if (overlayQuality < 1 || overlayQuality > 100) {
      throw new IllegalArgumentException("--overlayQuality must be in 1..100, got " + overlayQuality);
    }
    if (maxPixels < 1) {
      throw new IllegalArgumentException("--maxPixels must be positive");
    }
    ResizePolicy.parse(inferenceSize);
    if (inferenceThreads < 0) {
      throw new IllegalArgumentException("--inferenceThreads must be >= 0, got " + inferenceThreads);
    }
    ttaScales = ttaScales.clone();
  }

  /** Parses "0.75,1,1.25". */
  public static double[] parseScales(String spec) {
    if (spec == null || spec.isBlank()) {
      return new double[] {1.0};
    }
    try {
      return java.util.Arrays.stream(spec.split(",")).map(String::trim).filter(s -> !s.isEmpty())
          .mapToDouble(Double::parseDouble).toArray();
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--ttaScales must be comma-separated numbers such as 0.75,1,1.25, got '"
          + spec + "'");
    }
  }

  public String maskUri(String key) {
    return Storage.join(output, MASKS + "/" + key + ".png");
  }

  public String colorUri(String key) {
    return Storage.join(output, COLOR + "/" + key + ".png");
  }

  public String overlayUri(String key) {
    return Storage.join(output, OVERLAYS + "/" + key + ".jpg");
  }

  public String probabilitiesUri(String key) {
    return Storage.join(output, PROBABILITIES + "/" + key + ".npy");
  }

  /** Every file this run writes for one input; --skipExisting skips an input when all of them exist. */
  public List<String> outputsOf(String key) {
    List<String> uris = new ArrayList<>();
    uris.add(maskUri(key));
    if (writeColor) {
      uris.add(colorUri(key));
    }
    if (writeOverlays) {
      uris.add(overlayUri(key));
    }
    if (writeProbabilities) {
      uris.add(probabilitiesUri(key));
    }
    return uris;
  }
}
