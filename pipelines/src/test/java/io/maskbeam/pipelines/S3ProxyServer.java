package io.maskbeam.pipelines;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real S3 REST server (S3Proxy, filesystem backend) in its own process on 127.0.0.1, for tests. Its jar is copied
 * into target/ by the build, so nothing is downloaded. {@link #close} stops the process.
 */
final class S3ProxyServer implements AutoCloseable {
  static final String IDENTITY = "maskbeam-test";
  static final String CREDENTIAL = "maskbeam-test-secret";

  private final Process process;
  private final int port;
  private final Path log;

  private S3ProxyServer(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  static S3ProxyServer start(Path workDir) throws IOException, InterruptedException {
    String jar = System.getProperty("maskbeam.s3proxy.jar", "target/test-servers/s3proxy.jar");
    if (!Files.exists(Path.of(jar))) {
      throw new IllegalStateException("S3Proxy jar not found at " + jar + " (the build copies it there)");
    }
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    Path data = Files.createDirectories(workDir.resolve("s3proxy-data"));
    Path properties = workDir.resolve("s3proxy.properties");
    Files.writeString(properties, String.join("\n",
        "s3proxy.endpoint=http://127.0.0.1:" + port,
        "s3proxy.authorization=aws-v2-or-v4",
        "s3proxy.identity=" + IDENTITY,
        "s3proxy.credential=" + CREDENTIAL,
        "jclouds.provider=filesystem",
        "jclouds.filesystem.basedir=" + data) + "\n");
    Path log = workDir.resolve("s3proxy.log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process process = new ProcessBuilder(java, "-Xmx512m", "-jar", jar, "--properties", properties.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    S3ProxyServer server = new S3ProxyServer(process, port, log);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("S3Proxy exited: " + Files.readString(log));
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return server;
      } catch (IOException notYet) {
        Thread.sleep(100);
      }
    }
    server.close();
    throw new IllegalStateException("S3Proxy did not listen on " + port + " within 60 s: " + Files.readString(log));
  }

  String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
