package io.maskbeam.transforms.evaluate;

import io.maskbeam.models.eval.ConfusionMatrix;
import org.apache.beam.sdk.transforms.Combine;

/**
 * Sums confusion matrices: a Beam combine, so each worker adds up its own examples and only C x C counts travel to
 * be merged. Integer sums are exact in any order, so every runner and split gives the same matrix.
 */
public final class CombineConfusion extends Combine.CombineFn<ImageEvaluation, ConfusionMatrix, ConfusionMatrix> {
  private final int numClasses;

  public CombineConfusion(int numClasses) {
    this.numClasses = numClasses;
  }

  @Override
  public ConfusionMatrix createAccumulator() {
    return new ConfusionMatrix(numClasses);
  }

  @Override
  public ConfusionMatrix addInput(ConfusionMatrix acc, ImageEvaluation input) {
    return acc.merge(input.matrix());
  }

  @Override
  public ConfusionMatrix mergeAccumulators(Iterable<ConfusionMatrix> accumulators) {
    ConfusionMatrix out = new ConfusionMatrix(numClasses);
    for (ConfusionMatrix m : accumulators) {
      out.merge(m);
    }
    return out;
  }

  @Override
  public ConfusionMatrix extractOutput(ConfusionMatrix acc) {
    return acc;
  }

  @Override
  public org.apache.beam.sdk.coders.Coder<ConfusionMatrix> getAccumulatorCoder(
      org.apache.beam.sdk.coders.CoderRegistry registry,
      org.apache.beam.sdk.coders.Coder<ImageEvaluation> inputCoder) {
    return ConfusionMatrixCoder.of();
  }

  @Override
  public org.apache.beam.sdk.coders.Coder<ConfusionMatrix> getDefaultOutputCoder(
      org.apache.beam.sdk.coders.CoderRegistry registry,
      org.apache.beam.sdk.coders.Coder<ImageEvaluation> inputCoder) {
    return ConfusionMatrixCoder.of();
  }
}
