package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code maskbeam train} through the command line, on a dataset that {@code preprocess} makes in the test. */
class TrainCommandTest {
  @TempDir static Path work;
  static Path dataset;

  @BeforeAll
  static void preprocess() {
    TestData.Run demo = TestData.cli("demo", "--output=" + work.resolve("demo"), "--count=24", "--trainEpochs=0",
        "--width=128", "--height=96", "--style=textured");
    assertThat(demo.exitCode()).as(demo.err()).isZero();
    dataset = work.resolve("demo/dataset");
  }

  /** On two towers (logical CPU devices here), synchronised: the flags, the run and the single-device export. */
  @Test
  void trainsAndExportsAModelWithMetadata() throws Exception {
    Path out = work.resolve("run");
    TestData.Run run = TestData.cli("train", "--data=" + dataset, "--output=" + out, "--epochs=2", "--unetWidth=8",
        "--unetDepth=3", "--cropSize=64", "--miniBatchSize=4", "--optimizer=adam", "--learningRate=0.005",
        "--classWeights=median-frequency", "--loss=focal", "--devices=2", "--syncBatchNorm=true");
    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out()).contains("epoch 2/2:", "best val mIoU",
        "training devices: 2 CPUs, batch norm synchronised across towers, 2 images per device and step",
        "/device:CPU:1=");
    JsonNode settings = TestData.json(out.resolve("model/maskbeam-model.json")).path("training").path("settings");
    assertThat(settings.path("devices").asInt()).isEqualTo(2);
    assertThat(settings.path("syncBatchNorm").asBoolean()).isTrue();
    assertThat(out.resolve("model/saved_model.pb")).exists();
    JsonNode meta = TestData.json(out.resolve("model/maskbeam-model.json"));
    assertThat(meta.path("numClasses").asInt()).isEqualTo(4);
    assertThat(meta.path("training").path("config").path("loss").path("classWeights")).hasSize(4);
    assertThat(meta.path("training").path("config").path("loss").path("kind").asText()).isEqualTo("FOCAL");
    List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
    assertThat(metrics).hasSize(2);
  }

  @Test
  void trialsTrainAsABeamPipelineAndTheBestIsRecorded() throws Exception {
    Path out = work.resolve("trials");
    TestData.Run run = TestData.cli("train", "--data=" + dataset, "--output=" + out, "--epochs=1", "--unetWidth=8",
        "--unetDepth=3", "--cropSize=64", "--miniBatchSize=4", "--optimizer=adam",
        "--trials=learningRate=0.01,0.001");
    assertThat(run.exitCode()).as(run.err()).isZero();
    JsonNode trials = TestData.json(out.resolve("trials.json"));
    assertThat(trials.path("trials")).hasSize(2);
    assertThat(trials.path("trials").get(1).path("settings").path("learningRate").asText()).isEqualTo("0.001");
    double best = Math.max(trials.path("trials").get(0).path("valMeanIou").asDouble(),
        trials.path("trials").get(1).path("valMeanIou").asDouble());
    assertThat(trials.path("best").path("valMeanIou").asDouble()).isEqualTo(best);
    assertThat(out.resolve("trial-0/model/saved_model.pb")).exists();
    assertThat(out.resolve("trial-1/model/saved_model.pb")).exists();
  }

  @Test
  void aDatasetWithoutValRecordsTrainsWithAWarningAndExportsTheLastEpoch() throws Exception {
    Path trainOnly = Files.createDirectories(work.resolve("train-only"));
    try (var files = Files.list(dataset)) {
      for (Path f : files.filter(p -> p.getFileName().toString().startsWith("train-")
          || p.getFileName().toString().equals("dataset.json")).toList()) {
        Files.copy(f, trainOnly.resolve(f.getFileName()));
      }
    }
    Path out = work.resolve("run-train-only");
    TestData.Run run = TestData.cli("train", "--data=" + trainOnly, "--output=" + out, "--epochs=2",
        "--unetWidth=8", "--unetDepth=3", "--cropSize=64", "--miniBatchSize=4");
    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out() + run.err()).contains("has no val records");
    assertThat(Files.readAllLines(out.resolve("metrics.jsonl"))).hasSize(2);
    assertThat(TestData.json(out.resolve("model/maskbeam-model.json")).path("training").path("epoch").asInt())
        .as("the last epoch's model is the one exported").isEqualTo(2);
  }

  @Test
  void badInputFailsBeforeTrainingWithAClearMessage() throws Exception {
    TestData.Run noData = TestData.cli("train", "--data=" + work.resolve("nowhere"), "--output=" + work.resolve("x"));
    assertThat(noData.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(noData.err()).contains("has no dataset.json");

    TestData.Run crop = TestData.cli("train", "--data=" + dataset, "--output=" + work.resolve("y"), "--cropSize=100");
    assertThat(crop.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(crop.err()).contains("multiple of the network stride 16");

    Path noShards = Files.createDirectories(work.resolve("empty-dataset"));
    Files.copy(dataset.resolve("dataset.json"), noShards.resolve("dataset.json"));
    TestData.Run shards = TestData.cli("train", "--data=" + noShards, "--output=" + work.resolve("z"));
    assertThat(shards.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(shards.err()).contains("no train-*.tfrecord shards");

    Path wrongClasses = Files.createDirectories(work.resolve("wrong-classes"));
    try (var files = Files.list(dataset)) {
      for (Path f : files.filter(p -> p.getFileName().toString().contains(".tfrecord")).toList()) {
        Files.copy(f, wrongClasses.resolve(f.getFileName()));
      }
    }
    Files.writeString(wrongClasses.resolve("dataset.json"),
        Files.readString(dataset.resolve("dataset.json")).replace("\"numClasses\" : 4", "\"numClasses\" : 2"));
    TestData.Run classes = TestData.cli("train", "--data=" + wrongClasses, "--output=" + work.resolve("w"));
    assertThat(classes.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(classes.err()).contains("declares 2 classes");

    TestData.Run devices = TestData.cli("train", "--data=" + dataset, "--output=" + work.resolve("u"),
        "--devices=1000", "--miniBatchSize=1000");
    assertThat(devices.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(devices.err()).contains("--devices=1000 but this machine has no visible GPU");
    TestData.Run uneven = TestData.cli("train", "--data=" + dataset, "--output=" + work.resolve("t"),
        "--devices=2", "--miniBatchSize=3");
    assertThat(uneven.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(uneven.err()).contains("--miniBatchSize=3 cannot be split evenly over 2 devices");

    TestData.Run algorithm = TestData.cli("train", "--data=" + dataset, "--output=" + work.resolve("v"),
        "--algorithm=segformer");
    assertThat(algorithm.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(algorithm.err()).contains("--algorithm must be one of [unet, deeplabv3plus, fcn, psp]");
  }
}
