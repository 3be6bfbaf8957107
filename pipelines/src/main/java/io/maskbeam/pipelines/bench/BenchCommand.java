package io.maskbeam.pipelines.bench;

import io.maskbeam.pipelines.cli.Console;
import io.maskbeam.dataset.ExamplePreparer;
import io.maskbeam.dataset.PreparedExample;
import io.maskbeam.dataset.RejectedInputException;
import io.maskbeam.dataset.SplitAssigner;
import io.maskbeam.dataset.SyntheticShapes;
import io.maskbeam.dataset.TfRecordFraming;
import io.maskbeam.dataset.UnknownLabelPolicy;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.labels.LabelMap;
import io.maskbeam.models.train.SegmentationGraph;
import io.maskbeam.models.train.TrainConfig;
import io.maskbeam.pipelines.cli.LabelMapResolver;
import io.maskbeam.pipelines.cli.PipelineArgs;
import io.maskbeam.pipelines.preprocess.PreprocessOptions;
import io.maskbeam.pipelines.preprocess.PreprocessPipeline;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.beam.sdk.PipelineResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Unmatched;

/**
 * {@code maskbeam bench preprocess}: the preprocess pipeline on the DirectRunner against its raw ceiling, the same
 * per-example work ({@link ExamplePreparer}: decode, validate, remap, encode, frame) on a plain thread pool of one
 * thread per core writing TFRecord files, with no Beam. Runs alternate; medians and their ratio are printed.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Benchmarks. 'bench preprocess': pipeline vs raw ceiling images/s on a paired dataset"
        + " (default: CamVid train from ../shared/datasets/camvid). 'bench train': training images/s of U-Net at"
        + " --size with batch --batch. 'bench segment --model=DIR': segment pipeline vs the model's raw Session"
        + " images/s, then peak RSS at --rssCounts images. 'bench raster --model=DIR': a --rasterSize GeoTIFF segmented"
        + " window by window in a separate process, wall time and peak RSS. 'bench raster-chips': the same raster and a"
        + " mask cut into --chipSize training chips by preprocess in a separate process. 'bench serve --model=DIR': serve under"
        + " load from this"
        + " process at --concurrency clients, next to the raw Session. 'bench coders [--runner=...]': explicit coders"
        + " vs SerializableCoder, bytes and time in process and through a shuffle on the runner given.")
public final class BenchCommand implements Callable<Integer>, Console {
  @Parameters(index = "0", description = "What to benchmark: preprocess, train, segment, raster, serve or"
      + " coders.")
  String target;

  @Option(names = "--size", defaultValue = "256", description = "train: crop size. Default: ${DEFAULT-VALUE}.")
  int size;

  @Option(names = "--batch", defaultValue = "8", description = "train: batch size. Default: ${DEFAULT-VALUE}.")
  int batch;

  @Option(names = "--steps", defaultValue = "10", description = "train: steps per measured window."
      + " Default: ${DEFAULT-VALUE}.")
  int steps;

  @Option(names = "--unetWidth", defaultValue = "32", description = "train: U-Net width. Default: ${DEFAULT-VALUE}.")
  int unetWidth;

  @Option(names = "--algorithm", defaultValue = "unet", description = "train: unet, deeplabv3plus or fcn."
      + " Default: ${DEFAULT-VALUE}.")
  String algorithm;

  @Option(names = "--backbone", defaultValue = "resnet-50", description = "train: ResNet backbone."
      + " Default: ${DEFAULT-VALUE}.")
  String backbone;

  @Option(names = "--images", defaultValue = "../shared/datasets/camvid/train", description = "Images folder.")
  Path images;

  @Option(names = "--masks", defaultValue = "../shared/datasets/camvid/trainannot", description = "Masks folder.")
  Path masks;

  @Option(names = "--labelMap", defaultValue = "camvid-11", description = "Label map. Default: ${DEFAULT-VALUE}.")
  String labelMap;

  @Option(names = "--repeats", defaultValue = "3", description = "Measured runs of each. Default: ${DEFAULT-VALUE}.")
  int repeats;

  @Option(names = "--work", defaultValue = "target/bench", description = "Scratch folder. Default: ${DEFAULT-VALUE}.")
  Path work;

  @Option(names = "--replicate", defaultValue = "1", description = "Process every pair K times under distinct ids"
      + " (through a manifest), to measure with the job's fixed cost amortised. Default: ${DEFAULT-VALUE}.")
  int replicate;

  @Option(names = "--model", description = "segment: model folder written by 'maskbeam train', ONNX folder or .onnx file.")
  Path model;

  @Option(names = "--count", defaultValue = "100", description = "segment: images per measured run (the --images"
      + " are cycled to reach it). Default: ${DEFAULT-VALUE}.")
  int count;

  @Option(names = "--rssCounts", split = ",", defaultValue = "100,2000", description = "segment: collection sizes"
      + " whose peak RSS is measured in separate processes (0: skip). Default: ${DEFAULT-VALUE}.")
  List<Integer> rssCounts;

  @Option(names = "--segmentArg", description = "segment: an extra argument for the segment pipeline (repeatable),"
      + " e.g. --segmentArg=--targetParallelism=2.")
  List<String> segmentArgs = new ArrayList<>();

  @Option(names = "--rssJvmArg", description = "segment: a JVM option for the processes whose peak RSS is measured"
      + " (repeatable), e.g. --rssJvmArg=-Xmx2g.")
  List<String> rssJvmArgs = new ArrayList<>();

  @Option(names = "--rasterSize", defaultValue = "20000", description = "raster: width and height of the synthetic"
      + " 4-band uint16 GeoTIFF segmented by a separate process (--rssJvmArg sets its JVM, default -Xmx2g)."
      + " Default: ${DEFAULT-VALUE}.")
  int rasterSize;

  @Option(names = "--chipSize", defaultValue = "512", description = "raster-chips: the chips preprocess cuts the"
      + " --rasterSize raster into. Default: ${DEFAULT-VALUE}.")
  int chipSize;

  @Option(names = "--seconds", defaultValue = "20", description = "serve: seconds per concurrency level."
      + " Default: ${DEFAULT-VALUE}.")
  int seconds;

  @Option(names = "--concurrency", split = ",", defaultValue = "1,2,4", description = "serve: concurrent clients"
      + " per level. Default: ${DEFAULT-VALUE}.")
  List<Integer> concurrency;

  @Option(names = "--elements", defaultValue = "1000000", description = "coders: elements per pipeline run (and"
      + " up to 200000 in process). Default: ${DEFAULT-VALUE}.")
  long elements;

  @Option(names = "--precision", split = ",", defaultValue = "fp32", description = "train, segment, serve: precisions"
      + " measured side by side, alternating, e.g. fp32,bf16 (ratios against the first). Default: ${DEFAULT-VALUE}.")
  List<String> precisions;

  @Unmatched
  List<String> beamArgs = new ArrayList<>();

  PrintStream out = System.out;

  @Override
  public void printTo(PrintStream stream) {
    this.out = stream;
  }

  @Override
  public Integer call() throws Exception {
    if (target.equals("coders")) {
      return new CoderBench(out).run(PipelineArgs.parse(beamArgs.toArray(String[]::new),
          org.apache.beam.sdk.options.PipelineOptions.class), elements, repeats);
    }
    if (!beamArgs.isEmpty()) {
      throw new IllegalArgumentException("unknown options " + beamArgs + " (runner options are for 'bench coders')");
    }
    if (target.equals("train")) {
      return benchTrain();
    }
    if (target.equals("serve")) {
      return new ServeBench(out).run(model, images, seconds, concurrency, precisions, work.resolve("serve"));
    }
    if (target.equals("segment")) {
      List<Integer> sizes = rssCounts.stream().filter(n -> n > 0).toList();
      return new SegmentBench(out, segmentArgs, rssJvmArgs, precisions).run(model, images, count, batch, repeats, sizes, work.resolve("segment"));
    }
    if (target.equals("raster-chips")) {
      return new RasterBench(out, rssJvmArgs, segmentArgs).runPreprocess(rasterSize, chipSize,
          work.resolve("raster-chips"));
    }
    if (target.equals("raster")) {
      return new RasterBench(out, rssJvmArgs, segmentArgs).run(model, rasterSize, work.resolve("raster"));
    }
    if (!target.equals("preprocess")) {
      throw new IllegalArgumentException("unknown benchmark '" + target + "'; available: preprocess, train, segment, raster, raster-chips, serve,"
          + " coders");
    }
    List<Path[]> distinct = listPairs(images, masks);
    if (distinct.isEmpty()) {
      throw new IllegalArgumentException("no image/mask pairs in " + images + " and " + masks);
    }
    if (replicate < 1) {
      throw new IllegalArgumentException("--replicate must be >= 1");
    }
    List<Path[]> pairs = new ArrayList<>();
    for (int k = 0; k < replicate; k++) {
      pairs.addAll(distinct);
    }
    LabelMap map = LabelMapResolver.resolve(labelMap);
    int threads = Runtime.getRuntime().availableProcessors();
    out.printf(Locale.ROOT, "bench preprocess: %d pairs (%d x %d) from %s, label map %s, %d cores, %d measured runs"
        + " each%n", pairs.size(), replicate, distinct.size(), images, map.name(), threads, repeats);
    Files.createDirectories(work);
    Path manifest = null;
    if (replicate > 1) {
      manifest = work.resolve("replicated.jsonl");
      StringBuilder lines = new StringBuilder();
      for (int k = 0; k < replicate; k++) {
        for (Path[] pair : distinct) {
          lines.append("{\"image\": \"").append(pair[0].toAbsolutePath()).append("\", \"mask\": \"")
              .append(pair[1].toAbsolutePath()).append("\", \"id\": \"").append(stem(pair[0])).append("_r").append(k)
              .append("\"}\n");
        }
      }
      Files.writeString(manifest, lines);
    }

    // Warm-up of both paths (class loading, JIT), not measured.
    rawCeiling(pairs, map, threads, work.resolve("raw"));
    pipeline(work.resolve("beam"), manifest);
    double[] raw = new double[repeats];
    double[] beam = new double[repeats];
    double[] rawCpu = new double[repeats];
    double[] beamCpu = new double[repeats];
    for (int r = 0; r < repeats; r++) {
      double cpu0 = cpuSeconds();
      double rawSeconds = rawCeiling(pairs, map, threads, work.resolve("raw"));
      double cpu1 = cpuSeconds();
      double beamSeconds = pipeline(work.resolve("beam"), manifest);
      double cpu2 = cpuSeconds();
      raw[r] = pairs.size() / rawSeconds;
      beam[r] = pairs.size() / beamSeconds;
      rawCpu[r] = (cpu1 - cpu0) / rawSeconds / threads;
      beamCpu[r] = (cpu2 - cpu1) / beamSeconds / threads;
      out.printf(Locale.ROOT, "  run %d: raw ceiling %.1f images/s (cores %.0f%% busy), pipeline %.1f images/s"
          + " (cores %.0f%% busy)%n", r + 1, raw[r], 100 * rawCpu[r], beam[r], 100 * beamCpu[r]);
    }
    double rawMedian = median(raw);
    double beamMedian = median(beam);
    out.printf(Locale.ROOT, "raw ceiling (no Beam, %d threads): median %.1f images/s, cores %.0f%% busy%n", threads,
        rawMedian, 100 * median(rawCpu));
    out.printf(Locale.ROOT, "pipeline (DirectRunner, end to end): median %.1f images/s, cores %.0f%% busy%n",
        beamMedian, 100 * median(beamCpu));
    out.printf(Locale.ROOT, "ratio pipeline/raw: %.2f (target >= 0.80)%n", beamMedian / rawMedian);
    return 0;
  }

  /**
   * Training throughput of one optimizer step (forward, backward, update, batch-norm averages) on synthetic
   * shapes, measured in windows of {@code steps} after a warm-up window.
   */
  int benchTrain() {
    TrainConfig config = new TrainConfig(TrainConfig.network(algorithm, backbone, 16, 4, unetWidth, true),
        SyntheticShapes.NUM_CLASSES, 255, TrainConfig.LossSpec.crossEntropy(),
        new TrainConfig.OptimizerSpec(TrainConfig.Optimizer.SGD, 0.9f, false, 1e-4f), 1);
    byte[] images = new byte[batch * size * size * 3];
    int[] labels = new int[batch * size * size];
    for (int i = 0; i < batch; i++) {
      SyntheticShapes.Sample s = SyntheticShapes.generate(size, size, i);
      System.arraycopy(s.image().pixels(), 0, images, i * size * size * 3, size * size * 3);
      for (int p = 0; p < size * size; p++) {
        labels[i * size * size + p] = s.mask().labels()[p];
      }
    }
    List<io.maskbeam.models.infer.Precision.Choice> choices = new ArrayList<>();
    for (String p : precisions) {
      choices.add(io.maskbeam.models.infer.Precision.choose(p, true));
    }
    List<SegmentationGraph> graphs = new ArrayList<>();
    try {
      for (io.maskbeam.models.infer.Precision.Choice c : choices) {
        graphs.add(new SegmentationGraph(config, c.precision()));
      }
      out.printf(Locale.ROOT, "bench train: %s, %,d parameters, %dx%d, batch %d, %d cores, %d windows of %d steps,"
          + " precisions %s alternating%n", graphs.get(0).network().describe(), graphs.get(0).parameterCount(), size,
          size, batch, Runtime.getRuntime().availableProcessors(), repeats, steps, precisions);
      for (SegmentationGraph graph : graphs) {
        for (int s = 0; s < steps; s++) { // warm-up: the first steps are where TensorFlow rewrites the graph
          graph.trainStep(images, labels, batch, size, size, 0.01f);
        }
      }
      double[][] ips = new double[graphs.size()][repeats];
      double[][] busy = new double[graphs.size()][repeats];
      for (int r = 0; r < repeats; r++) {
        for (int g = 0; g < graphs.size(); g++) {
          long cpu0 = processCpuNanos();
          long start = System.nanoTime();
          for (int s = 0; s < steps; s++) {
            graphs.get(g).trainStep(images, labels, batch, size, size, 0.01f);
          }
          long wall = System.nanoTime() - start;
          ips[g][r] = (double) steps * batch / (wall / 1e9);
          busy[g][r] = (processCpuNanos() - cpu0) / (double) wall / Runtime.getRuntime().availableProcessors();
          out.printf(Locale.ROOT, "  window %d %s: %.2f images/s (cores %.0f%% busy)%n", r + 1,
              choices.get(g).label(), ips[g][r], 100 * busy[g][r]);
        }
      }
      for (int g = 0; g < graphs.size(); g++) {
        out.printf(Locale.ROOT, "training %s: median %.2f images/s (%.0f ms per step)%s%n", choices.get(g).label(),
            median(ips[g]), 1000.0 * batch / median(ips[g]), g == 0 ? ""
                : String.format(Locale.ROOT, "; %.2fx %s", median(ips[g]) / median(ips[0]), choices.get(0).label()));
      }
    } finally {
      for (SegmentationGraph graph : graphs) {
        graph.close();
      }
    }
    return 0;
  }

  /** Seconds for the raw ceiling: prepare every pair on a thread pool and frame the examples into files. */
  double rawCeiling(List<Path[]> pairs, LabelMap map, int threads, Path dir) throws Exception {
    Files.createDirectories(dir);
    ExamplePreparer preparer = new ExamplePreparer(map, ResizePolicy.KEEP, UnknownLabelPolicy.IGNORE,
        ExamplePreparer.DEFAULT_MAX_PIXELS, 95);
    long start = System.nanoTime();
    Map<String, OutputStream> shards = new TreeMap<>();
    AtomicLong rejected = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (Path[] pair : pairs) {
        futures.add(pool.submit(() -> {
          String id = stem(pair[0]);
          try {
            PreparedExample e = preparer.prepare(id, Files.readAllBytes(pair[0]), Files.readAllBytes(pair[1]));
            String split = SplitAssigner.assign(id, 0.1, "maskbeam");
            synchronized (shards) {
              OutputStream o = shards.computeIfAbsent(split, s -> open(dir.resolve(s + ".tfrecord")));
              TfRecordFraming.write(o, e.example());
            }
          } catch (RejectedInputException e) {
            rejected.incrementAndGet();
          }
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get();
      }
    } finally {
      pool.shutdown();
      for (OutputStream o : shards.values()) {
        o.close();
      }
    }
    return (System.nanoTime() - start) / 1e9;
  }

  private static OutputStream open(Path p) {
    try {
      return new BufferedOutputStream(Files.newOutputStream(p), 1 << 20);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Seconds for the preprocess pipeline end to end (graph construction, DirectRunner start-up, all outputs). */
  double pipeline(Path outputDir, Path manifest) {
    String[] input = manifest == null
        ? new String[] {"--layout=paired", "--images=" + images.toAbsolutePath(), "--masks=" + masks.toAbsolutePath()}
        : new String[] {"--layout=manifest", "--manifest=" + manifest.toAbsolutePath()};
    String[] args = Stream.concat(Arrays.stream(input), Stream.of(
        "--labelMap=" + labelMap, "--output=" + outputDir.toAbsolutePath(), "--overwrite=true")).toArray(String[]::new);
    long start = System.nanoTime();
    PreprocessOptions options = PipelineArgs.parse(args, PreprocessOptions.class);
    PipelineResult.State state = PreprocessPipeline.run(options).waitUntilFinish();
    double seconds = (System.nanoTime() - start) / 1e9;
    if (state != PipelineResult.State.DONE) {
      throw new IllegalStateException("pipeline ended in state " + state);
    }
    return seconds;
  }

  /** CPU time of this whole process (all threads, GC and JIT included). */
  static double cpuSeconds() {
    java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime() / 1e9;
  }

  static List<Path[]> listPairs(Path images, Path masks) throws IOException {
    Map<String, Path> maskByStem = new TreeMap<>();
    try (Stream<Path> s = Files.list(masks)) {
      s.forEach(p -> maskByStem.put(stem(p), p));
    }
    List<Path[]> pairs = new ArrayList<>();
    try (Stream<Path> s = Files.list(images)) {
      for (Path p : s.sorted().toList()) {
        Path m = maskByStem.get(stem(p));
        if (m != null) {
          pairs.add(new Path[] {p, m});
        }
      }
    }
    return pairs;
  }

  static String stem(Path p) {
    String n = p.getFileName().toString();
    int dot = n.lastIndexOf('.');
    return dot > 0 ? n.substring(0, dot) : n;
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /** CPU time of this process so far (every thread), for how busy the cores were during a measurement. */
  static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
        .getOperatingSystemMXBean()).getProcessCpuTime();
  }

  static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }
}
