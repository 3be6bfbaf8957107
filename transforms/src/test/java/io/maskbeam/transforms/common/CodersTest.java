package io.maskbeam.transforms.common;

import static org.assertj.core.api.Assertions.assertThat;

import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import io.maskbeam.dataset.Manifest;
import io.maskbeam.models.eval.ConfusionMatrix;
import io.maskbeam.transforms.evaluate.EvalItem;
import io.maskbeam.transforms.evaluate.ImageEvaluation;
import io.maskbeam.transforms.preprocess.ExampleRecord;
import io.maskbeam.transforms.preprocess.ExampleSummary;
import io.maskbeam.transforms.preprocess.SampleRef;
import io.maskbeam.transforms.segment.ImageStats;
import io.maskbeam.transforms.segment.SegmentInput;
import java.util.Map;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.junit.jupiter.api.Test;

/** Every element type has its explicit coder, found by Beam's registry, and each round-trips (nulls included). */
class CodersTest {
  static <T> void roundTrips(Class<T> type, T value) throws Exception {
    Coder<T> coder = CoderRegistry.createDefault().getCoder(TypeDescriptor.of(type));
    assertThat(coder.getClass().getName()).as("the coder of %s", type).doesNotContain("SerializableCoder");
    assertThat(org.apache.beam.sdk.util.CoderUtils.clone(coder, value)).usingRecursiveComparison().isEqualTo(value);
    CoderProperties.coderDeterministic(coder, value, value);
  }

  @Test
  void elementTypesRoundTripThroughTheirOwnCoders() throws Exception {
    roundTrips(Failure.class, new Failure(Stage.SEGMENT, "k", "s3://b/a.png", Map.of("image", "s3://b/a.png"),
        FailureReason.IMAGE_TRUNCATED, "truncated image: ...", "java.io.EOFException"));
    roundTrips(Failure.class, Failure.of(Stage.PREPROCESS, null, "m.jsonl", FailureReason.INVALID_MANIFEST_LINE, "x"));
    roundTrips(Manifest.Entry.class, new Manifest.Entry("/a.png", null, "id", "val"));
    roundTrips(SegmentInput.class, new SegmentInput("gs://b/x.jpg", "x", -1, 1234567890123L));
    roundTrips(ImageStats.class, new ImageStats("k", "in", "run", 480, 360, 6, new long[] {1, 0, 172799}));
    roundTrips(ImageStats.class, new ImageStats("tile", "gs://b/t.tif", "run", 20000, 20000, 1, new long[] {7, 9}, null,
        new ImageStats.RasterArea(1200, 100.0, "square metre", "EPSG:32633")));
    roundTrips(SampleRef.class, new SampleRef("id", "a.png", "m.png", "train"));
    roundTrips(SampleRef.class, new SampleRef("id", "a.png", "coco.json", "val", "{\"width\":0}"));
    ExampleSummary summary = new ExampleSummary("val", 480, 360, 240, 180, new long[] {5, 7}, 3, 1, true, 999);
    roundTrips(ExampleSummary.class, summary);
    ExampleRecord record = new ExampleRecord("id", "val", new byte[] {1, 2, 3}, summary);
    Coder<ExampleRecord> rc = CoderRegistry.createDefault().getCoder(TypeDescriptor.of(ExampleRecord.class));
    ExampleRecord back = org.apache.beam.sdk.util.CoderUtils.clone(rc, record);
    assertThat(back.example()).containsExactly(1, 2, 3);
    assertThat(back.summary()).usingRecursiveComparison().isEqualTo(summary);
    EvalItem item = EvalItem.ofRecord("r", new byte[] {9});
    Coder<EvalItem> ic = CoderRegistry.createDefault().getCoder(TypeDescriptor.of(EvalItem.class));
    assertThat(org.apache.beam.sdk.util.CoderUtils.clone(ic, item).record()).containsExactly(9);
    ConfusionMatrix m = new ConfusionMatrix(2).add(new int[] {0, 1, 1}, new int[] {0, 1, 0});
    roundTrips(ImageEvaluation.class, new ImageEvaluation("i", "s", 3, 1, m));
  }
}
