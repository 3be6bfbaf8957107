package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.LabelImage;
import io.maskbeam.models.infer.SegmentationModel;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code maskbeam evaluate} on CamVid val images with a model trained in the test: metrics against a confusion
 * matrix the test computes itself, perfect predictions, ignore pixels, the combine across workers, and the HTML
 * report opened in headless Chromium.
 */
class EvaluateCommandTest {
  static final int CLASSES = CamVidModel.CLASSES;
  static final int VOID = 11;
  @TempDir static Path work;
  static Path model;
  static Path images;
  static Path masks;
  static List<String> names;

  @BeforeAll
  static void data() throws IOException {
    model = CamVidModel.get();
    images = Files.createDirectories(work.resolve("val/images"));
    masks = Files.createDirectories(work.resolve("val/masks"));
    names = CamVidModel.names("val", 6);
    for (String n : names) {
      Files.copy(TestData.camvid().resolve("val").resolve(n), images.resolve(n));
      Files.copy(TestData.camvid().resolve("valannot").resolve(n), masks.resolve(n));
    }
  }

  static long[][] metricsMatrix(JsonNode metrics) {
    long[][] m = new long[CLASSES][CLASSES];
    for (int t = 0; t < CLASSES; t++) {
      for (int p = 0; p < CLASSES; p++) {
        m[t][p] = metrics.path("confusionMatrix").path(t).path(p).asLong();
      }
    }
    return m;
  }

  @Test
  void modelMetricsAgreeWithAnIndependentlyComputedMatrix() throws Exception {
    Path out = work.resolve("eval-model");
    TestData.Run run = TestData.cli("evaluate", "--model=" + model, "--images=" + images, "--masks=" + masks,
        "--labelMap=camvid-11", "--output=" + out, "--examples=2");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    JsonNode metrics = TestData.json(out.resolve("metrics.json"));

    // The test's own matrix: the model run on each image, ground truth read with ImageIO, void (11) skipped.
    long[][] expected = new long[CLASSES][CLASSES];
    long voidPixels = 0;
    try (SegmentationModel m = SegmentationModel.load(model)) {
      for (String n : names) {
        LabelImage predicted = m.segment(ImageCodec.toRgb(ImageIO.read(images.resolve(n).toFile())));
        int[] truth = TestData.rawValues(Files.readAllBytes(masks.resolve(n)));
        for (int i = 0; i < truth.length; i++) {
          if (truth[i] == VOID) {
            voidPixels++;
            continue;
          }
          expected[truth[i]][predicted.labels()[i] & 0xFF]++;
        }
      }
    }
    assertThat(voidPixels).isPositive();
    assertThat(metricsMatrix(metrics)).isDeepEqualTo(expected);
    long scored = 0;
    long right = 0;
    double iouSum = 0;
    int present = 0;
    for (int c = 0; c < CLASSES; c++) {
      long row = 0;
      long col = 0;
      for (int k = 0; k < CLASSES; k++) {
        row += expected[c][k];
        col += expected[k][c];
        scored += expected[c][k];
      }
      right += expected[c][c];
      if (row + col - expected[c][c] > 0) {
        iouSum += (double) expected[c][c] / (row + col - expected[c][c]);
        present++;
      }
    }
    // Ignore pixels never count: what was scored is every pixel but the void ones.
    assertThat(metrics.path("pixels").asLong()).isEqualTo(scored).isEqualTo(6L * 480 * 360 - voidPixels);
    assertThat(metrics.path("pixelAccuracy").asDouble()).isCloseTo((double) right / scored,
        org.assertj.core.api.Assertions.within(1e-12));
    assertThat(metrics.path("meanIou").asDouble()).isCloseTo(iouSum / present,
        org.assertj.core.api.Assertions.within(1e-12));
    assertThat(metrics.path("examples").asInt()).isEqualTo(6);
    assertThat(TestData.jsonLines(out.resolve("per-image"))).hasSize(6);
    for (String f : List.of("confusion-matrix.png", "class-iou.png", "examples/best-01.jpg", "examples/worst-02.jpg")) {
      BufferedImage img = ImageIO.read(out.resolve(f).toFile());
      assertThat(img).as(f).isNotNull();
    }

    // The same evaluation on one worker thread combines to the same matrix.
    Path single = work.resolve("eval-single");
    TestData.Run one = TestData.cli("evaluate", "--model=" + model, "--images=" + images, "--masks=" + masks,
        "--labelMap=camvid-11", "--output=" + single, "--targetParallelism=1");
    assertThat(one.exitCode()).as(one.err()).isZero();
    assertThat(metricsMatrix(TestData.json(single.resolve("metrics.json")))).isDeepEqualTo(expected);
    openReportInChromium(out.resolve("report.html"), 6);
  }

  @Test
  void perfectPredictionsScoreOneAndVoidNeverCounts() throws Exception {
    // Predictions equal to the ground truth, with void pixels predicted as class 0: those must not count.
    Path predictions = Files.createDirectories(work.resolve("perfect"));
    for (String n : names) {
      int[] truth = TestData.rawValues(Files.readAllBytes(masks.resolve(n)));
      byte[] labels = new byte[truth.length];
      for (int i = 0; i < truth.length; i++) {
        labels[i] = (byte) (truth[i] == VOID ? 0 : truth[i]);
      }
      Files.write(predictions.resolve(n), ImageCodec.encodePng(new LabelImage(480, 360, labels)));
    }
    Files.write(predictions.resolve("no-truth.png"), ImageCodec.encodePng(new LabelImage(480, 360, new byte[480 * 360])));
    Path out = work.resolve("eval-perfect");
    TestData.Run run = TestData.cli("evaluate", "--predictions=" + predictions, "--masks=" + masks,
        "--labelMap=camvid-11", "--output=" + out);
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    JsonNode metrics = TestData.json(out.resolve("metrics.json"));
    assertThat(metrics.path("meanIou").asDouble()).isEqualTo(1.0);
    assertThat(metrics.path("pixelAccuracy").asDouble()).isEqualTo(1.0);
    assertThat(metrics.path("meanDice").asDouble()).isEqualTo(1.0);
    for (JsonNode c : metrics.path("classes")) {
      if (c.path("truthPixels").asLong() > 0) {
        assertThat(c.path("iou").asDouble()).as(c.path("name").asText()).isEqualTo(1.0);
      } else {
        assertThat(c.path("iou").isNull()).as(c.path("name").asText()).isTrue();
      }
    }
    // The prediction without ground truth is reported, not scored.
    assertThat(metrics.path("failedByReason").path("MISSING_GROUND_TRUTH").asInt()).isEqualTo(1);
  }

  @Test
  void preprocessedShardsAsGroundTruth() throws Exception {
    Path out = work.resolve("eval-shards");
    TestData.Run run = TestData.cli("evaluate", "--model=" + model, "--data=" + CamVidModel.data(),
        "--split=train", "--output=" + out, "--examples=1");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    JsonNode metrics = TestData.json(out.resolve("metrics.json"));
    // The test's own matrix over the train shards, read with the spec reader: every record scored once, its
    // stored label map as ground truth, ignore pixels (255) skipped.
    List<TfRecordSpecReader.DeepLab> records = TestData.readShards(CamVidModel.data(), "train");
    assertThat(records).isNotEmpty();
    long[][] expected = new long[CLASSES][CLASSES];
    long ignored = 0;
    try (SegmentationModel m = SegmentationModel.load(model)) {
      for (TfRecordSpecReader.DeepLab r : records) {
        LabelImage predicted = m.segment(ImageCodec.toRgb(ImageIO.read(new java.io.ByteArrayInputStream(r.image()))));
        int[] truth = TestData.rawValues(r.label());
        for (int i = 0; i < truth.length; i++) {
          if (truth[i] >= CLASSES) {
            ignored++;
            continue;
          }
          expected[truth[i]][predicted.labels()[i] & 0xFF]++;
        }
      }
    }
    assertThat(ignored).isPositive();
    assertThat(metrics.path("examples").asInt()).isEqualTo(records.size());
    assertThat(metricsMatrix(metrics)).isDeepEqualTo(expected);
    assertThat(metrics.path("pixels").asLong()).isEqualTo(records.size() * 120L * 90 - ignored);

    TestData.Run both = TestData.cli("evaluate", "--model=" + model, "--predictions=" + images, "--masks=" + masks,
        "--output=" + work.resolve("x"));
    assertThat(both.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(both.err()).contains("exactly one of --model");
    TestData.Run noImages = TestData.cli("evaluate", "--model=" + model, "--masks=" + masks,
        "--output=" + work.resolve("y"));
    assertThat(noImages.err()).contains("needs --images");
  }

  /** Opens the report headless, takes a screenshot, and checks that every image on the page loaded. */
  static void openReportInChromium(Path report, int minImages) throws Exception {
    openReportInChromium(report, minImages, work);
  }

  /** Opens a report in headless Chromium: it renders, and every image on it loads ({@code scratch}: a temp dir). */
  static void openReportInChromium(Path report, int minImages, Path scratch) throws Exception {
    Path chromium = Path.of("/usr/bin/chromium");
    assumeThat(Files.isExecutable(chromium)).as("Chromium is installed by .ci/run (Debian package chromium)").isTrue();
    Path profile = Files.createTempDirectory(scratch, "chromium");
    List<String> base = List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--user-data-dir=" + profile, "--allow-file-access-from-files");
    Path shot = scratch.resolve("report.png");
    List<String> screenshot = new ArrayList<>(base);
    screenshot.addAll(List.of("--window-size=1400,2400", "--screenshot=" + shot, report.toUri().toString()));
    run(screenshot);
    BufferedImage page = ImageIO.read(shot.toFile());
    assertThat(page.getWidth()).isEqualTo(1400);
    // Not a blank page: the screenshot has many distinct colours (plots, overlays).
    java.util.Set<Integer> colours = new java.util.HashSet<>();
    for (int y = 0; y < page.getHeight(); y += 7) {
      for (int x = 0; x < page.getWidth(); x += 7) {
        colours.add(page.getRGB(x, y));
      }
    }
    assertThat(colours.size()).isGreaterThan(50);
    List<String> dom = new ArrayList<>(base);
    dom.addAll(List.of("--virtual-time-budget=10000", "--dump-dom", report.toUri().toString()));
    String html = run(dom);
    assertThat(html).contains("data-broken-images=\"0\"");
    int images = Integer.parseInt(html.replaceAll("(?s).*data-images=\"(\\d+)\".*", "$1"));
    assertThat(images).isGreaterThanOrEqualTo(minImages);
  }

  private static String run(List<String> command) throws Exception {
    Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("chromium did not finish: " + command);
    }
    assertThat(p.exitValue()).as("chromium exit").isZero();
    return new String(out, StandardCharsets.UTF_8);
  }
}
