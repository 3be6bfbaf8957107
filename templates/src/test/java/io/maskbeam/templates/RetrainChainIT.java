package io.maskbeam.templates;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code templates/scheduling/retrain.sh} end to end with the shipped jar on the DirectRunner: a candidate trained
 * further from the production model is blessed and promoted (the old one kept beside it), and a degraded candidate
 * (one epoch from scratch at a negligible learning rate) is not: exit 3, the production model's files unchanged,
 * and new images are segmented with the production model either way.
 */
class RetrainChainIT {
  static final ObjectMapper JSON = new ObjectMapper();

  static Map<String, byte[]> files(Path dir) throws Exception {
    Map<String, byte[]> out = new TreeMap<>();
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.filter(Files::isRegularFile).toList()) {
        out.put(dir.relativize(p).toString(), Files.readAllBytes(p));
      }
    }
    return out;
  }

  Shipped.Finished chain(Path work, Path data, Path production, String run, Map<String, String> extra)
      throws Exception {
    Map<String, String> env = new HashMap<>(Map.of(
        "MASKBEAM", Shipped.java() + " -jar " + Shipped.jar(),
        "IMAGES", data.resolve("synthetic/images").toString(),
        "MASKS", data.resolve("synthetic/masks").toString(),
        "LABEL_MAP", data.resolve("synthetic/labelmap.json").toString(),
        "PRODUCTION", production.toString(),
        "WORK", work.resolve(run).toString(),
        "INPUT", Shipped.demo().resolve("unseen/images") + "/*.png",
        "OUTPUT", work.resolve("segmented").toString(),
        "PREPROCESS_ARGS", "--validationFraction=0.3"));
    env.putAll(extra);
    return Shipped.run(List.of("bash", Shipped.root().resolve("templates/scheduling/retrain.sh").toString()), env,
        work.resolve(run + ".log"), 600);
  }

  @Test
  void aBetterCandidateIsPromotedAndADegradedOneIsNot() throws Exception {
    Path work = Shipped.freshWork("retrain");
    Path data = work.resolve("data");
    Shipped.Finished generated = Shipped.run(List.of(Shipped.java().toString(), "-jar", Shipped.jar().toString(),
        "demo", "--output=" + data, "--count=40", "--trainEpochs=0", "--width=128", "--height=96", "--style=textured"),
        Map.of(), work.resolve("data.log"), 300);
    assertThat(generated.exitCode()).as(generated.output()).isZero();
    Path production = work.resolve("production");
    Files.createDirectories(production);
    for (Map.Entry<String, byte[]> f : files(Shipped.demoModel()).entrySet()) {
      Files.createDirectories(production.resolve(f.getKey()).getParent());
      Files.write(production.resolve(f.getKey()), f.getValue());
    }
    Map<String, byte[]> before = files(production);

    // The demo's model had one epoch; six more from its weights are better on the same classes.
    Shipped.Finished good = chain(work, data, production, "run-1", Map.of(
        "TRAIN_ARGS", "--epochs=6 --unetWidth=16 --unetDepth=3 --cropSize=96 --miniBatchSize=4 --optimizer=adam"
            + " --learningRate=0.005",
        "THRESHOLDS", "meanIou.delta>=0"));
    assertThat(good.exitCode()).as(good.output()).isZero();
    assertThat(good.output()).contains("blessed: yes").contains("promoted:");
    assertThat(files(production).get("saved_model.pb")).isNotEqualTo(before.get("saved_model.pb"));
    try (Stream<Path> siblings = Files.list(work)) {
      Path previous = siblings.filter(p -> p.getFileName().toString().startsWith("production.previous-"))
          .findFirst().orElseThrow();
      assertThat(files(previous)).containsOnlyKeys(before.keySet());
    }
    var summary = JSON.readTree(work.resolve("segmented/summary.json").toFile());
    assertThat(summary.path("model").asText()).isEqualTo(production.toString());
    Map<String, byte[]> promoted = files(production);

    // A candidate that learned nothing fails the gate: production stays exactly as it was.
    Shipped.Finished bad = chain(work, data, production, "run-2", Map.of(
        "TRAIN_ARGS", "--epochs=1 --unetWidth=16 --unetDepth=3 --cropSize=96 --miniBatchSize=4 --learningRate=0.00001",
        "INIT_FROM_PRODUCTION", "false",
        "THRESHOLDS", "meanIou.delta>=-0.01"));
    assertThat(bad.exitCode()).as(bad.output()).isEqualTo(3);
    assertThat(bad.output()).contains("blessed: NO").contains("not blessed:");
    assertThat(files(production)).containsOnlyKeys(promoted.keySet());
    for (String name : promoted.keySet()) {
      assertThat(Files.readAllBytes(production.resolve(name))).as(name).isEqualTo(promoted.get(name));
    }
    var blessing = JSON.readTree(work.resolve("run-2/evaluation/blessing.json").toFile());
    assertThat(blessing.path("blessed").asBoolean()).isFalse();
    assertThat(blessing.path("rules").get(0).path("value").asDouble()).isLessThan(-0.01);
    // The incremental segmentation still ran, with the production model, and found nothing new to do.
    assertThat(bad.output()).contains("segmented 0");
  }
}
