package io.maskbeam.pipelines.bench;

import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.RgbImage;
import io.maskbeam.models.infer.ModelRuntime;
import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.pipelines.segment.SegmentOptions;
import io.maskbeam.pipelines.segment.SegmentPipeline;
import io.maskbeam.transforms.model.ModelReference;
import io.maskbeam.transforms.model.SharedModels;
import io.maskbeam.transforms.model.SharedResources;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.PipelineResult;

/**
 * {@code maskbeam bench segment}: the segment pipeline end to end on the DirectRunner against its raw ceiling (the
 * same model's session, TensorFlow's or ONNX Runtime's, on the same decoded images, batched the same way, with no
 * Beam, no decoding and no writing), alternating, with medians and their ratio; then peak RSS of whole {@code segment} processes at several
 * collection sizes, which must stay flat.
 */
final class SegmentBench {
  private final PrintStream out;
  private final List<String> extraArgs;
  private final List<String> jvmArgs;
  private final List<String> precisions;

  SegmentBench(PrintStream out, List<String> extraArgs, List<String> jvmArgs, List<String> precisions) {
    this.out = out;
    this.extraArgs = List.copyOf(extraArgs);
    this.jvmArgs = List.copyOf(jvmArgs);
    this.precisions = List.copyOf(precisions);
  }

  int run(Path model, Path imagesDir, int count, int batch, int repeats, List<Integer> rssCounts, Path work)
      throws Exception {
    if (model == null) {
      throw new IllegalArgumentException("bench segment needs --model=DIR|FILE.onnx (a model folder written by maskbeam train,"
          + " an ONNX folder or an .onnx file)");
    }
    List<Path> sources;
    try (Stream<Path> s = Files.list(imagesDir)) {
      sources = s.filter(p -> p.toString().endsWith(".png") || p.toString().endsWith(".jpg")).sorted().toList();
    }
    if (sources.isEmpty()) {
      throw new IllegalArgumentException("no .png or .jpg images in " + imagesDir);
    }
    Files.createDirectories(work);
    Path inputs = collection(sources, count, work);
    String modelUri = model.toAbsolutePath().toString();
    ModelReference reference = ModelReference.resolve(modelUri);
    if (repeats < 1) {
      out.println("bench segment: throughput runs skipped (--repeats=0)");
    } else {
      throughput(reference, modelUri, inputs, imagesDir, count, batch, repeats, work);
    }
    if (!rssCounts.isEmpty()) {
      Map<Integer, Long> rss = new LinkedHashMap<>();
      for (int n : rssCounts) {
        Path dir = collection(sources, n, work);
        rss.put(n, peakRssOfSegmentProcess(modelUri, dir, work.resolve("rss-out-" + n), batch));
        out.printf(Locale.ROOT, "peak RSS of 'maskbeam segment' on %d images: %d MB (JVM options %s)%n", n,
            rss.get(n) / 1024, jvmArgs);
      }
    }
    return 0;
  }

  /**
   * Raw ceiling and pipeline for each precision, alternating within each repeat (fp32 run, bf16 run, fp32 run...),
   * so a noisy machine affects all of them alike; medians per precision and their ratios. The raw session runs
   * with one caller and with as many concurrent callers as the pipeline has worker threads, and the ceiling is the
   * faster of the two: a session that one caller cannot keep busy (TensorFlow's bf16 graph here) is not at its
   * ceiling with one caller, and the pipeline, which calls it from every worker thread, would otherwise beat it.
   */
  private void throughput(ModelReference reference, String modelUri, Path inputs, Path imagesDir, int count,
      int batch, int repeats, Path work) throws Exception {
    List<RgbImage> decoded = new ArrayList<>();
    try (Stream<Path> s = Files.list(inputs)) {
      for (Path p : s.sorted().toList()) {
        decoded.add(ImageCodec.toRgb(ImageCodec.decode(Files.readAllBytes(p), Long.MAX_VALUE)));
      }
    }
    // As many callers as segment's DirectRunner worker threads, as segment settles them.
    int callers = SegmentPipeline.parse(segmentArgs(modelUri, inputs, work.resolve("out"), batch, precisions.get(0)))
        .as(DirectOptions.class).getTargetParallelism();
    List<ModelRuntime> runtimes = new ArrayList<>();
    for (String p : precisions) {
      runtimes.add(ModelRuntime.defaults().withPrecision(p, false));
    }
    Map<String, double[]> rawOne = new LinkedHashMap<>();
    Map<String, double[]> rawMany = new LinkedHashMap<>();
    Map<String, double[]> beam = new LinkedHashMap<>();
    List<SharedResources.Lease<SegmentationModel>> leases = new ArrayList<>();
    try {
      for (ModelRuntime r : runtimes) {
        SharedResources.Lease<SegmentationModel> lease = SharedModels.acquire(reference, r);
        leases.add(lease);
        SegmentationModel m = lease.resource();
        out.printf(Locale.ROOT, "bench segment: model %s (%s, %s, %d classes, loaded in %d ms), %d images from %s,"
            + " batch %d, %d cores, %d pipeline worker threads, %d measured runs each%n", modelUri, m.backend(),
            m.precision().name().toLowerCase(Locale.ROOT), m.numClasses(), lease.loadMillis(), count, imagesDir,
            batch, Runtime.getRuntime().availableProcessors(), callers, repeats);
        rawCeiling(m, decoded, batch, callers); // warm-up: the first run of a graph is where TensorFlow rewrites it
        pipeline(modelUri, inputs, work.resolve("out"), batch, r.precision());
        rawOne.put(r.precision(), new double[repeats]);
        rawMany.put(r.precision(), new double[repeats]);
        beam.put(r.precision(), new double[repeats]);
      }
      for (int i = 0; i < repeats; i++) {
        for (int k = 0; k < runtimes.size(); k++) {
          String p = runtimes.get(k).precision();
          SegmentationModel m = leases.get(k).resource();
          long cpu0 = BenchCommand.processCpuNanos();
          long t0 = System.nanoTime();
          rawOne.get(p)[i] = count / rawCeiling(m, decoded, batch, 1);
          double busy = (BenchCommand.processCpuNanos() - cpu0) / (double) (System.nanoTime() - t0)
              / Runtime.getRuntime().availableProcessors();
          rawMany.get(p)[i] = callers > 1 ? count / rawCeiling(m, decoded, batch, callers) : rawOne.get(p)[i];
          beam.get(p)[i] = count / pipeline(modelUri, inputs, work.resolve("out"), batch, p);
          out.printf(Locale.ROOT, "  run %d %s: raw session %.2f images/s with 1 caller (cores %.0f%% busy), %.2f"
              + " with %d; pipeline %.2f images/s%n", i + 1, p, rawOne.get(p)[i], 100 * busy, rawMany.get(p)[i],
              callers, beam.get(p)[i]);
        }
      }
    } finally {
      for (ModelRuntime r : runtimes) {
        SharedModels.release(reference, r);
      }
    }
    String base = runtimes.get(0).precision();
    Map<String, Double> ceilings = new LinkedHashMap<>();
    for (ModelRuntime r : runtimes) {
      String p = r.precision();
      double one = BenchCommand.median(rawOne.get(p));
      double many = BenchCommand.median(rawMany.get(p));
      double ceiling = Math.max(one, many);
      ceilings.put(p, ceiling);
      double beamMedian = BenchCommand.median(beam.get(p));
      out.printf(Locale.ROOT, "%s: raw ceiling (the model's session on decoded images, batch %d) median %.2f images/s"
          + " (1 caller %.2f, %d callers %.2f); segment pipeline (DirectRunner, end to end, all outputs) median %.2f"
          + " images/s; ratio pipeline/raw %.2f (target >= 0.90)%n", p, batch, ceiling, one, callers, many,
          beamMedian, beamMedian / ceiling);
      if (!p.equals(base)) {
        out.printf(Locale.ROOT, "%s vs %s: raw ceiling %.2fx, pipeline %.2fx%n", p, base,
            ceiling / ceilings.get(base), beamMedian / BenchCommand.median(beam.get(base)));
      }
    }
  }

  /**
   * A folder of {@code count} inputs: hard links to copies of the sources, cycled, so large collections cost no
   * disk. Hard, not symbolic: listing counts a file reached through several symbolic links once.
   */
  static Path collection(List<Path> sources, int count, Path work) throws IOException {
    Path dir = work.resolve("inputs-" + count);
    if (Files.isDirectory(dir)) {
      try (Stream<Path> s = Files.list(dir)) {
        if (s.count() == count) {
          return dir;
        }
      }
      BenchCommand.deleteTree(dir);
    }
    Files.createDirectories(dir);
    Path copies = Files.createDirectories(work.resolve("sources"));
    for (int i = 0; i < count; i++) {
      Path source = sources.get(i % sources.size()).toAbsolutePath();
      Path copy = copies.resolve(source.getFileName().toString());
      if (!Files.exists(copy)) {
        Files.copy(source, copy);
      }
      String ext = source.toString().substring(source.toString().lastIndexOf('.'));
      Files.createLink(dir.resolve(String.format(Locale.ROOT, "img_%05d%s", i, ext)), copy);
    }
    return dir;
  }

  /**
   * Seconds for the model alone: same-size images in batches, classes copied out, nothing else; {@code callers}
   * threads take the batches in turn from one shared session, as the pipeline's worker threads do.
   */
  static double rawCeiling(SegmentationModel model, List<RgbImage> images, int batch, int callers)
      throws InterruptedException, ExecutionException {
    long start = System.nanoTime();
    List<int[]> batches = new ArrayList<>(); // [first, count]
    int i = 0;
    while (i < images.size()) {
      RgbImage first = images.get(i);
      int n = 1;
      while (n < batch && i + n < images.size() && images.get(i + n).width() == first.width()
          && images.get(i + n).height() == first.height()) {
        n++;
      }
      batches.add(new int[] {i, n});
      i += n;
    }
    AtomicInteger next = new AtomicInteger();
    Runnable caller = () -> {
      for (int b = next.getAndIncrement(); b < batches.size(); b = next.getAndIncrement()) {
        RgbImage first = images.get(batches.get(b)[0]);
        int n = batches.get(b)[1];
        byte[] pixels = new byte[n * first.pixels().length];
        for (int k = 0; k < n; k++) {
          System.arraycopy(images.get(batches.get(b)[0] + k).pixels(), 0, pixels, k * first.pixels().length,
              first.pixels().length);
        }
        model.labels(pixels, n, first.height(), first.width());
      }
    };
    if (callers <= 1) {
      caller.run();
    } else {
      ExecutorService pool = Executors.newFixedThreadPool(callers);
      try {
        List<Future<?>> running = new ArrayList<>();
        for (int c = 0; c < callers; c++) {
          running.add(pool.submit(caller));
        }
        for (Future<?> f : running) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
    }
    return (System.nanoTime() - start) / 1e9;
  }

  /** Seconds for {@code segment} end to end: graph, DirectRunner, listing, decoding, inference, every output. */
  double pipeline(String model, Path inputs, Path output, int batch, String precision) throws IOException {
    BenchCommand.deleteTree(output);
    String[] args = segmentArgs(model, inputs, output, batch, precision);
    long start = System.nanoTime();
    SegmentOptions options = SegmentPipeline.parse(args);
    // Held across the run (as the command line holds it), so the DirectRunner's workers share this instance.
    ModelReference reference = ModelReference.resolve(model);
    ModelRuntime runtime = SegmentPipeline.inference(options, reference).runtime();
    SharedModels.acquire(reference, runtime);
    try {
      PipelineResult.State state = SegmentPipeline.run(options).waitUntilFinish();
      if (state != PipelineResult.State.DONE) {
        throw new IllegalStateException("segment ended in state " + state);
      }
    } finally {
      SharedModels.release(reference, runtime);
    }
    return (System.nanoTime() - start) / 1e9;
  }

  /** The arguments {@code segment} is run with here: these inputs and settings, then the user's {@code --segmentArg}s. */
  private String[] segmentArgs(String model, Path inputs, Path output, int batch, String precision) {
    List<String> list = new ArrayList<>(List.of("--model=" + model, "--input=" + inputs.toAbsolutePath() + "/*",
        "--output=" + output, "--maxBatchSize=" + batch, "--precision=" + precision));
    list.addAll(extraArgs);
    return list.toArray(String[]::new);
  }

  /** Runs {@code java -jar maskbeam.jar segment} on a folder and returns its peak resident set size in KB. */
  long peakRssOfSegmentProcess(String model, Path inputs, Path output, int batch) throws Exception {
    BenchCommand.deleteTree(output);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new ArrayList<>(List.of(java));
    command.addAll(jvmArgs);
    command.addAll(List.of("-jar", jar().toString(), "segment", "--model=" + model,
        "--input=" + inputs.toAbsolutePath() + "/*", "--output=" + output, "--maxBatchSize=" + batch));
    command.addAll(extraArgs);
    return peakRss(command, work(output));
  }

  /** The packaged jar this bench runs from: peak RSS is measured on what users run. */
  static Path jar() throws java.net.URISyntaxException {
    Path jar = Path.of(SegmentBench.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    if (!jar.toString().endsWith(".jar")) {
      throw new IllegalStateException("peak RSS is measured on the packaged jar; run bench from maskbeam.jar");
    }
    return jar;
  }

  /** Runs a command to its end, its output to {@code log}, and returns its peak resident set size in KB. */
  static long peakRss(List<String> command, Path log) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.redirectErrorStream(true);
    pb.redirectOutput(log.toFile());
    Process p = pb.start();
    long peak = 0;
    Path status = Path.of("/proc", Long.toString(p.pid()), "status");
    while (p.isAlive()) {
      peak = Math.max(peak, vmHwm(status));
      Thread.sleep(100);
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException("segment process failed (exit " + p.exitValue() + "); see " + log);
    }
    return peak;
  }

  private static Path work(Path output) {
    return output.resolveSibling(output.getFileName() + ".log");
  }

  /** The kernel's high-water mark of the process's resident memory (VmHWM), in KB; 0 once it has exited. */
  static long vmHwm(Path status) {
    try {
      for (String line : Files.readAllLines(status)) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | NumberFormatException e) {
      // the process ended between the check and the read
    }
    return 0;
  }
}
