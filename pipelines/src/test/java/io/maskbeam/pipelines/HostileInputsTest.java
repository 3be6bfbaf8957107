package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.dataset.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The classes of bug an adversarial probe found, each with the input that showed it: links that loop or dangle,
 * odd names, broken model folders, outputs that cannot be written, flags that are out of range, manifests that
 * repeat ids or name unknown splits, masks in colours or greys the label map reads another way, CMYK photos, and
 * runs where every input fails. Every input is either in an output or an errors/ row, and the exit code says which.
 */
class HostileInputsTest {
  @TempDir static Path work;
  static Path model;
  static byte[] image;

  @BeforeAll
  static void model() throws Exception {
    model = CamVidModel.get();
    image = Files.readAllBytes(TestData.camvid().resolve("val").resolve(CamVidModel.names("val", 1).get(0)));
  }

  static Map<String, String> reasonsByInputName(Path output) throws Exception {
    Map<String, String> out = new HashMap<>();
    for (JsonNode e : TestData.jsonLines(output.resolve("errors"))) {
      assertThat(e.path("stage").asText()).isEqualTo("segment");
      assertThat(e.path("message").asText()).isNotBlank();
      out.put(Path.of(e.path("input").asText()).getFileName().toString(), e.path("reason").asText());
    }
    return out;
  }

  @Test
  void linksThatLoopOrDangleAndOddNamesAreEachAnInputOrAnErrorRow() throws Exception {
    Path r = Files.createDirectories(work.resolve("links/r"));
    Files.write(r.resolve("a.png"), image);
    Files.write(r.resolve("new\nline.png"), image);
    Files.createSymbolicLink(r.resolve("loop"), Path.of("."));
    Files.createSymbolicLink(r.resolve("gone.png"), r.resolve("missing.png"));
    Files.createSymbolicLink(r.resolve("self.png"), Path.of("self.png"));
    Path output = work.resolve("links/out");
    TestData.Run run = TestData.cli("segment", "--model=" + model, "--input=" + r + "/**", "--output=" + output,
        "--writeColor=false", "--writeOverlays=false");
    assertThat(run.exitCode()).as(run.err()).isZero();
    JsonNode summary = TestData.json(output.resolve("summary.json")).path("run");
    assertThat(summary.path("matched").asLong()).isEqualTo(5);
    assertThat(summary.path("segmented").asLong()).isEqualTo(2);
    assertThat(summary.path("failed").asLong()).isEqualTo(3);
    assertThat(reasonsByInputName(output)).containsExactlyInAnyOrderEntriesOf(Map.of(
        "loop", "LINK_LOOP", "gone.png", "BROKEN_LINK", "self.png", "LINK_LOOP"));
    try (Stream<Path> masks = Files.walk(output.resolve("masks"))) {
      List<Path> files = masks.filter(Files::isRegularFile).toList();
      assertThat(files).hasSize(2);
      assertThat(files).allSatisfy(f -> assertThat(output.resolve("masks").relativize(f).getNameCount())
          .as("no folder nesting from the loop").isEqualTo(1));
    }
  }

  @Test
  void aModelWithoutWeightsOrWithMetadataThatDisagreesIsRefusedBeforeTheJob() throws Exception {
    Path images = Files.createDirectories(work.resolve("models/images"));
    Files.write(images.resolve("a.png"), image);
    Path noWeights = copyModel("no-weights");
    TestData.deleteTree(noWeights.resolve("variables"));
    TestData.Run run = TestData.cli("segment", "--model=" + noWeights, "--input=" + images + "/*",
        "--output=" + work.resolve("models/out1"));
    assertThat(run.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(run.err()).contains("missing variables/variables.index");
    assertThat(work.resolve("models/out1/summary.json")).doesNotExist();

    Path wrongClasses = copyModel("wrong-classes");
    JsonNode meta = TestData.json(wrongClasses.resolve("maskbeam-model.json"));
    ((com.fasterxml.jackson.databind.node.ObjectNode) meta).put("numClasses", 3);
    ((com.fasterxml.jackson.databind.node.ObjectNode) meta).putArray("classes");
    Files.writeString(wrongClasses.resolve("maskbeam-model.json"), meta.toString());
    run = TestData.cli("segment", "--model=" + wrongClasses, "--input=" + images + "/*",
        "--output=" + work.resolve("models/out2"));
    assertThat(run.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(run.err()).contains("declares 3 classes but the graph outputs " + CamVidModel.CLASSES)
        .doesNotContain("\tat ");
  }

  @Test
  void aRunWhereEveryInputFailsExitsWithItsOwnCode() throws Exception {
    Path images = Files.createDirectories(work.resolve("allfail/images"));
    Files.write(images.resolve("a.png"), TestImages.truncated(image));
    Files.write(images.resolve("b.png"), "not an image".getBytes());
    TestData.Run run = TestData.cli("segment", "--model=" + model, "--input=" + images + "/*",
        "--output=" + work.resolve("allfail/out"));
    assertThat(run.exitCode()).as(run.out()).isEqualTo(Maskbeam.INPUTS_FAILED);
    assertThat(run.out()).contains("2 of 2 inputs failed");
    // A threshold makes partial failure an error too.
    Files.write(images.resolve("c.png"), image);
    run = TestData.cli("segment", "--model=" + model, "--input=" + images + "/*", "--maxFailedFraction=0.5",
        "--output=" + work.resolve("allfail/out2"));
    assertThat(run.exitCode()).isEqualTo(Maskbeam.INPUTS_FAILED);
    run = TestData.cli("segment", "--model=" + model, "--input=" + images + "/*", "--maxFailedFraction=0.7",
        "--output=" + work.resolve("allfail/out3"));
    assertThat(run.exitCode()).isZero();
  }

  @Test
  void badFlagsAndUnwritableOutputsFailAtLaunchWithClearMessages() throws Exception {
    Path images = Files.createDirectories(work.resolve("flags/images"));
    Files.write(images.resolve("a.png"), image);
    Path file = Files.writeString(work.resolve("flags/a-file"), "x");
    TestData.Run run = TestData.cli("segment", "--model=" + model, "--input=" + images + "/*",
        "--output=" + file.resolve("out"));
    assertThat(run.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(run.err()).contains("--output '" + file.resolve("out") + "' cannot be written");
    run = TestData.cli("segment", "--model=" + model, "--input=" + images + "/*", "--ttaScales=0",
        "--output=" + work.resolve("flags/out"));
    assertThat(run.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(run.err()).contains("--ttaScales must be between 0.25 and 4.0, got 0.0").doesNotContain("Exception");
    run = TestData.cli("train", "--data=" + CamVidModel.data(), "--output=" + work.resolve("flags/run"),
        "--miniBatchSize=0");
    assertThat(run.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(run.err()).contains("--miniBatchSize must be at least 1, got 0").doesNotContain("/ by zero");
  }

  @Test
  void cmykPhotosAndFoldersWhereFilesShouldBeAreHandledAsDocumented() throws Exception {
    Path images = Files.createDirectories(work.resolve("kinds/images"));
    Files.write(images.resolve("print.jpg"), TestImages.adobeCmykJpeg(160, 120));
    Files.createDirectories(images.resolve("dir.png"));
    Path manifest = Files.writeString(work.resolve("kinds/list.jsonl"),
        "{\"image\": \"images/print.jpg\"}\n{\"image\": \"images/dir.png\"}\n");
    Path output = work.resolve("kinds/out");
    TestData.Run run = TestData.cli("segment", "--model=" + model, "--manifest=" + manifest, "--output=" + output);
    assertThat(run.exitCode()).as(run.err()).isZero();
    // The CMYK photo is converted and segmented at its size; the folder is the one failure.
    io.maskbeam.image.LabelImage print = io.maskbeam.image.ImageCodec.decodeLabels(
        Files.readAllBytes(output.resolve("masks/images/print.png")));
    assertThat(print.width()).isEqualTo(160);
    assertThat(print.height()).isEqualTo(120);
    JsonNode summary = TestData.json(output.resolve("summary.json")).path("run");
    assertThat(summary.path("segmented").asLong()).isEqualTo(1);
    assertThat(summary.path("failed").asLong()).isEqualTo(1);
    // A folder named like an image exists but cannot be read as one: not "deleted after listing".
    assertThat(reasonsByInputName(output)).containsExactlyEntriesOf(Map.of("dir.png", "READ_FAILED"));
  }

  @Test
  void manifestsWithRepeatedIdsOrUnknownSplitsAndGreyRgbMasksInPreprocess() throws Exception {
    Path data = Files.createDirectories(work.resolve("prep"));
    List<String> names = CamVidModel.names("train", 3);
    Path camvid = TestData.camvid();
    StringBuilder lines = new StringBuilder();
    for (String n : names) {
      lines.append("{\"image\": \"").append(camvid.resolve("train").resolve(n)).append("\", \"mask\": \"")
          .append(camvid.resolve("trainannot").resolve(n)).append("\", \"id\": \"same\"}\n");
    }
    lines.append("{\"image\": \"").append(camvid.resolve("train").resolve(names.get(0))).append("\", \"mask\": \"")
        .append(camvid.resolve("trainannot").resolve(names.get(0))).append("\", \"id\": \"t\", \"split\": \"test\"}\n");
    // A grey CamVid mask saved as RGB: read as grey (classes), not as unknown colours.
    io.maskbeam.image.LabelImage grey = io.maskbeam.image.ImageCodec.decodeLabels(
        Files.readAllBytes(camvid.resolve("trainannot").resolve(names.get(1))));
    java.awt.image.BufferedImage rgb = new java.awt.image.BufferedImage(grey.width(), grey.height(),
        java.awt.image.BufferedImage.TYPE_3BYTE_BGR);
    for (int y = 0; y < grey.height(); y++) {
      for (int x = 0; x < grey.width(); x++) {
        int v = grey.get(x, y);
        rgb.setRGB(x, y, (v << 16) | (v << 8) | v);
      }
    }
    Path greyRgb = data.resolve("grey-rgb.png");
    Files.write(greyRgb, TestImages.write(rgb, "png"));
    lines.append("{\"image\": \"").append(camvid.resolve("train").resolve(names.get(1))).append("\", \"mask\": \"")
        .append(greyRgb).append("\", \"id\": \"rgbmask\", \"split\": \"train\"}\n");
    Path manifest = Files.writeString(data.resolve("list.jsonl"), lines.toString());
    TestData.Run run = TestData.cli("preprocess", "--layout=manifest", "--manifest=" + manifest,
        "--labelMap=camvid-11", "--output=" + data.resolve("out"));
    assertThat(run.exitCode()).as(run.err()).isZero();
    Map<String, Long> reasons = new HashMap<>();
    for (JsonNode r : TestData.jsonLines(data.resolve("out/rejected"))) {
      reasons.merge(r.path("reason").asText(), 1L, Long::sum);
    }
    assertThat(reasons).containsExactlyInAnyOrderEntriesOf(Map.of("DUPLICATE_ID", 3L, "UNKNOWN_SPLIT", 1L));
    JsonNode dataset = TestData.json(data.resolve("out/dataset.json"));
    assertThat(dataset.path("counts").path("inputs").asLong()).isEqualTo(5);
    assertThat(dataset.path("counts").path("written").asLong()).isEqualTo(1);
    assertThat(dataset.path("counts").path("writtenAllIgnore").asLong()).isZero();
    var written = TestData.readShards(data.resolve("out"), "train");
    assertThat(written).hasSize(1);
    int[] labels = TestData.rawValues(written.get(0).label());
    int[] expected = TestData.rawValues(Files.readAllBytes(camvid.resolve("trainannot").resolve(names.get(1))));
    for (int i = 0; i < expected.length; i++) {
      expected[i] = expected[i] == 11 ? 255 : expected[i]; // camvid-11: void becomes ignore
    }
    assertThat(labels).containsExactly(expected);
  }

  static Path copyModel(String name) throws Exception {
    Path copy = work.resolve("models").resolve(name);
    try (Stream<Path> s = Files.walk(model)) {
      for (Path p : s.toList()) {
        Path t = copy.resolve(model.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
    return copy;
  }
}
