package io.maskbeam.transforms.preprocess;

import io.maskbeam.core.Stage;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollectionTuple;

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
}
