package io.maskbeam.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * geotiff.js (npm), run by Node, as an independent reader of the GeoTIFFs Maskbeam writes. Installed once per build
 * into {@code target/geotiff-js} from the npm registry; {@code .ci/run} installs Node and npm from Debian.
 */
final class GeoTiffJs {
  static final String VERSION = "3.0.5";
  private static Path home;

  private GeoTiffJs() {}

  /** The pixels (interleaved, as stored) and the tags as geotiff.js reads them. */
  record Read(JsonNode tags, byte[] pixels) {}

  static synchronized Path install() throws IOException, InterruptedException {
    if (home != null) {
      return home;
    }
    org.junit.jupiter.api.Assumptions.assumeTrue(onPath("node") && onPath("npm"),
        "node and npm are needed to read GeoTIFFs with geotiff.js (.ci/run installs them)");
    Path dir = Path.of("target", "geotiff-js").toAbsolutePath();
    Files.createDirectories(dir);
    if (!Files.isDirectory(dir.resolve("node_modules/geotiff"))) {
      run(dir, List.of("npm", "install", "--no-audit", "--no-fund", "--prefix", dir.toString(),
          "geotiff@" + VERSION), 300);
    }
    try (var script = GeoTiffJs.class.getResourceAsStream("/geotiff/read_geotiff.mjs")) {
      Files.write(dir.resolve("read_geotiff.mjs"), script.readAllBytes());
    }
    home = dir;
    return dir;
  }

  private static boolean onPath(String command) {
    String path = System.getenv("PATH");
    return path != null && java.util.Arrays.stream(path.split(java.io.File.pathSeparator))
        .anyMatch(d -> Files.isExecutable(Path.of(d, command)));
  }

  static Read read(Path tiff, Path scratch) throws IOException, InterruptedException {
    Path dir = install();
    Path raw = Files.createTempFile(scratch, "pixels", ".raw");
    String out = run(dir, List.of("node", dir.resolve("read_geotiff.mjs").toString(), tiff.toString(),
        raw.toString()), 120);
    String last = out.strip().lines().reduce((a, b) -> b).orElse("");
    return new Read(TestData.JSON.readTree(last), Files.readAllBytes(raw));
  }

  private static String run(Path dir, List<String> command, int seconds) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    try {
      if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
        throw new IOException(String.join(" ", command) + " did not finish in " + seconds + " s");
      }
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new IOException(String.join(" ", command) + " failed (" + p.exitValue() + "):\n" + output);
      }
      return output;
    } finally {
      p.destroyForcibly();
    }
  }
}
