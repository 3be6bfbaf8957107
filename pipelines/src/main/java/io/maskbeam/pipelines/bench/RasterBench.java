package io.maskbeam.pipelines.bench;

import io.maskbeam.raster.GeoReference;
import io.maskbeam.raster.GeoTiffWriter;
import io.maskbeam.raster.SampleType;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code maskbeam bench raster}: one synthetic georeferenced raster of {@code size x size} pixels, 4 bands of uint16
 * (a smooth field plus stripes, so it compresses like imagery rather than noise), segmented by a separate
 * {@code java -jar maskbeam.jar segment} process under the given JVM options (default {@code -Xmx2g}): wall time,
 * megapixels per second and the process's peak RSS, which shows whether the raster was held whole (a 20,000 x
 * 20,000 4-band uint16 raster is 3.2 GB of samples and 400 MB of labels).
 */
final class RasterBench {
  private final PrintStream out;
  private final List<String> jvmArgs;
  private final List<String> extraArgs;

  RasterBench(PrintStream out, List<String> jvmArgs, List<String> extraArgs) {
    this.out = out;
    this.jvmArgs = jvmArgs.isEmpty() ? List.of("-Xmx2g") : jvmArgs;
    this.extraArgs = extraArgs;
  }

  int run(Path model, int size, Path work) throws Exception {
    if (model == null) {
      throw new IllegalArgumentException("bench raster needs --model");
    }
    Files.createDirectories(work);
    Path raster = work.resolve("raster-" + size + ".tif");
    if (!Files.exists(raster)) {
      long start = System.nanoTime();
      write(raster, size);
      out.printf(Locale.ROOT, "wrote %s (%,d bytes) in %.0f s%n", raster, Files.size(raster),
          (System.nanoTime() - start) / 1e9);
    }
    Path output = work.resolve("out-" + size);
    BenchCommand.deleteTree(output);
    long[] measured = measure(work.resolve("out-" + size + ".log"), "segment", "--model=" + model.toAbsolutePath(),
        "--input=" + raster.toAbsolutePath(), "--output=" + output, "--bands=3,2,1", "--bandRange=0,65535",
        "--nodata=0");
    double seconds = measured[0] / 1e9;
    long peakKb = measured[1];
    double megapixels = (double) size * size / 1e6;
    out.printf(Locale.ROOT, "raster %dx%d, 4 bands uint16 (%.0f MB of samples), JVM %s: segmented in %.0f s"
        + " (%.2f megapixels/s), peak RSS %,d MB; mask %,d bytes%n", size, size, megapixels * 8, jvmArgs, seconds,
        megapixels / seconds, peakKb / 1024, Files.size(output.resolve("masks/raster-" + size + ".tif")));
    return 0;
  }

  /**
   * The same raster and a class mask of its size (a single-band tiled TIFF: class 1 on the raster's stripes) cut
   * into training chips by {@code maskbeam preprocess} in a separate process: wall time, chips/s and peak RSS.
   */
  int runPreprocess(int size, int chipSize, Path work) throws Exception {
    Files.createDirectories(work);
    Path images = Files.createDirectories(work.resolve("images"));
    Path masks = Files.createDirectories(work.resolve("masks"));
    Path raster = images.resolve("raster-" + size + ".tif");
    Path mask = masks.resolve("raster-" + size + ".tif");
    if (!Files.exists(raster) || !Files.exists(mask)) {
      long start = System.nanoTime();
      write(raster, size);
      writeMask(mask, size);
      out.printf(Locale.ROOT, "wrote %s (%,d bytes) and its mask in %.0f s%n", raster, Files.size(raster),
          (System.nanoTime() - start) / 1e9);
    }
    Path output = work.resolve("dataset-" + size);
    BenchCommand.deleteTree(output);
    long[] measured = measure(work.resolve("dataset-" + size + ".log"), "preprocess", "--images=" + images,
        "--masks=" + masks, "--labelMap={\"values\": {\"0\": 0, \"1\": 1}}", "--output=" + output,
        "--chipSize=" + chipSize, "--nodata=0", "--numShards=4");
    double seconds = measured[0] / 1e9;
    long peakKb = measured[1];
    com.fasterxml.jackson.databind.JsonNode d = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
        output.resolve("dataset.json").toFile());
    long chips = d.path("counts").path("examples").asLong(d.path("counts").path("written").asLong());
    out.printf(Locale.ROOT, "raster %dx%d, 4 bands uint16 + a TIFF mask, JVM %s: %,d chips of %d px in %.0f s"
        + " (%.1f chips/s, %.2f megapixels/s), peak RSS %,d MB%n", size, size, jvmArgs, chips, chipSize, seconds,
        chips / seconds, (double) size * size / 1e6 / seconds, peakKb / 1024);
    return 0;
  }

  /**
   * Runs {@code java <jvmArgs> -jar maskbeam.jar <args> <extraArgs>}, the shipped jar as users run it: {wall
   * nanoseconds, peak RSS in KB}.
   */
  private long[] measure(Path log, String... args) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new ArrayList<>(List.of(java));
    command.addAll(jvmArgs);
    command.addAll(List.of("-jar", SegmentBench.jar().toString()));
    command.addAll(List.of(args));
    command.addAll(extraArgs);
    long start = System.nanoTime();
    long peakKb = SegmentBench.peakRss(command, log);
    return new long[] {System.nanoTime() - start, peakKb};
  }

  /** A uint8 class mask for {@link #write}'s raster: class 1 on its stripes, 0 elsewhere. */
  static void writeMask(Path file, int size) throws Exception {
    int tile = 512;
    GeoTiffWriter writer = new GeoTiffWriter(size, size, 1, SampleType.UINT8, tile).withCompressionLevel(1);
    for (int row = 0; row < writer.tileRows(); row++) {
      for (int column = 0; column < writer.tileColumns(); column++) {
        byte[] b = new byte[writer.tileBytes()];
        for (int y = 0; y < tile; y++) {
          for (int x = 0; x < tile; x++) {
            b[y * tile + x] = (byte) (((column * tile + x + row * tile + y) / 40) % 7 == 0 ? 1 : 0);
          }
        }
        writer.putTile(column, row, b);
      }
    }
    try (OutputStream o = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      writer.writeTo(o);
    }
  }

  /** Writes the raster tile by tile (the writer keeps compressed tiles only). */
  static void write(Path file, int size) throws Exception {
    int tile = 512;
    GeoTiffWriter writer = new GeoTiffWriter(size, size, 4, SampleType.UINT16, tile)
        .withGeoReference(new GeoReference(new double[] {0.5, 0.5, 0}, new double[] {0, 0, 0, 500000, 4649776, 0},
            null, new int[] {1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633}, null, null))
        .withNoData("0").withCompressionLevel(1);
    for (int row = 0; row < writer.tileRows(); row++) {
      for (int column = 0; column < writer.tileColumns(); column++) {
        ByteBuffer b = ByteBuffer.allocate(writer.tileBytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (int y = row * tile; y < row * tile + tile; y++) {
          for (int x = column * tile; x < column * tile + tile; x++) {
            double field = 0.5 + 0.25 * Math.sin(x / 97.0) + 0.25 * Math.cos(y / 61.0);
            boolean stripe = ((x + y) / 40) % 7 == 0;
            int v = (int) (1 + 60000 * (stripe ? 1 - field : field));
            b.putShort((short) v).putShort((short) (v / 2)).putShort((short) (65535 - v))
                .putShort((short) ((x + y) / 8));
          }
        }
        writer.putTile(column, row, b.array());
      }
    }
    try (OutputStream o = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      writer.writeTo(o);
    }
  }
}
