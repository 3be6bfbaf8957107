package io.maskbeam.pipelines.bench;

import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.RgbImage;
import io.maskbeam.models.infer.SegmentationModel;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * {@code maskbeam bench serve}: {@code maskbeam serve} in a second process on loopback, loaded by this process
 * with 1, 2 and 4 concurrent clients posting 480x360 JPEGs for a fixed time each: requests/s and p50/p99 latency,
 * next to the raw Session throughput of the same model on the same image (batch 1, no HTTP, no decoding).
 */
final class ServeBench {
  private final PrintStream out;

  ServeBench(PrintStream out) {
    this.out = out;
  }

  int run(Path model, Path imagesDir, int seconds, List<Integer> concurrency, List<String> precisions, Path work)
      throws Exception {
    if (model == null) {
      throw new IllegalArgumentException("bench serve needs --model=DIR");
    }
    Path first;
    try (Stream<Path> s = Files.list(imagesDir)) {
      first = s.filter(p -> p.toString().endsWith(".png") || p.toString().endsWith(".jpg")).sorted().findFirst()
          .orElseThrow(() -> new IllegalArgumentException("no images in " + imagesDir));
    }
    RgbImage image = ImageCodec.toRgb(ImageCodec.decode(Files.readAllBytes(first), Long.MAX_VALUE));
    byte[] jpeg = ImageCodec.encodeJpeg(image, 90);
    out.printf(Locale.ROOT, "bench serve: model %s, %dx%d JPEG (%d bytes) from %s, %d s per level, %d cores%n", model,
        image.width(), image.height(), jpeg.length, first.getFileName(), seconds,
        Runtime.getRuntime().availableProcessors());

    for (String precision : precisions) {
      measure(model, image, jpeg, seconds, concurrency, precision, work);
    }
    return 0;
  }

  /** The raw ceiling, then the server at each concurrency level, in one precision. */
  private void measure(Path model, RgbImage image, byte[] jpeg, int seconds, List<Integer> concurrency,
      String precision, Path work) throws Exception {
    // The raw ceiling first, while nothing else runs.
    try (SegmentationModel m = SegmentationModel.load(model, 0,
        io.maskbeam.models.infer.Precision.choose(precision, true).precision())) {
      for (int i = 0; i < 3; i++) {
        m.labels(image.pixels(), 1, image.height(), image.width());
      }
      int n = 0;
      long start = System.nanoTime();
      while (System.nanoTime() - start < seconds * 1_000_000_000L) {
        m.labels(image.pixels(), 1, image.height(), image.width());
        n++;
      }
      out.printf(Locale.ROOT, "%s raw Session (batch 1, one caller): %.2f images/s%n", precision,
          n / ((System.nanoTime() - start) / 1e9));
    }

    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Files.createDirectories(work);
    Path jar = Path.of(ServeBench.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process server = new ProcessBuilder(java, "-jar", jar.toString(), "serve", "--model=" + model.toAbsolutePath(),
        "--host=127.0.0.1", "--port=" + port, "--precision=" + precision)
        .redirectErrorStream(true).redirectOutput(work.resolve("serve.log").toFile()).start();
    try {
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      String base = "http://127.0.0.1:" + port;
      waitForPing(http, base, server);
      HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/invocations"))
          .header("Content-Type", "image/jpeg").header("Accept", "image/png")
          .POST(HttpRequest.BodyPublishers.ofByteArray(jpeg)).build();
      for (int i = 0; i < 3; i++) {
        send(http, request);
      }
      for (int c : concurrency) {
        level(http, request, c, seconds, precision);
      }
    } finally {
      server.destroy();
      server.waitFor();
    }
  }

  private void level(HttpClient http, HttpRequest request, int clients, int seconds, String precision)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    long start = System.nanoTime();
    try {
      List<Future<List<Long>>> futures = new ArrayList<>();
      for (int i = 0; i < clients; i++) {
        futures.add(pool.submit(() -> {
          List<Long> latencies = new ArrayList<>();
          while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            send(http, request);
            latencies.add(System.nanoTime() - t0);
          }
          return latencies;
        }));
      }
      List<Long> all = new ArrayList<>();
      for (Future<List<Long>> f : futures) {
        all.addAll(f.get());
      }
      double elapsed = (System.nanoTime() - start) / 1e9;
      Collections.sort(all);
      out.printf(Locale.ROOT, "%s serve, %d client(s): %.2f requests/s, p50 %.0f ms, p99 %.0f ms (%d requests)%n",
          precision, clients,
          all.size() / elapsed, percentile(all, 0.50) / 1e6, percentile(all, 0.99) / 1e6, all.size());
    } finally {
      pool.shutdown();
    }
  }

  private static void send(HttpClient http, HttpRequest request) throws IOException, InterruptedException {
    HttpResponse<byte[]> r = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    if (r.statusCode() != 200) {
      throw new IllegalStateException("server answered " + r.statusCode() + ": " + new String(r.body()));
    }
  }

  static double percentile(List<Long> sorted, double q) {
    if (sorted.isEmpty()) {
      return Double.NaN;
    }
    int index = (int) Math.ceil(q * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
  }

  private static void waitForPing(HttpClient http, String base, Process server) throws Exception {
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (System.nanoTime() < deadline) {
      if (!server.isAlive()) {
        throw new IllegalStateException("serve exited with " + server.exitValue());
      }
      try {
        HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(base + "/ping")).GET().build(),
            HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException("serve did not answer /ping within 120 s");
  }
}
