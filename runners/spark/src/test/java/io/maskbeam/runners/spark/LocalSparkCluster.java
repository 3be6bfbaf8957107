package io.maskbeam.runners.spark;

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

/**
 * A Spark standalone cluster on 127.0.0.1 made of separate JVMs started from Spark's Maven jars: a master, workers
 * and {@code SparkSubmit}. Closing it stops every process it started, executors included (they are the workers'
 * children).
 */
final class LocalSparkCluster implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path work;
  private final Path sparkHome;
  private final String opens;
  private final List<Process> processes = new ArrayList<>();
  private final List<Process> workers = new ArrayList<>();
  private String master;
  private int masterUi;

  LocalSparkCluster(Path work, Path sparkHome, String opens) {
    this.work = work;
    this.sparkHome = sparkHome;
    this.opens = opens.trim();
  }

  /** From the properties failsafe (or the benchmark's command line) passes. */
  static LocalSparkCluster fromSystemProperties(Path work) {
    return new LocalSparkCluster(work, Path.of(System.getProperty("maskbeam.sparkHome")).toAbsolutePath(),
        System.getProperty("maskbeam.jdkOpens"));
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  String master() {
    return master;
  }

  List<Process> workers() {
    return workers;
  }

  private List<String> java(String... rest) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(Arrays.asList(opens.split("\\s+")));
    cmd.addAll(Arrays.asList(rest));
    return cmd;
  }

  private Process start(String name, List<String> command) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(work.resolve(name + ".log").toFile());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    pb.environment().put("SPARK_HOME", sparkHome.toString());
    // Without it the launcher looks for a Spark source build to learn the Scala version.
    pb.environment().put("SPARK_SCALA_VERSION", "2.12");
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  private String classpath() {
    return sparkHome.resolve("jars") + "/*";
  }

  void startMaster() throws IOException {
    Files.createDirectories(work);
    int port = freePort();
    masterUi = freePort();
    master = "spark://127.0.0.1:" + port;
    start("master", java("-Xmx512m", "-cp", classpath(), "org.apache.spark.deploy.master.Master",
        "--host", "127.0.0.1", "--port", Integer.toString(port), "--webui-port", Integer.toString(masterUi)));
  }

  Process startWorker(int cores, String memory) throws IOException {
    int n = workers.size();
    Path dir = Files.createDirectories(work.resolve("worker-" + n));
    Process w = start("worker-" + n, java("-Xmx512m", "-cp", classpath(), "org.apache.spark.deploy.worker.Worker",
        "--host", "127.0.0.1", "--cores", Integer.toString(cores), "--memory", memory,
        "--webui-port", Integer.toString(freePort()), "--work-dir", dir.toString(), master));
    workers.add(w);
    return w;
  }

  void waitForWorkers(int count) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (System.nanoTime() < deadline) {
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + masterUi + "/json/")).build(), HttpResponse.BodyHandlers.ofString());
        int alive = 0;
        for (JsonNode w : JSON.readTree(r.body()).path("workers")) {
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
    throw new IllegalStateException(count + " worker(s) did not register with " + master + "; see " + work);
  }

  /** Starts {@code maskbeam <args>} through SparkSubmit against this cluster, with the given application jar. */
  Process submit(String name, Path jar, List<String> args) throws IOException {
    List<String> cmd = java("-Xmx1g", "-cp", classpath(), "org.apache.spark.deploy.SparkSubmit",
        "--master", master, "--deploy-mode", "client", "--class", "io.maskbeam.pipelines.Maskbeam",
        "--conf", "spark.executor.extraJavaOptions=" + opens, "--conf", "spark.executor.memory=1g",
        "--conf", "spark.driver.host=127.0.0.1", jar.toString());
    cmd.addAll(args);
    cmd.add("--runner=SparkRunner");
    cmd.add("--sparkMaster=" + master);
    return start(name, cmd);
  }

  /**
   * Runs a submit script of templates/spark (as a user runs it) against this cluster. Its {@code spark-submit} is a
   * stand-in for Spark's own bin/spark-submit that does what that one does: Spark's launcher
   * ({@code org.apache.spark.launcher.Main}) turns the arguments into the driver's command (class path, the
   * script's --driver-java-options), which then runs.
   */
  Process submitScript(String name, Path script, Path jar, List<String> args) throws IOException {
    Path bin = Files.createDirectories(work.resolve("bin"));
    Path submit = bin.resolve("spark-submit");
    Files.writeString(submit, String.join("\n",
        "#!/usr/bin/env bash",
        "set -euo pipefail",
        // As bin/spark-class reads the launcher: lines (messages) up to an empty line (its NUL and newline),
        // then the command's arguments, each ended by a NUL.
        "cmd=()",
        "delim=$'\\n'",
        "started=false",
        "while IFS= read -d \"$delim\" -r arg; do",
        "  if [ \"$started\" = true ]; then cmd+=(\"$arg\");",
        "  elif [ -z \"$arg\" ]; then delim=''; started=true;",
        "  else echo \"$arg\" >&2; fi",
        "done < <(\"$JAVA_HOME/bin/java\" -Xmx128m -cp \"$SPARK_HOME/jars/*\" org.apache.spark.launcher.Main"
            + " org.apache.spark.deploy.SparkSubmit \"$@\")",
        "[ \"${#cmd[@]}\" -gt 0 ] || { echo 'spark launcher printed no command' >&2; exit 1; }",
        "exec \"${cmd[@]}\"", ""));
    submit.toFile().setExecutable(true);
    List<String> cmd = new ArrayList<>(List.of("bash", script.toString()));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(work.resolve(name + ".log").toFile());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    pb.environment().put("SPARK_HOME", sparkHome.toString());
    pb.environment().put("SPARK_SCALA_VERSION", "2.12");
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    pb.environment().put("SPARK_MASTER", master);
    pb.environment().put("SPARK_SUBMIT", submit.toString());
    pb.environment().put("MASKBEAM_SPARK_JAR", jar.toString());
    pb.environment().put("SPARK_EXECUTOR_MEMORY", "1g");
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  /** Kills a process and its children at once (a machine failing, not a shutdown). */
  static void kill(Process p) {
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
  }

  @Override
  public void close() throws InterruptedException {
    for (Process p : processes) {
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
}
