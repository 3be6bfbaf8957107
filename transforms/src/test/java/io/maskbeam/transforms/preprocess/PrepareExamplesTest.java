package io.maskbeam.transforms.preprocess;

import static org.assertj.core.api.Assertions.assertThat;

import io.maskbeam.dataset.DeepLabExample;
import io.maskbeam.dataset.ExamplePreparer;
import io.maskbeam.core.FailureReason;
import io.maskbeam.dataset.UnknownLabelPolicy;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.labels.LabelMaps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrepareExamplesTest {
  @TempDir Path dir;

  private Path write(String name, byte[] bytes) throws IOException {
    Path p = dir.resolve(name);
    Files.write(p, bytes);
    return p;
  }

  private static byte[] rgbPng(int w, int h) {
    byte[] px = new byte[w * h * 3];
    new Random(w * 31L + h).nextBytes(px);
    return ImageCodec.encodePng(new io.maskbeam.image.RgbImage(w, h, px));
  }

  private static byte[] mask(int w, int h, int value) {
    byte[] labels = new byte[w * h];
    java.util.Arrays.fill(labels, (byte) value);
    return ImageCodec.encodePng(new LabelImage(w, h, labels));
  }

  @Test
  void goodPairsBecomeExamplesAndEveryBadOneARejection() throws IOException {
    Path image = write("a.png", rgbPng(20, 10));
    Path mask = write("a_mask.png", mask(20, 10, 3));
    Path wrongSize = write("b_mask.png", mask(10, 20, 3));
    Path garbage = write("c.png", "garbage".getBytes());

    List<SampleRef> refs = new ArrayList<>();
    refs.add(new SampleRef("a", image.toString(), mask.toString(), "train"));
    refs.add(new SampleRef("b", image.toString(), wrongSize.toString(), "train"));
    refs.add(new SampleRef("c", garbage.toString(), mask.toString(), "val"));
    refs.add(new SampleRef("d", dir.resolve("missing.png").toString(), mask.toString(), "val"));
    refs.add(new SampleRef("e", image.toString(), dir.resolve("missing_mask.png").toString(), "val"));

    ExamplePreparer preparer = new ExamplePreparer(LabelMaps.preset("camvid-11"), ResizePolicy.KEEP,
        UnknownLabelPolicy.IGNORE, ExamplePreparer.DEFAULT_MAX_PIXELS, 95);
    TestPipeline p = Pipelines.create();
    PCollectionTuple out = p.apply(Create.of(refs)).apply(PrepareExamples.with(preparer, dir.toString()));
    PAssert.that(out.get(PrepareExamples.EXAMPLES)).satisfies(examples -> {
      List<ExampleRecord> list = new ArrayList<>();
      examples.forEach(list::add);
      assertThat(list).hasSize(1);
      ExampleRecord r = list.get(0);
      assertThat(r.id()).isEqualTo("a");
      assertThat(r.split()).isEqualTo("train");
      assertThat(r.summary().classPixels()[3]).isEqualTo(200);
      assertThat(r.summary().exampleBytes()).isEqualTo(r.example().length);
      assertThat(DeepLabExample.parse(r.example()).width()).isEqualTo(20);
      return null;
    });
    PAssert.that(out.get(PrepareExamples.REJECTED)).satisfies(rejected -> {
      List<String> got = new ArrayList<>();
      rejected.forEach(r -> got.add(r.id() + ":" + r.reason()));
      assertThat(got).containsExactlyInAnyOrder("b:" + FailureReason.SIZE_MISMATCH, "c:" + FailureReason.IMAGE_UNREADABLE,
          "d:" + FailureReason.MISSING_IMAGE, "e:" + FailureReason.MISSING_MASK);
      return null;
    });
    p.run().waitUntilFinish();
  }
}
