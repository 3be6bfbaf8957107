package io.maskbeam.dataset;

import io.maskbeam.annotations.ImageAnnotation;
import io.maskbeam.annotations.Region;
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
    // Sizes first: a mask of another size is SIZE_MISMATCH before any pixel is remapped.
    boolean turn = turnsWithPhoto(mask.getWidth(), mask.getHeight(), photo);
    Remapped remapped = remapChecked(mask);
    LabelImage stored = new LabelImage(mask.getWidth(), mask.getHeight(), remapped.labels);
    LabelImage classes = turn ? ExifOrientation.apply(stored, photo.orientation()) : stored;
    return build(id, imageBytes, photo, classes, remapped.unknownPixels);
  }

  /**
   * As {@link #prepare}, with the mask drawn from annotation regions ({@link ImageAnnotation#rasterize}) instead of
   * read from a file. The regions are taken to be drawn on the upright photo, or on the stored pixels when the
   * annotation states the stored size (the EXIF rule of {@link #prepare}); an annotation stating a size that is
   * neither is SIZE_MISMATCH, as is an RLE of another size. Categories the label map does not cover follow the
   * unknown-label policy, named in the message.
   */
  public PreparedExample prepareAnnotated(String id, byte[] imageBytes, ImageAnnotation annotation)
      throws RejectedInputException {
    header(imageBytes, Part.IMAGE);
    ImageLoader.Photo photo = load(imageBytes);
    Annotated a = rasterize(annotation, photo);
    return build(id, imageBytes, photo, a.classes(), a.unknownPixels());
  }

  /**
   * An annotation that is a colour-coded mask file with a colour per label ({@link ImageAnnotation#needsMask}) with
   * that file's regions, decoded as masks are (header check, pixel limit).
   */
  public ImageAnnotation withMask(ImageAnnotation annotation, byte[] maskBytes) throws RejectedInputException {
    header(maskBytes, Part.MASK);
    BufferedImage mask = decodeMask(maskBytes);
    int[][] bands = ImageCodec.rawBands(mask);
    int shift = Math.max(0, mask.getSampleModel().getSampleSize(0) - 8);
    int[] rgb = new int[bands[0].length];
    for (int i = 0; i < rgb.length; i++) {
      rgb[i] = bands.length >= 3
          ? ((bands[0][i] >> shift) << 16) | ((bands[1][i] >> shift) << 8) | (bands[2][i] >> shift)
          : io.maskbeam.labels.LabelClass.packRgb(bands[0][i] >> shift, bands[0][i] >> shift, bands[0][i] >> shift);
    }
    return annotation.withMask(rgb, mask.getWidth(), mask.getHeight());
  }

  /**
   * An annotation's class mask in the photo's upright frame, with the checks of {@link #prepareAnnotated}: what
   * {@code evaluate} compares predictions with.
   */
  public LabelImage groundTruthFor(ImageAnnotation annotation, ImageLoader.Photo photo)
      throws RejectedInputException {
    return rasterize(annotation, photo).classes();
  }

  private record Annotated(LabelImage classes, long unknownPixels) {}

  private Annotated rasterize(ImageAnnotation annotation, ImageLoader.Photo photo) throws RejectedInputException {
    int w = annotation.width() > 0 ? annotation.width() : photo.image().width();
    int h = annotation.height() > 0 ? annotation.height() : photo.image().height();
    boolean turn = turnsWithPhoto(w, h, photo);
    ImageAnnotation.Rasterized r;
    try {
      r = annotation.rasterize(labelMap, w, h);
    } catch (Region.AnnotationSizeException e) {
      throw new RejectedInputException(FailureReason.SIZE_MISMATCH, e.getMessage());
    }
    long n = (long) w * h;
    if (r.unknownPixels() > 0 && (unknownPolicy == UnknownLabelPolicy.REJECT || r.unknownPixels() == n)) {
      throw new RejectedInputException(FailureReason.UNKNOWN_LABEL_VALUES, String.format(Locale.ROOT,
          "%s%d pixels carry categories not in label map '%s': %s", r.unknownPixels() == n
              ? "every pixel is unknown: " : "", r.unknownPixels(), labelMap.name(), r.unknownSample()));
    }
    LabelImage stored = new LabelImage(w, h, r.classes());
    return new Annotated(turn ? ExifOrientation.apply(stored, photo.orientation()) : stored, r.unknownPixels());
  }

  private PreparedExample build(String id, byte[] imageBytes, ImageLoader.Photo photo, LabelImage classes,
      long unknownPixels) {
    RgbImage upright = photo.image();
    int w = upright.width();
    int h = upright.height();
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
        unknownPixels, reencoded, photo.orientation(), null);
  }

  /** How a raster is cut into training chips: squares of {@code size} overlapping by {@code overlap}; 0: whole. */
  public record Chips(int size, int overlap) implements Serializable {
    public static final Chips WHOLE = new Chips(0, 0);

    public Chips {
      if (size < 0 || overlap < 0 || (size > 0 && overlap >= size)) {
        throw new IllegalArgumentException("--chipSize must be >= 0 and --chipOverlap in [0, chipSize), got "
            + size + " and " + overlap);
      }
    }

    /** Rows of chips a raster of {@code height} is cut into. */
    public int rows(int height) {
      return origins(height).length;
    }

    /** Chip origins along an axis of {@code length}: every step, the last one flush with the end. */
    int[] origins(int length) {
      if (size == 0 || length <= size) {
        return new int[] {0};
      }
      int step = size - overlap;
      int n = (length - size + step - 1) / step + 1;
      int[] o = new int[n];
      for (int i = 0; i < n; i++) {
        o[i] = Math.min(i * step, length - size);
      }
      return o;
    }
  }

  /** The examples of one raster, and how many of its chips held no data at all (dropped). */
  public record RasterExamples(java.util.List<PreparedExample> examples, int noDataChips) {}

  /**
   * Turns a raster and its mask into raw-band examples (see {@link DeepLabExample#IMAGE_DTYPE}): the chosen bands
   * in the raster's own sample type, nothing stretched or resized; pixels with no data are the ignore value in the
   * labels. Cut into chips when asked; chips without a pixel of data are dropped and counted. Windows are read one
   * chip at a time; the mask is decoded whole, under the pixel limit.
   */
  public RasterExamples prepareRaster(String id, io.maskbeam.raster.RasterSource raster, byte[] maskBytes,
      io.maskbeam.raster.BandMapping bands, Chips chips) throws RejectedInputException {
    java.util.List<PreparedExample> out = new java.util.ArrayList<>();
    int dropped = prepareRaster(id, raster, maskBytes, bands, chips, 0, Integer.MAX_VALUE, out::add);
    return new RasterExamples(java.util.List.copyOf(out), dropped);
  }

  /** Receives a raster's examples one by one, as each chip is made (a worker never holds a raster's examples). */
  public interface ChipSink {
    void accept(PreparedExample example);
  }

  /**
   * The chips of rows {@code [fromRow, toRow)} of {@link Chips#rows} (a unit of a raster spread over workers), each
   * handed to {@code sink} when made; returns the chips dropped for holding no data.
   */
  public int prepareRaster(String id, io.maskbeam.raster.RasterSource raster, byte[] maskBytes,
      io.maskbeam.raster.BandMapping bands, Chips chips, int fromRow, int toRow, ChipSink sink)
      throws RejectedInputException {
    checkRaster(raster.info(), bands, chips);
    header(maskBytes, Part.MASK);
    BufferedImage mask = decodeMask(maskBytes);
    checkMaskSize(raster.info(), mask.getWidth(), mask.getHeight());
    Remapped remapped = remapChecked(mask);
    int width = mask.getWidth();
    LabelWindows labels = new LabelWindows() {
      @Override
      public byte[] read(int x0, int y0, int w, int h) {
        byte[] out = new byte[w * h];
        for (int y = 0; y < h; y++) {
          System.arraycopy(remapped.labels, (y0 + y) * width + x0, out, y * w, w);
        }
        return out;
      }

      @Override
      public long unknownPixels() {
        return remapped.unknownPixels;
      }
    };
    return chipsOf(id, raster, labels, bands, chips, fromRow, toRow, sink);
  }

  /**
   * As {@link #prepareRaster(String, io.maskbeam.raster.RasterSource, byte[], io.maskbeam.raster.BandMapping,
   * Chips)} with a single-band TIFF mask read window by window too, so neither file is ever whole in memory: the
   * way for rasters larger than the pixel limit. Values are remapped chip by chip; under the reject policy the first
   * unknown value refuses the raster.
   */
  public RasterExamples prepareRaster(String id, io.maskbeam.raster.RasterSource raster,
      io.maskbeam.raster.RasterSource mask, io.maskbeam.raster.BandMapping bands, Chips chips)
      throws RejectedInputException {
    java.util.List<PreparedExample> out = new java.util.ArrayList<>();
    long[] unknown = {0};
    int dropped = prepareRaster(id, raster, mask, bands, chips, 0, Integer.MAX_VALUE, e -> {
      out.add(e);
      unknown[0] += e.unknownPixels();
    });
    long labelled = out.stream().mapToLong(e -> java.util.Arrays.stream(e.classPixels()).sum()).sum();
    if (labelled == 0 && unknown[0] > 0) {
      throw new RejectedInputException(FailureReason.UNKNOWN_LABEL_VALUES, "every pixel with data is unknown: "
          + unknown[0] + " pixels carry values not in label map '" + labelMap.name() + "'");
    }
    return new RasterExamples(java.util.List.copyOf(out), dropped);
  }

  /**
   * The chips of rows {@code [fromRow, toRow)} of {@link Chips#rows}, with a mask read window by window, each
   * handed to {@code sink} when made; returns the chips dropped for holding no data.
   */
  public int prepareRaster(String id, io.maskbeam.raster.RasterSource raster,
      io.maskbeam.raster.RasterSource mask, io.maskbeam.raster.BandMapping bands, Chips chips, int fromRow,
      int toRow, ChipSink sink) throws RejectedInputException {
    checkRaster(raster.info(), bands, chips);
    checkMask(raster.info(), mask.info());
    long[] unknown = {0};
    LabelWindows labels = new LabelWindows() {
      @Override
      public byte[] read(int x0, int y0, int w, int h) throws RejectedInputException {
        int[] values;
        try {
          values = mask.read(x0, y0, w, h).getSamples(0, 0, w, h, 0, (int[]) null);
        } catch (InvalidImageException e) {
          throw rejection(e, Part.MASK);
        }
        Remapped r = remapValues(values);
        if (r.unknownPixels > 0 && unknownPolicy == UnknownLabelPolicy.REJECT) {
          throw new RejectedInputException(FailureReason.UNKNOWN_LABEL_VALUES, String.format(Locale.ROOT,
              "%d pixels of the window %dx%d at (%d, %d) carry values not in label map '%s': %s", r.unknownPixels,
              w, h, x0, y0, labelMap.name(), r.unknownSample));
        }
        unknown[0] += r.unknownPixels;
        return r.labels;
      }

      @Override
      public long unknownPixels() {
        return unknown[0];
      }
    };
    return chipsOf(id, raster, labels, bands, chips, fromRow, toRow, sink);
  }

  /** The class ids of a mask, window by window. */
  private interface LabelWindows {
    byte[] read(int x, int y, int w, int h) throws RejectedInputException;

    /** Pixels whose value the label map did not cover, among those read so far. */
    long unknownPixels();
  }

  /** A raster mask's header checks, before any chip is read: one band of integers, the raster's size. */
  public void checkMask(io.maskbeam.raster.RasterInfo raster, io.maskbeam.raster.RasterInfo mask)
      throws RejectedInputException {
    if (mask.bands() != 1 || mask.type().isFloat()) {
      throw new RejectedInputException(FailureReason.MASK_NOT_SINGLE_CHANNEL, "mask: a raster mask holds one band"
          + " of integer class values; this one is " + mask.describe());
    }
    checkMaskSize(raster, mask.width(), mask.height());
  }

  /** A mask file's header checks (decodable header, the raster's size), before any chip is read. */
  public void checkMask(io.maskbeam.raster.RasterInfo raster, byte[] maskBytes) throws RejectedInputException {
    try {
      io.maskbeam.image.ImageHeader h = loader.header(maskBytes);
      checkMaskSize(raster, h.width(), h.height());
    } catch (InvalidImageException e) {
      throw rejection(e, Part.MASK);
    }
  }

  private static void checkMaskSize(io.maskbeam.raster.RasterInfo info, int w, int h) throws RejectedInputException {
    if (w != info.width() || h != info.height()) {
      throw new RejectedInputException(FailureReason.SIZE_MISMATCH, String.format(Locale.ROOT,
          "image is %dx%d but mask is %dx%d", info.width(), info.height(), w, h));
    }
  }

  /** Refuses bands the raster lacks, a sample type TensorFlow cannot decode, a raster too large for one example. */
  public void checkRaster(io.maskbeam.raster.RasterInfo info, io.maskbeam.raster.BandMapping bands, Chips chips)
      throws RejectedInputException {
    if (chips.size() == 0 && info.pixels() > loader.maxPixels()) {
      // One example is one tensor in memory when training: a raster this large is cut into chips instead.
      throw new RejectedInputException(FailureReason.IMAGE_TOO_MANY_PIXELS, String.format(Locale.ROOT,
          "image: a %dx%d raster exceeds the pixel limit (%,d) as one example; cut it into chips with --chipSize",
          info.width(), info.height(), loader.maxPixels()));
    }
    int[] numbers = bands.bands() != null ? bands.bands() : new int[0];
    for (int b : numbers) {
      if (b > info.bands()) {
        throw new RejectedInputException(FailureReason.BAND_MISMATCH, "--bands asks for band " + b + " of a "
            + info.bands() + "-band raster (" + info.describe() + ")");
      }
    }
    if (!info.type().decodableByTensorFlow()) {
      throw new RejectedInputException(FailureReason.BAND_MISMATCH, "image: " + info.type().label() + " samples"
          + " have no TensorFlow decode_raw type; convert the raster to float32 or int32");
    }
  }

  private int chipsOf(String id, io.maskbeam.raster.RasterSource raster, LabelWindows mask,
      io.maskbeam.raster.BandMapping bands, Chips chips, int fromRow, int toRow, ChipSink sink)
      throws RejectedInputException {
    io.maskbeam.raster.RasterInfo info = raster.info();
    int[] numbers = bands.bands() != null ? bands.bands()
        : java.util.stream.IntStream.rangeClosed(1, info.bands()).toArray();
    io.maskbeam.raster.BandMapping read = bands.withDefaultBands(numbers);
    io.maskbeam.raster.SampleType type = info.type();
    int n = numbers.length;
    int ignore = labelMap.ignoreValue();
    int dropped = 0;
    long unknownCounted = 0;
    int[] all = chips.origins(info.height());
    int[] ys = java.util.Arrays.copyOfRange(all, Math.min(fromRow, all.length), Math.min(toRow, all.length));
    int[] xs = chips.origins(info.width());
    for (int y0 : ys) {
      for (int x0 : xs) {
        int w = Math.min(chips.size() == 0 ? info.width() : chips.size(), info.width() - x0);
        int h = Math.min(chips.size() == 0 ? info.height() : chips.size(), info.height() - y0);
        java.awt.image.Raster window;
        try {
          window = raster.read(x0, y0, w, h);
        } catch (InvalidImageException e) {
          throw rejection(e, Part.IMAGE);
        }
        io.maskbeam.raster.BandMapping.BandWindow bw = read.toBands(window, info);
        if (bw.noDataPixels() == w * h) {
          dropped++;
          continue;
        }
        java.nio.ByteBuffer samples = java.nio.ByteBuffer.allocate(w * h * n * type.bytes())
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        double[] row = new double[w];
        for (int c = 0; c < n; c++) {
          for (int y = 0; y < h; y++) {
            window.getSamples(window.getMinX(), window.getMinY() + y, w, 1, numbers[c] - 1, row);
            for (int x = 0; x < w; x++) {
              samples.position(((y * w + x) * n + c) * type.bytes());
              type.put(samples, row[x]);
            }
          }
        }
        byte[] labels = mask.read(x0, y0, w, h);
        long[] classPixels = new long[labelMap.numClasses()];
        long ignorePixels = 0;
        for (int y = 0; y < h; y++) {
          for (int x = 0; x < w; x++) {
            int p = y * w + x;
            int v = labels[p] & 0xFF;
            if (bw.noData() != null && bw.noData()[p]) {
              v = ignore;
            }
            labels[p] = (byte) v;
            if (v == ignore) {
              ignorePixels++;
            } else {
              classPixels[v]++;
            }
          }
        }
        BandStatistics stats = new BandStatistics(type.label(), numbers);
        stats.addAll(bw.image().samples(), bw.noData());
        String chipId = chips.size() == 0 ? id : id + "_y" + y0 + "_x" + x0;
        byte[] example = DeepLabExample.buildRaw(chipId, h, w, n, type.label(), samples.array(),
            ImageCodec.encodePng(new LabelImage(w, h, labels)));
        // Unknown pixels are counted once: each example carries those found since the previous one was written.
        sink.accept(new PreparedExample(chipId, example, DeepLabExample.RAW_FORMAT, w, h, info.width(), info.height(),
            classPixels, ignorePixels, mask.unknownPixels() - unknownCounted, false, ExifOrientation.NORMAL, stats));
        unknownCounted = mask.unknownPixels();
      }
    }
    return dropped;
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
    return turnsWithPhoto(classes.width(), classes.height(), photo)
        ? ExifOrientation.apply(classes, photo.orientation()) : classes;
  }

  /**
   * Whether a mask of this size is turned with its photo (it has the stored, unturned size), is used as it is (the
   * upright size), or neither: SIZE_MISMATCH.
   */
  private static boolean turnsWithPhoto(int maskWidth, int maskHeight, ImageLoader.Photo photo)
      throws RejectedInputException {
    int w = photo.image().width();
    int h = photo.image().height();
    if (maskWidth == w && maskHeight == h) {
      return false;
    }
    if (photo.orientation() != ExifOrientation.NORMAL && maskWidth == photo.storedWidth()
        && maskHeight == photo.storedHeight()) {
      return true;
    }
    throw new RejectedInputException(FailureReason.SIZE_MISMATCH, String.format(Locale.ROOT,
        "image is %dx%d%s but mask is %dx%d", w, h, photo.orientation() == ExifOrientation.NORMAL ? ""
            : " (upright by its EXIF orientation " + photo.orientation() + ")", maskWidth, maskHeight));
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

  /**
   * Maps raw mask values (or colours) to class ids, counting what the label map does not cover. An RGB mask goes
   * through the colour table when the label map has one; a grey mask saved as RGB (three equal channels) whose
   * colours the table does not all know is read as grey values instead (a colour table may hold greys too).
   */
  private Remapped remap(BufferedImage mask) throws RejectedInputException {
    int[][] bands = ImageCodec.rawBands(mask);
    if (bands.length == 1) {
      return remapValues(bands[0]);
    }
    if (bands.length >= 3 && labelMap.hasColorTable()) {
      Remapped colours = remapColours(bands, Math.max(0, mask.getSampleModel().getSampleSize(0) - 8));
      return colours.unknownPixels > 0 && isGreyInRgb(bands) ? remapValues(bands[0]) : colours;
    }
    if (bands.length >= 3 && isGreyInRgb(bands)) {
      return remapValues(bands[0]);
    }
    throw new RejectedInputException(FailureReason.MASK_NOT_SINGLE_CHANNEL, String.format(Locale.ROOT,
        "mask has %d channels; give a label map with class colours (or \"colors\") to convert colour-coded masks",
        bands.length));
  }

  private Remapped remapValues(int[] raw) {
    byte[] out = new byte[raw.length];
    byte ignore = (byte) labelMap.ignoreValue();
    Unknown unknown = new Unknown(false);
    for (int i = 0; i < raw.length; i++) {
      int c = labelMap.mapRaw(raw[i]);
      out[i] = c == LabelMap.UNKNOWN ? unknown.add(raw[i], ignore) : (byte) c;
    }
    return unknown.result(out);
  }

  /** Through the colour table; {@code shift} brings 16-bit samples to 8 bits. */
  private Remapped remapColours(int[][] bands, int shift) {
    int[] r = bands[0];
    int[] g = bands[1];
    int[] b = bands[2];
    byte[] out = new byte[r.length];
    byte ignore = (byte) labelMap.ignoreValue();
    Unknown unknown = new Unknown(true);
    int lastRgb = -1;
    int lastClass = 0;
    for (int i = 0; i < r.length; i++) {
      int rgb = ((r[i] >> shift) << 16) | ((g[i] >> shift) << 8) | (b[i] >> shift);
      if (rgb != lastRgb) {
        lastClass = labelMap.mapColor(rgb); // masks are piecewise constant; runs skip the hash lookup
        lastRgb = rgb;
      }
      out[i] = lastClass == LabelMap.UNKNOWN ? unknown.add(rgb, ignore) : (byte) lastClass;
    }
    return unknown.result(out);
  }

  /** Counts unknown pixels and keeps a sample of their values for the message. */
  private static final class Unknown {
    private final boolean colour;
    private final TreeMap<Integer, Long> sample = new TreeMap<>();
    private long pixels;

    Unknown(boolean colour) {
      this.colour = colour;
    }

    byte add(int value, byte ignore) {
      pixels++;
      if (sample.size() < 8 || sample.containsKey(value)) {
        sample.merge(value, 1L, Long::sum);
      }
      return ignore;
    }

    Remapped result(byte[] labels) {
      StringBuilder text = new StringBuilder();
      sample.forEach((v, count) -> {
        if (text.length() > 0) {
          text.append(", ");
        }
        text.append(colour ? String.format(Locale.ROOT, "#%06x", v) : Integer.toString(v)).append(" (")
            .append(count).append(" px)");
      });
      return new Remapped(labels, pixels, text.toString(), colour);
    }
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
