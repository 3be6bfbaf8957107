package io.maskbeam.models.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.dataset.ExamplePreparer;
import io.maskbeam.dataset.SyntheticShapes;
import io.maskbeam.dataset.UnknownLabelPolicy;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.labels.LabelMap;
import io.maskbeam.labels.LabelMaps;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

public class TrainerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path dir;

  public static List<byte[]> records(int count, int size, long seed) throws Exception {
    LabelMap map = LabelMaps.parse(SyntheticShapes.LABEL_MAP_JSON, "shapes");
    ExamplePreparer preparer = new ExamplePreparer(map, ResizePolicy.KEEP, UnknownLabelPolicy.REJECT,
        ExamplePreparer.DEFAULT_MAX_PIXELS, 95);
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      SyntheticShapes.Sample s = SyntheticShapes.generate(size, size + 8, seed + i);
      out.add(preparer.prepare("s" + i, ImageCodec.encodePng(s.image()), ImageCodec.encodePng(s.mask())).example());
    }
    return out;
  }

  public static ObjectNode datasetInfo() throws Exception {
    ObjectNode info = JSON.createObjectNode();
    info.set("classes", JSON.readTree(SyntheticShapes.LABEL_MAP_JSON).path("classes"));
    info.put("source", "synthetic");
    return info;
  }

  public Trainer.Settings settings(Path output, int epochs, boolean resume, Path initModel, boolean earlyStopping) {
    return new Trainer.Settings(output,
        new Trainer.Schedule(epochs, 4, 4, 0.01f, LearningRateSchedule.Kind.POLY, 2, 0.1f, 1),
        new Augmenter(32, 0.75f, 1.25f, true, 0.1f, 0.1f, 0.1f, 255),
        new Trainer.EarlyStopping(earlyStopping, 1, 1, 10f), new Trainer.Checkpoints(0, resume),
        new Trainer.Initialisation(initModel, null), 2, 7, io.maskbeam.models.infer.Precision.FP32, null);
  }

  public static TrainConfig config(int classes) {
    return new TrainConfig(new TrainConfig.UNetSpec(2, 8, true), classes, 255, TrainConfig.LossSpec.crossEntropy(),
        new TrainConfig.OptimizerSpec(TrainConfig.Optimizer.ADAM, 0.9f, false, 1e-4f), 3);
  }

  @Test
  void trainsValidatesExportsAndResumes() throws Exception {
    List<byte[]> train = records(12, 48, 100);
    List<byte[]> val = records(3, 48, 900);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    Path out = dir.resolve("run");
    Trainer.Outcome first = new Trainer(config(SyntheticShapes.NUM_CLASSES), settings(out, 2, false, null, false),
        datasetInfo(), new PrintStream(log, true)).run(train, val);
    assertThat(first.epochsRun()).isEqualTo(2);
    assertThat(first.steps()).isEqualTo(6);
    assertThat(first.bestMeanIou()).isBetween(0.0, 1.0);

    List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
    assertThat(metrics).hasSize(2);
    JsonNode epoch2 = JSON.readTree(metrics.get(1));
    assertThat(epoch2.path("epoch").asInt()).isEqualTo(2);
    assertThat(epoch2.path("valClassIou").has("triangle")).isTrue();
    assertThat(epoch2.path("trainLoss").asDouble()).isPositive();

    JsonNode meta = JSON.readTree(out.resolve("model").resolve(Trainer.METADATA).toFile());
    assertThat(meta.path("numClasses").asInt()).isEqualTo(4);
    assertThat(meta.path("classes").get(1).path("name").asText()).isEqualTo("circle");
    assertThat(meta.path("validation").path("valMeanIou").asDouble()).isEqualTo(first.bestMeanIou());
    assertThat(out.resolve("model/saved_model.pb")).exists();
    for (String png : List.of("training-curves.png", "confusion-matrix.png", "class-iou.png")) {
      java.awt.image.BufferedImage chart = javax.imageio.ImageIO.read(out.resolve(png).toFile());
      assertThat(chart.getWidth()).as(png).isGreaterThan(400);
    }

    // Resume: two more epochs continue from step 6, the metrics file grows instead of restarting.
    Trainer.Outcome resumed = new Trainer(config(SyntheticShapes.NUM_CLASSES), settings(out, 4, true, null, false),
        datasetInfo(), new PrintStream(log, true)).run(train, val);
    assertThat(resumed.steps()).isEqualTo(12);
    assertThat(Files.readAllLines(out.resolve("metrics.jsonl"))).hasSize(4);
    assertThat(log.toString()).contains("resumed from", "at epoch 3, step 6");
  }

  @Test
  void earlyStoppingEndsARunThatStopsImproving() throws Exception {
    List<byte[]> train = records(8, 48, 200);
    List<byte[]> val = records(2, 48, 700);
    // A tolerance of 10 mIoU points cannot be met: the run stops after min epochs + patience.
    Trainer.Outcome o = new Trainer(config(SyntheticShapes.NUM_CLASSES), settings(dir.resolve("es"), 6, false, null, true),
        datasetInfo(), new PrintStream(new ByteArrayOutputStream())).run(train, val);
    assertThat(o.stoppedEarly()).isTrue();
    assertThat(o.epochsRun()).isEqualTo(2);
  }

  @Test
  void initModelMustHaveTheSameClassesAndNetwork() throws Exception {
    List<byte[]> train = records(4, 48, 300);
    Path first = dir.resolve("first");
    new Trainer(config(SyntheticShapes.NUM_CLASSES), settings(first, 1, false, null, false), datasetInfo(),
        new PrintStream(new ByteArrayOutputStream())).run(train, train);
    Path model = first.resolve("model");
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    new Trainer(config(SyntheticShapes.NUM_CLASSES), settings(dir.resolve("second"), 1, false, model, false),
        datasetInfo(), new PrintStream(log, true)).run(train, train);
    assertThat(log.toString()).contains("initialised from");
    assertThatThrownBy(() -> new Trainer(config(5), settings(dir.resolve("third"), 1, false, model, false),
        datasetInfo(), new PrintStream(new ByteArrayOutputStream())).run(train, train))
        .hasMessageContaining("4 classes but the dataset has 5");
  }

  @Test
  void labelsOutsideTheDatasetClassesAreAClearError() throws Exception {
    ExamplePreparer preparer = new ExamplePreparer(LabelMaps.parse(SyntheticShapes.LABEL_MAP_JSON, "shapes"),
        ResizePolicy.KEEP, UnknownLabelPolicy.REJECT, ExamplePreparer.DEFAULT_MAX_PIXELS, 95);
    byte[] record = preparer.prepare("t", io.maskbeam.dataset.TestImages.rgbPng(16, 16, 1),
        io.maskbeam.dataset.TestImages.greyMask(16, 16, 0, 3)).example();
    assertThat(TrainingData.decode(record, 4, 255).labels().width()).isEqualTo(16);
    // The record holds class 3; a dataset claiming 3 classes (0..2) disagrees.
    assertThatThrownBy(() -> TrainingData.decode(record, 3, 255))
        .hasMessageContaining("dataset.json declares 3 classes");
  }

  @Test
  void schedulesWarmUpAndDecay() {
    LearningRateSchedule poly = new LearningRateSchedule(LearningRateSchedule.Kind.POLY, 0.1f, 100, 10, 0, 0.1f);
    assertThat(poly.at(0)).isEqualTo(0.01f);
    assertThat(poly.at(9)).isEqualTo(0.1f);
    assertThat(poly.at(10)).isEqualTo(0.1f);
    assertThat(poly.at(99)).isLessThan(0.01f);
    LearningRateSchedule step = new LearningRateSchedule(LearningRateSchedule.Kind.STEP, 1f, 100, 0, 30, 0.1f);
    assertThat(step.at(29)).isEqualTo(1f);
    assertThat(step.at(30)).isCloseTo(0.1f, org.assertj.core.data.Offset.offset(1e-6f));
    LearningRateSchedule cosine = new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 1f, 100, 0, 0, 0f);
    assertThat(cosine.at(50)).isCloseTo(0.5f, org.assertj.core.data.Offset.offset(0.02f));
  }
}
