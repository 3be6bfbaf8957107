package io.maskbeam.runners.spark;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real Spark standalone cluster on 127.0.0.1, started from the Spark jars (a master and one worker with one
 * core), and the bulk segmentation job submitted to it through {@code SparkSubmit} with {@code maskbeam-spark.jar}.
 * Runs after packaging (failsafe); every process it starts, executors included, is stopped.
 */
class SparkClusterIT {
  static final ObjectMapper JSON = new ObjectMapper();
  /** Under target/, so the master, worker, executor and submit logs outlive a failed run. */
  static Path work;
  static final List<Process> processes = new ArrayList<>();
  static String sparkClasspath;
  static Path sparkHome;
  static String master;
  static int masterUi;
  static Path demo;

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static List<String> java(String... rest) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(Arrays.asList(System.getProperty("maskbeam.jdkOpens").trim().split("\\s+")));
    cmd.addAll(Arrays.asList(rest));
    return cmd;
  }

  static Process start(String name, List<String> command) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(work.resolve(name + ".log").toFile());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    pb.environment().put("SPARK_HOME", sparkHome.toString());
    // Without it the launcher looks for a Spark source build to learn the Scala version.
    pb.environment().put("SPARK_SCALA_VERSION", "2.12");
    // Executors start with the same module flags, through the launcher's standard option variable.
    pb.environment().put("SPARK_EXECUTOR_OPTS", System.getProperty("maskbeam.jdkOpens"));
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  @BeforeAll
  static void startCluster() throws Exception {
    work = Path.of("target", "spark-cluster-it").toAbsolutePath();
    if (Files.exists(work)) {
      try (Stream<Path> old = Files.walk(work)) {
        for (Path p : old.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
    Files.createDirectories(work);
    sparkHome = Path.of(System.getProperty("maskbeam.sparkHome")).toAbsolutePath();
    sparkClasspath = sparkHome.resolve("jars") + "/*";
    int port = freePort();
    masterUi = freePort();
    master = "spark://127.0.0.1:" + port;
    start("master", java("-Xmx512m", "-cp", sparkClasspath, "org.apache.spark.deploy.master.Master",
        "--host", "127.0.0.1", "--port", Integer.toString(port), "--webui-port", Integer.toString(masterUi)));
    Files.createDirectories(work.resolve("worker"));
    start("worker", java("-Xmx512m", "-cp", sparkClasspath, "org.apache.spark.deploy.worker.Worker",
        "--host", "127.0.0.1", "--cores", "1", "--memory", "3g", "--webui-port", Integer.toString(freePort()),
        "--work-dir", work.resolve("worker").toString(), master));
    waitForWorkers(1);

    demo = work.resolve("demo");
    SparkRunnerTest.Run run = SparkRunnerTest.cli("demo", "--output=" + demo, "--count=16", "--trainEpochs=1");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
  }

  static void waitForWorkers(int count) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (System.nanoTime() < deadline) {
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + masterUi + "/json/")).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode status = JSON.readTree(r.body());
        int alive = 0;
        for (JsonNode w : status.path("workers")) {
          alive += w.path("state").asText().equals("ALIVE") ? 1 : 0;
        }
        if (alive >= count) {
          return;
        }
      } catch (IOException e) {
        // master not up yet
      }
      Thread.sleep(500);
    }
    throw new IllegalStateException("no ALIVE worker registered with " + master + "; see " + work);
  }

  @AfterAll
  static void stopCluster() throws Exception {
    for (Process p : processes) {
      // Executors are the worker's children: stop them too.
      p.descendants().forEach(ProcessHandle::destroy);
      p.destroy();
    }
    for (Process p : processes) {
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly().waitFor();
      }
    }
  }

  @Test
  void bulkSegmentationSubmittedToAStandaloneCluster() throws Exception {
    Path output = work.resolve("segmented");
    String opens = System.getProperty("maskbeam.jdkOpens").trim();
    List<String> submit = java("-Xmx1g", "-cp", sparkClasspath, "org.apache.spark.deploy.SparkSubmit",
        "--master", master, "--deploy-mode", "client", "--class", "io.maskbeam.pipelines.Maskbeam",
        "--conf", "spark.executor.extraJavaOptions=" + opens, "--conf", "spark.executor.memory=1g",
        "--conf", "spark.driver.host=127.0.0.1",
        System.getProperty("maskbeam.sparkJar"),
        "segment", "--runner=SparkRunner", "--sparkMaster=" + master,
        "--model=" + demo.resolve("training/model"), "--input=" + demo.resolve("unseen/images") + "/*.png",
        "--output=" + output);
    Process p = start("submit", submit);
    assertThat(p.waitFor(240, TimeUnit.SECONDS)).as("spark-submit finished; see %s", work).isTrue();
    assertThat(p.exitValue()).as(Files.readString(work.resolve("submit.log"))).isZero();

    long images;
    try (Stream<Path> s = Files.list(demo.resolve("unseen/images"))) {
      images = s.count();
    }
    JsonNode summary = JSON.readTree(Files.readString(output.resolve("summary.json")));
    assertThat(summary.path("run").path("matched").asLong()).isEqualTo(images);
    assertThat(summary.path("run").path("segmented").asLong()).isEqualTo(images - 1);
    assertThat(summary.path("run").path("failed").asLong()).isEqualTo(1);

    // Identical to the embedded DirectRunner's outputs.
    Path direct = work.resolve("direct");
    SparkRunnerTest.Run run = SparkRunnerTest.cli("segment", "--model=" + demo.resolve("training/model"),
        "--input=" + demo.resolve("unseen/images") + "/*.png", "--output=" + direct);
    assertThat(run.exitCode()).as(run.err()).isZero();
    try (Stream<Path> masks = Files.list(direct.resolve("masks"))) {
      for (Path m : masks.toList()) {
        assertThat(Files.readAllBytes(output.resolve("masks").resolve(m.getFileName())))
            .as("%s", m.getFileName()).isEqualTo(Files.readAllBytes(m));
      }
    }
  }
}
