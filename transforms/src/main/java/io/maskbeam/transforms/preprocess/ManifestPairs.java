package io.maskbeam.transforms.preprocess;

import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import io.maskbeam.dataset.Manifest;
import io.maskbeam.transforms.common.ReadManifest;
import io.maskbeam.transforms.io.Storage;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * Pairs from a JSON Lines manifest ({@code {"image", "mask"}} or SageMaker's augmented manifest), read by the shared
 * {@link ReadManifest}: the id is the line's {@code "id"} or the image's file stem, the split the line's
 * {@code "split"} (train or val) or the hash policy. Ids given twice are refused ({@link UniqueIds}).
 */
final class ManifestPairs extends LayoutPairing {
  ManifestPairs(DatasetSource source, SplitPolicy splitPolicy, int buckets, Stage stage) {
    super(source, splitPolicy, buckets, stage);
  }

  @Override
  public PCollectionTuple expand(PBegin input) {
    PCollectionTuple lines = input.apply("ReadManifest", ReadManifest.from(source.manifest(), stage)
        .withMaskRequired());
    TupleTag<SampleRef> refs = new TupleTag<>() {};
    TupleTag<Failure> badSplits = new TupleTag<>() {};
    PCollectionTuple parsed = lines.get(ReadManifest.ENTRIES)
        .apply("ToPairs", ParDo.of(new ToPairFn(splitPolicy, stage, refs, badSplits))
            .withOutputTags(refs, TupleTagList.of(badSplits)));
    PCollectionTuple unique = parsed.get(refs).setCoder(SampleRef.Coder.of())
        .apply("UniqueIds", new UniqueIds(buckets, stage));
    PCollection<Failure> rejected = PCollectionList.of(lines.get(ReadManifest.FAILURES))
        .and(parsed.get(badSplits).setCoder(io.maskbeam.transforms.common.FailureCoder.of()))
        .and(unique.get(MatchDatasetPairs.REJECTED))
        .apply("AllRejected", Flatten.pCollections());
    return PCollectionTuple.of(MatchDatasetPairs.PAIRS, unique.get(MatchDatasetPairs.PAIRS))
        .and(MatchDatasetPairs.REJECTED, rejected);
  }

  static final class ToPairFn extends DoFn<Manifest.Entry, SampleRef> {
    private final SplitPolicy splitPolicy;
    private final Stage stage;
    private final TupleTag<SampleRef> refs;
    private final TupleTag<Failure> badSplits;

    ToPairFn(SplitPolicy splitPolicy, Stage stage, TupleTag<SampleRef> refs, TupleTag<Failure> badSplits) {
      this.splitPolicy = splitPolicy;
      this.stage = stage;
      this.refs = refs;
      this.badSplits = badSplits;
    }

    @ProcessElement
    public void process(@Element Manifest.Entry e, MultiOutputReceiver out) {
      String id = e.id() != null ? e.id() : Storage.stem(e.image());
      SampleRef ref = new SampleRef(id, e.image(), e.mask(), null);
      String split;
      try {
        split = splitPolicy.splitOf(id, e.split());
      } catch (IllegalArgumentException bad) {
        out.get(badSplits).output(new Failure(stage, id, e.image(), ref.files(), FailureReason.UNKNOWN_SPLIT,
            bad.getMessage(), null));
        return;
      }
      out.get(refs).output(new SampleRef(id, e.image(), e.mask(), split));
    }
  }
}
