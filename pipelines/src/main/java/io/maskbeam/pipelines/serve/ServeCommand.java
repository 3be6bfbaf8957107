package io.maskbeam.pipelines.serve;

import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.pipelines.cli.PipelineArgs;
import io.maskbeam.transforms.segment.ModelCache;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/** {@code maskbeam serve}: the model behind an HTTP endpoint with SageMaker's container contract. */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Serves a model over HTTP with SageMaker's container contract: GET /ping, POST /invocations (an"
        + " image; Accept: image/png mask, application/json class statistics, application/x-npy probabilities),"
        + " GET /metadata.")
public final class ServeCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "Model folder written by 'maskbeam train' (local,"
      + " gs:// or s3://).")
  String model;

  @Option(names = "--port", defaultValue = "8080", description = "Port (SageMaker uses 8080). Default: ${DEFAULT-VALUE}.")
  int port;

  @Option(names = "--host", defaultValue = "0.0.0.0", description = "Address to bind. Default: ${DEFAULT-VALUE}.")
  String host;

  @Option(names = "--threads", defaultValue = "0", description = "Request threads (0: one per core)."
      + " Default: ${DEFAULT-VALUE}.")
  int threads;

  @Option(names = "--maxRequestMb", defaultValue = "32", description = "Largest request body in MB."
      + " Default: ${DEFAULT-VALUE}.")
  int maxRequestMb;

  @Option(names = "--maxPixels", defaultValue = "50000000", description = "Largest image in pixels, checked from"
      + " its header. Default: ${DEFAULT-VALUE}.")
  long maxPixels;

  @Option(names = "--tileSize", defaultValue = "1024", description = "Larger images run in tiles, as in segment."
      + " Default: ${DEFAULT-VALUE}.")
  int tileSize;

  @Option(names = "--tileOverlap", defaultValue = "128", description = "Tile overlap. Default: ${DEFAULT-VALUE}.")
  int tileOverlap;

  @Unmatched
  List<String> storageArgs = new java.util.ArrayList<>();

  PrintStream out = System.out;

  @Override
  public Integer call() throws Exception {
    // Storage flags (--awsRegion, --endpoint, ...) configure Beam's filesystems for a remote model.
    PipelineArgs.parseLenient(storageArgs.toArray(String[]::new), org.apache.beam.sdk.options.PipelineOptions.class);
    SegmentationModel loaded = SegmentationModel.load(ModelCache.localCopy(model, ModelCache.defaultCacheDir()));
    int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    SegmentationServer server = new SegmentationServer(loaded, new SegmentationServer.Settings(host, port, n,
        maxRequestMb * 1024L * 1024L, maxPixels, tileSize, tileOverlap));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      loaded.close();
      stopped.countDown();
    }));
    server.start();
    out.printf("serving %s on http://%s:%d (%d request threads): GET /ping, POST /invocations, GET /metadata%n",
        model, host, server.port(), n);
    stopped.await();
    return 0;
  }
}
