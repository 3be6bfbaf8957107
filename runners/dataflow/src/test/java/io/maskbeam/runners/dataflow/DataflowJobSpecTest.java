package io.maskbeam.runners.dataflow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.maskbeam.pipelines.Maskbeam;
import io.maskbeam.pipelines.cli.PipelineArgs;
import io.maskbeam.pipelines.evaluate.EvaluateOptions;
import io.maskbeam.pipelines.evaluate.EvaluatePipeline;
import io.maskbeam.pipelines.preprocess.PreprocessOptions;
import io.maskbeam.pipelines.preprocess.PreprocessPipeline;
import io.maskbeam.pipelines.segment.SegmentOptions;
import io.maskbeam.pipelines.segment.SegmentPipeline;
import io.maskbeam.pipelines.train.TrainCommand;
import io.maskbeam.pipelines.train.TrainOptions;
import io.maskbeam.pipelines.train.TrainPipeline;
import io.maskbeam.transforms.train.TrainTrials;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarOutputStream;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.PipelineOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Dataflow job specs of the pipelines, generated offline ({@code --templateLocation}, no network, no
 * credentials): they build, and only the inference and training steps carry the accelerator resource hint.
 */
class DataflowJobSpecTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String GPU = "type:nvidia-tesla-t4;count:1;install-nvidia-driver";
  @TempDir static Path work;
  static Path demo;
  static Path stagedJar;

  @BeforeAll
  static void demoAndJar() throws Exception {
    demo = work.resolve("demo");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Maskbeam.run(new String[] {"demo", "--output=" + demo, "--count=8", "--trainEpochs=1",
        "--width=128", "--height=96", "--style=textured"},
        new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
    assertThat(code).as(err.toString()).isZero();
    stagedJar = work.resolve("app.jar");
    try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(stagedJar))) {
      // An empty stand-in for the shaded jar: staging copies it, nothing runs it.
      jar.flush();
    }
  }

  static List<String> dataflowArgs(String name) throws Exception {
    Path staging = Files.createDirectories(work.resolve("staging-" + name));
    return new ArrayList<>(List.of("--runner=DataflowRunner", "--project=maskbeam-test", "--region=us-central1",
        "--gcpTempLocation=gs://maskbeam-test/tmp", "--stagingLocation=" + staging,
        "--pathValidatorClass=org.apache.beam.sdk.extensions.gcp.storage.NoopPathValidator",
        "--credentialFactoryClass=org.apache.beam.sdk.extensions.gcp.auth.NoopCredentialFactory",
        "--filesToStage=" + stagedJar, "--templateLocation=" + work.resolve(name + ".json")));
  }

  /** Step name to its resource hints, from a generated job spec. */
  static Map<String, String> hintsByStep(Path spec) throws Exception {
    JsonNode job = JSON.readTree(Files.readString(spec));
    Map<String, String> hints = new java.util.TreeMap<>();
    for (JsonNode step : job.path("steps")) {
      JsonNode props = step.path("properties");
      // Names are typed values ({"@type": ..., "value": name}); hints a map of URN to value.
      JsonNode name = props.path("user_name");
      hints.put(name.isObject() ? name.path("value").asText() : name.asText(step.path("name").asText()),
          props.path("resource_hints").isMissingNode() ? "" : props.path("resource_hints").toString());
    }
    assertThat(hints).as("steps of %s", spec).isNotEmpty();
    return hints;
  }

  @Test
  void segmentCarriesTheAcceleratorOnItsInferenceStepOnly() throws Exception {
    List<String> args = dataflowArgs("segment");
    args.addAll(List.of("--model=" + demo.resolve("training/model"), "--input=" + demo.resolve("unseen/images") + "/*",
        "--output=" + work.resolve("segmented"), "--acceleratorType=" + GPU));
    SegmentOptions options = PipelineArgs.parse(args.toArray(String[]::new), SegmentOptions.class);
    SegmentPipeline.run(options);
    Map<String, String> hints = hintsByStep(work.resolve("segment.json"));
    List<String> hinted = hints.entrySet().stream().filter(e -> e.getValue().contains("accelerator"))
        .map(Map.Entry::getKey).toList();
    assertThat(hinted).containsExactly("SegmentImages/Segment");
    assertThat(hints.get("SegmentImages/Segment")).contains("beam:resources:accelerator:v1").contains(GPU);
  }

  @Test
  void evaluateCarriesTheAcceleratorOnItsScoringStepOnly() throws Exception {
    List<String> args = dataflowArgs("evaluate");
    args.addAll(List.of("--predictions=" + demo.resolve("unseen/masks"), "--masks=" + demo.resolve("unseen/masks"),
        "--labelMap=" + demo.resolve("synthetic/labelmap.json"), "--output=" + work.resolve("evaluation"),
        "--acceleratorType=" + GPU));
    EvaluateOptions options = PipelineArgs.parse(args.toArray(String[]::new), EvaluateOptions.class);
    EvaluatePipeline.run(options);
    Map<String, String> hints = hintsByStep(work.resolve("evaluate.json"));
    assertThat(hints.entrySet().stream().filter(e -> e.getValue().contains("accelerator"))
        .map(Map.Entry::getKey).toList()).containsExactly("Evaluate/Score/Score");
  }

  @Test
  void trainingTrialsCarryTheAcceleratorAndPreprocessingNone() throws Exception {
    List<String> train = dataflowArgs("train");
    PipelineOptions trainOptions = PipelineArgs.parse(train.toArray(String[]::new), PipelineOptions.class);
    Pipeline p = Pipeline.create(trainOptions);
    TrainOptions trial = PipelineArgs.parse(new String[] {"--data=gs://maskbeam-test/data",
        "--output=gs://maskbeam-test/run/trial-0", "--learningRate=0.01"}, TrainOptions.class);
    TrainPipeline.applyTransforms(p, List.of(new TrainTrials.Trial(0, Map.of("learningRate", "0.01"),
        TrainCommand.job(trial, Map.of()))), "gs://maskbeam-test/run", GPU);
    p.run();
    Map<String, String> trainHints = hintsByStep(work.resolve("train.json"));
    assertThat(trainHints.entrySet().stream().filter(e -> e.getValue().contains("accelerator"))
        .map(Map.Entry::getKey).toList()).containsExactly("TrainTrials/Train");

    List<String> prep = dataflowArgs("preprocess");
    prep.addAll(List.of("--images=" + demo.resolve("synthetic/images"), "--masks=" + demo.resolve("synthetic/masks"),
        "--labelMap=" + demo.resolve("synthetic/labelmap.json"), "--output=" + work.resolve("prepared")));
    PreprocessOptions options = PipelineArgs.parse(prep.toArray(String[]::new), PreprocessOptions.class);
    PreprocessPipeline.run(options);
    assertThat(hintsByStep(work.resolve("preprocess.json")).values()).noneMatch(h -> h.contains("accelerator"));
  }
}
