package io.maskbeam.transforms.preprocess;

import static org.assertj.core.api.Assertions.assertThat;

import io.maskbeam.dataset.DatasetStatistics;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.junit.jupiter.api.Test;

class ComputeDatasetStatisticsTest {

  @Test
  void distributedCombineEqualsASinglePass() {
    Random rnd = new Random(5);
    List<ExampleSummary> summaries = new ArrayList<>();
    DatasetStatistics expected = new DatasetStatistics(3);
    for (int i = 0; i < 200; i++) {
      long[] hist = {rnd.nextInt(100), rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(50), rnd.nextInt(10)};
      String split = i % 5 == 0 ? "val" : "train";
      int w = 10 + rnd.nextInt(3);
      ExampleSummary s = new ExampleSummary(split, w, 8, w, 8, hist, rnd.nextInt(4), 0, i % 7 == 0, 100);
      summaries.add(s);
      expected.add(split, w, 8, w, 8, hist, s.ignorePixels(), 0, s.reencoded());
    }
    TestPipeline p = Pipelines.create();
    // Reshuffle spreads the inputs over many bundles, so partial accumulators really are merged.
    org.apache.beam.sdk.values.PCollection<DatasetStatistics> stats = p.apply(Create.of(summaries))
        .apply(Reshuffle.viaRandomKey())
        .apply(new ComputeDatasetStatistics(3));
    PAssert.thatSingleton(stats).isEqualTo(expected);
    PAssert.thatSingleton(stats).satisfies(s -> {
      assertThat(s.splits().get("val").examples()).isEqualTo(40);
      return null;
    });
    p.run().waitUntilFinish();
  }
}
