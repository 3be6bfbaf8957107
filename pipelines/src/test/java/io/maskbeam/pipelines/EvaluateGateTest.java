package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code evaluate} as a promotion gate: metrics per slice (checked to add up to the overall matrix by the test),
 * a baseline model scored in the same job (deltas checked against the two models' own metrics), a reproducible
 * bootstrap interval, {@code blessing.json} and exit code 3 when a rule fails.
 */
class EvaluateGateTest {
  @TempDir static Path work;
  static Path model;
  static Path baseline;
  static Path images;
  static Path masks;

  @BeforeAll
  static void data() throws Exception {
    model = CamVidModel.get();
    // A weaker model on the same data: one epoch of a narrower network.
    TestData.Run train = TestData.cli("train", "--data=" + CamVidModel.data(), "--output=" + work.resolve("weak"),
        "--epochs=1", "--unetWidth=4", "--unetDepth=2", "--cropSize=64", "--miniBatchSize=4");
    assertThat(train.exitCode()).as(train.err()).isZero();
    baseline = work.resolve("weak/model");
    images = Files.createDirectories(work.resolve("images"));
    masks = Files.createDirectories(work.resolve("masks"));
    List<String> names = CamVidModel.names("val", 6);
    for (int i = 0; i < names.size(); i++) {
      // Two "cities" of three images each, named so a path regex can tell them apart.
      String name = (i < 3 ? "berlin_" : "paris_") + names.get(i);
      Files.copy(TestData.camvid().resolve("val").resolve(names.get(i)), images.resolve(name));
      Files.copy(TestData.camvid().resolve("valannot").resolve(names.get(i)), masks.resolve(name));
    }
  }

  static TestData.Run evaluate(Path out, String... extra) {
    List<String> args = new java.util.ArrayList<>(List.of("evaluate", "--model=" + model, "--images=" + images,
        "--masks=" + masks, "--labelMap=camvid-11", "--output=" + out, "--examples=1"));
    args.addAll(List.of(extra));
    return TestData.cli(args.toArray(String[]::new));
  }

  @Test
  void slicesAddUpBaselineDeltasAreExactAndTheGateBlesses() throws Exception {
    Path out = work.resolve("gate-pass");
    TestData.Run run = evaluate(out, "--baselineModel=" + baseline, "--sliceBy=path:(?<city>berlin|paris)_",
        "--thresholds=meanIou>=0.01;meanIou.delta>=-1;slice.*.pixelAccuracy>=0.01;class.Road.iou>=0");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    assertThat(run.out()).contains("blessed: yes (5 rules passed)");
    JsonNode m = TestData.json(out.resolve("metrics.json"));

    // Slices: two, three examples each, and their matrices sum exactly to the overall one.
    JsonNode slices = m.path("slices");
    assertThat(slices).hasSize(2);
    assertThat(slices.get(0).path("slice").asText()).isEqualTo("city=berlin");
    assertThat(slices.get(1).path("slice").asText()).isEqualTo("city=paris");
    int n = m.path("confusionMatrix").size();
    for (int t = 0; t < n; t++) {
      for (int p = 0; p < n; p++) {
        long sum = 0;
        for (JsonNode s : slices) {
          assertThat(s.path("examples").asLong()).isEqualTo(3);
          sum += s.path("confusionMatrix").get(t).get(p).asLong();
        }
        assertThat(sum).as("cell %d,%d", t, p).isEqualTo(m.path("confusionMatrix").get(t).get(p).asLong());
      }
    }

    // The baseline's own metrics equal a separate evaluation of it; the deltas are the differences.
    JsonNode b = m.path("baseline");
    Path alone = work.resolve("baseline-alone");
    TestData.Run separate = TestData.cli("evaluate", "--model=" + baseline, "--images=" + images,
        "--masks=" + masks, "--labelMap=camvid-11", "--output=" + alone, "--examples=0");
    assertThat(separate.exitCode()).as(separate.err()).isZero();
    JsonNode baselineAlone = TestData.json(alone.resolve("metrics.json"));
    assertThat(b.path("confusionMatrix")).isEqualTo(baselineAlone.path("confusionMatrix"));
    assertThat(b.path("delta").path("meanIou").asDouble())
        .isEqualTo(m.path("meanIou").asDouble() - baselineAlone.path("meanIou").asDouble());
    JsonNode boot = b.path("bootstrap");
    assertThat(boot.path("meanIouDifference").asDouble()).isEqualTo(b.path("delta").path("meanIou").asDouble());
    assertThat(boot.path("low").asDouble()).isLessThanOrEqualTo(boot.path("meanIouDifference").asDouble());
    assertThat(boot.path("high").asDouble()).isGreaterThanOrEqualTo(boot.path("meanIouDifference").asDouble());
    assertThat(boot.path("images").asInt()).isEqualTo(6);

    JsonNode blessing = TestData.json(out.resolve("blessing.json"));
    assertThat(blessing.path("blessed").asBoolean()).isTrue();
    assertThat(blessing.path("rules")).hasSize(5); // slice.* expands to both slices
    String html = Files.readString(out.resolve("report.html"));
    assertThat(html).contains("data-blessed=\"true\"").contains("id=\"slices\"").contains("id=\"baseline\"");

    // The same data and seed give the same interval.
    Path again = work.resolve("gate-again");
    TestData.Run rerun = evaluate(again, "--baselineModel=" + baseline, "--sliceBy=path:(?<city>berlin|paris)_");
    assertThat(rerun.exitCode()).as(rerun.err()).isZero();
    assertThat(TestData.json(again.resolve("metrics.json")).path("baseline").path("bootstrap")).isEqualTo(boot);
    assertThat(again.resolve("blessing.json")).doesNotExist();
  }

  @Test
  void aFailedRuleExitsWith3AndSaysWhich() throws Exception {
    Path out = work.resolve("gate-fail");
    TestData.Run run = evaluate(out, "--thresholds=meanIou>=0.999;pixelAccuracy>=0");
    assertThat(run.exitCode()).as(run.out() + run.err()).isEqualTo(Maskbeam.NOT_BLESSED);
    assertThat(run.out()).contains("blessed: NO (1 of 2 rules failed)").contains("failed: meanIou>=0.999 = ");
    JsonNode blessing = TestData.json(out.resolve("blessing.json"));
    assertThat(blessing.path("blessed").asBoolean()).isFalse();
    assertThat(blessing.path("rules").get(0).path("passed").asBoolean()).isFalse();
    assertThat(blessing.path("rules").get(1).path("passed").asBoolean()).isTrue();
    assertThat(Files.readString(out.resolve("report.html"))).contains("Not blessed");
    // metrics.json is still complete: a gate that fails is a verdict, not a failed job.
    assertThat(TestData.json(out.resolve("metrics.json")).path("blessing").path("blessed").asBoolean()).isFalse();
  }

  @Test
  void badGateSettingsAreRefusedBeforeTheJob() throws Exception {
    TestData.Run delta = evaluate(work.resolve("bad1"), "--thresholds=meanIou.delta>=0");
    assertThat(delta.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(delta.err()).contains("--baselineModel");
    TestData.Run cls = evaluate(work.resolve("bad2"), "--thresholds=class.Unicorn.iou>=0.3");
    assertThat(cls.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(cls.err()).contains("no class 'Unicorn'");
    TestData.Run slice = evaluate(work.resolve("bad3"), "--sliceBy=city");
    assertThat(slice.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(slice.err()).contains("path:REGEX or field:NAME");
    TestData.Run predictions = TestData.cli("evaluate", "--predictions=" + masks, "--masks=" + masks,
        "--labelMap=camvid-11", "--baselineModel=" + baseline, "--output=" + work.resolve("bad4"));
    assertThat(predictions.exitCode()).isEqualTo(Maskbeam.USAGE);
    for (String dir : List.of("bad1", "bad2", "bad3", "bad4")) {
      assertThat(work.resolve(dir)).doesNotExist();
    }
  }
}
