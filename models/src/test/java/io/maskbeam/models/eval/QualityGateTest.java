package io.maskbeam.models.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class QualityGateTest {
  static final List<String> CLASSES = List.of("Sky", "Road", "Pedestrian");

  static JsonNode metrics() throws Exception {
    return new ObjectMapper().readTree("""
        {"meanIou": 0.60, "classes": [{"name": "Sky", "iou": 0.9}, {"name": "Road", "iou": 0.8},
          {"name": "Pedestrian", "iou": null}],
         "baseline": {"meanIou": 0.58, "delta": {"meanIou": 0.02, "classes": [{"name": "Sky", "iou": -0.01},
           {"name": "Road", "iou": 0.03}, {"name": "Pedestrian", "iou": null}]}},
         "slices": [
           {"slice": "city=berlin", "meanIou": 0.50, "classes": [], "baseline": {"delta": {"meanIou": -0.05}}},
           {"slice": "city=paris", "meanIou": 0.70, "classes": [], "baseline": {"delta": {"meanIou": 0.04}}}]}
        """);
  }

  static JsonNode rule(ObjectNode blessing, int i) {
    return blessing.path("rules").get(i);
  }

  @Test
  void judgesOverallClassDeltaAndSliceRules() throws Exception {
    QualityGate gate = QualityGate.parse("meanIou>=0.55; meanIou.delta>=-0.01;class.Sky.iou>0.85;"
        + "class.Sky.iou.delta>=0;slice.city=paris.meanIou>=0.6", CLASSES, true);
    ObjectNode b = gate.judge(metrics());
    assertThat(b.path("blessed").asBoolean()).isFalse();
    assertThat(rule(b, 0).path("passed").asBoolean()).isTrue();
    assertThat(rule(b, 0).path("value").asDouble()).isEqualTo(0.60);
    assertThat(rule(b, 1).path("value").asDouble()).isEqualTo(0.02);
    assertThat(rule(b, 2).path("passed").asBoolean()).isTrue();
    assertThat(rule(b, 3).path("passed").asBoolean()).as("Sky got worse by 0.01").isFalse();
    assertThat(rule(b, 4).path("slice").asText()).isEqualTo("city=paris");
    assertThat(rule(b, 4).path("passed").asBoolean()).isTrue();

    ObjectNode everySlice = QualityGate.parse("slice.*.meanIou.delta>=-0.03", CLASSES, true).judge(metrics());
    assertThat(everySlice.path("rules")).hasSize(2);
    assertThat(rule(everySlice, 0).path("slice").asText()).isEqualTo("city=berlin");
    assertThat(rule(everySlice, 0).path("passed").asBoolean()).isFalse();
    assertThat(rule(everySlice, 1).path("passed").asBoolean()).isTrue();
    assertThat(everySlice.path("blessed").asBoolean()).isFalse();

    assertThat(QualityGate.parse("meanIou>=0.6;meanIou<0.61;meanIou==0.6", CLASSES, false).judge(metrics())
        .path("blessed").asBoolean()).isTrue();
  }

  @Test
  void whatCannotBeSeenFailsRatherThanPasses() throws Exception {
    ObjectNode absent = QualityGate.parse("class.Pedestrian.iou>=0", CLASSES, false).judge(metrics());
    assertThat(absent.path("blessed").asBoolean()).isFalse();
    assertThat(rule(absent, 0).path("value").isNull()).isTrue();
    assertThat(rule(absent, 0).path("note").asText()).contains("no value");
    ObjectNode noSlice = QualityGate.parse("slice.city=rome.meanIou>=0", CLASSES, false).judge(metrics());
    assertThat(rule(noSlice, 0).path("note").asText()).contains("no slice named 'city=rome'");
    ObjectNode unsliced = QualityGate.parse("slice.*.meanIou>=0", CLASSES, false)
        .judge(new ObjectMapper().readTree("{\"meanIou\": 0.5}"));
    assertThat(unsliced.path("blessed").asBoolean()).isFalse();
  }

  @Test
  void unreadableRulesAreRefusedAtLaunch() {
    assertThatThrownBy(() -> QualityGate.parse("meanIou=>0.5", CLASSES, false)).hasMessageContaining("cannot read");
    assertThatThrownBy(() -> QualityGate.parse("mIoU>=0.5", CLASSES, false))
        .hasMessageContaining("not an overall metric");
    assertThatThrownBy(() -> QualityGate.parse("class.Sky.meanIou>=0.5", CLASSES, false))
        .hasMessageContaining("not a per-class metric");
    assertThatThrownBy(() -> QualityGate.parse("class.Car.iou>=0.5", CLASSES, false))
        .hasMessageContaining("no class 'Car'");
    assertThatThrownBy(() -> QualityGate.parse("meanIou.delta>=0", CLASSES, false))
        .hasMessageContaining("--baselineModel");
    assertThat(QualityGate.parse(" ; ", CLASSES, false).isEmpty()).isTrue();
  }

  @Test
  void pairedBootstrapIsReproducibleAndCentredOnTheObservedDifference() {
    Random r = new Random(3);
    List<PairedBootstrap.Pair> pairs = new ArrayList<>();
    ConfusionMatrix sumA = new ConfusionMatrix(3);
    ConfusionMatrix sumB = new ConfusionMatrix(3);
    for (int i = 0; i < 40; i++) {
      int[] truth = new int[200];
      int[] good = new int[200];
      int[] worse = new int[200];
      for (int p = 0; p < truth.length; p++) {
        truth[p] = r.nextInt(3);
        good[p] = r.nextDouble() < 0.8 ? truth[p] : r.nextInt(3);
        worse[p] = r.nextDouble() < 0.6 ? truth[p] : r.nextInt(3);
      }
      ConfusionMatrix a = new ConfusionMatrix(3).add(truth, good);
      ConfusionMatrix b = new ConfusionMatrix(3).add(truth, worse);
      pairs.add(new PairedBootstrap.Pair(a, b));
      sumA.merge(a);
      sumB.merge(b);
    }
    PairedBootstrap.Interval ci = PairedBootstrap.meanIouDifference(pairs, 500, 0.95, 11);
    assertThat(ci.difference()).isCloseTo(sumA.meanIou() - sumB.meanIou(), within(1e-12));
    assertThat(ci.low()).isLessThan(ci.difference());
    assertThat(ci.high()).isGreaterThan(ci.difference());
    assertThat(ci.low()).as("a clearly better model's interval excludes 0").isPositive();
    assertThat(PairedBootstrap.meanIouDifference(pairs, 500, 0.95, 11)).isEqualTo(ci);
    assertThat(PairedBootstrap.meanIouDifference(pairs, 500, 0.95, 12)).isNotEqualTo(ci);

    // A model compared with itself: every resample's difference is exactly 0.
    List<PairedBootstrap.Pair> same = pairs.stream().map(p -> new PairedBootstrap.Pair(p.candidate(),
        p.candidate())).toList();
    PairedBootstrap.Interval zero = PairedBootstrap.meanIouDifference(same, 200, 0.9, 1);
    assertThat(zero.low()).isZero();
    assertThat(zero.high()).isZero();
    assertThatThrownBy(() -> PairedBootstrap.meanIouDifference(List.of(), 10, 0.95, 1)).hasMessageContaining("no");
  }
}
