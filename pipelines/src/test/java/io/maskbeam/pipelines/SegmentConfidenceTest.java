package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.models.infer.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-image confidence from {@code segment}: the statistics in {@code stats/}, the uncertainty PNGs and the
 * ranking in {@code uncertain.csv}, each recomputed by the test from the probabilities written to {@code .npy}.
 */
class SegmentConfidenceTest {
  @TempDir static Path work;

  @Test
  void confidenceStatisticsUncertaintyMapsAndRankingFollowTheProbabilities() throws Exception {
    Path model = CamVidModel.get();
    Path in = Files.createDirectories(work.resolve("in"));
    for (String name : CamVidModel.names("val", 4)) {
      Files.copy(TestData.camvid().resolve("val").resolve(name), in.resolve(name));
    }
    Path out = work.resolve("out");
    TestData.Run run = TestData.cli("segment", "--model=" + model, "--input=" + in + "/*", "--output=" + out,
        "--writeProbabilities=true", "--writeUncertainty=true", "--confidenceThreshold=0.6", "--uncertainCount=3",
        "--writeColor=false", "--writeOverlays=false");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();

    Map<String, Double> meanMax = new HashMap<>();
    for (JsonNode line : TestData.jsonLines(out.resolve("stats"))) {
      String key = line.path("key").asText();
      JsonNode c = line.path("confidence");
      Npy.Float32Array p = Npy.readFloat32(Files.readAllBytes(out.resolve("probabilities/" + key + ".npy")));
      int classes = (int) p.shape()[2];
      int pixels = (int) (p.shape()[0] * p.shape()[1]);
      double sumMax = 0;
      double sumEntropy = 0;
      int low = 0;
      int[] uncertainty = TestData.rawValues(Files.readAllBytes(out.resolve("uncertainty/" + key + ".png")));
      assertThat(uncertainty).hasSize(pixels);
      for (int i = 0; i < pixels; i++) {
        double max = 0;
        double entropy = 0;
        for (int k = 0; k < classes; k++) {
          double v = p.data()[i * classes + k];
          max = Math.max(max, v);
          entropy -= v > 0 ? v * Math.log(v) : 0;
        }
        sumMax += max;
        sumEntropy += entropy / Math.log(classes);
        low += max < 0.6 ? 1 : 0;
        assertThat(uncertainty[i]).as("%s pixel %d", key, i).isCloseTo((int) Math.round(255 * (1 - max)),
            within(1));
      }
      assertThat(c.path("meanMaxProbability").asDouble()).isCloseTo(sumMax / pixels, within(1e-6));
      assertThat(c.path("meanEntropy").asDouble()).isCloseTo(sumEntropy / pixels, within(1e-6));
      assertThat(c.path("lowConfidenceFraction").asDouble()).isCloseTo((double) low / pixels, within(1e-9));
      meanMax.put(key, sumMax / pixels);
    }
    assertThat(meanMax).hasSize(4);

    // uncertain.csv: the three least confident of the four, least confident first.
    List<String> rows = Files.readAllLines(out.resolve("uncertain.csv"));
    assertThat(rows.get(0)).isEqualTo("rank,key,input,mean_max_probability,mean_entropy,low_confidence_fraction");
    List<String> expected = meanMax.entrySet().stream().sorted(Map.Entry.comparingByValue()).limit(3)
        .map(Map.Entry::getKey).toList();
    assertThat(rows.subList(1, rows.size()).stream().map(r -> r.split(",")[1]).toList()).isEqualTo(expected);
    JsonNode summary = TestData.json(out.resolve("summary.json"));
    assertThat(summary.path("confidence").path("meanMaxProbability").asDouble())
        .isCloseTo(meanMax.values().stream().mapToDouble(Double::doubleValue).average().orElseThrow(),
            within(1e-9));

    // report.html: counts that reconcile, the class distribution, the least confident images and a sample, every
    // picture of it loading in a browser.
    String html = Files.readString(out.resolve("report.html"));
    assertThat(html).contains("matched 4 = segmented 4 + skipped 0 + failed 0").contains("Least confident images")
        .contains("report/least-confident-01.jpg").contains("report/sample-01.jpg")
        .contains("report/class-distribution.png");
    assertThat(html.indexOf(expected.get(0))).as("least confident first").isLessThan(html.indexOf(expected.get(1)));
    EvaluateCommandTest.openReportInChromium(out.resolve("report.html"), 1 + 3 + 4, work);

    // Without confidence, nothing of it is written.
    Path plain = work.resolve("plain");
    TestData.Run off = TestData.cli("segment", "--model=" + model, "--input=" + in + "/*", "--output=" + plain,
        "--confidence=false", "--writeColor=false", "--writeOverlays=false");
    assertThat(off.exitCode()).as(off.err()).isZero();
    assertThat(plain.resolve("uncertain.csv")).doesNotExist();
    assertThat(TestData.jsonLines(plain.resolve("stats")).get(0).has("confidence")).isFalse();
    // The masks do not depend on whether confidence was computed.
    for (String key : meanMax.keySet()) {
      assertThat(Files.readAllBytes(plain.resolve("masks/" + key + ".png")))
          .isEqualTo(Files.readAllBytes(out.resolve("masks/" + key + ".png")));
    }
  }
}
