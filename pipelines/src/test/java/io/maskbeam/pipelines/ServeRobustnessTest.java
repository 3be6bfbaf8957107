package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import io.maskbeam.models.infer.InferenceSettings;
import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.pipelines.serve.SegmentationServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code serve} against clients that send slowly or ask in unusual ways, on loopback with one inference thread and
 * short timeouts, so a stall would show within seconds: slow headers and slow bodies hold no inference thread and are
 * cut off; the health route and real predictions keep being answered meanwhile.
 */
class ServeRobustnessTest {
  static SegmentationModel model;
  static SegmentationServer server;
  static HttpClient http;
  static String base;
  static byte[] image;

  @BeforeAll
  static void start() throws Exception {
    model = SegmentationModel.load(CamVidModel.get());
    server = new SegmentationServer(model, "test", SegmentationServer.Settings.of("127.0.0.1", 0, 1, 4 << 20,
        50_000_000L, InferenceSettings.defaults()).withTimeouts(1500, 1500).withMaxConnections(64));
    server.start();
    base = "http://127.0.0.1:" + server.port();
    http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    image = Files.readAllBytes(TestData.camvid().resolve("val").resolve(CamVidModel.names("val", 1).get(0)));
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

  /** A client that writes {@code head} at once and then one byte per 300 ms until the server closes on it. */
  /**
   * Sends {@code head}, then a byte every 300 ms for up to 8 s, and returns what the server answered ("" if it
   * closed without an answer). It waits for an answer between bytes rather than writing blind: a byte written after
   * the server's answer and close makes the server's kernel reset the connection, which can discard the answer
   * before it is read (how this test once saw one 408 instead of two).
   */
  static String trickle(String head, int port) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      out.write(head.getBytes(StandardCharsets.US_ASCII));
      out.flush();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
      s.setSoTimeout(300);
      while (true) {
        try {
          int first = in.read();
          if (first < 0) {
            return ""; // closed without an answer
          }
          s.setSoTimeout(10_000);
          java.io.ByteArrayOutputStream answer = new java.io.ByteArrayOutputStream();
          answer.write(first);
          try {
            answer.write(in.readNBytes(4095));
          } catch (java.io.IOException reset) {
            // closed after the answer began: keep what arrived
          }
          return answer.toString(StandardCharsets.US_ASCII);
        } catch (java.net.SocketTimeoutException quiet) {
          if (System.nanoTime() > deadline) {
            return "";
          }
          try {
            out.write('x');
            out.flush();
          } catch (java.io.IOException closed) {
            return ""; // the server closed the connection under the trickle: what we want for slow headers
          }
        } catch (java.io.IOException reset) {
          return ""; // reset without an answer
        }
      }
    }
  }

  @Test
  void slowClientsAreCutOffWhileHealthChecksAndPredictionsGoOn() throws Exception {
    ExecutorService clients = Executors.newFixedThreadPool(4);
    try {
      long start = System.nanoTime();
      List<Future<String>> slow = new ArrayList<>();
      // Two clients trickling their headers, two trickling a body they promised 10,000 bytes of.
      for (int i = 0; i < 2; i++) {
        slow.add(clients.submit(() -> trickle("POST /invocations HTTP/1.1\r\nHost: x\r\nX-Slow: ", server.port())));
        slow.add(clients.submit(() -> trickle("POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            + "Content-Length: 10000\r\n\r\n", server.port())));
      }
      Thread.sleep(500);
      // Meanwhile, with one inference thread: the health check is quick and a real prediction is answered.
      long pingStart = System.nanoTime();
      assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/ping")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
      assertThat((System.nanoTime() - pingStart) / 1e9).as("seconds to answer /ping").isLessThan(2.0);
      HttpResponse<byte[]> mask = http.send(HttpRequest.newBuilder(URI.create(base + "/invocations"))
          .header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofByteArray(image)).build(),
          HttpResponse.BodyHandlers.ofByteArray());
      assertThat(mask.statusCode()).isEqualTo(200);
      List<String> answers = new ArrayList<>();
      for (Future<String> f : slow) {
        answers.add(f.get(20, TimeUnit.SECONDS));
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      assertThat(seconds).as("every slow client was cut off within the timeouts").isLessThan(8.0);
      // The slow bodies got a 408; the slow headers had their connection closed, none was served.
      assertThat(answers).filteredOn(a -> a.startsWith("HTTP/1.1 408")).hasSize(2);
      assertThat(answers).noneMatch(a -> a.startsWith("HTTP/1.1 2"));
    } finally {
      clients.shutdownNow();
    }
  }

  @Test
  void acceptQualityValuesAreHonouredAndMetadataNamesNoLocalPaths() throws Exception {
    HttpResponse<byte[]> png = http.send(HttpRequest.newBuilder(URI.create(base + "/invocations"))
        .header("Content-Type", "image/png").header("Accept", "application/json;q=0.5, image/png;q=0.9")
        .POST(HttpRequest.BodyPublishers.ofByteArray(image)).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(png.headers().firstValue("Content-Type")).hasValue("image/png");
    HttpResponse<byte[]> json = http.send(HttpRequest.newBuilder(URI.create(base + "/invocations"))
        .header("Content-Type", "image/png").header("Accept", "image/png;q=0, */*;q=0.1")
        .POST(HttpRequest.BodyPublishers.ofByteArray(image)).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(json.headers().firstValue("Content-Type")).hasValue("application/json");
    HttpResponse<String> none = http.send(HttpRequest.newBuilder(URI.create(base + "/invocations"))
        .header("Content-Type", "image/png").header("Accept", "image/png;q=0")
        .POST(HttpRequest.BodyPublishers.ofByteArray(image)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(none.statusCode()).isEqualTo(406);

    String metadata = http.send(HttpRequest.newBuilder(URI.create(base + "/metadata")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    assertThat(metadata).contains("\"numClasses\":" + CamVidModel.CLASSES)
        .doesNotContain(CamVidModel.data().toString()).doesNotContain(CamVidModel.get().toString())
        .doesNotContain("\"dataset\"");
  }
}
