package io.maskbeam.transforms.preprocess;

import static org.assertj.core.api.Assertions.assertThat;

import io.maskbeam.core.FailureReason;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MatchDatasetPairsTest {
  @TempDir Path dir;

  private static final SplitPolicy HASH = new SplitPolicy(0.5, "s", true);

  private Path touch(String relative) throws IOException {
    Path p = dir.resolve(relative);
    Files.createDirectories(p.getParent());
    Files.write(p, new byte[] {1});
    return p;
  }

  @Test
  void pairedLayoutPairsByStemAndRejectsEveryUnpairedFile() throws IOException {
    String a = touch("images/a.jpg").toString();
    String am = touch("masks/a.png").toString();
    touch("images/b.png");
    touch("masks/b.png");
    String c = touch("images/c.png").toString();    // no mask
    String dm = touch("masks/d.png").toString();    // no image
    String e1 = touch("images/e.png").toString();
    String e2 = touch("images/e.jpg").toString();   // two images share the id "e"
    String em = touch("masks/e.png").toString();
    touch("images/notes.txt");                      // not an image: skipped, not an input
    touch("images/._a.jpg");                        // macOS fork: skipped

    TestPipeline p = Pipelines.create();
    PCollectionTuple out = p.apply(MatchDatasetPairs.of(DatasetSource.paired(dir.resolve("images").toString(), dir.resolve("masks").toString()))
        .withSplitPolicy(HASH).withBuckets(3));
    PAssert.that(out.get(MatchDatasetPairs.PAIRS)).satisfies(pairs -> {
      List<String> ids = new ArrayList<>();
      pairs.forEach(r -> ids.add(r.id()));
      assertThat(ids).containsExactlyInAnyOrder("a", "b");
      pairs.forEach(r -> {
        if (r.id().equals("a")) {
          assertThat(r.imageUri()).isEqualTo(a.toString());
          assertThat(r.maskUri()).isEqualTo(am.toString());
        }
        assertThat(r.split()).isIn("train", "val");
      });
      return null;
    });
    PAssert.that(out.get(MatchDatasetPairs.REJECTED)).satisfies(rejected -> {
      List<String> lines = new ArrayList<>();
      rejected.forEach(r -> lines.add(r.reason() + " " + r.input()));
      assertThat(lines).containsExactlyInAnyOrder(
          "MISSING_MASK " + c, "MISSING_IMAGE " + dm,
          "DUPLICATE_ID " + e1, "DUPLICATE_ID " + e2, "DUPLICATE_ID " + em);
      return null;
    });
    p.run().waitUntilFinish();
  }

  @Test
  void sageMakerChannelsGiveTheirSplitAndPairWithinAChannel() throws IOException {
    touch("train/a.jpg");
    touch("train_annotation/a.png");
    touch("validation/b.jpg");
    touch("validation_annotation/b.png");
    touch("validation/a.jpg");                       // same stem in another channel: its own example
    touch("validation_annotation/a.png");

    TestPipeline p = Pipelines.create();
    PCollectionTuple out = p.apply(MatchDatasetPairs.of(new DatasetSource(DatasetLayout.PAIRED, null, null, dir.toString(), null))
        .withSplitPolicy(HASH).withBuckets(2));
    PAssert.that(out.get(MatchDatasetPairs.PAIRS)).satisfies(pairs -> {
      List<String> got = new ArrayList<>();
      pairs.forEach(r -> got.add(r.split() + ":" + r.id()));
      assertThat(got).containsExactlyInAnyOrder("train:a", "val:b", "val:a");
      return null;
    });
    PAssert.that(out.get(MatchDatasetPairs.REJECTED)).empty();
    p.run().waitUntilFinish();
  }

  @Test
  void cityscapesLayoutTakesIdsAndSplitsFromItsFolders() throws IOException {
    touch("leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png");
    touch("gtFine/train/aachen/aachen_000000_000019_gtFine_labelIds.png");
    touch("gtFine/train/aachen/aachen_000000_000019_gtFine_color.png");  // other gtFine files are not matched
    touch("leftImg8bit/val/lindau/lindau_000001_000019_leftImg8bit.png");
    touch("gtFine/val/lindau/lindau_000001_000019_gtFine_labelIds.png");

    TestPipeline p = Pipelines.create();
    PCollectionTuple out = p.apply(MatchDatasetPairs.of(DatasetSource.rooted(DatasetLayout.CITYSCAPES, dir.toString()))
        .withSplitPolicy(new SplitPolicy(0.5, "s", true)).withBuckets(2));
    PAssert.that(out.get(MatchDatasetPairs.PAIRS)).satisfies(pairs -> {
      List<String> got = new ArrayList<>();
      pairs.forEach(r -> got.add(r.split() + ":" + r.id()));
      assertThat(got).containsExactlyInAnyOrder("train:aachen_000000_000019", "val:lindau_000001_000019");
      return null;
    });
    PAssert.that(out.get(MatchDatasetPairs.REJECTED)).empty();
    p.run().waitUntilFinish();
  }

  @Test
  void petsLayoutPairsImagesWithTrimaps() throws IOException {
    touch("images/Abyssinian_1.jpg");
    touch("annotations/trimaps/Abyssinian_1.png");
    touch("annotations/trimaps/._Abyssinian_1.png");  // macOS fork shipped in the archive
    touch("images/Abyssinian_2.jpg");
    touch("annotations/trimaps/Abyssinian_2.png");
    touch("annotations/xmls/Abyssinian_1.xml");

    TestPipeline p = Pipelines.create();
    PCollectionTuple out = p.apply(MatchDatasetPairs.of(DatasetSource.rooted(DatasetLayout.PETS, dir.toString()))
        .withSplitPolicy(HASH).withBuckets(2));
    PAssert.that(out.get(MatchDatasetPairs.PAIRS)).satisfies(pairs -> {
      List<String> ids = new ArrayList<>();
      pairs.forEach(r -> {
        ids.add(r.id());
        assertThat(r.maskUri()).contains("trimaps/" + r.id() + ".png");
      });
      assertThat(ids).containsExactlyInAnyOrder("Abyssinian_1", "Abyssinian_2");
      return null;
    });
    PAssert.that(out.get(MatchDatasetPairs.REJECTED)).empty();
    p.run().waitUntilFinish();
  }

  @Test
  void vocLayoutReadsItsSplitLists() throws IOException {
    Files.createDirectories(dir.resolve("ImageSets/Segmentation"));
    Files.writeString(dir.resolve("ImageSets/Segmentation/train.txt"), "2007_000032\n2007_000039\n");
    Files.writeString(dir.resolve("ImageSets/Segmentation/val.txt"), "2007_000033\n");
    Files.writeString(dir.resolve("ImageSets/Segmentation/trainval.txt"), "2007_000032\n2007_000039\n2007_000033\n");

    TestPipeline p = Pipelines.create();
    PCollectionTuple out = p.apply(MatchDatasetPairs.of(DatasetSource.rooted(DatasetLayout.VOC, dir.toString()))
        .withSplitPolicy(HASH).withBuckets(2));
    PAssert.that(out.get(MatchDatasetPairs.PAIRS)).satisfies(pairs -> {
      List<String> got = new ArrayList<>();
      pairs.forEach(r -> {
        got.add(r.split() + ":" + r.id());
        assertThat(r.imageUri()).endsWith("JPEGImages/" + r.id() + ".jpg");
        assertThat(r.maskUri()).endsWith("SegmentationClass/" + r.id() + ".png");
      });
      assertThat(got).containsExactlyInAnyOrder("train:2007_000032", "train:2007_000039", "val:2007_000033");
      return null;
    });
    p.run().waitUntilFinish();
  }

  @Test
  void manifestAcceptsBothSchemasResolvesRelativePathsAndRejectsBadLines() throws IOException {
    Path manifest = dir.resolve("data/manifest.jsonl");
    Files.createDirectories(manifest.getParent());
    Files.writeString(manifest, String.join("\n",
        "{\"image\": \"img/one.png\", \"mask\": \"ann/one.png\", \"split\": \"validation\"}",
        "{\"source-ref\": \"s3://bucket/two.jpg\", \"road-ref\": \"s3://bucket/two.png\", \"road-ref-metadata\": {}}",
        "",
        "{\"image\": \"only-image.png\"}",
        "not json at all") + "\n");

    TestPipeline p = Pipelines.create();
    PCollectionTuple out = p.apply(MatchDatasetPairs.of(DatasetSource.manifest(manifest.toString()))
        .withSplitPolicy(new SplitPolicy(0.0, "s", true)).withBuckets(2));
    String one = "one|" + dir.resolve("data/img/one.png") + "|" + dir.resolve("data/ann/one.png") + "|val";
    PAssert.that(out.get(MatchDatasetPairs.PAIRS)).satisfies(pairs -> {
      List<String> got = new ArrayList<>();
      pairs.forEach(r -> got.add(r.id() + "|" + r.imageUri() + "|" + r.maskUri() + "|" + r.split()));
      assertThat(got).containsExactlyInAnyOrder(
          one,
          "two|s3://bucket/two.jpg|s3://bucket/two.png|train");
      return null;
    });
    PAssert.that(out.get(MatchDatasetPairs.REJECTED)).satisfies(rejected -> {
      List<FailureReason> reasons = new ArrayList<>();
      rejected.forEach(r -> {
        reasons.add(r.reason());
        assertThat(r.message()).contains("line:");
      });
      assertThat(reasons).containsExactly(FailureReason.INVALID_MANIFEST_LINE, FailureReason.INVALID_MANIFEST_LINE);
      return null;
    });
    p.run().waitUntilFinish();
  }

  @Test
  void missingLayoutFlagsAndEmptyMatchesAreClearErrors() throws IOException {
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> DatasetSource.paired(null, "m").filePatterns()).hasMessageContaining("needs --images");
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> DatasetSource.rooted(DatasetLayout.PETS, " ").filePatterns()).hasMessageContaining("needs --root");
    Files.createDirectories(dir.resolve("empty"));
    touch("masks/a.png");
    org.assertj.core.api.Assertions.assertThatThrownBy(() ->
        DatasetSource.paired(dir.resolve("empty").toString(), dir.resolve("masks").toString()).checkInputsExist())
        .hasMessageContaining("no images match '" + dir.resolve("empty") + "/*'");
  }
}
