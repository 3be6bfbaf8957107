package io.maskbeam.transforms.preprocess;

import io.maskbeam.dataset.DatasetStatistics;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;

/** Combines example summaries into one {@link DatasetStatistics}, across workers (a Beam Combine). */
public class ComputeDatasetStatistics extends PTransform<PCollection<ExampleSummary>, PCollection<DatasetStatistics>> {
  private final int numClasses;

  public ComputeDatasetStatistics(int numClasses) {
    this.numClasses = numClasses;
  }

  @Override
  public PCollection<DatasetStatistics> expand(PCollection<ExampleSummary> summaries) {
    return summaries
        .apply("Combine", Combine.globally(new StatisticsFn(numClasses)))
        .setCoder(SerializableCoder.of(DatasetStatistics.class));
  }

  /** The combine function; public so other stages (evaluation) can reuse it. */
  public static final class StatisticsFn extends Combine.CombineFn<ExampleSummary, DatasetStatistics, DatasetStatistics> {
    private final int numClasses;

    public StatisticsFn(int numClasses) {
      this.numClasses = numClasses;
    }

    @Override
    public DatasetStatistics createAccumulator() {
      return new DatasetStatistics(numClasses);
    }

    @Override
    public DatasetStatistics addInput(DatasetStatistics acc, ExampleSummary s) {
      if (s.isSourceOnly()) {
        acc.addSource(s.split(), s.firstOfSource(), s.noDataChips());
        return acc;
      }
      acc.addChip(s.split(), s.sourceWidth(), s.sourceHeight(), s.width(), s.height(), s.classPixels(),
          s.ignorePixels(), s.unknownPixels(), s.reencoded(), s.bands(), s.firstOfSource(), s.noDataChips());
      return acc;
    }

    @Override
    public DatasetStatistics mergeAccumulators(Iterable<DatasetStatistics> accumulators) {
      DatasetStatistics merged = createAccumulator();
      for (DatasetStatistics a : accumulators) {
        merged.merge(a);
      }
      return merged;
    }

    @Override
    public DatasetStatistics extractOutput(DatasetStatistics acc) {
      return acc;
    }

    @Override
    public Coder<DatasetStatistics> getAccumulatorCoder(CoderRegistry registry, Coder<ExampleSummary> inputCoder) {
      return SerializableCoder.of(DatasetStatistics.class);
    }
  }
}
