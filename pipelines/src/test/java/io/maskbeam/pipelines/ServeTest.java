package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.dataset.TestImages;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.LabelImage;
import io.maskbeam.models.infer.Npy;
import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.pipelines.serve.SegmentationServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code maskbeam serve} over real HTTP on loopback, answering as {@code segment} does. */
class ServeTest {
  @TempDir static Path work;
  static SegmentationModel model;
  static SegmentationServer server;
  static HttpClient http;
  static String base;
  static Path images;
  static List<String> names;
  static Path segmented;

  @BeforeAll
  static void start() throws Exception {
    Path modelDir = CamVidModel.get();
    images = Files.createDirectories(work.resolve("images"));
    names = CamVidModel.names("val", 3);
    for (String n : names) {
      Files.copy(TestData.camvid().resolve("val").resolve(n), images.resolve(n));
    }
    Files.write(images.resolve("photo.jpg"), TestImages.rgbJpeg(200, 150, 7));
    segmented = work.resolve("segmented");
    TestData.Run run = TestData.cli("segment", "--model=" + modelDir, "--input=" + images + "/*",
        "--output=" + segmented, "--writeColor=false", "--writeOverlays=false");
    assertThat(run.exitCode()).as(run.err()).isZero();

    model = SegmentationModel.load(modelDir);
    server = new SegmentationServer(model, "test", SegmentationServer.Settings.of("127.0.0.1", 0, 4, 2 * 1024 * 1024,
        50_000_000L, io.maskbeam.models.infer.InferenceSettings.defaults().withTiles(1024, 128)));
    server.start();
    base = "http://127.0.0.1:" + server.port();
    http = HttpClient.newHttpClient();
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
    if (model != null) {
      model.close();
    }
  }

  static HttpResponse<byte[]> post(byte[] body, String contentType, String accept) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base + "/invocations"))
        .header("Content-Type", contentType).header("Accept", accept)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  static HttpResponse<byte[]> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base + path)).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  @Test
  void answersEachContentTypeAsSegmentDoes() throws Exception {
    assertThat(get("/ping").statusCode()).isEqualTo(200);
    JsonNode meta = TestData.JSON.readTree(get("/metadata").body());
    assertThat(meta.path("model").path("numClasses").asInt()).isEqualTo(CamVidModel.CLASSES);

    for (String n : List.of(names.get(0), "photo.jpg")) {
      byte[] body = Files.readAllBytes(images.resolve(n));
      String type = n.endsWith(".jpg") ? "image/jpeg" : "image/png";
      String key = n.substring(0, n.lastIndexOf('.'));
      byte[] expectedMask = Files.readAllBytes(segmented.resolve("masks/" + key + ".png"));

      HttpResponse<byte[]> png = post(body, type, "image/png");
      assertThat(png.statusCode()).isEqualTo(200);
      assertThat(png.headers().firstValue("Content-Type")).hasValue("image/png");
      assertThat(png.body()).as("mask of %s equals segment's", n).isEqualTo(expectedMask);
      LabelImage mask = ImageCodec.decodeLabels(expectedMask);

      HttpResponse<byte[]> json = post(body, type, "application/json");
      assertThat(json.statusCode()).isEqualTo(200);
      JsonNode stats = TestData.JSON.readTree(json.body());
      long[] counted = new long[CamVidModel.CLASSES];
      for (byte b : mask.labels()) {
        counted[b & 0xFF]++;
      }
      int c = 0;
      long sum = 0;
      for (JsonNode count : stats.path("classPixels")) {
        assertThat(count.asLong()).isEqualTo(counted[c++]);
        sum += count.asLong();
      }
      assertThat(sum).isEqualTo((long) mask.width() * mask.height());

      HttpResponse<byte[]> npy = post(body, type, "application/x-npy");
      assertThat(npy.statusCode()).isEqualTo(200);
      Npy.Float32Array p = Npy.readFloat32(npy.body());
      assertThat(p.shape()).containsExactly(mask.height(), mask.width(), CamVidModel.CLASSES);
    }
    // SageMaker's own content type for images, and a default Accept.
    HttpResponse<byte[]> sagemaker = http.send(HttpRequest.newBuilder(URI.create(base + "/invocations"))
        .header("Content-Type", "application/x-image")
        .POST(HttpRequest.BodyPublishers.ofByteArray(Files.readAllBytes(images.resolve(names.get(1))))).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(sagemaker.statusCode()).isEqualTo(200);
    assertThat(sagemaker.body()).isEqualTo(Files.readAllBytes(
        segmented.resolve("masks/" + names.get(1).replace(".png", "") + ".png")));
  }

  @Test
  void concurrentRequestsGetTheSameAnswersAsSegment() throws Exception {
    ExecutorService clients = Executors.newFixedThreadPool(4);
    try {
      List<Future<Boolean>> answers = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        String n = names.get(i % names.size());
        answers.add(clients.submit(() -> {
          HttpResponse<byte[]> r = post(Files.readAllBytes(images.resolve(n)), "image/png", "image/png");
          byte[] expected = Files.readAllBytes(segmented.resolve("masks/" + n));
          return r.statusCode() == 200 && java.util.Arrays.equals(r.body(), expected);
        }));
      }
      for (Future<Boolean> a : answers) {
        assertThat(a.get()).isTrue();
      }
    } finally {
      clients.shutdown();
    }
  }

  @Test
  void badRequestsGetClear4xxAndTheServerStaysHealthy() throws Exception {
    byte[] good = Files.readAllBytes(images.resolve(names.get(0)));
    HttpResponse<byte[]> tooBig = post(new byte[3 * 1024 * 1024], "image/png", "image/png");
    assertThat(tooBig.statusCode()).isEqualTo(413);
    assertThat(new String(tooBig.body())).contains("exceeds the limit");
    HttpResponse<byte[]> notAnImage = post("hello, world".getBytes(), "image/png", "image/png");
    assertThat(notAnImage.statusCode()).isEqualTo(400);
    assertThat(new String(notAnImage.body())).contains("UNREADABLE");
    HttpResponse<byte[]> truncated = post(TestImages.truncated(good), "image/png", "image/png");
    assertThat(truncated.statusCode()).isEqualTo(400);
    assertThat(new String(truncated.body())).contains("TRUNCATED");
    assertThat(post(new byte[0], "image/png", "image/png").statusCode()).isEqualTo(400);
    HttpResponse<byte[]> huge = post(TestImages.pngClaiming(100_000, 100_000), "image/png", "image/png");
    assertThat(huge.statusCode()).isEqualTo(413);
    assertThat(new String(huge.body())).contains("TOO_MANY_PIXELS");
    assertThat(post(good, "text/plain", "image/png").statusCode()).isEqualTo(415);
    assertThat(post(good, "image/png", "text/html").statusCode()).isEqualTo(406);
    assertThat(get("/invocations").statusCode()).isEqualTo(405);
    assertThat(get("/nowhere").statusCode()).isEqualTo(404);

    assertThat(get("/ping").statusCode()).isEqualTo(200);
    HttpResponse<byte[]> after = post(good, "image/png", "image/png");
    assertThat(after.statusCode()).isEqualTo(200);
    assertThat(after.body()).isEqualTo(Files.readAllBytes(segmented.resolve("masks/" + names.get(0))));
  }
}
