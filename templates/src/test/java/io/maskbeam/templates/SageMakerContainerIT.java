package io.maskbeam.templates;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * The SageMaker container as SageMaker starts it: {@code entrypoint.sh serve} and {@code entrypoint.sh train} (the
 * Dockerfile's entry point, run here with the built jar in place of the image's copy), with the {@code /opt/ml}
 * layout made in a temporary folder ({@code SAGEMAKER_BASE_DIR}, as SageMaker's training toolkit names it).
 */
class SageMakerContainerIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newHttpClient();

  static Path entrypoint() {
    Path script = Shipped.root().resolve("templates/sagemaker/entrypoint.sh");
    assertThat(Files.isExecutable(script)).isTrue();
    return script;
  }

  static Map<String, String> env(Path optMl, String... more) {
    Map<String, String> env = new java.util.HashMap<>(Map.of("SAGEMAKER_BASE_DIR", optMl.toString(),
        "MASKBEAM_JAR", Shipped.jar().toString()));
    for (int i = 0; i + 1 < more.length; i += 2) {
      env.put(more[i], more[i + 1]);
    }
    return env;
  }

  static void copyTree(Path from, Path to) throws Exception {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : s.toList()) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
  }

  @Test
  void servesTheModelInOptMlWithSageMakersContract() throws Exception {
    Path work = Shipped.freshWork("sagemaker-serve");
    Path optMl = work.resolve("opt/ml");
    if (!Files.exists(optMl.resolve("model"))) {
      copyTree(Shipped.demoModel(), optMl.resolve("model"));
    }
    int port = Shipped.freePort();
    Path log = work.resolve("serve.log");
    Process server = Shipped.start(List.of(entrypoint().toString(), "serve"),
        env(optMl, "SAGEMAKER_BIND_TO_PORT", Integer.toString(port)), log);
    try {
      String base = "http://127.0.0.1:" + port;
      Shipped.awaitHealthy(server, base + "/ping", log);
      // A container is reached from outside it: the entry point must bind every interface, not loopback only.
      Shipped.awaitLog(log, "on http://0.0.0.0:" + port);

      JsonNode params = JSON.readTree(get(base + "/execution-parameters").body());
      assertThat(params.path("BatchStrategy").asText()).isEqualTo("SINGLE_RECORD");
      // One concurrent transform per inference thread (one per core by default); serve's default 32 MB bodies.
      assertThat(params.path("MaxConcurrentTransforms").asInt())
          .isEqualTo(Runtime.getRuntime().availableProcessors());
      assertThat(params.path("MaxPayloadInMB").asInt()).isEqualTo(32);

      byte[] image = Files.readAllBytes(Shipped.demo().resolve("unseen/images/shape_0000.png"));
      HttpResponse<byte[]> png = post(base + "/invocations", image, "image/png");
      assertThat(png.statusCode()).isEqualTo(200);
      BufferedImage mask = ImageIO.read(new ByteArrayInputStream(png.body()));
      int w = mask.getWidth();
      int h = mask.getHeight();

      // The probabilities as AWS's notebook asks for them, read by a decoder written from the schema.
      for (String type : List.of("application/x-recordio-protobuf", "application/x-protobuf")) {
        HttpResponse<byte[]> answer = post(base + "/invocations", image, type);
        assertThat(answer.statusCode()).as(type).isEqualTo(200);
        assertThat(answer.headers().firstValue("Content-Type")).hasValue(type);
        List<byte[]> records = SageMakerRecordDecoder.recordIo(answer.body());
        assertThat(records).hasSize(1);
        Map<String, SageMakerRecordDecoder.Tensor> features = SageMakerRecordDecoder.features(records.get(0));
        int[] shape = features.get("shape").ints();
        int c = shape[1];
        assertThat(shape).containsExactly(1, c, h, w);
        float[] target = features.get("target").floats();
        assertThat(target).hasSize(c * h * w);
        // np.argmax(mask, axis=0) of the [C, H, W] probabilities is the PNG mask (a tie may go either way), and
        // every pixel's probabilities sum to 1.
        java.util.Set<Integer> classesSeen = new java.util.HashSet<>();
        for (int y = 0; y < h; y++) {
          for (int x = 0; x < w; x++) {
            float sum = 0;
            for (int k = 0; k < c; k++) {
              sum += target[(k * h + y) * w + x];
            }
            assertThat(sum).as("probabilities of pixel %d,%d sum to 1", x, y)
                .isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-4f));
            int best = 0;
            for (int k = 1; k < c; k++) {
              if (target[(k * h + y) * w + x] > target[(best * h + y) * w + x]) {
                best = k;
              }
            }
            int expected = mask.getRaster().getSample(x, y, 0);
            classesSeen.add(expected);
            assertThat(target[(expected * h + y) * w + x]).as("pixel %d,%d", x, y)
                .isEqualTo(target[(best * h + y) * w + x]);
          }
        }
        assertThat(classesSeen).as("the mask is not one class, so the arg-max comparison means something")
            .hasSizeGreaterThan(1);
      }
    } finally {
      Shipped.stop(server);
    }
  }

  @Test
  void trainsFromOptMlChannelsToOptMlModelWithMetricLines() throws Exception {
    Path work = Shipped.freshWork("sagemaker-train");
    Path optMl = work.resolve("opt/ml");
    Path data = optMl.resolve("input/data");
    Path synthetic = Shipped.demo().resolve("synthetic");
    List<String> names;
    try (Stream<Path> s = Files.list(synthetic.resolve("masks"))) {
      names = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("shape_")).sorted().toList();
    }
    for (int i = 0; i < names.size(); i++) {
      String split = i < names.size() - 3 ? "train" : "validation";
      Files.createDirectories(data.resolve(split));
      Files.createDirectories(data.resolve(split + "_annotation"));
      Files.copy(synthetic.resolve("images").resolve(names.get(i)), data.resolve(split).resolve(names.get(i)));
      Files.copy(synthetic.resolve("masks").resolve(names.get(i)),
          data.resolve(split + "_annotation").resolve(names.get(i)));
    }
    Files.createDirectories(data.resolve("label_map"));
    Files.writeString(data.resolve("label_map/train_label_map.json"), "{\"scale\": \"1\"}");
    Path config = Files.createDirectories(optMl.resolve("input/config"));
    // Strings, as SageMaker writes them; SageMaker's names, plus two of Maskbeam's own.
    Files.writeString(config.resolve("hyperparameters.json"), JSON.writeValueAsString(Map.ofEntries(
        Map.entry("num_classes", "4"), Map.entry("num_training_samples", String.valueOf(names.size() - 3)),
        Map.entry("algorithm", "unet"), Map.entry("unetWidth", "8"), Map.entry("unetDepth", "3"),
        Map.entry("epochs", "2"), Map.entry("crop_size", "64"), Map.entry("mini_batch_size", "4"),
        Map.entry("optimizer", "adam"), Map.entry("learning_rate", "0.005"),
        Map.entry("use_pretrained_model", "False"))));

    Shipped.Finished f = Shipped.run(List.of(entrypoint().toString(), "train"), env(optMl),
        work.resolve("train.log"), 400);
    assertThat(f.exitCode()).as(f.output()).isZero();
    assertThat(optMl.resolve("model/saved_model.pb")).exists();
    assertThat(optMl.resolve("model/maskbeam-model.json")).exists();
    assertThat(optMl.resolve("output/failure")).doesNotExist();
    // The regexes of metric definitions validation:mIOU and validation:pixel_accuracy find a value per epoch.
    for (String metric : List.of("validation mIOU", "validation pixel_accuracy", "train loss")) {
      Matcher m = Pattern.compile(metric + ": ([-+0-9.eE]+) \\.").matcher(f.output());
      int found = 0;
      while (m.find()) {
        assertThat(Double.parseDouble(m.group(1))).isFinite();
        found++;
      }
      assertThat(found).as("%s lines", metric).isEqualTo(2);
    }

    // An unknown hyperparameter fails before anything runs, named in /opt/ml/output/failure.
    Files.writeString(config.resolve("hyperparameters.json"), "{\"num_classes\": \"4\", \"learnig_rate\": \"0.1\"}");
    Files.deleteIfExists(optMl.resolve("output/failure"));
    Shipped.Finished bad = Shipped.run(List.of(entrypoint().toString(), "train"), env(optMl),
        work.resolve("train-bad.log"), 120);
    assertThat(bad.exitCode()).isNotZero();
    assertThat(Files.readString(optMl.resolve("output/failure"))).contains("learnig_rate");
    // And a malformed one, by its name.
    Files.writeString(config.resolve("hyperparameters.json"), "{\"num_classes\": \"four\"}");
    Shipped.Finished malformed = Shipped.run(List.of(entrypoint().toString(), "train"), env(optMl),
        work.resolve("train-malformed.log"), 120);
    assertThat(malformed.exitCode()).isNotZero();
    assertThat(Files.readString(optMl.resolve("output/failure"))).contains("num_classes").contains("four");
  }

  static HttpResponse<byte[]> post(String url, byte[] body, String accept) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/x-image")
        .header("Accept", accept).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
  }
}
