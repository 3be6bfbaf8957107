package io.maskbeam.transforms.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.junit.jupiter.api.Test;

class LatestPerKeyTest {
  /** "run|input": the latest run wins; within a run, the first input by name (so reruns agree). */
  static final class RunThenFirstInput implements LatestPerKey.Order<String> {
    @Override
    public int compare(String a, String b) {
      String[] x = a.split("\\|");
      String[] y = b.split("\\|");
      int byRun = x[0].compareTo(y[0]);
      return byRun != 0 ? byRun : y[1].compareTo(x[1]);
    }
  }

  @Test
  void keepsTheLatestValuePerKeyWithTiesBrokenByTheOrderWhateverTheArrivalOrder() {
    List<KV<String, String>> values = List.of(
        KV.of("a", "run1|x.png"), KV.of("a", "run3|z.png"), KV.of("a", "run2|y.png"),
        // A tie on the run: the first input by name wins, in either arrival order.
        KV.of("b", "run2|b2.png"), KV.of("b", "run2|b1.png"),
        KV.of("c", "run1|only.png"));
    List<KV<String, String>> reversed = new ArrayList<>(values);
    Collections.reverse(reversed);
    keepsTheLatest(values);
    keepsTheLatest(reversed);
  }

  private static void keepsTheLatest(List<KV<String, String>> values) {
    TestPipeline p = TestPipeline.create().enableAbandonedNodeEnforcement(false);
    PCollection<KV<String, String>> in = p.apply(Create.of(values)
        .withCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of())));
    PCollection<KV<String, String>> out = in.apply(LatestPerKey.by(new RunThenFirstInput()).withBuckets(2));
    PAssert.that(out).satisfies(kvs -> {
      Map<String, String> got = new HashMap<>();
      kvs.forEach(kv -> assertThat(got.put(kv.getKey(), kv.getValue())).as("one value per key").isNull());
      assertThat(got).containsExactlyInAnyOrderEntriesOf(Map.of("a", "run3|z.png", "b", "run2|b1.png",
          "c", "run1|only.png"));
      return null;
    });
    p.run().waitUntilFinish();
  }
}
