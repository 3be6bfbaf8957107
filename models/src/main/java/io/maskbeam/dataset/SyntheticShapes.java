package io.maskbeam.dataset;

import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;

/**
 * A small synthetic segmentation dataset: circles, rectangles and triangles on textured backgrounds. Colours are
 * random, so a model has to learn shape, not colour. Deterministic for a given seed.
 */
public final class SyntheticShapes {
  /** The label map of the generated masks (raw value = class id), as {@code --labelMap} JSON. */
  public static final String LABEL_MAP_JSON = "{\"name\":\"synthetic-shapes\",\"classes\":["
      + "{\"name\":\"background\",\"color\":\"#000000\"},{\"name\":\"circle\",\"color\":\"#e6194b\"},"
      + "{\"name\":\"rectangle\",\"color\":\"#3cb44b\"},{\"name\":\"triangle\",\"color\":\"#4363d8\"}],"
      + "\"ignoreValue\":255}";

  public static final int NUM_CLASSES = 4;

  private SyntheticShapes() {}

  /** One generated sample. */
  public record Sample(RgbImage image, LabelImage mask) {}

  /** How hard the scenes are. */
  public enum Style {
    /** Striped, noisy backgrounds and 1-4 shapes that overlap: the data of tests and benchmarks. */
    TEXTURED,
    /**
     * Plain gradient backgrounds and 1-2 shapes: the demo's data, where a small U-Net learns the shapes (val mIoU
     * about 0.85) in a minute or two of training on 2 cores. Colours stay random, so shape is still what is learned.
     */
    PLAIN
  }

  public static Sample generate(int width, int height, long seed) {
    return generate(width, height, seed, Style.TEXTURED);
  }

  public static Sample generate(int width, int height, long seed, Style style) {
    double texture = style == Style.PLAIN ? 0 : 1;
    Random rnd = new Random(seed);
    byte[] rgb = new byte[width * height * 3];
    byte[] labels = new byte[width * height];
    // Background: a colour gradient, stripes of random period and pixel noise.
    int[] c0 = {rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256)};
    int[] c1 = {rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256)};
    double period = 6 + rnd.nextInt(20);
    double angle = rnd.nextDouble() * Math.PI;
    double ca = Math.cos(angle);
    double sa = Math.sin(angle);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        double t = (double) (x + y) / (width + height);
        double stripe = texture * 18 * Math.sin((x * ca + y * sa) * 2 * Math.PI / period);
        int o = (y * width + x) * 3;
        for (int k = 0; k < 3; k++) {
          double v = c0[k] * (1 - t) + c1[k] * t + stripe + rnd.nextGaussian() * 8 * texture;
          rgb[o + k] = (byte) Math.max(0, Math.min(255, (int) v));
        }
      }
    }
    int shapes = 1 + rnd.nextInt(style == Style.PLAIN ? 2 : 4);
    int minSide = Math.min(width, height);
    for (int s = 0; s < shapes; s++) {
      int cls = 1 + rnd.nextInt(3);
      int size = minSide / 6 + rnd.nextInt(Math.max(1, minSide / 3));
      int cx = rnd.nextInt(width);
      int cy = rnd.nextInt(height);
      int[] colour = {rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256)};
      double rot = rnd.nextDouble() * 2 * Math.PI;
      for (int y = Math.max(0, cy - size); y < Math.min(height, cy + size + 1); y++) {
        for (int x = Math.max(0, cx - size); x < Math.min(width, cx + size + 1); x++) {
          if (inside(cls, x - cx, y - cy, size, rot)) {
            int i = y * width + x;
            labels[i] = (byte) cls;
            int o = i * 3;
            for (int k = 0; k < 3; k++) {
              rgb[o + k] = (byte) Math.max(0, Math.min(255, (int) (colour[k] + rnd.nextGaussian() * 6)));
            }
          }
        }
      }
    }
    return new Sample(new RgbImage(width, height, rgb), new LabelImage(width, height, labels));
  }

  private static boolean inside(int cls, int dx, int dy, int size, double rot) {
    double x = dx * Math.cos(rot) + dy * Math.sin(rot);
    double y = -dx * Math.sin(rot) + dy * Math.cos(rot);
    return switch (cls) {
      case 1 -> dx * dx + dy * dy <= size * size;
      case 2 -> Math.abs(x) <= size * 0.9 && Math.abs(y) <= size * 0.55;
      default -> {
        // Equilateral-ish triangle with circumradius `size`.
        double h = size * 1.5;
        double yy = y + size * 0.5;
        yield yy >= 0 && yy <= h && Math.abs(x) <= (h - yy) / Math.sqrt(3);
      }
    };
  }

  /**
   * Writes {@code count} pairs as {@code images/shape_NNNN.png} and {@code masks/shape_NNNN.png} (SageMaker's
   * paired layout) under {@code dir}.
   */
  public static void writePairedDataset(Path dir, int count, int width, int height, long seed) throws IOException {
    writePairedDataset(dir, count, width, height, seed, Style.TEXTURED);
  }

  /** As {@link #writePairedDataset(Path, int, int, int, long)}, in a given style. */
  public static void writePairedDataset(Path dir, int count, int width, int height, long seed, Style style)
      throws IOException {
    Path images = Files.createDirectories(dir.resolve("images"));
    Path masks = Files.createDirectories(dir.resolve("masks"));
    for (int i = 0; i < count; i++) {
      Sample s = generate(width, height, seed * 1_000_003L + i, style);
      String name = String.format(Locale.ROOT, "shape_%04d.png", i);
      Files.write(images.resolve(name), ImageCodec.encodePng(s.image()));
      Files.write(masks.resolve(name), ImageCodec.encodePng(s.mask()));
    }
  }
}
