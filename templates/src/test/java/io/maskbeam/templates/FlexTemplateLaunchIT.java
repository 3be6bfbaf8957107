package io.maskbeam.templates;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The Dataflow Flex Templates as the launcher runs them: {@code java -cp $FLEX_TEMPLATE_JAVA_CLASSPATH
 * $FLEX_TEMPLATE_JAVA_MAIN_CLASS} (both read from Dockerfile.launcher and build-templates.sh, the built jar in place
 * of the image's copy) with {@code --runner=DataflowRunner}, the project, region, job name and
 * {@code --templateLocation} the launcher adds, and the template's parameters. Offline: the job spec is written to a
 * local file (no network, no credentials). Each launch must validate, write its job spec and return with exit code
 * 0, without unpacking TensorFlow's natives (a launcher VM need not hold them) and with the accelerator hint on the
 * inference, scoring or training step only.
 */
class FlexTemplateLaunchIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String GPU = "type:nvidia-tesla-t4;count:1;install-nvidia-driver";
  static final Pattern TEMPLATE = Pattern.compile("(?m)^template\\s+(\\S+)\\s+(\\S+)\\s*$");

  /** Template name to main class, as build-templates.sh builds them. */
  static Map<String, String> templates() throws Exception {
    String script = Files.readString(Shipped.root().resolve("templates/dataflow/build-templates.sh"));
    Map<String, String> out = new LinkedHashMap<>();
    Matcher m = TEMPLATE.matcher(script);
    while (m.find()) {
      out.put(m.group(1), m.group(2));
    }
    return out;
  }

  /** Launches one template as the Flex launcher does and returns its job spec's steps and resource hints. */
  static Map<String, String> launch(String template, List<String> parameters, Path work) throws Exception {
    String dockerfile = Files.readString(Shipped.root().resolve("templates/dataflow/Dockerfile.launcher"));
    Map<String, String> env = ShippedArtifactsIT.env(dockerfile);
    Map<String, Path> copies = ShippedArtifactsIT.copies(dockerfile);
    Path classpath = copies.get(env.get("FLEX_TEMPLATE_JAVA_CLASSPATH"));
    String main = templates().get(template);
    Path natives = Files.createDirectories(work.resolve("javacpp-" + template));
    Path spec = work.resolve(template + ".json");
    List<String> command = Shipped.list(Shipped.java().toString(),
        "-Dorg.bytedeco.javacpp.cachedir=" + natives, "-cp", classpath.toString(), main,
        // What the Flex Template launcher adds.
        "--runner=DataflowRunner", "--project=maskbeam-test", "--region=us-central1", "--jobName=" + template + "-it",
        "--templateLocation=" + spec,
        // The launch environment (staging and temp locations), kept offline.
        "--stagingLocation=" + Files.createDirectories(work.resolve("staging")),
        "--gcpTempLocation=gs://maskbeam-test/tmp",
        "--pathValidatorClass=org.apache.beam.sdk.extensions.gcp.storage.NoopPathValidator",
        "--credentialFactoryClass=org.apache.beam.sdk.extensions.gcp.auth.NoopCredentialFactory");
    command.addAll(parameters);
    Shipped.Finished f = Shipped.run(command, Map.of(), work.resolve(template + ".log"), 180);
    assertThat(f.exitCode()).as("%s launcher exit code; output:%n%s", template, f.output()).isZero();
    assertThat(f.output()).contains("job spec written");
    try (Stream<Path> unpacked = Files.walk(natives)) {
      assertThat(unpacked.filter(Files::isRegularFile).toList())
          .as("the %s launcher unpacked no native library (TensorFlow is not loaded at launch)", template).isEmpty();
    }
    JsonNode job = JSON.readTree(Files.readString(spec));
    Map<String, String> hints = new TreeMap<>();
    for (JsonNode step : job.path("steps")) {
      JsonNode props = step.path("properties");
      JsonNode name = props.path("user_name");
      hints.put(name.isObject() ? name.path("value").asText() : name.asText(step.path("name").asText()),
          props.path("resource_hints").isMissingNode() ? "" : props.path("resource_hints").toString());
    }
    assertThat(hints).as("steps of %s", spec).isNotEmpty();
    return hints;
  }

  static List<String> hinted(Map<String, String> hints) {
    return hints.entrySet().stream().filter(e -> e.getValue().contains("accelerator")).map(Map.Entry::getKey)
        .toList();
  }

  @Test
  void everyTemplateLaunchesOfflineAndPutsTheAcceleratorOnlyWhereTheModelRuns() throws Exception {
    Path work = Shipped.freshWork("flex");
    Path demo = Shipped.demo();
    Path model = Shipped.demoModel();

    Map<String, String> segment = launch("segment", List.of("--model=" + model,
        "--input=" + demo.resolve("unseen/images") + "/*.png", "--output=" + work.resolve("segmented"),
        "--acceleratorType=" + GPU), work);
    assertThat(hinted(segment)).containsExactly("SegmentImages/Segment");
    assertThat(segment.get("SegmentImages/Segment")).contains(GPU);

    Map<String, String> evaluate = launch("evaluate", List.of("--model=" + model,
        "--images=" + demo.resolve("unseen/images"), "--masks=" + demo.resolve("unseen/masks"),
        "--output=" + work.resolve("evaluation"), "--acceleratorType=" + GPU), work);
    assertThat(hinted(evaluate)).containsExactly("Evaluate/Score/Score");

    Map<String, String> preprocess = launch("preprocess", List.of("--images=" + demo.resolve("synthetic/images"),
        "--masks=" + demo.resolve("synthetic/masks"), "--labelMap=" + demo.resolve("synthetic/labelmap.json"),
        "--output=" + work.resolve("prepared")), work);
    assertThat(hinted(preprocess)).isEmpty();

    Map<String, String> train = launch("train", List.of("--data=gs://maskbeam-test/prepared",
        "--output=gs://maskbeam-test/run", "--trials=learningRate=0.001,0.0003", "--acceleratorType=" + GPU), work);
    assertThat(hinted(train)).containsExactly("TrainTrials/Train");
  }

  @Test
  void aBadModelIsRefusedAtLaunchWithAClearMessageAndNoStackTrace() throws Exception {
    Path work = Shipped.freshWork("flex-bad");
    Path demo = Shipped.demo();
    Path broken = Files.createDirectories(work.resolve("broken-model"));
    Files.copy(Shipped.demoModel().resolve("maskbeam-model.json"), broken.resolve("maskbeam-model.json"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.copy(Shipped.demoModel().resolve("saved_model.pb"), broken.resolve("saved_model.pb"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    String main = templates().get("segment");
    Shipped.Finished f = Shipped.run(Shipped.list(Shipped.java().toString(), "-cp", Shipped.jar().toString(), main,
        "--runner=DataflowRunner", "--project=maskbeam-test", "--region=us-central1",
        "--templateLocation=" + work.resolve("never.json"), "--gcpTempLocation=gs://maskbeam-test/tmp",
        "--model=" + broken, "--input=" + demo.resolve("unseen/images") + "/*.png",
        "--output=" + work.resolve("out")), Map.of(), work.resolve("bad.log"), 120);
    assertThat(f.exitCode()).isEqualTo(2);
    assertThat(f.output()).contains("missing variables/variables.index, variables/variables.data-*")
        .doesNotContain("\tat ");
    assertThat(work.resolve("never.json")).doesNotExist();
  }
}
