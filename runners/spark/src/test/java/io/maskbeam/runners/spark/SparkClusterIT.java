package io.maskbeam.runners.spark;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.maskbeam.dataset.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real Spark standalone cluster on 127.0.0.1 (master and workers from Spark's Maven jars), and the bulk
 * segmentation job submitted to it as users submit it, with {@code templates/spark/submit.sh} and the built
 * {@code maskbeam-spark.jar}: once undisturbed, once with a worker killed in the middle. Runs after packaging
 * (failsafe); every process it starts is stopped.
 */
class SparkClusterIT {
  static final ObjectMapper JSON = new ObjectMapper();
  /** Under target/, so the master, worker, executor and submit logs outlive a failed run. */
  static Path work;
  static LocalSparkCluster cluster;
  static Path demo;
  static Path direct;
  static Path images;
  static final int IMAGES = 240;

  @BeforeAll
  static void startCluster() throws Exception {
    work = Path.of("target", "spark-cluster-it").toAbsolutePath();
    if (Files.exists(work)) {
      try (Stream<Path> old = Files.walk(work)) {
        for (Path p : old.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
    Files.createDirectories(work);
    cluster = LocalSparkCluster.fromSystemProperties(work);
    cluster.startMaster();
    cluster.startWorker(1, "3g");
    cluster.startWorker(1, "3g");
    cluster.waitForWorkers(2);

    demo = work.resolve("demo");
    SparkRunnerTest.Run run = SparkRunnerTest.cli("demo", "--output=" + demo, "--count=16", "--trainEpochs=1",
        "--width=128", "--height=96", "--style=textured");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    // Enough images for the job to be in full swing when a worker dies.
    images = Files.createDirectories(work.resolve("images"));
    for (int i = 0; i < IMAGES; i++) {
      Files.write(images.resolve(String.format("img_%03d.png", i)), TestImages.rgbPng(320, 240, i));
    }
    Files.write(images.resolve("broken.png"), TestImages.truncated(TestImages.rgbPng(320, 240, 7)));
    direct = work.resolve("direct");
    SparkRunnerTest.Run reference = SparkRunnerTest.cli("segment", "--model=" + model(),
        "--input=" + images + "/*.png", "--output=" + direct);
    assertThat(reference.exitCode()).as(reference.err()).isZero();
  }

  static Path model() {
    return demo.resolve("training/model");
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  /** Submits segment as a user does: templates/spark/submit.sh, with the built maskbeam-spark.jar. */
  static Process submitSegment(String name, Path output) throws Exception {
    return cluster.submitScript(name, script(), Path.of(System.getProperty("maskbeam.sparkJar")), List.of("segment",
        "--model=" + model(), "--input=" + images + "/*.png", "--output=" + output, "--parallelism=16"));
  }

  static Path script() {
    Path script = Path.of(System.getProperty("maskbeam.root", "../..")).toAbsolutePath().normalize()
        .resolve("templates/spark/submit.sh");
    assertThat(script).exists();
    return script;
  }

  /** Every input has exactly one mask, byte-identical to the DirectRunner's, and the counts reconcile. */
  static void assertSameAsDirect(Path output) throws Exception {
    JsonNode summary = JSON.readTree(Files.readString(output.resolve("summary.json")));
    JsonNode run = summary.path("run");
    assertThat(run.path("matched").asLong()).isEqualTo(IMAGES + 1);
    assertThat(run.path("segmented").asLong() + run.path("skipped").asLong()).isEqualTo(IMAGES);
    assertThat(run.path("failed").asLong()).isEqualTo(1);
    assertThat(summary.path("collection").path("images").asLong()).isEqualTo(IMAGES);
    List<String> names = new ArrayList<>();
    try (Stream<Path> masks = Files.list(output.resolve("masks"))) {
      masks.forEach(m -> names.add(m.getFileName().toString()));
    }
    assertThat(names).hasSize(IMAGES).allMatch(n -> n.matches("img_\\d{3}\\.png"));
    for (String n : names) {
      assertThat(Files.readAllBytes(output.resolve("masks").resolve(n))).as(n)
          .isEqualTo(Files.readAllBytes(direct.resolve("masks").resolve(n)));
    }
    assertThat(summary.path("classes")).isEqualTo(
        JSON.readTree(Files.readString(direct.resolve("summary.json"))).path("classes"));
  }

  @Test
  void bulkSegmentationSubmittedToAStandaloneCluster() throws Exception {
    Path output = work.resolve("segmented");
    Process p = submitSegment("submit", output);
    assertThat(p.waitFor(300, TimeUnit.SECONDS)).as("spark-submit finished; see %s", work).isTrue();
    assertThat(p.exitValue()).as("see %s", work.resolve("submit.log")).isZero();
    assertSameAsDirect(output);
  }

  @Test
  void aWorkerKilledMidJobLosesNothing() throws Exception {
    Path output = work.resolve("segmented-fault");
    Process p = submitSegment("submit-fault", output);
    // Kill one worker (and its executor) once masks are being written.
    Path masks = output.resolve("masks");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
    while (System.nanoTime() < deadline && p.isAlive()) {
      if (Files.isDirectory(masks)) {
        try (Stream<Path> s = Files.list(masks)) {
          if (s.count() >= 20) {
            break;
          }
        }
      }
      Thread.sleep(200);
    }
    assertThat(p.isAlive()).as("the job was still running when the worker was killed").isTrue();
    LocalSparkCluster.kill(cluster.workers().get(0));
    assertThat(p.waitFor(300, TimeUnit.SECONDS)).as("spark-submit finished; see %s", work).isTrue();
    if (p.exitValue() != 0) {
      // A run that failed outright is finished by a rerun that only fills the gaps.
      Process rerun = cluster.submit("submit-rerun", Path.of(System.getProperty("maskbeam.sparkJar")), List.of(
          "segment", "--model=" + model(), "--input=" + images + "/*.png", "--output=" + output,
          "--skipExisting=true"));
      assertThat(rerun.waitFor(300, TimeUnit.SECONDS)).isTrue();
      assertThat(rerun.exitValue()).as("see %s", work.resolve("submit-rerun.log")).isZero();
    }
    assertSameAsDirect(output);
  }
}
