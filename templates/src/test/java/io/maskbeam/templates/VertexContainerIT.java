package io.maskbeam.templates;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * The Vertex AI container as Vertex starts it: its entry point with the default command (prediction) and with
 * {@code train ...} (custom training), the {@code AIP_*} variables set as Vertex sets them, HTTP over loopback.
 */
class VertexContainerIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newHttpClient();

  static Path entrypoint() {
    return Shipped.root().resolve("templates/vertex/entrypoint.sh");
  }

  /** The arguments of the Dockerfile's CMD (exec form), which Vertex passes when it starts the container. */
  static List<String> dockerfileCmd() throws IOException {
    String dockerfile = Files.readString(Shipped.root().resolve("templates/vertex/Dockerfile"));
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^CMD\\s+\\[(.*)]\\s*$").matcher(dockerfile);
    assertThat(m.find()).as("templates/vertex/Dockerfile has a CMD").isTrue();
    List<String> args = new java.util.ArrayList<>();
    java.util.regex.Matcher arg = java.util.regex.Pattern.compile("\"([^\"]*)\"").matcher(m.group(1));
    while (arg.find()) {
      args.add(arg.group(1));
    }
    return args;
  }

  @Test
  void servesInstancesOnVertexRoutesFromAipStorageUri() throws Exception {
    Path work = Shipped.freshWork("vertex-serve");
    int port = Shipped.freePort();
    String health = "/v1/endpoints/123/deployedModels/456";
    String predict = "/v1/endpoints/123/deployedModels/456:predict";
    Path log = work.resolve("serve.log");
    // As Vertex starts the container: its entry point with the Dockerfile's CMD.
    List<String> command = new java.util.ArrayList<>(List.of(entrypoint().toString()));
    command.addAll(dockerfileCmd());
    assertThat(command).hasSizeGreaterThan(1);
    Process server = Shipped.start(command, Map.of("MASKBEAM_JAR",
        Shipped.jar().toString(), "AIP_HTTP_PORT", Integer.toString(port), "AIP_HEALTH_ROUTE", health,
        "AIP_PREDICT_ROUTE", predict, "AIP_STORAGE_URI", Shipped.demoModel().toString()), log);
    try {
      String base = "http://127.0.0.1:" + port;
      Shipped.awaitHealthy(server, base + health, log);
      Shipped.awaitLog(log, "on http://0.0.0.0:" + port);

      byte[] one = Files.readAllBytes(Shipped.demo().resolve("unseen/images/shape_0000.png"));
      byte[] two = Files.readAllBytes(Shipped.demo().resolve("unseen/images/shape_0001.png"));
      ObjectNode request = JSON.createObjectNode();
      ArrayNode instances = request.putArray("instances");
      instances.addObject().put("b64", Base64.getEncoder().encodeToString(one));
      instances.addObject().putObject("image").put("b64", Base64.getEncoder().encodeToString(two));
      request.putObject("parameters").put("colorMask", true);
      HttpResponse<String> answer = postJson(base + predict, JSON.writeValueAsString(request));
      assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
      JsonNode predictions = JSON.readTree(answer.body()).path("predictions");
      assertThat(predictions).hasSize(2);
      for (int i = 0; i < 2; i++) {
        JsonNode p = predictions.get(i);
        BufferedImage mask = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(
            p.path("mask").path("b64").asText())));
        assertThat(mask.getWidth()).isEqualTo(p.path("width").asInt());
        long pixels = 0;
        double fractions = 0;
        for (JsonNode n : p.path("classPixels")) {
          pixels += n.asLong();
        }
        for (JsonNode f : p.path("classFractions")) {
          fractions += f.asDouble();
        }
        assertThat(pixels).isEqualTo((long) mask.getWidth() * mask.getHeight());
        assertThat(fractions).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(p.path("colorMask").path("b64").asText()).isNotEmpty();
        // The same mask /invocations gives for the image (what segment writes).
        HttpResponse<byte[]> png = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/invocations"))
            .header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofByteArray(i == 0 ? one : two))
            .build(), HttpResponse.BodyHandlers.ofByteArray());
        BufferedImage expected = ImageIO.read(new ByteArrayInputStream(png.body()));
        int[] a = mask.getRaster().getSamples(0, 0, mask.getWidth(), mask.getHeight(), 0, (int[]) null);
        int[] b = expected.getRaster().getSamples(0, 0, mask.getWidth(), mask.getHeight(), 0, (int[]) null);
        assertThat(a).isEqualTo(b);
      }

      // A malformed instance is a 400 that names it; the server stays healthy.
      ObjectNode bad = JSON.createObjectNode();
      bad.putArray("instances").addObject().put("b64", Base64.getEncoder().encodeToString(one)).toString();
      ((ArrayNode) bad.get("instances")).addObject().put("url", "gs://nowhere/x.png");
      HttpResponse<String> refused = postJson(base + predict, JSON.writeValueAsString(bad));
      assertThat(refused.statusCode()).isEqualTo(400);
      assertThat(refused.body()).contains("instances[1]");
      HttpResponse<String> notImage = postJson(base + predict, "{\"instances\": [{\"b64\": \""
          + Base64.getEncoder().encodeToString("not an image".getBytes(StandardCharsets.UTF_8)) + "\"}]}");
      assertThat(notImage.statusCode()).isEqualTo(400);
      assertThat(notImage.body()).contains("instances[0]").contains("IMAGE_UNREADABLE");
      assertThat(postJson(base + predict, "{\"inputs\": []}").statusCode()).isEqualTo(400);
      assertThat(HTTP.send(HttpRequest.newBuilder(URI.create(base + health)).GET().build(),
          HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    } finally {
      Shipped.stop(server);
    }
  }

  @Test
  void trainsToAipModelDirWithCheckpointsAndTensorBoardEvents() throws Exception {
    Path work = Shipped.freshWork("vertex-train");
    Path demo = Shipped.demo();
    Path modelDir = work.resolve("base/model");
    Path checkpoints = work.resolve("base/checkpoints");
    Path logs = work.resolve("base/logs");
    Shipped.Finished f = Shipped.run(List.of(entrypoint().toString(), "train", "--data=" + demo.resolve("dataset"),
        "--epochs=2", "--unetWidth=8", "--unetDepth=3", "--cropSize=64", "--miniBatchSize=4", "--optimizer=adam"),
        Map.of("MASKBEAM_JAR", Shipped.jar().toString(), "AIP_MODEL_DIR", modelDir.toString(),
            "AIP_CHECKPOINT_DIR", checkpoints.toString(), "AIP_TENSORBOARD_LOG_DIR", logs.toString()),
        work.resolve("train.log"), 400);
    assertThat(f.exitCode()).as(f.output()).isZero();
    // Vertex imports the model from AIP_MODEL_DIR itself: the SavedModel at its root.
    assertThat(modelDir.resolve("saved_model.pb")).exists();
    assertThat(modelDir.resolve("maskbeam-model.json")).exists();
    assertThat(checkpoints.resolve("training-state.json")).exists();

    List<Path> events;
    try (Stream<Path> s = Files.list(logs)) {
      events = s.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents.")).toList();
    }
    assertThat(events).hasSize(1);
    Set<String> tags = new HashSet<>();
    List<byte[]> records = tfRecords(Files.readAllBytes(events.get(0)));
    assertThat(fileVersion(records.get(0))).isEqualTo("brain.Event:2");
    for (byte[] r : records) {
      tags.addAll(scalarTags(r));
    }
    assertThat(tags).contains("train/loss", "val/meanIou", "val/pixelAccuracy", "epoch/train_loss");
  }

  /** TFRecord framing, checksums checked: length (uint64 LE), masked CRC32C of it, data, masked CRC32C of data. */
  static List<byte[]> tfRecords(byte[] file) {
    ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    List<byte[]> out = new ArrayList<>();
    while (b.hasRemaining()) {
      byte[] len = new byte[8];
      b.get(len);
      assertThat(b.getInt()).isEqualTo(masked(len));
      byte[] data = new byte[(int) ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong()];
      b.get(data);
      assertThat(b.getInt()).isEqualTo(masked(data));
      out.add(data);
    }
    return out;
  }

  static int masked(byte[] data) {
    CRC32C crc = new CRC32C();
    crc.update(data);
    int c = (int) crc.getValue();
    return ((c >>> 15) | (c << 17)) + 0xa282ead8;
  }

  /** Event.file_version (field 3). */
  static String fileVersion(byte[] event) {
    ProtoWire b = new ProtoWire(event);
    while (b.more()) {
      long tag = b.varint();
      if (tag == (3 << 3 | 2)) {
        return b.string();
      }
      b.skip(tag);
    }
    return null;
  }

  /** The tags of Event.summary (field 5) values with a simple_value (Summary.Value: tag = 1, simple_value = 2). */
  static List<String> scalarTags(byte[] event) {
    List<String> tags = new ArrayList<>();
    ProtoWire b = new ProtoWire(event);
    while (b.more()) {
      long tag = b.varint();
      if (tag != (5 << 3 | 2)) {
        b.skip(tag);
        continue;
      }
      ProtoWire summary = b.message();
      while (summary.more()) {
        long t = summary.varint();
        if (t != (1 << 3 | 2)) {
          summary.skip(t);
          continue;
        }
        ProtoWire value = summary.message();
        String name = null;
        boolean simple = false;
        while (value.more()) {
          long vt = value.varint();
          if (vt == (1 << 3 | 2)) {
            name = value.string();
          } else if (vt == (2 << 3 | 5)) {
            assertThat(value.float32()).isFinite();
            simple = true;
          } else {
            value.skip(vt);
          }
        }
        if (simple) {
          tags.add(name);
        }
      }
    }
    return tags;
  }

  static HttpResponse<String> postJson(String url, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
