package io.maskbeam.transforms.preprocess;

import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * Spreads pairs listed from one file (a manifest, a split list) over {@code buckets} groups by id, and refuses ids
 * that occur more than once: each copy becomes a {@code DUPLICATE_ID} failure (which one is right cannot be told,
 * and writing both would train and score the example twice).
 */
final class UniqueIds extends PTransform<PCollection<SampleRef>, PCollectionTuple> {
  private final int buckets;
  private final Stage stage;

  UniqueIds(int buckets, Stage stage) {
    this.buckets = buckets;
    this.stage = stage;
  }

  @Override
  public PCollectionTuple expand(PCollection<SampleRef> refs) {
    int n = buckets;
    PCollectionTuple out = refs
        .apply("ToBuckets", WithKeys.<Integer, SampleRef>of(r -> Buckets.of(r.id(), n))
            .withKeyType(TypeDescriptors.integers()))
        .apply("ByBucket", GroupByKey.create())
        .apply("OnePerId", ParDo.of(new OnePerIdFn(stage))
            .withOutputTags(MatchDatasetPairs.PAIRS, TupleTagList.of(MatchDatasetPairs.REJECTED)));
    out.get(MatchDatasetPairs.REJECTED).setCoder(io.maskbeam.transforms.common.FailureCoder.of());
    return out;
  }

  static final class OnePerIdFn extends DoFn<KV<Integer, Iterable<SampleRef>>, SampleRef> {
    private final Stage stage;
    private final Counter pairs = Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.PAIRS_MATCHED);
    private final Counter unpaired = Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.FILES_UNPAIRED);

    OnePerIdFn(Stage stage) {
      this.stage = stage;
    }

    @ProcessElement
    public void process(@Element KV<Integer, Iterable<SampleRef>> bucket, MultiOutputReceiver out) {
      TreeMap<String, List<SampleRef>> byId = new TreeMap<>();
      for (SampleRef r : bucket.getValue()) {
        byId.computeIfAbsent(r.id(), k -> new ArrayList<>()).add(r);
      }
      byId.forEach((id, same) -> {
        if (same.size() == 1) {
          pairs.inc();
          out.get(MatchDatasetPairs.PAIRS).output(same.get(0));
          return;
        }
        String all = same.stream().map(SampleRef::imageUri).sorted().collect(Collectors.joining(", "));
        for (SampleRef r : same) {
          unpaired.inc();
          out.get(MatchDatasetPairs.REJECTED).output(new Failure(stage, id, r.imageUri(), r.files(),
              FailureReason.DUPLICATE_ID, same.size() + " entries share the id '" + id + "': " + all, null));
        }
      });
    }
  }
}
