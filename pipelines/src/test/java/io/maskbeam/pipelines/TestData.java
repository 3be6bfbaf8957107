package io.maskbeam.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/** Shared helpers for the end-to-end tests. */
final class TestData {
  static final ObjectMapper JSON = new ObjectMapper();

  private TestData() {}

  /** ../shared/datasets/camvid, as the build passes it in (or found from the working directory). */
  static Path camvid() {
    String shared = System.getProperty("maskbeam.shared");
    Path p = shared != null ? Path.of(shared, "datasets", "camvid") : Path.of("../../shared/datasets/camvid");
    if (!Files.isDirectory(p)) {
      p = Path.of("../shared/datasets/camvid");
    }
    return p.toAbsolutePath().normalize();
  }

  /** Result of one command-line run. */
  record Run(int exitCode, String out, String err) {}

  static Run cli(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Maskbeam.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  static JsonNode json(Path file) throws IOException {
    return JSON.readTree(Files.readString(file));
  }

  static List<JsonNode> jsonLines(Path dir) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.sorted().toList()) {
        for (String line : Files.readAllLines(f)) {
          if (!line.isBlank()) {
            out.add(JSON.readTree(line));
          }
        }
      }
    }
    return out;
  }

  /** All records of all shards matching {@code prefix-*} in {@code dir}, read with the spec reader. */
  static List<TfRecordSpecReader.DeepLab> readShards(Path dir, String prefix) throws IOException {
    List<TfRecordSpecReader.DeepLab> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.getFileName().toString().startsWith(prefix + "-")).sorted().toList()) {
        for (byte[] r : TfRecordSpecReader.read(Files.readAllBytes(f), f.toString().endsWith(".gz"))) {
          out.add(TfRecordSpecReader.parseDeepLab(r));
        }
      }
    }
    return out;
  }

  /** Pixel values of a single-band image, read with ImageIO's raster (no Maskbeam code). */
  static int[] rawValues(byte[] png) throws IOException {
    BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
    return img.getRaster().getSamples(0, 0, img.getWidth(), img.getHeight(), 0, new int[img.getWidth() * img.getHeight()]);
  }

  /** Deletes a folder and everything in it. */
  static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
