package io.maskbeam.pipelines.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.maskbeam.image.ExifOrientation;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.InvalidImageException;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.image.RgbImage;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.models.infer.MaskRendering;
import io.maskbeam.models.infer.Npy;
import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.models.infer.Segmenter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An HTTP endpoint with SageMaker's inference container contract, so existing clients work unchanged:
 * {@code GET /ping} for health, {@code POST /invocations} with an image body. The {@code Accept} header picks the
 * answer: {@code image/png} the label mask (byte for byte what {@code segment} writes), {@code application/json}
 * per-class pixel statistics, {@code application/x-npy} the probabilities. {@code GET /metadata} describes the
 * model. One model serves every request thread; bodies over the limit are refused with 413 before being read.
 */
public final class SegmentationServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final SegmentationModel model;
  private final Segmenter segmenter;
  private final long maxRequestBytes;
  private final long maxPixels;
  private final HttpServer server;
  private final ExecutorService threads;
  private final AtomicLong served = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();

  /** Settings of a server. */
  public record Settings(String host, int port, int threads, long maxRequestBytes, long maxPixels, int tileSize,
      int tileOverlap) {}

  public SegmentationServer(SegmentationModel model, Settings settings) throws IOException {
    this.model = model;
    this.segmenter = new Segmenter(model, settings.tileSize(), settings.tileOverlap(), 1, ResizePolicy.KEEP);
    this.maxRequestBytes = settings.maxRequestBytes();
    this.maxPixels = settings.maxPixels();
    this.server = HttpServer.create(new InetSocketAddress(settings.host(), settings.port()), 64);
    this.threads = Executors.newFixedThreadPool(settings.threads(), r -> {
      Thread t = new Thread(r, "maskbeam-serve");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(threads);
    server.createContext("/ping", this::ping);
    server.createContext("/invocations", this::invocations);
    server.createContext("/metadata", this::metadata);
    server.createContext("/", exchange -> send(exchange, 404, "application/json",
        error("no such endpoint: " + exchange.getRequestURI().getPath() + " (use /ping, /invocations, /metadata)")));
  }

  public void start() {
    server.start();
  }

  /** The bound port (useful when started on port 0). */
  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(1);
    threads.shutdown();
    try {
      threads.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void ping(HttpExchange exchange) throws IOException {
    if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
      send(exchange, 405, "application/json", error("use GET /ping"));
      return;
    }
    send(exchange, 200, "application/json", "{\"status\":\"healthy\"}".getBytes(StandardCharsets.UTF_8));
  }

  private void metadata(HttpExchange exchange) throws IOException {
    ObjectNode node = JSON.createObjectNode();
    node.set("model", model.metadata());
    ObjectNode server = node.putObject("server");
    server.put("maxRequestBytes", maxRequestBytes);
    server.put("maxPixels", maxPixels);
    server.put("requestsServed", served.get());
    server.put("requestsRejected", rejected.get());
    server.putArray("accept").add("image/png").add("application/json").add("application/x-npy");
    server.putArray("contentTypes").add("image/jpeg").add("image/png").add("application/x-image");
    send(exchange, 200, "application/json", JSON.writeValueAsBytes(node));
  }

  private void invocations(HttpExchange exchange) throws IOException {
    try {
      String length = exchange.getRequestHeaders().getFirst("Content-Length");
      if (length != null && parseLong(length) > maxRequestBytes) {
        // Read and drop a moderately oversized body, so the client (still sending) gets the 413 rather than a reset
        // connection; a far larger one is cut off.
        boolean drained = parseLong(length) <= DRAIN_FACTOR * maxRequestBytes
            && discard(exchange.getRequestBody(), DRAIN_FACTOR * maxRequestBytes);
        reject(exchange, 413, "request body of " + length + " bytes exceeds the limit of " + maxRequestBytes, drained);
        return;
      }
      // The body is read (within the limit) before anything else is judged: answering while the client is still
      // sending would reset the connection under it.
      byte[] body = readBounded(exchange.getRequestBody());
      if (body == null) {
        boolean drained = discard(exchange.getRequestBody(), (DRAIN_FACTOR - 1) * maxRequestBytes);
        reject(exchange, 413, "request body exceeds the limit of " + maxRequestBytes + " bytes", drained);
        return;
      }
      if (!exchange.getRequestMethod().equals("POST")) {
        reject(exchange, 405, "use POST /invocations with an image body", true);
        return;
      }
      String contentType = header(exchange, "Content-Type", "application/x-image");
      if (!(contentType.startsWith("image/") || contentType.startsWith("application/x-image")
          || contentType.startsWith("application/octet-stream"))) {
        reject(exchange, 415, "Content-Type must be image/jpeg, image/png or application/x-image, got " + contentType,
            true);
        return;
      }
      String accept = answerType(header(exchange, "Accept", "image/png"));
      if (accept == null) {
        reject(exchange, 406, "Accept must be image/png, application/json or application/x-npy", true);
        return;
      }
      RgbImage image;
      int orientation;
      try {
        image = ImageCodec.toRgb(ImageCodec.decode(body, maxPixels));
        orientation = ExifOrientation.read(body);
        image = ExifOrientation.apply(image, orientation);
      } catch (InvalidImageException e) {
        reject(exchange, e.kind() == InvalidImageException.Kind.TOO_MANY_PIXELS ? 413 : 400,
            e.kind().name() + ": " + e.getMessage(), true);
        return;
      }
      byte[] answer = answer(image, accept);
      served.incrementAndGet();
      send(exchange, 200, accept, answer);
    } catch (RuntimeException | OutOfMemoryError e) {
      reject(exchange, 500, "inference failed: " + e, true);
    }
  }

  /** What {@code segment} would produce for this image, in the requested form. */
  byte[] answer(RgbImage image, String accept) throws IOException {
    boolean probabilities = accept.equals("application/x-npy");
    int w = image.width();
    int h = image.height();
    if (probabilities) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.write(Npy.float32Header(h, w, model.numClasses()));
      segmenter.segment(image, false, Npy.sink(out));
      return out.toByteArray();
    }
    LabelImage labels = segmenter.segment(image, false, null).labels();
    if (accept.equals("image/png")) {
      return ImageCodec.encodePng(labels);
    }
    long[] counts = MaskRendering.classPixels(labels, model.numClasses());
    ObjectNode node = JSON.createObjectNode();
    node.put("width", w);
    node.put("height", h);
    node.put("pixels", (long) w * h);
    ObjectNode pixels = node.putObject("classPixels");
    ObjectNode fractions = node.putObject("classFractions");
    List<LabelClass> classes = model.classes();
    for (int c = 0; c < counts.length; c++) {
      pixels.put(classes.get(c).name(), counts[c]);
      fractions.put(classes.get(c).name(), (double) counts[c] / ((long) w * h));
    }
    return JSON.writeValueAsBytes(node);
  }

  /** The first supported type in an Accept header (q-values ignored; * / * means a PNG mask). */
  static String answerType(String accept) {
    for (String part : accept.split(",")) {
      String type = part.split(";")[0].trim().toLowerCase(Locale.ROOT);
      switch (type) {
        case "image/png", "*/*", "image/*" -> {
          return "image/png";
        }
        case "application/json" -> {
          return "application/json";
        }
        case "application/x-npy" -> {
          return "application/x-npy";
        }
        default -> {
          // try the next one
        }
      }
    }
    return null;
  }

  private byte[] readBounded(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[64 * 1024];
    long total = 0;
    for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
      total += n;
      if (total > maxRequestBytes) {
        return null;
      }
      out.write(buffer, 0, n);
    }
    return out.toByteArray();
  }

  private static final long DRAIN_FACTOR = 4;

  /** Reads and drops up to {@code limit} bytes; whether the body ended within them. */
  private static boolean discard(InputStream in, long limit) throws IOException {
    byte[] buffer = new byte[64 * 1024];
    long total = 0;
    for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
      total += n;
      if (total > limit) {
        return false;
      }
    }
    return true;
  }

  private static long parseLong(String s) {
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static String header(HttpExchange exchange, String name, String fallback) {
    String v = exchange.getRequestHeaders().getFirst(name);
    return v == null || v.isBlank() ? fallback : v.trim().toLowerCase(Locale.ROOT);
  }

  /**
   * Answers an error. A request refused before its body was read leaves unread bytes on the connection, so it
   * cannot carry another request: the answer asks the client to reconnect and the server closes it.
   */
  private void reject(HttpExchange exchange, int status, String message, boolean bodyRead) throws IOException {
    rejected.incrementAndGet();
    if (!bodyRead) {
      exchange.getResponseHeaders().set("Connection", "close");
    }
    send(exchange, status, "application/json", error(message));
  }

  private static byte[] error(String message) {
    ObjectNode node = JSON.createObjectNode();
    node.put("error", message);
    return node.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static void send(HttpExchange exchange, int status, String type, byte[] body) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : body.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
    exchange.close();
  }
}
