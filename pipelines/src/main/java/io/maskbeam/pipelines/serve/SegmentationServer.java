package io.maskbeam.pipelines.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.image.ImageLoader;
import io.maskbeam.models.infer.InferenceSettings;
import io.maskbeam.models.infer.SegmentationModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model behind HTTP, speaking the contracts of the services users deploy on:
 *
 * <ul>
 *   <li>SageMaker's inference containers: {@code GET /ping}, {@code POST /invocations} with an image (JPEG, PNG or
 *       {@code application/x-image}), answered by {@code Accept} (q-values honoured): {@code image/png} the label
 *       mask (byte for byte what {@code segment} writes), {@code application/json} class statistics,
 *       {@code application/x-npy} probabilities [H, W, C], and {@code application/x-recordio-protobuf} /
 *       {@code application/x-protobuf} probabilities as SageMaker's RecordIO {@code Record}; batch transform's
 *       {@code GET /execution-parameters};
 *   <li>Vertex AI's custom containers: the health and predict routes it names ({@code AIP_HEALTH_ROUTE},
 *       {@code AIP_PREDICT_ROUTE}), with {@code {"instances": [...]}} in and {@code {"predictions": [...]}} out;
 *   <li>{@code GET /metadata}: the model's classes, network and version (no local paths).
 * </ul>
 *
 * <p>Slow or hostile clients cannot take it down: connections are read by Jetty's selectors, so a client that
 * trickles its headers or body holds no thread; headers must arrive within {@code headerTimeout} and a body within
 * {@code bodyTimeout} (408 otherwise, connection closed); at most {@code maxConnections} are open; inference runs on
 * its own bounded pool (503 when its queue is full); and the health route is answered on Jetty's threads, never
 * behind inference.
 */
public final class SegmentationServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SegmentationServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Bodies up to this many times the limit are read and dropped, so the client sees its 413. */
  private static final long DRAIN_FACTOR = 4;

  /**
   * How the server runs.
   *
   * @param threads inference threads (each runs one request's model call at a time)
   * @param queue requests waiting for an inference thread before new ones get 503
   * @param healthRoutes paths answering health checks (e.g. /ping and Vertex's AIP_HEALTH_ROUTE)
   * @param predictRoutes paths taking predictions (e.g. /invocations and Vertex's AIP_PREDICT_ROUTE)
   */
  public record Settings(String host, int port, int threads, int queue, long maxRequestBytes, long maxPixels,
      InferenceSettings inference, long headerTimeoutMillis, long bodyTimeoutMillis, int maxConnections,
      List<String> healthRoutes, List<String> predictRoutes) {
    public Settings {
      if (threads < 1 || queue < 0 || maxConnections < 1 || maxRequestBytes < 1) {
        throw new IllegalArgumentException("threads, connections and the request limit must be positive");
      }
      healthRoutes = List.copyOf(healthRoutes);
      predictRoutes = List.copyOf(predictRoutes);
    }

    /** SageMaker's routes on a port, with a server's usual limits. */
    public static Settings of(String host, int port, int threads, long maxRequestBytes, long maxPixels,
        InferenceSettings inference) {
      return new Settings(host, port, threads, 4 * threads, maxRequestBytes, maxPixels, inference, 10_000, 60_000,
          256, List.of("/ping"), List.of("/invocations"));
    }

    public Settings withRoutes(List<String> health, List<String> predict) {
      return new Settings(host, port, threads, queue, maxRequestBytes, maxPixels, inference, headerTimeoutMillis,
          bodyTimeoutMillis, maxConnections, health, predict);
    }

    public Settings withTimeouts(long headerMillis, long bodyMillis) {
      return new Settings(host, port, threads, queue, maxRequestBytes, maxPixels, inference, headerMillis,
          bodyMillis, maxConnections, healthRoutes, predictRoutes);
    }

    public Settings withMaxConnections(int max) {
      return new Settings(host, port, threads, queue, maxRequestBytes, maxPixels, inference, headerTimeoutMillis,
          bodyTimeoutMillis, max, healthRoutes, predictRoutes);
    }
  }

  private final SegmentationModel model;
  private final String modelVersion;
  private final Settings settings;
  private final Answers answers;
  private final Server server;
  private final ServerConnector connector;
  private final ThreadPoolExecutor inference;
  private final AtomicLong served = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  private final Map<Connection, HeaderWatch> watched = new ConcurrentHashMap<>();

  /** @param modelVersion what identifies the model's files (shown by /metadata) */
  public SegmentationServer(SegmentationModel model, String modelVersion, Settings settings) {
    this.model = model;
    this.modelVersion = modelVersion;
    this.settings = settings;
    this.answers = new Answers(model, settings.inference().withBatching(1, settings.inference().maxBatchBytes())
        .segmenter(model), ImageLoader.withPixelLimit(settings.maxPixels()));
    this.inference = new ThreadPoolExecutor(settings.threads(), settings.threads(), 0, TimeUnit.MILLISECONDS,
        new ArrayBlockingQueue<>(Math.max(1, settings.queue())), r -> {
          Thread t = new Thread(r, "maskbeam-inference");
          t.setDaemon(true);
          return t;
        });
    QueuedThreadPool pool = new QueuedThreadPool(32, 4, 60_000);
    pool.setName("maskbeam-http");
    pool.setDaemon(true);
    this.server = new Server(pool);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setRequestHeaderSize(16 * 1024);
    this.connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
    connector.setHost(settings.host());
    connector.setPort(settings.port());
    // No byte at all for this long closes a connection; bytes that trickle are bounded by the timeouts below.
    connector.setIdleTimeout(Math.max(settings.headerTimeoutMillis(), 1000));
    connector.addBean(new HeaderTimeouts());
    server.addConnector(connector);
    server.addBean(new NetworkConnectionLimit(settings.maxConnections(), connector));
    server.setHandler(new Routes());
    server.setStopTimeout(5000);
  }

  public void start() throws Exception {
    server.start();
    LOG.info("serving {} on {}:{}", model.path(), settings.host(), port());
  }

  /** The bound port (useful when started on port 0). */
  public int port() {
    return connector.getLocalPort();
  }

  /**
   * Stops taking requests and waits for running inferences (10 s); returns whether none is left running, i.e.
   * whether the model may be closed.
   */
  public boolean stop() {
    try {
      server.stop();
    } catch (Exception e) {
      LOG.warn("stopping the HTTP server: {}", e.toString());
    }
    inference.shutdown();
    try {
      if (inference.awaitTermination(10, TimeUnit.SECONDS)) {
        return true;
      }
      LOG.warn("inferences still running after 10 s; the model is left open");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return false;
  }

  @Override
  public void close() {
    stop();
  }

  /** Dispatches by path; everything but health checks and predictions is cheap and answered in place. */
  private final class Routes extends Handler.Abstract.NonBlocking {
    @Override
    public boolean handle(Request request, Response response, Callback callback) {
      String path = Request.getPathInContext(request);
      HeaderWatch watch = watched.get(request.getConnectionMetaData().getConnection());
      if (watch != null) {
        watch.requestStarted();
        Request.addCompletionListener(request, failure -> watch.requestEnded());
      }
      String method = request.getMethod();
      if (settings.healthRoutes().contains(path)) {
        if (!method.equals("GET") && !method.equals("HEAD")) {
          send(request, response, callback, 405, Answers.JSON, error("use GET " + path), false);
        } else {
          send(request, response, callback, 200, Answers.JSON, "{\"status\":\"healthy\"}".getBytes(
              StandardCharsets.UTF_8), false);
        }
        return true;
      }
      if (settings.predictRoutes().contains(path)) {
        predict(request, response, callback);
        return true;
      }
      try {
        switch (path) {
          case "/execution-parameters" -> send(request, response, callback, 200, Answers.JSON,
              executionParameters(), false);
          case "/metadata" -> send(request, response, callback, 200, Answers.JSON, metadata(), false);
          default -> send(request, response, callback, 404, Answers.JSON, error("no such endpoint: " + path
              + " (use " + String.join(", ", routes()) + ")"), false);
        }
      } catch (IOException e) {
        send(request, response, callback, 500, Answers.JSON, error(e.toString()), false);
      }
      return true;
    }
  }

  private List<String> routes() {
    List<String> all = new ArrayList<>(settings.healthRoutes());
    all.addAll(settings.predictRoutes());
    all.add("/execution-parameters");
    all.add("/metadata");
    return all;
  }

  /** Batch transform's contract: how many requests at once, of what size, one record per request. */
  private byte[] executionParameters() throws IOException {
    ObjectNode n = JSON.createObjectNode();
    n.put("MaxConcurrentTransforms", settings.threads());
    n.put("BatchStrategy", "SINGLE_RECORD");
    n.put("MaxPayloadInMB", Math.max(1, settings.maxRequestBytes() / (1024 * 1024)));
    return JSON.writeValueAsBytes(n);
  }

  /** The model's classes, network and version; nothing that names the training machine's paths. */
  private byte[] metadata() throws IOException {
    JsonNode meta = model.metadata().toTree();
    ObjectNode m = JSON.createObjectNode();
    m.put("version", modelVersion);
    m.put("numClasses", meta.path("numClasses").asInt());
    m.put("ignoreValue", meta.path("ignoreValue").asInt(255));
    m.set("classes", meta.path("classes"));
    m.set("io", meta.path("io"));
    m.put("network", meta.path("training").path("network").asText(null));
    m.set("validation", meta.path("validation"));
    ObjectNode root = JSON.createObjectNode();
    root.set("model", m);
    ObjectNode s = root.putObject("server");
    s.put("maxRequestBytes", settings.maxRequestBytes());
    s.put("maxPixels", settings.maxPixels());
    s.put("threads", settings.threads());
    s.put("requestsServed", served.get());
    s.put("requestsRejected", rejected.get());
    var accept = s.putArray("accept");
    Answers.FOR_IMAGES.forEach(accept::add);
    s.putArray("contentTypes").add("image/jpeg").add("image/png").add("application/x-image")
        .add("application/json (Vertex AI instances)");
    return JSON.writeValueAsBytes(root);
  }

  /**
   * A prediction: the body is read without holding a thread (within the size limit and the body timeout), then
   * the work goes to the inference pool.
   */
  private void predict(Request request, Response response, Callback callback) {
    long declared = request.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH);
    if (declared > DRAIN_FACTOR * settings.maxRequestBytes()) {
      reject(request, response, callback, 413, "request body of " + declared + " bytes exceeds the limit of "
          + settings.maxRequestBytes(), true);
      return;
    }
    Scheduler.Task deadline = server.getScheduler().schedule(
        () -> request.fail(new TimeoutException("request body not received within "
            + settings.bodyTimeoutMillis() + " ms")), settings.bodyTimeoutMillis(), TimeUnit.MILLISECONDS);
    new BodyReader(request, settings.maxRequestBytes(), DRAIN_FACTOR * settings.maxRequestBytes(),
        (body, total, failure) -> {
          deadline.cancel();
          if (failure != null) {
            boolean timeout = failure instanceof TimeoutException;
            reject(request, response, callback, timeout ? 408 : 400, timeout ? failure.getMessage()
                : "cannot read the request body: " + failure.getMessage(), true);
            return;
          }
          if (body == null) {
            reject(request, response, callback, 413, "request body of " + total + " bytes exceeds the limit of "
                + settings.maxRequestBytes(), total > DRAIN_FACTOR * settings.maxRequestBytes());
            return;
          }
          // What the headers alone decide is answered here, so a wrong method or type never takes a queue slot.
          Plan plan = plan(request);
          if (plan.status() != 200) {
            reject(request, response, callback, plan.status(), plan.error(), false);
            return;
          }
          try {
            inference.execute(() -> answer(request, response, callback, body, plan));
          } catch (RejectedExecutionException e) {
            reject(request, response, callback, 503, "busy: " + settings.threads() + " requests running and "
                + settings.queue() + " waiting; retry later", false);
          }
        }).run();
  }

  /**
   * What a prediction request's headers decide: 200 with Vertex AI instances or the answer type to produce, or the
   * status and message that refuse it.
   */
  private record Plan(int status, String error, boolean instances, String accept) {
    static Plan refuse(int status, String error) {
      return new Plan(status, error, false, null);
    }
  }

  private static Plan plan(Request request) {
    if (!request.getMethod().equals("POST")) {
      return Plan.refuse(405, "use POST with an image body");
    }
    String contentType = header(request, HttpHeader.CONTENT_TYPE, "application/x-image");
    if (contentType.startsWith("application/json")) {
      return new Plan(200, null, true, Answers.JSON);
    }
    if (!(contentType.startsWith("image/") || contentType.startsWith("application/x-image")
        || contentType.startsWith("application/octet-stream"))) {
      return Plan.refuse(415, "Content-Type must be image/jpeg, image/png, application/x-image"
          + " or application/json (Vertex AI instances), got " + contentType);
    }
    String accept = AcceptHeader.choose(request.getHeaders().get(HttpHeader.ACCEPT), Answers.FOR_IMAGES);
    return accept == null ? Plan.refuse(406, "Accept must allow one of " + Answers.FOR_IMAGES)
        : new Plan(200, null, false, accept);
  }

  /** Answers a request whose body has been read and whose headers passed {@link #plan} (on an inference thread). */
  private void answer(Request request, Response response, Callback callback, byte[] body, Plan plan) {
    try {
      byte[] answer = plan.instances() ? answers.predictions(body)
          : answers.forImage(answers.decode(body, ""), plan.accept());
      served.incrementAndGet();
      send(request, response, callback, 200, plan.accept(), answer, false);
    } catch (Answers.BadRequest e) {
      reject(request, response, callback, e.status, e.getMessage(), false);
    } catch (IOException | RuntimeException | OutOfMemoryError e) {
      LOG.warn("inference failed: {}", e.toString());
      reject(request, response, callback, 500, "inference failed: " + e, false);
    }
  }

  private static String header(Request request, HttpHeader name, String fallback) {
    String v = request.getHeaders().get(name);
    return v == null || v.isBlank() ? fallback : v.trim().toLowerCase(Locale.ROOT);
  }

  /** Answers an error; {@code close} when unread bytes would be left on the connection. */
  private void reject(Request request, Response response, Callback callback, int status, String message,
      boolean close) {
    rejected.incrementAndGet();
    send(request, response, callback, status, Answers.JSON, error(message), close);
  }

  private static byte[] error(String message) {
    ObjectNode node = JSON.createObjectNode();
    node.put("error", message);
    return node.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static void send(Request request, Response response, Callback callback, int status, String type,
      byte[] body, boolean close) {
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
    if (close) {
      response.getHeaders().put(HttpHeader.CONNECTION, "close");
    }
    boolean head = request.getMethod().equals("HEAD");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, head ? 0 : body.length);
    response.write(true, head ? ByteBuffer.allocate(0) : ByteBuffer.wrap(body), callback);
  }

  /** Reads a request body chunk by chunk as it arrives, keeping at most {@code keep} bytes. */
  private static final class BodyReader implements Runnable {
    interface Done {
      /** @param body the body, or null when it exceeded the limit (or failed); {@code total} bytes were read */
      void done(byte[] body, long total, Throwable failure);
    }

    private final Request request;
    private final long keep;
    private final long drainLimit;
    private final Done done;
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private long total;

    BodyReader(Request request, long keep, long drainLimit, Done done) {
      this.request = request;
      this.keep = keep;
      this.drainLimit = drainLimit;
      this.done = done;
    }

    @Override
    public void run() {
      while (true) {
        Content.Chunk chunk = request.read();
        if (chunk == null) {
          request.demand(this);
          return;
        }
        if (Content.Chunk.isFailure(chunk)) {
          done.done(null, total, chunk.getFailure());
          return;
        }
        ByteBuffer bytes = chunk.getByteBuffer();
        int n = bytes.remaining();
        total += n;
        if (total <= keep) {
          byte[] copy = new byte[n];
          bytes.get(copy);
          buffer.write(copy, 0, n);
        }
        boolean last = chunk.isLast();
        chunk.release();
        if (total > drainLimit) {
          done.done(null, total, null);
          return;
        }
        if (last) {
          done.done(total <= keep ? buffer.toByteArray() : null, total, null);
          return;
        }
      }
    }
  }

  /** What a connection has received, to close those whose request headers trickle in. */
  private static final class HeaderWatch {
    private final Connection connection;
    private volatile boolean inRequest;
    private long messages;
    private long bytesAtLastMessage;
    private long sinceMillis = System.currentTimeMillis();

    HeaderWatch(Connection connection) {
      this.connection = connection;
    }

    void requestStarted() {
      inRequest = true;
    }

    /** A request's answer is sent: the time for the next request's headers starts now. */
    synchronized void requestEnded() {
      inRequest = false;
      messages = connection.getMessagesIn();
      bytesAtLastMessage = connection.getBytesIn();
      sinceMillis = System.currentTimeMillis();
    }

    /** Whether request headers have been arriving for longer than {@code timeoutMillis}. */
    synchronized boolean headersTooSlow(long timeoutMillis, long now) {
      if (inRequest) {
        return false; // the body timeout governs a request whose headers arrived
      }
      long m = connection.getMessagesIn();
      if (m != messages) {
        messages = m;
        bytesAtLastMessage = connection.getBytesIn();
        sinceMillis = now;
        return false;
      }
      if (connection.getBytesIn() <= bytesAtLastMessage) {
        sinceMillis = now; // idle between requests: the idle timeout governs it
        return false;
      }
      return now - sinceMillis > timeoutMillis;
    }
  }

  /** Closes connections whose request headers take longer than the header timeout to arrive. */
  private final class HeaderTimeouts implements Connection.Listener {
    private volatile Scheduler.Task task;

    @Override
    public void onOpened(Connection connection) {
      watched.put(connection, new HeaderWatch(connection));
      if (task == null) {
        synchronized (this) {
          if (task == null) {
            task = server.getScheduler().schedule(this::sweep, 500, TimeUnit.MILLISECONDS);
          }
        }
      }
    }

    @Override
    public void onClosed(Connection connection) {
      watched.remove(connection);
    }

    private void sweep() {
      long now = System.currentTimeMillis();
      watched.forEach((connection, watch) -> {
        if (watch.headersTooSlow(settings.headerTimeoutMillis(), now)) {
          LOG.info("closing a connection whose request headers took over {} ms", settings.headerTimeoutMillis());
          rejected.incrementAndGet();
          connection.getEndPoint().close();
        }
      });
      if (server.isRunning()) {
        task = server.getScheduler().schedule(this::sweep, 500, TimeUnit.MILLISECONDS);
      }
    }
  }
}
