package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.dataset.TestImages;
import io.maskbeam.models.infer.InferenceSettings;
import io.maskbeam.models.infer.Npy;
import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.pipelines.serve.SegmentationServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Models exported from PyTorch to ONNX (the fixtures of the models module, with PyTorch's answers) through the
 * same stages as SavedModels: segment on the DirectRunner with every output, incremental reruns and dead letters;
 * evaluate against PyTorch's own masks; serve over HTTP; and refusal of unusable models before a job starts.
 */
class OnnxCommandTest {
  @TempDir static Path work;
  static Path fixtures;
  static Path images;

  /** Copies a fixture of the models module's test jar to a folder of the test's. */
  static Path fixture(String name) throws IOException {
    Path target = fixtures.resolve(name);
    if (Files.exists(target)) {
      return target;
    }
    Files.createDirectories(target.getParent());
    try (InputStream in = Objects.requireNonNull(OnnxCommandTest.class.getResourceAsStream("/onnx/" + name), name)) {
      Files.copy(in, target);
    }
    return target;
  }

  @BeforeAll
  static void copyFixtures() throws IOException {
    fixtures = Files.createDirectories(work.resolve("fixtures"));
    for (String name : List.of("nchw_float.onnx", "rank2.onnx", "classes.onnx", "nhwc_uint8/model.onnx",
        "nhwc_uint8/maskbeam-model.json")) {
      fixture(name);
    }
    images = Files.createDirectories(work.resolve("images"));
    for (String name : List.of("a", "b", "c", "d")) {
      Files.copy(fixture("images/" + name + ".png"), images.resolve(name + ".png"));
    }
    // PyTorch's masks, named like the images, as ground truth for evaluate.
    Path truth = Files.createDirectories(work.resolve("truth"));
    for (String name : List.of("a", "b")) {
      Files.copy(fixture("expected/nchw_float." + name + ".png"), truth.resolve(name + ".png"));
    }
  }

  @Test
  void segmentWritesPyTorchsMasksWithEveryOutputAndReconciledCounts() throws Exception {
    Path in = Files.createDirectories(work.resolve("seg-in"));
    for (String name : List.of("a", "b")) {
      Files.copy(images.resolve(name + ".png"), in.resolve(name + ".png"));
    }
    Files.writeString(in.resolve("notes.png"), "not an image");
    Path out = work.resolve("seg-out");
    TestData.Run run = TestData.cli("segment", "--model=" + fixtures.resolve("nchw_float.onnx"),
        "--input=" + in + "/*", "--output=" + out, "--writeProbabilities=true", "--incremental=true");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    assertThat(run.out()).contains("matched 3 = segmented 2 + skipped 0 + failed 1");
    for (String name : List.of("a", "b")) {
      assertThat(TestData.rawValues(Files.readAllBytes(out.resolve("masks/" + name + ".png"))))
          .as(name).containsExactly(asInts(Files.readAllBytes(fixtures.resolve("expected/nchw_float." + name
              + ".png"))));
      assertThat(out.resolve("color/" + name + ".png")).exists();
      assertThat(out.resolve("overlays/" + name + ".jpg")).exists();
    }
    Npy.Float32Array probabilities = Npy.readFloat32(Files.readAllBytes(out.resolve("probabilities/a.npy")));
    Npy.Float32Array torch = Npy.readFloat32(Files.readAllBytes(fixture("expected/nchw_float.a.npy")));
    assertThat(probabilities.shape()).containsExactly(torch.shape());
    for (int i = 0; i < torch.data().length; i++) {
      assertThat(Math.abs(probabilities.data()[i] - torch.data()[i])).as("probability %d", i).isLessThan(2e-5f);
    }
    JsonNode summary = TestData.json(out.resolve("summary.json"));
    assertThat(summary.path("modelFormat").asText()).isEqualTo("onnx");
    assertThat(summary.path("run").path("failedByReason").toString()).isEqualTo("{\"IMAGE_UNREADABLE\":1}");
    // Default colours are distinct (the VOC palette), not one grey for every class.
    assertThat(summary.path("classes").findValuesAsText("color")).doesNotHaveDuplicates();

    TestData.Run again = TestData.cli("segment", "--model=" + fixtures.resolve("nchw_float.onnx"),
        "--input=" + in + "/*", "--output=" + out, "--incremental=true");
    assertThat(again.exitCode()).as(again.out() + again.err()).isZero();
    assertThat(again.out()).contains("segmented 0");
  }

  @Test
  void aFixedSizeUint8ModelIsTiledAtItsSizeAndUsesTheSidecarsClasses() throws Exception {
    Path in = Files.createDirectories(work.resolve("fixed-in"));
    Files.copy(images.resolve("c.png"), in.resolve("c.png"));
    Files.write(in.resolve("large.png"), TestImages.rgbPng(70, 45, 3));
    Path out = work.resolve("fixed-out");
    TestData.Run run = TestData.cli("segment", "--model=" + fixtures.resolve("nhwc_uint8"), "--input=" + in + "/*",
        "--output=" + out, "--tileSize=32", "--tileOverlap=0");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    assertThat(TestData.rawValues(Files.readAllBytes(out.resolve("masks/c.png"))))
        .containsExactly(asInts(Files.readAllBytes(fixture("expected/nhwc_uint8.c.png"))));
    var large = javax.imageio.ImageIO.read(out.resolve("masks/large.png").toFile());
    assertThat(large.getWidth()).isEqualTo(70);
    assertThat(large.getHeight()).isEqualTo(45);
    JsonNode summary = TestData.json(out.resolve("summary.json"));
    assertThat(summary.path("classes").get(1).path("name").asText()).isEqualTo("disc");
  }

  @Test
  void evaluateScoresTheOnnxModelAgainstPyTorchsMasksAsPerfect() throws Exception {
    Path out = work.resolve("eval");
    TestData.Run run = TestData.cli("evaluate", "--model=" + fixtures.resolve("nchw_float.onnx"),
        "--images=" + images, "--masks=" + work.resolve("truth"), "--output=" + out);
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    JsonNode metrics = TestData.json(out.resolve("metrics.json"));
    assertThat(metrics.toString()).contains("\"pixelAccuracy\":1.0");
    assertThat(metrics.path("overall").path("meanIou").asDouble(metrics.path("meanIou").asDouble()))
        .isEqualTo(1.0);
  }

  @Test
  void serveAnswersWithTheOnnxModelsMask() throws Exception {
    try (SegmentationModel model = SegmentationModel.load(fixtures.resolve("nchw_float.onnx"));
        SegmentationServer server = new SegmentationServer(model, "onnx", SegmentationServer.Settings.of("127.0.0.1",
            0, 2, 2 * 1024 * 1024, 50_000_000L, InferenceSettings.defaults().withTiles(1024, 128)))) {
      server.start();
      HttpResponse<byte[]> r = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/invocations"))
              .header("Content-Type", "image/png").header("Accept", "image/png")
              .POST(HttpRequest.BodyPublishers.ofByteArray(Files.readAllBytes(images.resolve("b.png")))).build(),
          HttpResponse.BodyHandlers.ofByteArray());
      assertThat(r.statusCode()).as(new String(r.body())).isEqualTo(200);
      assertThat(TestData.rawValues(r.body()))
          .containsExactly(asInts(Files.readAllBytes(fixture("expected/nchw_float.b.png"))));
    }
  }

  @Test
  void unusableOnnxModelsAreRefusedBeforeAnythingIsWritten() throws Exception {
    TestData.Run rank = TestData.cli("segment", "--model=" + fixtures.resolve("rank2.onnx"),
        "--input=" + images + "/*", "--output=" + work.resolve("r1"));
    assertThat(rank.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(rank.err()).contains("has rank 2").doesNotContain("\tat ");
    TestData.Run classes = TestData.cli("segment", "--model=" + fixtures.resolve("classes.onnx"),
        "--input=" + images + "/*", "--output=" + work.resolve("r2"));
    assertThat(classes.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(classes.err()).contains("set numClasses in maskbeam-model.json");
    TestData.Run absent = TestData.cli("evaluate", "--model=" + fixtures.resolve("absent.onnx"),
        "--images=" + images, "--masks=" + work.resolve("truth"), "--output=" + work.resolve("r3"));
    assertThat(absent.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(absent.err()).contains("does not exist");
    for (String dir : List.of("r1", "r2", "r3")) {
      assertThat(work.resolve(dir)).as("nothing written for %s", dir).doesNotExist();
    }
  }

  /** The 8-bit values of a grey PNG, as ints. */
  static int[] asInts(byte[] png) throws IOException {
    return TestData.rawValues(png);
  }
}
