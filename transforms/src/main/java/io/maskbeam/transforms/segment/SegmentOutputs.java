package io.maskbeam.transforms.segment;

import io.maskbeam.transforms.io.Storage;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * What a segment run writes for each image and where: always {@code masks/<key>.png}; optionally colour masks,
 * overlays (with their blend weight and JPEG quality) and probabilities. Built with {@link #to} and {@code withX}.
 *
 * @param output the output prefix
 * @param run this run's id, sortable by time; names its stats, state and errors files
 */
public record SegmentOutputs(String output, String run, boolean writeColor, boolean writeOverlays,
    boolean writeProbabilities, float overlayAlpha, int overlayQuality) implements Serializable {
  public static final String MASKS = "masks";
  public static final String COLOR = "color";
  public static final String OVERLAYS = "overlays";
  public static final String PROBABILITIES = "probabilities";
  public static final String STATS = "stats";
  public static final String ERRORS = "errors";

  public SegmentOutputs {
    if (overlayAlpha < 0 || overlayAlpha > 1) {
      throw new IllegalArgumentException("--overlayAlpha must be in [0, 1], got " + overlayAlpha);
    }
    if (overlayQuality < 1 || overlayQuality > 100) {
      throw new IllegalArgumentException("--overlayQuality must be in 1..100, got " + overlayQuality);
    }
  }

  /** Masks, colour masks and overlays (alpha 0.5, quality 90) under {@code output}, for run {@code run}. */
  public static SegmentOutputs to(String output, String run) {
    return new SegmentOutputs(output, run, true, true, false, 0.5f, 90);
  }

  public SegmentOutputs withColor(boolean write) {
    return new SegmentOutputs(output, run, write, writeOverlays, writeProbabilities, overlayAlpha, overlayQuality);
  }

  public SegmentOutputs withOverlays(boolean write, float alpha, int quality) {
    return new SegmentOutputs(output, run, writeColor, write, writeProbabilities, alpha, quality);
  }

  public SegmentOutputs withProbabilities(boolean write) {
    return new SegmentOutputs(output, run, writeColor, writeOverlays, write, overlayAlpha, overlayQuality);
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
