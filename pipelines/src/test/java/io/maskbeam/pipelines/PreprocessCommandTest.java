package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.dataset.TestImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code maskbeam preprocess} end to end on the DirectRunner, through the command line. */
class PreprocessCommandTest {
  @TempDir Path dir;

  private void put(String relative, byte[] bytes) throws IOException {
    Path p = dir.resolve(relative);
    Files.createDirectories(p.getParent());
    Files.write(p, bytes);
  }

  @Test
  void everyBadInputIsRejectedWithItsReasonAndCountsReconcile() throws IOException {
    // Good pairs: 5 (masks use camvid ids; 11 = void).
    for (int i = 0; i < 5; i++) {
      put("images/good" + i + ".png", TestImages.rgbPng(32, 24, i));
      put("masks/good" + i + ".png", TestImages.greyMask(32, 24, 0, 3, 11));
    }
    put("images/trunc_image.png", TestImages.truncated(TestImages.rgbPng(32, 24, 9)));
    put("masks/trunc_image.png", TestImages.greyMask(32, 24, 1));
    put("images/trunc_mask.jpg", TestImages.rgbJpeg(32, 24, 9));
    put("masks/trunc_mask.png", TestImages.truncated(TestImages.greyMask(32, 24, 1, 2, 3)));
    put("images/mismatch.png", TestImages.rgbPng(32, 24, 9));
    put("masks/mismatch.png", TestImages.greyMask(24, 32, 1));
    put("images/rgbmask.png", TestImages.rgbPng(16, 16, 9));
    put("masks/rgbmask.png", TestImages.colourMask(16, 16, 0x123456, 0x654321));
    put("images/unknown.png", TestImages.rgbPng(16, 16, 9));
    put("masks/unknown.png", TestImages.greyMask(16, 16, 1, 77));
    put("images/orphan.png", TestImages.rgbPng(16, 16, 9));
    put("masks/widow.png", TestImages.greyMask(16, 16, 1));
    put("images/bomb.png", TestImages.pngClaiming(20_000, 20_000));
    put("masks/bomb.png", TestImages.greyMask(16, 16, 1));
    put("images/text.png", "this is not a png".getBytes());
    put("masks/text.png", TestImages.greyMask(16, 16, 1));
    put("images/empty.png", new byte[0]);
    put("masks/empty.png", TestImages.greyMask(16, 16, 1));
    // A label map whose colour table is empty, so an RGB mask cannot be converted.
    String labelMap = "{\"values\": {\"0\":0,\"1\":1,\"2\":2,\"3\":3,\"11\":255}}";

    Path out = dir.resolve("out");
    TestData.Run run = TestData.cli("preprocess", "--images=" + dir.resolve("images"), "--masks=" + dir.resolve("masks"),
        "--labelMap=" + labelMap, "--unknownLabels=reject", "--output=" + out, "--numShards=2");
    assertThat(run.exitCode()).as(run.err()).isZero();

    Map<String, String> reasonById = new HashMap<>();
    for (JsonNode r : TestData.jsonLines(out.resolve("rejected"))) {
      assertThat(r.path("message").asText()).isNotBlank();
      reasonById.put(r.path("id").asText(), r.path("reason").asText());
    }
    assertThat(reasonById).containsExactlyInAnyOrderEntriesOf(Map.of(
        "trunc_image", "IMAGE_TRUNCATED",
        "trunc_mask", "MASK_TRUNCATED",
        "mismatch", "SIZE_MISMATCH",
        "rgbmask", "MASK_NOT_SINGLE_CHANNEL",
        "unknown", "UNKNOWN_LABEL_VALUES",
        "orphan", "MISSING_MASK",
        "widow", "MISSING_IMAGE",
        "bomb", "IMAGE_TOO_MANY_PIXELS",
        "text", "IMAGE_UNREADABLE",
        "empty", "IMAGE_EMPTY"));

    JsonNode dataset = TestData.json(out.resolve("dataset.json"));
    JsonNode counts = dataset.path("counts");
    assertThat(counts.path("written").asLong()).isEqualTo(5);
    assertThat(counts.path("rejected").asLong()).isEqualTo(10);
    assertThat(counts.path("inputs").asLong()).isEqualTo(15);
    assertThat(counts.path("rejectedByReason").path("IMAGE_TRUNCATED").asLong()).isEqualTo(1);

    List<TfRecordSpecReader.DeepLab> examples = TestData.readShards(out, "train");
    examples.addAll(TestData.readShards(out, "val"));
    assertThat(examples).extracting(TfRecordSpecReader.DeepLab::filename)
        .containsExactlyInAnyOrder("good0", "good1", "good2", "good3", "good4");
    assertThat(run.out()).contains("inputs 15 = written 5 + rejected 10");
  }

  @Test
  void camvidImagesThroughAManifestWithThePreset() throws IOException {
    Path camvid = TestData.camvid();
    List<String> names;
    try (var files = Files.list(camvid.resolve("train"))) {
      names = files.map(p -> p.getFileName().toString()).sorted().limit(10).toList();
    }
    StringBuilder manifest = new StringBuilder();
    for (String n : names) {
      manifest.append("{\"image\": \"").append(camvid.resolve("train").resolve(n)).append("\", \"mask\": \"")
          .append(camvid.resolve("trainannot").resolve(n)).append("\"}\n");
    }
    Path manifestFile = dir.resolve("camvid.jsonl");
    Files.writeString(manifestFile, manifest);
    Path out = dir.resolve("camvid-out");
    TestData.Run run = TestData.cli("preprocess", "--layout=manifest", "--manifest=" + manifestFile,
        "--labelMap=camvid-11", "--validationFraction=0.3", "--output=" + out);
    assertThat(run.exitCode()).as(run.err()).isZero();

    List<TfRecordSpecReader.DeepLab> examples = TestData.readShards(out, "train");
    examples.addAll(TestData.readShards(out, "val"));
    assertThat(examples).hasSize(10);
    long ignore = 0;
    long[] hist = new long[11];
    for (TfRecordSpecReader.DeepLab e : examples) {
      assertThat(e.format()).isEqualTo("png");
      assertThat(e.width()).isEqualTo(480);
      assertThat(e.height()).isEqualTo(360);
      assertThat(e.channels()).isEqualTo(3);
      assertThat(e.labelFormat()).isEqualTo("png");
      String file = e.filename() + ".png";
      // Unresized 8-bit RGB PNGs are passed through byte for byte.
      assertThat(e.image()).isEqualTo(Files.readAllBytes(camvid.resolve("train").resolve(file)));
      int[] source = TestData.rawValues(Files.readAllBytes(camvid.resolve("trainannot").resolve(file)));
      int[] written = TestData.rawValues(e.label());
      assertThat(written).hasSameSizeAs(source);
      for (int i = 0; i < source.length; i++) {
        int expected = source[i] == 11 ? 255 : source[i];
        if (written[i] != expected) {
          throw new AssertionError(file + " pixel " + i + ": " + written[i] + " != " + expected);
        }
        if (expected == 255) {
          ignore++;
        } else {
          hist[expected]++;
        }
      }
    }
    JsonNode dataset = TestData.json(out.resolve("dataset.json"));
    assertThat(dataset.path("counts").path("inputs").asLong()).isEqualTo(10);
    assertThat(dataset.path("numClasses").asInt()).isEqualTo(11);
    long jsonIgnore = 0;
    long[] jsonHist = new long[11];
    for (JsonNode split : dataset.path("splits")) {
      jsonIgnore += split.path("ignorePixels").asLong();
      for (int c = 0; c < 11; c++) {
        jsonHist[c] += split.path("classPixels").path(dataset.path("classes").get(c).path("name").asText()).asLong();
      }
    }
    assertThat(jsonIgnore).isEqualTo(ignore).isPositive();
    assertThat(jsonHist).containsExactly(hist);
    assertThat(dataset.path("imageSizes").path("source").path("480x360").asLong()).isEqualTo(10);
    assertThat(dataset.path("classWeights").path("values")).hasSize(11);
    Set<String> shardNames = new HashSet<>();
    dataset.path("shards").forEach(split -> split.forEach(s -> shardNames.add(s.asText())));
    try (var files = Files.list(out)) {
      assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tfrecord")).toList())
          .containsExactlyInAnyOrderElementsOf(shardNames);
    }
  }

  @Test
  void resizeAndGzipProduceCompressedShardsOfTheRequestedSize() throws IOException {
    for (int i = 0; i < 4; i++) {
      put("img/p" + i + ".jpg", TestImages.rgbJpeg(64, 48, i));
      put("ann/p" + i + ".png", TestImages.greyMask(64, 48, 1, 2));
    }
    Path out = dir.resolve("out");
    TestData.Run run = TestData.cli("preprocess", "--images=" + dir.resolve("img"), "--masks=" + dir.resolve("ann"),
        "--labelMap={\"classes\": [\"a\", \"b\", \"c\"]}", "--resize=32x24", "--compression=gzip",
        "--validationFraction=0", "--output=" + out);
    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(out.resolve("train-00000-of-00001.tfrecord.gz")).exists();
    List<TfRecordSpecReader.DeepLab> examples = TestData.readShards(out, "train");
    assertThat(examples).hasSize(4).allSatisfy(e -> {
      assertThat(e.width()).isEqualTo(32);
      assertThat(e.height()).isEqualTo(24);
      assertThat(e.format()).isEqualTo("jpeg");
    });
    assertThat(TestData.json(out.resolve("dataset.json")).path("preprocessing").path("compression").asText())
        .isEqualTo("gzip");
  }

  @Test
  void commandLineErrorsAreClearAndNothingRuns() throws IOException {
    put("images/a.png", TestImages.rgbPng(8, 8, 1));
    Files.createDirectories(dir.resolve("masks"));
    TestData.Run empty = TestData.cli("preprocess", "--images=" + dir.resolve("images"),
        "--masks=" + dir.resolve("masks"), "--labelMap=voc", "--output=" + dir.resolve("o"));
    assertThat(empty.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(empty.err()).contains("no masks match");

    TestData.Run noMap = TestData.cli("preprocess", "--images=x", "--masks=y", "--output=z");
    assertThat(noMap.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(noMap.err()).contains("labelMap");

    TestData.Run badMap = TestData.cli("preprocess", "--images=x", "--masks=y", "--output=z", "--labelMap=nope-7");
    assertThat(badMap.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(badMap.err()).contains("neither a preset");

    TestData.Run badInt = TestData.cli("preprocess", "--numShards=many");
    assertThat(badInt.exitCode()).isEqualTo(Maskbeam.USAGE);

    TestData.Run help = TestData.cli("preprocess", "--help");
    assertThat(help.exitCode()).isZero();
    assertThat(help.out()).contains("--labelMap", "--layout", "--validationFraction", "Required.", "--runner=DirectRunner");

    TestData.Run top = TestData.cli("--help");
    assertThat(top.out()).contains("preprocess", "demo", "bench");
  }

  @Test
  void anExistingDatasetIsNotMixedWithANewOne() throws IOException {
    put("images/a.png", TestImages.rgbPng(8, 8, 1));
    put("masks/a.png", TestImages.greyMask(8, 8, 1));
    String[] args = {"preprocess", "--images=" + dir.resolve("images"), "--masks=" + dir.resolve("masks"),
        "--labelMap=voc", "--output=" + dir.resolve("o"), "--numShards=3"};
    assertThat(TestData.cli(args).exitCode()).isZero();
    TestData.Run again = TestData.cli(args);
    assertThat(again.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(again.err()).contains("already holds a dataset", "--overwrite=true");

    String[] overwrite = {"preprocess", "--images=" + dir.resolve("images"), "--masks=" + dir.resolve("masks"),
        "--labelMap=voc", "--output=" + dir.resolve("o"), "--numShards=1", "--overwrite=true"};
    assertThat(TestData.cli(overwrite).exitCode()).isZero();
    try (var files = Files.list(dir.resolve("o"))) {
      assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.contains(".tfrecord")).sorted().toList())
          .containsExactly("train-00000-of-00001.tfrecord");
    }
  }

  @Test
  void demoRunsEndToEnd() throws Exception {
    TestData.Run run = TestData.cli("demo", "--output=" + dir.resolve("demo"), "--count=12", "--trainEpochs=2");
    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(dir.resolve("demo/training/model/saved_model.pb")).exists();
    assertThat(dir.resolve("demo/training/model/maskbeam-model.json")).exists();
    JsonNode counts = TestData.json(dir.resolve("demo/dataset/dataset.json")).path("counts");
    assertThat(counts.path("inputs").asLong()).isEqualTo(14);
    assertThat(counts.path("written").asLong()).isEqualTo(12);
    assertThat(counts.path("rejected").asLong()).isEqualTo(2);
    // The first run ends at a page that opens: the training curves, and the unseen images beside their overlays.
    Path page = dir.resolve("demo/index.html");
    assertThat(run.out()).contains("open " + page);
    String html = Files.readString(page);
    assertThat(html).contains("training/training-curves.png").contains("segmented/overlays/shape_0000.jpg")
        .contains("val mIoU").contains("corrupt_0000: not segmented");
    EvaluateCommandTest.openReportInChromium(page, 1 + 2 * 4, dir);
  }
}
