package io.maskbeam.models.infer;

import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;

/** What tiled inference needs of a model. */
public interface ProbabilityModel {
  int numClasses();

  /** Class probabilities [n, h, w, C] for a batch of same-size RGB images [n, h, w, 3]. */
  float[] probabilities(byte[] rgb, int n, int h, int w);

  /** Class ids of one image run whole. */
  LabelImage segment(RgbImage image);
}
