package io.maskbeam.runners.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Benchmark, not a test: bulk segmentation submitted to a Spark standalone cluster on this machine with one worker,
 * then two (one core each, each model call on one thread), same images; images/s end to end (submit to exit) and
 * the ratio. Runs alternate; medians are printed. Run it with {@code runners/spark/bench-scaling.sh}.
 *
 * <p>Arguments: model folder, images folder, image count, repeats.
 */
public final class SparkScalingBench {
  private SparkScalingBench() {}

  public static void main(String[] args) throws Exception {
    Path model = Path.of(args[0]).toAbsolutePath();
    Path imagesDir = Path.of(args[1]).toAbsolutePath();
    int count = Integer.parseInt(args[2]);
    int repeats = Integer.parseInt(args[3]);
    Path work = Path.of("target", "spark-scaling-bench").toAbsolutePath();
    Files.createDirectories(work);
    List<Path> sources;
    try (Stream<Path> s = Files.list(imagesDir)) {
      sources = s.filter(p -> p.toString().endsWith(".png")).sorted().toList();
    }
    Path inputs = Files.createDirectories(work.resolve("inputs-" + count));
    for (int i = 0; i < count; i++) {
      Path link = inputs.resolve(String.format(Locale.ROOT, "img_%05d.png", i));
      if (!Files.exists(link)) {
        Files.createSymbolicLink(link, sources.get(i % sources.size()));
      }
    }
    Path jar = Path.of(System.getProperty("maskbeam.sparkJar")).toAbsolutePath();
    System.out.printf(Locale.ROOT, "bench spark scaling: %d images from %s, model %s, %d cores, %d runs each%n",
        count, imagesDir, model, Runtime.getRuntime().availableProcessors(), repeats);
    double[][] rates = new double[2][repeats];
    for (int r = 0; r < repeats; r++) {
      for (int workers = 1; workers <= 2; workers++) {
        Path dir = work.resolve("run-" + r + "-" + workers);
        deleteTree(dir);
        Files.createDirectories(dir);
        try (LocalSparkCluster cluster = LocalSparkCluster.fromSystemProperties(dir)) {
          cluster.startMaster();
          for (int w = 0; w < workers; w++) {
            cluster.startWorker(1, "4g");
          }
          cluster.waitForWorkers(workers);
          long start = System.nanoTime();
          Process p = cluster.submit("submit", jar, List.of("segment", "--model=" + model,
              "--input=" + inputs + "/*.png", "--output=" + dir.resolve("out"), "--inferenceThreads=1",
              "--parallelism=" + Math.max(8, count / 8)));
          if (!p.waitFor(1800, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("segment on " + workers + " worker(s) failed; see " + dir);
          }
          double seconds = (System.nanoTime() - start) / 1e9;
          rates[workers - 1][r] = count / seconds;
          System.out.printf(Locale.ROOT, "  run %d, %d worker(s): %.1f s, %.2f images/s%n", r + 1, workers, seconds,
              rates[workers - 1][r]);
        }
      }
    }
    double one = median(rates[0]);
    double two = median(rates[1]);
    System.out.printf(Locale.ROOT, "1 worker: median %.2f images/s; 2 workers: median %.2f images/s; ratio %.2f"
        + " (target >= 1.8)%n", one, two, two / one);
  }

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  static void deleteTree(Path dir) throws java.io.IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
