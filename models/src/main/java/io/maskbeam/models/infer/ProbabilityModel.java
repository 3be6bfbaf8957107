package io.maskbeam.models.infer;

import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;
import java.util.List;

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

  /**
   * For a model trained on raw bands ({@code maskbeam train} on rasters), how many it takes per pixel; 0 for a model
   * of 8-bit RGB images.
   */
  default int inputBands() {
    return 0;
  }

  /** Class probabilities [n, h, w, C] for a batch of raw bands [n, h, w, {@link #inputBands()}] (NaN: no data). */
  default float[] probabilities(float[] bands, int n, int h, int w) {
    throw new UnsupportedOperationException("this model takes 8-bit RGB images, not raw bands");
  }

  /** {@link #probabilities(byte[], int, int, int)} or its raw-band form, as the batch's samples are. */
  default float[] probabilitiesOf(Object batch, int n, int h, int w) {
    return batch instanceof float[] f ? probabilities(f, n, h, w) : probabilities((byte[]) batch, n, h, w);
  }

  /** {@link #labels(byte[], int, int, int)} or, for raw bands, the arg-max of their probabilities. */
  default byte[] labelsOf(Object batch, int n, int h, int w) {
    return batch instanceof float[] f ? ProbabilityMaps.argMax(probabilities(f, n, h, w), 0, n * h * w, numClasses())
        : labels((byte[]) batch, n, h, w);
  }

  /**
   * Arg-max class ids [n, h, w] of a batch, each image's pixels also fed to its own accumulator in {@code
   * confidence} (one per image, in batch order). Models that see logits override this to compute both in one pass
   * without a probability map.
   */
  default byte[] labelsWithConfidenceOf(Object batch, int n, int h, int w, List<Confidence.Accumulator> confidence) {
    float[] p = probabilitiesOf(batch, n, h, w);
    int frame = h * w * numClasses();
    for (int i = 0; i < n; i++) {
      confidence.get(i).accept(p, i * frame, frame);
    }
    return ProbabilityMaps.argMax(p, 0, n * h * w, numClasses());
  }

  /** Class ids of one image run whole. */
  LabelImage segment(RgbImage image);
}
