package io.maskbeam.dataset;

import io.maskbeam.image.ImageCodec;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.FailureReason.Part;
import io.maskbeam.image.ExifOrientation;
import io.maskbeam.image.ImageLoader;
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
 *
 * <p>Images are read by the shared {@link ImageLoader}, so a photo with an EXIF orientation is turned upright as
 * {@code segment} and {@code serve} turn it. Its mask is taken to be drawn on the photo as a viewer shows it
 * (labelling tools display photos upright) and is used as it is when its size is the upright size. A mask that
 * instead has the size of the stored, unturned pixels (orientations 5-8 swap the sides) was drawn on the stored
 * pixels and is turned with the photo. For orientations 2-4 the sizes cannot tell the two apart and the mask is
 * used as it is.
 */
public final class ExamplePreparer implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Default pixel limit: 100 megapixels. */
  public static final long DEFAULT_MAX_PIXELS = ImageLoader.DEFAULT_MAX_PIXELS;

  private final LabelMap labelMap;
  private final ResizePolicy resize;
  private final UnknownLabelPolicy unknownPolicy;
  private final ImageLoader loader;
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
    this.loader = ImageLoader.withPixelLimit(maxPixels);
    this.jpegQuality = jpegQuality;
  }

  public LabelMap labelMap() {
    return labelMap;
  }

  public PreparedExample prepare(String id, byte[] imageBytes, byte[] maskBytes) throws RejectedInputException {
    // Headers first: an oversized or unreadable input is refused before any pixel memory is spent on either file.
    header(imageBytes, Part.IMAGE);
    header(maskBytes, Part.MASK);
    ImageLoader.Photo photo = load(imageBytes);
    BufferedImage mask = decodeMask(maskBytes);
    RgbImage upright = photo.image();
    int w = upright.width();
    int h = upright.height();
    Remapped remapped = remapChecked(mask);
    LabelImage classes = alignWith(new LabelImage(mask.getWidth(), mask.getHeight(), remapped.labels), photo);

    int[] target = resize.targetSize(w, h);
    LabelImage labels = Resampler.resizeNearest(classes, target[0], target[1]);

    String format = photo.format();
    byte[] encodedImage;
    boolean reencoded;
    boolean keepBytes = target[0] == w && target[1] == h && photo.orientation() == ExifOrientation.NORMAL
        && (format.equals("png") || format.equals("jpeg")) && photo.storedAsPlainRgb8();
    if (keepBytes) {
      // Same pixels, same format: pass the original bytes through, lossless and free.
      encodedImage = imageBytes;
      reencoded = false;
    } else {
      RgbImage rgb = Resampler.resize(upright, target[0], target[1]);
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
        remapped.unknownPixels, reencoded, photo.orientation());
  }

  /**
   * A ground-truth mask as class ids (the ignore value where ignored), read exactly as {@link #prepare} reads
   * masks: header check, decode, label-map remapping and the unknown-label policy. Not resized.
   */
  public LabelImage groundTruth(byte[] maskBytes) throws RejectedInputException {
    header(maskBytes, Part.MASK);
    BufferedImage mask = decodeMask(maskBytes);
    return new LabelImage(mask.getWidth(), mask.getHeight(), remapChecked(mask).labels);
  }

  /**
   * A ground-truth mask as class ids, aligned with its photo by the EXIF rule of {@link #prepare}: used as it is
   * when it has the upright size, turned with the photo when it has the stored size.
   */
  public LabelImage groundTruthFor(byte[] maskBytes, ImageLoader.Photo photo) throws RejectedInputException {
    return alignWith(groundTruth(maskBytes), photo);
  }

  /** The class ids of a mask in the photo's upright frame, or SIZE_MISMATCH. */
  static LabelImage alignWith(LabelImage classes, ImageLoader.Photo photo) throws RejectedInputException {
    int w = photo.image().width();
    int h = photo.image().height();
    if (classes.width() == w && classes.height() == h) {
      return classes;
    }
    if (photo.orientation() != ExifOrientation.NORMAL && classes.width() == photo.storedWidth()
        && classes.height() == photo.storedHeight()) {
      return ExifOrientation.apply(classes, photo.orientation());
    }
    throw new RejectedInputException(FailureReason.SIZE_MISMATCH, String.format(Locale.ROOT,
        "image is %dx%d%s but mask is %dx%d", w, h, photo.orientation() == ExifOrientation.NORMAL ? ""
            : " (upright by its EXIF orientation " + photo.orientation() + ")", classes.width(), classes.height()));
  }

  /** The loader images are read with (its pixel limit and EXIF policy). */
  public ImageLoader loader() {
    return loader;
  }

  private void header(byte[] bytes, Part part) throws RejectedInputException {
    try {
      loader.header(bytes);
    } catch (InvalidImageException e) {
      throw rejection(e, part);
    }
  }

  private ImageLoader.Photo load(byte[] bytes) throws RejectedInputException {
    try {
      return loader.load(bytes);
    } catch (InvalidImageException e) {
      throw rejection(e, Part.IMAGE);
    }
  }

  private BufferedImage decodeMask(byte[] bytes) throws RejectedInputException {
    try {
      return loader.decodeRaw(bytes);
    } catch (InvalidImageException e) {
      throw rejection(e, Part.MASK);
    }
  }

  private static RejectedInputException rejection(InvalidImageException e, Part part) {
    return new RejectedInputException(FailureReason.of(e.kind(), part),
        (part == Part.IMAGE ? "image: " : "mask: ") + e.getMessage(), e);
  }

  /**
   * Remaps a mask and applies the unknown-label policy. A mask none of whose pixels the label map covers is refused
   * under either policy: it would be written as all ignore and teach nothing, and it means the wrong label map.
   */
  private Remapped remapChecked(BufferedImage mask) throws RejectedInputException {
    Remapped remapped = remap(mask);
    long n = (long) mask.getWidth() * mask.getHeight();
    if (remapped.unknownPixels > 0 && (unknownPolicy == UnknownLabelPolicy.REJECT || remapped.unknownPixels == n)) {
      throw new RejectedInputException(FailureReason.UNKNOWN_LABEL_VALUES, String.format(Locale.ROOT,
          "%s%d pixels carry %s not in label map '%s': %s", remapped.unknownPixels == n ? "every pixel is unknown: "
              : "", remapped.unknownPixels, remapped.colour ? "colours" : "values", labelMap.name(),
          remapped.unknownSample));
    }
    return remapped;
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
    if (bands.length == 1 || (bands.length >= 3 && isGreyInRgb(bands)
        && (!labelMap.hasColorTable() || !coversAllColours(bands)))) {
      // A grey mask saved as RGB (three equal channels) is read as grey values, unless the label map's colour
      // table knows every one of its colours (a colour table may legitimately hold greys such as black).
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
      throw new RejectedInputException(FailureReason.MASK_NOT_SINGLE_CHANNEL, String.format(Locale.ROOT,
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

  /** Whether the colour table maps every colour of an 8-bit RGB mask. */
  private boolean coversAllColours(int[][] bands) {
    int[] r = bands[0];
    int[] g = bands[1];
    int[] b = bands[2];
    int last = -1;
    for (int i = 0; i < r.length; i++) {
      int rgb = (r[i] << 16) | (g[i] << 8) | b[i];
      if (rgb != last) {
        if (labelMap.mapColor(rgb) == LabelMap.UNKNOWN) {
          return false;
        }
        last = rgb;
      }
    }
    return true;
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
