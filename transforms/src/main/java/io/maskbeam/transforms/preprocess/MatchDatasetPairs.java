package io.maskbeam.transforms.preprocess;

import io.maskbeam.core.Failure;
import io.maskbeam.core.Stage;
import java.util.Set;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;

/**
 * Finds the image/mask pairs of a dataset with the strategy of its layout ({@link PairFiles} for folders matched by
 * name, {@link VocLists} for PASCAL VOC's split lists, {@link ManifestPairs} for JSON Lines manifests). Outputs
 * {@link #PAIRS} and, for every file or line that cannot form a pair (an image without a mask, a mask without an
 * image, duplicate ids, bad manifest lines, link problems), a {@link Failure} under {@link #REJECTED}: nothing found
 * on storage is silently dropped.
 *
 * <pre>{@code
 * PCollectionTuple pairs = pipeline.apply(MatchDatasetPairs.of(source).withSplitPolicy(policy).withBuckets(64));
 * }</pre>
 */
public final class MatchDatasetPairs extends PTransform<PBegin, PCollectionTuple> {
  public static final TupleTag<SampleRef> PAIRS = new TupleTag<>() {};
  public static final TupleTag<Failure> REJECTED = new TupleTag<>() {};

  static final Set<String> IMAGE_EXTENSIONS = Set.of("png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "gif");

  private final DatasetSource source;
  private final SplitPolicy splitPolicy;
  private final int buckets;
  private final Stage stage;

  private MatchDatasetPairs(DatasetSource source, SplitPolicy splitPolicy, int buckets, Stage stage) {
    this.source = source;
    this.splitPolicy = splitPolicy;
    this.buckets = buckets;
    this.stage = stage;
  }

  /** The pairs of a dataset, split by hash (10% val) into 64 groups, failures recorded for preprocess. */
  public static MatchDatasetPairs of(DatasetSource source) {
    return new MatchDatasetPairs(source, new SplitPolicy(0.1, "maskbeam", true), 64, Stage.PREPROCESS);
  }

  public MatchDatasetPairs withSplitPolicy(SplitPolicy policy) {
    return new MatchDatasetPairs(source, policy, buckets, stage);
  }

  /** How many groups pairing uses: the parallelism of the steps that follow (see {@link Buckets}). */
  public MatchDatasetPairs withBuckets(int count) {
    if (count < 1) {
      throw new IllegalArgumentException("buckets must be >= 1");
    }
    return new MatchDatasetPairs(source, splitPolicy, count, stage);
  }

  /** The stage failure records are written for. */
  public MatchDatasetPairs forStage(Stage s) {
    return new MatchDatasetPairs(source, splitPolicy, buckets, s);
  }

  @Override
  public PCollectionTuple expand(PBegin input) {
    return switch (source.layout()) {
      case PAIRED, CITYSCAPES, CITYSCAPES_POLYGONS, PETS ->
          input.apply("PairFiles", new PairFiles(source, splitPolicy, buckets, stage));
      case VOC -> input.apply("VocLists", new VocLists(source, splitPolicy, buckets, stage));
      case MANIFEST -> input.apply("ManifestPairs", new ManifestPairs(source, splitPolicy, buckets, stage));
      case COCO -> input.apply("CocoPairs", new CocoPairs(source, splitPolicy, buckets, stage));
      case LABELME -> input.apply("LabelMePairs", new LabelMePairs(source, splitPolicy, buckets, stage));
      case CVAT -> input.apply("CvatPairs", new CvatPairs(source, splitPolicy, buckets, stage));
      case VERTEX -> input.apply("VertexPairs", new VertexPairs(source, splitPolicy, buckets, stage));
    };
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("layout", source.layout().name()).withLabel("Layout"))
        .add(DisplayData.item("buckets", buckets).withLabel("Groups"))
        .add(DisplayData.item("validationFraction", splitPolicy.validationFraction()).withLabel("Validation"));
  }
}
