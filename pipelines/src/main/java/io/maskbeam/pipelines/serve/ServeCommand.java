package io.maskbeam.pipelines.serve;

import io.maskbeam.pipelines.cli.Console;
import io.maskbeam.models.infer.InferenceSettings;
import io.maskbeam.models.infer.ModelRuntime;
import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.pipelines.cli.PipelineArgs;
import io.maskbeam.pipelines.cli.SageMakerPaths;
import io.maskbeam.transforms.model.ModelReference;
import io.maskbeam.transforms.model.SharedModels;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/**
 * {@code maskbeam serve}: the model behind an HTTP endpoint with SageMaker's and Vertex AI's container contracts.
 * Where the platform says where things are, its variables are honoured: the model from {@code --model}, else
 * {@code AIP_STORAGE_URI} (Vertex AI), else {@code /opt/ml/model} (SageMaker); the port from {@code --port}, else
 * {@code AIP_HTTP_PORT}, else {@code SAGEMAKER_BIND_TO_PORT}, else 8080; Vertex's health and predict routes from
 * {@code AIP_HEALTH_ROUTE} and {@code AIP_PREDICT_ROUTE}, besides {@code /ping} and {@code /invocations}.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Serves a model over HTTP with SageMaker's and Vertex AI's container contracts: GET /ping,"
        + " POST /invocations (an image; Accept: image/png mask, application/json class statistics,"
        + " application/x-npy or application/x-recordio-protobuf probabilities; or Vertex AI JSON instances),"
        + " GET /execution-parameters, GET /metadata.")
public final class ServeCommand implements Callable<Integer>, Console {
  @Option(names = "--model", description = "Model: a folder written by 'maskbeam train', an ONNX folder or an .onnx file (local,"
      + " gs:// or s3://)."
      + " Default: $AIP_STORAGE_URI (Vertex AI), else /opt/ml/model (SageMaker).")
  String model;

  @Option(names = "--precision", defaultValue = "fp32", description = "fp32, bf16 (CPUs with AVX512_BF16 or AMX), fp16"
      + " (GPUs, -Pgpu build) or auto. Default: ${DEFAULT-VALUE}.")
  String precision;

  @Option(names = "--strictPrecision", defaultValue = "false", description = "Refuse to start, rather than fall back"
      + " to fp32, when this machine lacks --precision.")
  boolean strictPrecision;

  @Option(names = "--port", description = "Port. Default: $AIP_HTTP_PORT, else $SAGEMAKER_BIND_TO_PORT, else 8080.")
  Integer port;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind: 127.0.0.1 answers this"
      + " machine only; a container's entry point binds 0.0.0.0 so the platform can reach it."
      + " Default: ${DEFAULT-VALUE}.")
  String host;

  @Option(names = "--threads", defaultValue = "0", description = "Inference threads (0: one per core)."
      + " Default: ${DEFAULT-VALUE}.")
  int threads;

  @Option(names = "--maxRequestMb", defaultValue = "32", description = "Largest request body in MB (Vertex AI's"
      + " public endpoints take at most 1.5 MB; SageMaker real-time endpoints 6 MB). Default: ${DEFAULT-VALUE}.")
  int maxRequestMb;

  @Option(names = "--maxPixels", defaultValue = "50000000", description = "Largest image in pixels, checked from"
      + " its header. Default: ${DEFAULT-VALUE}.")
  long maxPixels;

  @Option(names = "--tileSize", defaultValue = "1024", description = "Larger images run in tiles, as in segment."
      + " Default: ${DEFAULT-VALUE}.")
  int tileSize;

  @Option(names = "--tileOverlap", defaultValue = "128", description = "Tile overlap. Default: ${DEFAULT-VALUE}.")
  int tileOverlap;

  @Option(names = "--headerTimeoutMs", defaultValue = "10000", description = "Request headers must arrive within"
      + " this time, or the connection is closed. Default: ${DEFAULT-VALUE}.")
  long headerTimeoutMs;

  @Option(names = "--bodyTimeoutMs", defaultValue = "60000", description = "A request body must arrive within this"
      + " time, or the answer is 408. Default: ${DEFAULT-VALUE}.")
  long bodyTimeoutMs;

  @Option(names = "--maxConnections", defaultValue = "256", description = "Open connections at most; more wait to"
      + " be accepted. Default: ${DEFAULT-VALUE}.")
  int maxConnections;

  @Unmatched
  List<String> storageArgs = new ArrayList<>();

  PrintStream out = System.out;

  @Override
  public void printTo(PrintStream stream) {
    this.out = stream;
  }
  Map<String, String> env = System.getenv();

  @Override
  public Integer call() throws Exception {
    // Storage flags (--awsRegion, --endpoint, ...) configure Beam's filesystems for a remote model.
    PipelineArgs.parseLenient(storageArgs.toArray(String[]::new), org.apache.beam.sdk.options.PipelineOptions.class);
    String modelUri = modelUri();
    ModelReference reference = ModelReference.resolve(modelUri);
    reference.requireRgbInput("serve");
    ModelRuntime runtime = new ModelRuntime(0, precision, strictPrecision);
    out.println(io.maskbeam.pipelines.cli.Launcher.describePrecision(runtime.choiceFor(reference.format()), true));
    SegmentationModel loaded = SharedModels.acquire(reference, runtime).resource();
    int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    List<String> health = new ArrayList<>(List.of("/ping"));
    List<String> predict = new ArrayList<>(List.of("/invocations"));
    addRoute(health, env.get("AIP_HEALTH_ROUTE"));
    addRoute(predict, env.get("AIP_PREDICT_ROUTE"));
    SegmentationServer.Settings settings = SegmentationServer.Settings.of(host, port(), n,
        maxRequestMb * 1024L * 1024L, maxPixels, InferenceSettings.defaults().withTiles(tileSize, tileOverlap))
        .withRoutes(health, predict).withTimeouts(headerTimeoutMs, bodyTimeoutMs).withMaxConnections(maxConnections);
    SegmentationServer server = new SegmentationServer(loaded, reference.fingerprint(), settings);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      // The model is closed only once no inference runs on it (closing a Session under a call can crash the JVM).
      if (server.stop()) {
        SharedModels.release(reference, runtime);
      }
      stopped.countDown();
    }));
    server.start();
    out.printf("serving %s (version %s) on http://%s:%d with %d inference threads: GET %s, POST %s,"
        + " GET /execution-parameters, GET /metadata%n", modelUri, reference.fingerprint(), host, server.port(), n,
        String.join(" ", health), String.join(" ", predict));
    out.flush();
    stopped.await();
    return 0;
  }

  /** --model, else Vertex AI's AIP_STORAGE_URI, else SageMaker's /opt/ml/model. */
  String modelUri() {
    if (model != null && !model.isBlank()) {
      return model;
    }
    String vertex = env.get("AIP_STORAGE_URI");
    if (vertex != null && !vertex.isBlank()) {
      return vertex;
    }
    java.nio.file.Path sageMaker = SageMakerPaths.fromEnvironment(env).model();
    if (Files.isDirectory(sageMaker)) {
      return sageMaker.toString();
    }
    throw new IllegalArgumentException("no model: give --model, or run where AIP_STORAGE_URI (Vertex AI) or "
        + sageMaker + " (SageMaker) holds one");
  }

  /** --port, else Vertex AI's AIP_HTTP_PORT, else SageMaker's SAGEMAKER_BIND_TO_PORT, else 8080. */
  int port() {
    if (port != null) {
      return port;
    }
    for (String name : List.of("AIP_HTTP_PORT", "SAGEMAKER_BIND_TO_PORT")) {
      String v = env.get(name);
      if (v != null && !v.isBlank()) {
        try {
          return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(name + "=" + v + " is not a port number");
        }
      }
    }
    return 8080;
  }

  private static void addRoute(List<String> routes, String route) {
    if (route != null && !route.isBlank() && !routes.contains(route.trim())) {
      routes.add(route.trim());
    }
  }
}
