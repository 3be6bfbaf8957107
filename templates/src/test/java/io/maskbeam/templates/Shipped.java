package io.maskbeam.templates;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What the launch tests share: where the repository and the built jar are, processes started as a launcher starts
 * them (and always stopped), and one small model trained by the shipped jar's own demo.
 */
final class Shipped {
  private static Path demo;

  private Shipped() {}

  static Path root() {
    return Path.of(System.getProperty("maskbeam.root", "..")).toAbsolutePath().normalize();
  }

  /** pipelines/target/maskbeam.jar: what the Dockerfiles copy. */
  static Path jar() {
    Path jar = Path.of(System.getProperty("maskbeam.jar", root().resolve("pipelines/target/maskbeam.jar").toString()));
    assertThat(jar).as("the build produces the jar the Dockerfiles copy").exists();
    return jar;
  }

  static Path java() {
    return Path.of(System.getProperty("java.home"), "bin", "java");
  }

  /** A finished process: its exit code and its output (stdout and stderr together). */
  record Finished(int exitCode, String output) {}

  /** Runs a command to its end (at most {@code seconds}); output goes to {@code log} too. */
  static Finished run(List<String> command, Map<String, String> env, Path log, int seconds) throws Exception {
    Process p = start(command, env, log);
    try {
      assertThat(p.waitFor(seconds, TimeUnit.SECONDS)).as("%s finished within %d s; see %s", command.get(0), seconds,
          log).isTrue();
      return new Finished(p.exitValue(), read(log));
    } finally {
      stop(p);
    }
  }

  static Process start(List<String> command, Map<String, String> env, Path log) throws IOException {
    Files.createDirectories(log.getParent());
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    pb.environment().put("PATH", java().getParent() + ":" + System.getenv("PATH"));
    pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "1");
    pb.environment().putAll(env);
    return pb.start();
  }

  /** Stops a process and everything it started. */
  static void stop(Process p) throws InterruptedException {
    if (p == null) {
      return;
    }
    p.descendants().forEach(ProcessHandle::destroy);
    p.destroy();
    if (!p.waitFor(20, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly().waitFor();
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Waits until {@code url} answers 200 (the server started) or the process dies. */
  static void awaitHealthy(Process p, String url, Path log) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new AssertionError("the server stopped; see " + log + ":\n" + read(log));
      }
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).GET().build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(300);
    }
    throw new AssertionError(url + " did not become healthy; see " + log);
  }

  /** Waits (10 s at most) until the log holds {@code text}: a line the process prints once it is serving. */
  static void awaitLog(Path log, String text) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!read(log).contains(text)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(log + " never said '" + text + "':\n" + read(log));
      }
      Thread.sleep(100);
    }
  }

  /** A log as text, whatever bytes a process wrote into it. */
  static String read(Path log) throws IOException {
    return new String(Files.readAllBytes(log), java.nio.charset.StandardCharsets.UTF_8);
  }

  /**
   * An empty folder for one test under target/launch-it (kept after the run, so its logs can be read), emptied
   * first so a rerun without 'mvn clean' starts from nothing.
   */
  static Path freshWork(String name) throws IOException {
    Path dir = Path.of("target", "launch-it", name).toAbsolutePath();
    if (Files.exists(dir)) {
      try (Stream<Path> all = Files.walk(dir)) {
        for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
    return Files.createDirectories(dir);
  }

  /** A model trained by {@code java -jar maskbeam.jar demo} (synthetic shapes), once per test JVM. */
  static synchronized Path demo() throws Exception {
    if (demo == null) {
      Path dir = freshWork("demo");
      Files.delete(dir); // the demo makes its own output folder
      Finished f = run(List.of(java().toString(), "-jar", jar().toString(), "demo", "--output=" + dir, "--count=12",
          "--trainEpochs=1", "--width=128", "--height=96", "--style=textured"), Map.of(), dir.resolveSibling("demo.log"), 300);
      assertThat(f.exitCode()).as(f.output()).isZero();
      demo = dir;
    }
    return demo;
  }

  static Path demoModel() throws Exception {
    return demo().resolve("training/model");
  }

  static List<String> list(String... items) {
    return new ArrayList<>(List.of(items));
  }
}
