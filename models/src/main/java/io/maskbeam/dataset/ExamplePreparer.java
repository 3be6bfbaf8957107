package io.maskbeam.dataset;

import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.ImageHeader;
import io.maskbeam.image.InvalidImageException;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.Resampler;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.image.RgbImage;
import io.maskbeam.labels.LabelMap;
import java.awt.image.BufferedImage;
import java.io.Serializable;
import java.util.Locale;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Turns one image and its annotation mask into a DeepLab tf.train.Example: validate, remap labels, resize, encode.
 *
 * <p>This is the whole per-example unit of work of {@code maskbeam preprocess}, free of Beam so that the benchmark's
 * raw ceiling and the pipeline run the very same code. Every refusal is a {@link RejectedInputException} whose
 * reason and message land in {@code rejected/}.
 */
public final class ExamplePreparer implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Default pixel limit: 100 megapixels. */
  public static final long DEFAULT_MAX_PIXELS = 100_000_000L;

  private final LabelMap labelMap;
  private final ResizePolicy resize;
  private final UnknownLabelPolicy unknownPolicy;
  private final long maxPixels;
  private final int jpegQuality;

  public ExamplePreparer(
      LabelMap labelMap, ResizePolicy resize, UnknownLabelPolicy unknownPolicy, long maxPixels, int jpegQuality) {
    if (maxPixels <= 0) {
      throw new IllegalArgumentException("pixel limit must be positive");
    }
    if (jpegQuality < 1 || jpegQuality > 100) {
      throw new IllegalArgumentException("JPEG quality must be in 1..100");
    }
    this.labelMap = Objects.requireNonNull(labelMap);
    this.resize = Objects.requireNonNull(resize);
    this.unknownPolicy = Objects.requireNonNull(unknownPolicy);
    this.maxPixels = maxPixels;
    this.jpegQuality = jpegQuality;
  }

  public PreparedExample prepare(String id, byte[] imageBytes, byte[] maskBytes) throws RejectedInputException {
    // Headers first: an oversized or unreadable input is refused before any pixel memory is spent on either file.
    ImageHeader imageHeader = header(imageBytes, true);
    header(maskBytes, false);
    BufferedImage image = decode(imageBytes, true);
    BufferedImage mask = decode(maskBytes, false);
    int w = image.getWidth();
    int h = image.getHeight();
    if (mask.getWidth() != w || mask.getHeight() != h) {
      throw new RejectedInputException(RejectReason.SIZE_MISMATCH, String.format(Locale.ROOT,
          "image is %dx%d but mask is %dx%d", w, h, mask.getWidth(), mask.getHeight()));
    }

    Remapped remapped = remap(mask);
    if (remapped.unknownPixels > 0 && unknownPolicy == UnknownLabelPolicy.REJECT) {
      throw new RejectedInputException(RejectReason.UNKNOWN_LABEL_VALUES, String.format(Locale.ROOT,
          "%d pixels carry %s not in label map '%s': %s", remapped.unknownPixels,
          remapped.colour ? "colours" : "values", labelMap.name(), remapped.unknownSample));
    }

    int[] target = resize.targetSize(w, h);
    LabelImage labels = Resampler.resizeNearest(new LabelImage(w, h, remapped.labels), target[0], target[1]);

    String format = imageHeader.format();
    byte[] encodedImage;
    boolean reencoded;
    boolean keepBytes = target[0] == w && target[1] == h
        && (format.equals("png") || format.equals("jpeg"))
        && ImageCodec.isPlainRgb8(image);
    if (keepBytes) {
      // Same pixels, same format: pass the original bytes through, lossless and free.
      encodedImage = imageBytes;
      reencoded = false;
    } else {
      RgbImage rgb = Resampler.resize(ImageCodec.toRgb(image), target[0], target[1]);
      if (format.equals("jpeg")) {
        encodedImage = ImageCodec.encodeJpeg(rgb, jpegQuality);
      } else {
        encodedImage = ImageCodec.encodePng(rgb);
        format = "png";
      }
      reencoded = true;
    }
    byte[] labelPng = ImageCodec.encodePng(labels);

    long[] classPixels = new long[labelMap.numClasses()];
    long ignorePixels = 0;
    int ignore = labelMap.ignoreValue();
    for (byte b : labels.labels()) {
      int v = b & 0xFF;
      if (v == ignore) {
        ignorePixels++;
      } else {
        classPixels[v]++;
      }
    }
    byte[] example = DeepLabExample.build(id, format, target[1], target[0], 3, encodedImage, labelPng);
    return new PreparedExample(id, example, format, target[0], target[1], w, h, classPixels, ignorePixels,
        remapped.unknownPixels, reencoded);
  }

  /**
   * A ground-truth mask as class ids (the ignore value where ignored), read exactly as {@link #prepare} reads
   * masks: header check, decode, label-map remapping and the unknown-label policy. Not resized.
   */
  public LabelImage groundTruth(byte[] maskBytes) throws RejectedInputException {
    header(maskBytes, false);
    BufferedImage mask = decode(maskBytes, false);
    Remapped remapped = remap(mask);
    if (remapped.unknownPixels > 0 && unknownPolicy == UnknownLabelPolicy.REJECT) {
      throw new RejectedInputException(RejectReason.UNKNOWN_LABEL_VALUES, String.format(Locale.ROOT,
          "%d pixels carry %s not in label map '%s': %s", remapped.unknownPixels,
          remapped.colour ? "colours" : "values", labelMap.name(), remapped.unknownSample));
    }
    return new LabelImage(mask.getWidth(), mask.getHeight(), remapped.labels);
  }

  private ImageHeader header(byte[] bytes, boolean isImage) throws RejectedInputException {
    ImageHeader header;
    try {
      header = ImageCodec.probe(bytes);
    } catch (InvalidImageException e) {
      throw rejection(e, isImage);
    }
    if (header.pixels() > maxPixels) {
      throw new RejectedInputException(
          isImage ? RejectReason.IMAGE_TOO_MANY_PIXELS : RejectReason.MASK_TOO_MANY_PIXELS,
          String.format(Locale.ROOT, "%s header says %dx%d = %.1f megapixels, over the limit of %.1f megapixels",
              isImage ? "image" : "mask", header.width(), header.height(), header.pixels() / 1e6, maxPixels / 1e6));
    }
    return header;
  }

  private BufferedImage decode(byte[] bytes, boolean isImage) throws RejectedInputException {
    try {
      return ImageCodec.decode(bytes, maxPixels);
    } catch (InvalidImageException e) {
      throw rejection(e, isImage);
    }
  }

  private static RejectedInputException rejection(InvalidImageException e, boolean isImage) {
    RejectReason reason = switch (e.kind()) {
      case TRUNCATED -> isImage ? RejectReason.IMAGE_TRUNCATED : RejectReason.MASK_TRUNCATED;
      case TOO_MANY_PIXELS -> isImage ? RejectReason.IMAGE_TOO_MANY_PIXELS : RejectReason.MASK_TOO_MANY_PIXELS;
      case EMPTY -> isImage ? RejectReason.IMAGE_EMPTY : RejectReason.MASK_EMPTY;
      case UNREADABLE -> isImage ? RejectReason.IMAGE_UNREADABLE : RejectReason.MASK_UNREADABLE;
    };
    return new RejectedInputException(reason, (isImage ? "image: " : "mask: ") + e.getMessage(), e);
  }

  private record Remapped(byte[] labels, long unknownPixels, String unknownSample, boolean colour) {}

  /** Maps raw mask values (or colours) to class ids, counting what the label map does not cover. */
  private Remapped remap(BufferedImage mask) throws RejectedInputException {
    int[][] bands = ImageCodec.rawBands(mask);
    int n = bands[0].length;
    byte[] out = new byte[n];
    byte ignore = (byte) labelMap.ignoreValue();
    long unknown = 0;
    TreeMap<Integer, Long> unknownValues = new TreeMap<>();
    boolean colour;
    if (bands.length == 1 || (bands.length >= 3 && !labelMap.hasColorTable() && isGreyInRgb(bands))) {
      colour = false;
      int[] raw = bands[0];
      for (int i = 0; i < n; i++) {
        int c = labelMap.mapRaw(raw[i]);
        if (c == LabelMap.UNKNOWN) {
          unknown++;
          if (unknownValues.size() < 8 || unknownValues.containsKey(raw[i])) {
            unknownValues.merge(raw[i], 1L, Long::sum);
          }
          out[i] = ignore;
        } else {
          out[i] = (byte) c;
        }
      }
    } else if (bands.length >= 3 && labelMap.hasColorTable()) {
      colour = true;
      int[] r = bands[0];
      int[] g = bands[1];
      int[] b = bands[2];
      int sampleBits = mask.getSampleModel().getSampleSize(0);
      int shift = Math.max(0, sampleBits - 8);
      int lastRgb = -1;
      int lastClass = 0;
      for (int i = 0; i < n; i++) {
        int rgb = ((r[i] >> shift) << 16) | ((g[i] >> shift) << 8) | (b[i] >> shift);
        int c;
        if (rgb == lastRgb) {
          c = lastClass; // masks are piecewise constant; skip the hash lookup on runs
        } else {
          c = labelMap.mapColor(rgb);
          lastRgb = rgb;
          lastClass = c;
        }
        if (c == LabelMap.UNKNOWN) {
          unknown++;
          if (unknownValues.size() < 8 || unknownValues.containsKey(rgb)) {
            unknownValues.merge(rgb, 1L, Long::sum);
          }
          out[i] = ignore;
        } else {
          out[i] = (byte) c;
        }
      }
    } else {
      throw new RejectedInputException(RejectReason.MASK_NOT_SINGLE_CHANNEL, String.format(Locale.ROOT,
          "mask has %d channels; give a label map with class colours (or \"colors\") to convert colour-coded masks",
          bands.length));
    }
    StringBuilder sample = new StringBuilder();
    unknownValues.forEach((v, count) -> {
      if (sample.length() > 0) {
        sample.append(", ");
      }
      sample.append(colour ? String.format(Locale.ROOT, "#%06x", v) : Integer.toString(v)).append(" (").append(count)
          .append(" px)");
    });
    return new Remapped(out, unknown, sample.toString(), colour);
  }

  private static boolean isGreyInRgb(int[][] bands) {
    int[] r = bands[0];
    int[] g = bands[1];
    int[] b = bands[2];
    for (int i = 0; i < r.length; i++) {
      if (r[i] != g[i] || r[i] != b[i]) {
        return false;
      }
    }
    return true;
  }
}
