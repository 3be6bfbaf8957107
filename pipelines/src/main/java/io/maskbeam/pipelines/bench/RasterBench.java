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
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new ArrayList<>(List.of(java));
    command.addAll(jvmArgs);
    command.addAll(List.of("-jar", SegmentBench.jar().toString(), "segment", "--model=" + model.toAbsolutePath(),
        "--input=" + raster.toAbsolutePath(), "--output=" + output, "--bands=3,2,1", "--bandRange=0,65535",
        "--nodata=0"));
    command.addAll(extraArgs);
    long start = System.nanoTime();
    long peakKb = SegmentBench.peakRss(command, work.resolve("out-" + size + ".log"));
    double seconds = (System.nanoTime() - start) / 1e9;
    double megapixels = (double) size * size / 1e6;
    out.printf(Locale.ROOT, "raster %dx%d, 4 bands uint16 (%.0f MB of samples), JVM %s: segmented in %.0f s"
        + " (%.2f megapixels/s), peak RSS %,d MB; mask %,d bytes%n", size, size, megapixels * 8, jvmArgs, seconds,
        megapixels / seconds, peakKb / 1024, Files.size(output.resolve("masks/raster-" + size + ".tif")));
    return 0;
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
