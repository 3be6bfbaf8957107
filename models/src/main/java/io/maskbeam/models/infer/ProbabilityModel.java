package io.maskbeam.models.infer;

import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;

/** What tiled inference needs of a model. */
public interface ProbabilityModel {
  int numClasses();

  /** Class probabilities [n, h, w, C] for a batch of same-size RGB images [n, h, w, 3]. */
  float[] probabilities(byte[] rgb, int n, int h, int w);

  /**
   * Arg-max class ids [n, h, w] of a batch. Models that can produce them without materialising probabilities
   * (a SavedModel fetching only its class output skips the softmax and a C-times larger copy) override this.
   */
  default byte[] labels(byte[] rgb, int n, int h, int w) {
    return ProbabilityMaps.argMax(probabilities(rgb, n, h, w), 0, n * h * w, numClasses());
  }

  /** Class ids of one image run whole. */
  LabelImage segment(RgbImage image);
}
