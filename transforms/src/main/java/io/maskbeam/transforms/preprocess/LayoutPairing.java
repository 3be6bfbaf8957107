package io.maskbeam.transforms.preprocess;

import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import io.maskbeam.transforms.common.FailureCoder;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;

/**
 * One dataset layout's way of pairing images with masks ({@link PairFiles}, {@link ManifestPairs},
 * {@link VocLists}), chosen by {@link MatchDatasetPairs}. Each outputs the {@link MatchDatasetPairs} tags: pairs
 * with their split, and a failure per file or line that did not pair.
 */
abstract class LayoutPairing extends PTransform<PBegin, PCollectionTuple> {
  protected final DatasetSource source;
  protected final SplitPolicy splitPolicy;
  /** Hash buckets that group files for pairing (bounded, so DirectRunner bundles stay large). */
  protected final int buckets;
  protected final Stage stage;

  LayoutPairing(DatasetSource source, SplitPolicy splitPolicy, int buckets, Stage stage) {
    this.source = source;
    this.splitPolicy = splitPolicy;
    this.buckets = buckets;
    this.stage = stage;
  }

  /**
   * The {@link MatchDatasetPairs} tags from examples listed out of annotation files: ids made unique
   * ({@link UniqueIds}), and every failure of the listing together.
   */
  @SafeVarargs
  protected final PCollectionTuple uniqueWithFailures(PCollection<SampleRef> refs, PCollection<Failure>... failures) {
    PCollectionTuple unique = refs.setCoder(SampleRef.Coder.of()).apply("UniqueIds", new UniqueIds(buckets, stage));
    PCollectionList<Failure> all = PCollectionList.empty(refs.getPipeline());
    for (PCollection<Failure> f : failures) {
      all = all.and(f.setCoder(FailureCoder.of()));
    }
    PCollection<Failure> rejected = all.and(unique.get(MatchDatasetPairs.REJECTED))
        .apply("AllRejected", Flatten.pCollections());
    return PCollectionTuple.of(MatchDatasetPairs.PAIRS, unique.get(MatchDatasetPairs.PAIRS))
        .and(MatchDatasetPairs.REJECTED, rejected);
  }

  /** Emits an example in its split (the layout's, or the hash policy's), or an {@code UNKNOWN_SPLIT} failure. */
  static void emitInSplit(SampleRef ref, String layoutSplit, SplitPolicy policy, Stage stage,
      DoFn.MultiOutputReceiver out, TupleTag<SampleRef> refs, TupleTag<Failure> unusable) {
    try {
      out.get(refs).output(ref.withSplit(policy.splitOf(ref.id(), layoutSplit)));
    } catch (IllegalArgumentException bad) {
      out.get(unusable).output(new Failure(stage, ref.id(), ref.imageUri(), ref.files(), FailureReason.UNKNOWN_SPLIT,
          bad.getMessage(), null));
    }
  }
}
