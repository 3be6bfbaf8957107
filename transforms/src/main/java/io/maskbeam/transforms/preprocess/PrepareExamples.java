package io.maskbeam.transforms.preprocess;

import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import io.maskbeam.dataset.ExamplePreparer;
import io.maskbeam.dataset.PreparedExample;
import io.maskbeam.dataset.RejectedInputException;
import io.maskbeam.image.InvalidImageException;
import io.maskbeam.raster.BandMapping;
import io.maskbeam.raster.RasterInfo;
import io.maskbeam.raster.RasterSource;
import io.maskbeam.transforms.common.FailureCoder;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Metrics;
import io.maskbeam.transforms.common.CoderFields;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads each pair from storage and turns it into a DeepLab tf.train.Example ({@link #EXAMPLES}), or a
 * {@link Failure} ({@link #REJECTED}) saying why not. Bad input never fails the bundle; storage faults are retried
 * by {@link Storage#readAll} before they become failures.
 *
 * <p>A TIFF that is more than a picture ({@link RasterInfo#beyondPicture}: georeferenced, nodata, not 8-bit, more
 * than 4 bands), or any TIFF once {@code --bands} or {@code --chipSize} is given, becomes raw-band examples
 * ({@link ExamplePreparer#prepareRaster}), several when it is cut into chips; it is read window by window.
 *
 * <pre>{@code
 * PCollectionTuple prepared = pairs.apply(PrepareExamples.with(preparer, outputDir));
 * }</pre>
 */
public final class PrepareExamples extends PTransform<PCollection<SampleRef>, PCollectionTuple> {
  public static final TupleTag<ExampleRecord> EXAMPLES = new TupleTag<>() {};
  public static final TupleTag<Failure> REJECTED = new TupleTag<>() {};
  /**
   * Summaries for dataset.json of what {@link #EXAMPLES} does not carry: the chips of large rasters (written straight
   * to temporary shard files, {@link #TEMP_FILES}) and inputs counted without an example.
   */
  public static final TupleTag<ExampleSummary> SUMMARIES = new TupleTag<>() {};
  /** Temporary files of framed chips of large rasters, for {@link WriteTfRecordShards#withPrewritten}. */
  public static final TupleTag<WriteTfRecordShards.TempFile> TEMP_FILES = new TupleTag<>() {};
  static final TupleTag<ChipRows> CHIP_ROWS = new TupleTag<>() {};

  private final ExamplePreparer preparer;
  private final BandMapping bands;
  private final ExamplePreparer.Chips chips;
  private final int stripeRows;
  private final String tempDir;

  private PrepareExamples(ExamplePreparer preparer, BandMapping bands, ExamplePreparer.Chips chips,
      int stripeRows, String tempDir) {
    if (stripeRows < 1) {
      throw new IllegalArgumentException("--rasterStripeRows must be positive, got " + stripeRows);
    }
    this.preparer = preparer;
    this.bands = bands;
    this.chips = chips;
    this.stripeRows = stripeRows;
    this.tempDir = tempDir;
  }

  /**
   * @param outputDir where the shards go: the chips of large rasters are written into its temporary folder as they
   *     are made ({@link #TEMP_FILES}), never held as elements
   */
  public static PrepareExamples with(ExamplePreparer preparer, String outputDir) {
    return new PrepareExamples(preparer, BandMapping.DEFAULT, ExamplePreparer.Chips.WHOLE, DEFAULT_STRIPE_ROWS,
        WriteTfRecordShards.tempDir(outputDir));
  }

  /** The bands of rasters to keep, in order, and the nodata value overriding the files' ({@code --bands}...). */
  public PrepareExamples withBandMapping(BandMapping bands) {
    return new PrepareExamples(preparer, bands, chips, stripeRows, tempDir);
  }

  /** Cuts rasters into training chips ({@code --chipSize}, {@code --chipOverlap}). */
  public PrepareExamples withChips(ExamplePreparer.Chips chips) {
    return new PrepareExamples(preparer, bands, chips, stripeRows, tempDir);
  }

  /**
   * Pixel rows of a chipped raster per unit of work (whole rows of chips, at least one): units are spread over
   * workers, and a worker holds one unit's examples at a time.
   */
  public PrepareExamples withStripeRows(int rows) {
    return new PrepareExamples(preparer, bands, chips, rows, tempDir);
  }

  @Override
  public PCollectionTuple expand(PCollection<SampleRef> pairs) {
    PCollectionTuple first = pairs.apply("Prepare", ParDo.of(new PrepareFn(preparer, bands, chips, stripeRows))
        .withOutputTags(EXAMPLES, TupleTagList.of(REJECTED).and(SUMMARIES).and(CHIP_ROWS)));
    first.get(REJECTED).setCoder(FailureCoder.of());
    first.get(SUMMARIES).setCoder(ExampleSummary.Coder.of());
    first.get(CHIP_ROWS).setCoder(ChipRows.Coder.of());
    PCollectionTuple units = first.get(CHIP_ROWS)
        .apply("SpreadChipRows", Reshuffle.viaRandomKey())
        .apply("PrepareChipRows", ParDo.of(new ChipRowsFn(preparer, bands, chips, tempDir))
            .withOutputTags(TEMP_FILES, TupleTagList.of(REJECTED).and(SUMMARIES)));
    units.get(REJECTED).setCoder(FailureCoder.of());
    units.get(SUMMARIES).setCoder(ExampleSummary.Coder.of());
    return PCollectionTuple.of(EXAMPLES, first.get(EXAMPLES))
        .and(REJECTED, PCollectionList.of(first.get(REJECTED)).and(units.get(REJECTED))
            .apply("AllRejected", Flatten.pCollections()).setCoder(FailureCoder.of()))
        .and(SUMMARIES, PCollectionList.of(first.get(SUMMARIES)).and(units.get(SUMMARIES))
            .apply("AllSummaries", Flatten.pCollections()).setCoder(ExampleSummary.Coder.of()))
        .and(TEMP_FILES, units.get(TEMP_FILES));
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("labelMap", preparer.labelMap().name()).withLabel("Label map"));
    if (!bands.isDefault()) {
      builder.add(DisplayData.item("bands", bands.describe()).withLabel("Raster bands"));
    }
    if (chips.size() > 0) {
      builder.add(DisplayData.item("chips", chips.size() + " px, overlap " + chips.overlap()).withLabel("Chips"));
    }
  }

  /** Pixel rows of a raster per unit of work by default (whole rows of chips, at least one). */
  public static final int DEFAULT_STRIPE_ROWS = 4096;

  /** Chip rows [from, to) of a raster of {@code rows} chip rows: one unit of work. */
  record ChipRows(SampleRef ref, int from, int to, int rows) {
    /** The explicit coder of {@link ChipRows}. */
    static final class Coder extends AtomicCoder<ChipRows> {
      private static final Coder INSTANCE = new Coder();

      static Coder of() {
        return INSTANCE;
      }

      @Override
      public void encode(ChipRows c, OutputStream out) throws IOException {
        SampleRef.Coder.of().encode(c.ref(), out);
        CoderFields.putInt(out, c.from());
        CoderFields.putInt(out, c.to());
        CoderFields.putInt(out, c.rows());
      }

      @Override
      public ChipRows decode(InputStream in) throws IOException {
        return new ChipRows(SampleRef.Coder.of().decode(in), CoderFields.getInt(in), CoderFields.getInt(in),
            CoderFields.getInt(in));
      }
    }
  }

  /** What both steps share: the preparer, the raster settings, the counters, emitting and rejecting. */
  abstract static class ExampleFn<T, O> extends DoFn<T, O> {
    private static final Logger LOG = LoggerFactory.getLogger(ExampleFn.class);
    final ExamplePreparer preparer;
    final BandMapping bands;
    final ExamplePreparer.Chips chips;
    final Counter noDataChips = counter(PreprocessMetrics.CHIPS_NO_DATA);
    private final Counter written = counter(PreprocessMetrics.EXAMPLES_WRITTEN);
    private final Counter allIgnore = counter(PreprocessMetrics.EXAMPLES_ALL_IGNORE);
    private final Counter rejected = counter(PreprocessMetrics.PAIRS_REJECTED);
    private final Counter bytesRead = counter(PreprocessMetrics.BYTES_READ);
    private final Counter unknownPixels = counter(PreprocessMetrics.UNKNOWN_LABEL_PIXELS);
    private final Distribution exampleBytes =
        Metrics.distribution(PreprocessMetrics.NAMESPACE, PreprocessMetrics.EXAMPLE_BYTES);

    ExampleFn(ExamplePreparer preparer, BandMapping bands, ExamplePreparer.Chips chips) {
      this.preparer = preparer;
      this.bands = bands;
      this.chips = chips;
    }

    private static Counter counter(String name) {
      return Metrics.counter(PreprocessMetrics.NAMESPACE, name);
    }

    /**
     * The chips of rows [from, to) of a raster and its mask (a single-band TIFF read by windows, else whole), each
     * handed to {@code sink} when made; returns the chips dropped for holding no data.
     */
    int chipRows(SampleRef ref, RasterSource raster, int from, int to, ExamplePreparer.ChipSink sink)
        throws RejectedInputException {
      RasterSource mask = openMaskRaster(ref.maskUri());
      if (mask == null) {
        return preparer.prepareRaster(ref.id(), raster, read(ref.maskUri(), FailureReason.MISSING_MASK, "mask"),
            bands, chips, from, to, sink);
      }
      try (mask) {
        return preparer.prepareRaster(ref.id(), raster, mask, bands, chips, from, to, sink);
      } catch (IOException e) {
        throw new RejectedInputException(FailureReason.MASK_UNREADABLE, "mask: " + e.getMessage(), e);
      }
    }

    /**
     * A single-band TIFF mask opened for windowed reading (so a raster and its mask are never whole in memory), or
     * null: another format or layout, read whole.
     */
    RasterSource openMaskRaster(String uri) throws RejectedInputException {
      if (uri == null || !RasterSource.handles(uri)) {
        return null;
      }
      try {
        RasterSource source = RasterSource.open(Storage.openSeekable(uri), uri);
        if (source.info().bands() == 1) {
          return source;
        }
        source.close();
        return null;
      } catch (IOException e) {
        throw new RejectedInputException(Storage.reasonFor(e, FailureReason.MISSING_MASK), "mask: " + e.getMessage(),
            e);
      } catch (InvalidImageException e) {
        return null; // the whole-file reader names what is wrong with it
      }
    }

    static RasterSource openRasterFile(String uri) throws RejectedInputException, InvalidImageException {
      try {
        return RasterSource.open(Storage.openSeekable(uri), uri);
      } catch (IOException e) {
        throw new RejectedInputException(Storage.reasonFor(e, FailureReason.MISSING_IMAGE), "image: "
            + e.getMessage(), e);
      }
    }

    void emit(SampleRef ref, PreparedExample p, boolean firstOfSource, int dropped, MultiOutputReceiver out) {
      out.get(EXAMPLES).output(new ExampleRecord(p.id(), ref.split(), p.example(), count(ref, p, firstOfSource,
          dropped)));
    }

    /** Counts a written example in the metrics; its summary for dataset.json. */
    ExampleSummary count(SampleRef ref, PreparedExample p, boolean firstOfSource, int dropped) {
      written.inc();
      if (p.allIgnore()) {
        allIgnore.inc();
        LOG.warn("example {} is written, but every pixel of its mask is the ignore value: it teaches nothing",
            p.id());
      }
      exampleBytes.update(p.example().length);
      unknownPixels.inc(p.unknownPixels());
      return new ExampleSummary(ref.split(), p.sourceWidth(), p.sourceHeight(), p.width(), p.height(),
          p.classPixels(), p.ignorePixels(), p.unknownPixels(), p.imageReencoded(), p.example().length, p.bands(),
          firstOfSource, dropped);
    }

    /** Counts an input (or a unit's dropped chips) for dataset.json without an example. */
    void emitSource(SampleRef ref, boolean firstOfSource, int dropped, MultiOutputReceiver out) {
      out.get(SUMMARIES).output(ExampleSummary.sourceOnly(ref.split(), preparer.labelMap().numClasses(),
          firstOfSource, dropped));
    }

    void reject(SampleRef ref, RejectedInputException e, MultiOutputReceiver out) {
      rejected.inc();
      Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.rejected(e.reason())).inc();
      Failure f = new Failure(Stage.PREPROCESS, ref.id(), ref.imageUri(), ref.files(), e.reason(), e.getMessage(),
          null);
      out.get(REJECTED).output(e.getCause() == null ? f : f.withException(e.getCause()));
    }

    byte[] read(String uri, FailureReason missing, String what) throws RejectedInputException {
      try {
        byte[] bytes = Storage.readAll(uri);
        bytesRead.inc(bytes.length);
        return bytes;
      } catch (IOException e) {
        throw new RejectedInputException(Storage.reasonFor(e, missing), what + ": " + e.getMessage(), e);
      }
    }

    static void closeQuietly(RasterSource source) {
      try {
        source.close();
      } catch (IOException ignored) {
        // read-only: nothing to lose
      }
    }
  }

  static final class PrepareFn extends ExampleFn<SampleRef, ExampleRecord> {
    private final int stripeRows;

    PrepareFn(ExamplePreparer preparer, BandMapping bands, ExamplePreparer.Chips chips, int stripeRows) {
      super(preparer, bands, chips);
      this.stripeRows = stripeRows;
    }

    @ProcessElement
    public void process(@Element SampleRef ref, MultiOutputReceiver out) {
      try {
        RasterSource raster = openRaster(ref.imageUri());
        if (raster != null) {
          try {
            prepareRaster(ref, raster, out);
          } finally {
            closeQuietly(raster);
          }
          return;
        }
        byte[] image = read(ref.imageUri(), FailureReason.MISSING_IMAGE, "image");
        PreparedExample p;
        if (ref.annotation() == null) {
          p = preparer.prepare(ref.id(), image, read(ref.maskUri(), FailureReason.MISSING_MASK, "mask"));
        } else {
          p = preparer.prepareAnnotated(ref.id(), image,
              CarriedAnnotation.resolve(ref.annotation(), ref.maskUri(), preparer, FailureReason.MISSING_MASK));
        }
        emit(ref, p, true, 0, out);
      } catch (RejectedInputException e) {
        reject(ref, e, out);
      }
    }

    /**
     * The raster of a TIFF that goes the raster way, or null: not a TIFF, a plain picture (read as a photo), or
     * unreadable as a raster (the photo path says why).
     */
    private RasterSource openRaster(String uri) throws RejectedInputException {
      if (!RasterSource.handles(uri)) {
        return null;
      }
      RasterSource source;
      try {
        source = openRasterFile(uri);
      } catch (InvalidImageException e) {
        if (e.kind() == InvalidImageException.Kind.UNREADABLE) {
          return null;
        }
        throw new RejectedInputException(FailureReason.of(e.kind(), FailureReason.Part.IMAGE), "image: "
            + e.getMessage(), e);
      }
      RasterInfo info = source.info();
      if (info.beyondPicture() || !bands.isDefault() || chips.size() > 0) {
        return source;
      }
      closeQuietly(source);
      return null;
    }

    private int unitRows(RasterInfo info) {
      int bandCount = bands.bands() != null ? bands.bands().length : info.bands();
      return PrepareExamples.unitRows(info, chips, stripeRows, bandCount);
    }

    /**
     * A raster of one unit (at most {@link #MAX_UNIT_BYTES} of chips) is prepared here; a larger one is checked
     * here (bands, type, mask header) and cut into units of chip rows that the runner spreads over workers
     * ({@link ChipRowsFn}), which write their chips into temporary shard files: a runner keeps an element's outputs
     * until its bundle commits, so a raster's chips as outputs of one element would all be in memory at once.
     */
    private void prepareRaster(SampleRef ref, RasterSource raster, MultiOutputReceiver out)
        throws RejectedInputException {
      RasterInfo info = raster.info();
      if (ref.annotation() != null) {
        throw new RejectedInputException(FailureReason.INVALID_ANNOTATION, "rasters are labelled by mask files;"
            + " annotation shapes on a raster (" + info.describe() + ") are not supported");
      }
      preparer.checkRaster(info, bands, chips);
      int rows = chips.size() == 0 ? 1 : chips.rows(info.height());
      int perUnit = chips.size() == 0 ? 1 : unitRows(info);
      if (rows <= perUnit) {
        // One unit: small enough to hold, so an all-nodata raster is one NO_DATA failure rather than no record.
        java.util.List<PreparedExample> examples = new java.util.ArrayList<>();
        int dropped = chipRows(ref, raster, 0, rows, examples::add);
        noDataChips.inc(dropped);
        if (examples.isEmpty()) {
          throw new RejectedInputException(FailureReason.NO_DATA, "image: every pixel of the raster is nodata ("
              + info.describe() + (chips.size() > 0 ? ", " + dropped + " chips" : "") + ")");
        }
        for (int i = 0; i < examples.size(); i++) {
          emit(ref, examples.get(i), i == 0, i == 0 ? dropped : 0, out);
        }
        return;
      }
      RasterSource mask = openMaskRaster(ref.maskUri());
      if (mask != null) {
        try {
          preparer.checkMask(info, mask.info());
        } finally {
          closeQuietly(mask);
        }
      } else {
        preparer.checkMask(info, read(ref.maskUri(), FailureReason.MISSING_MASK, "mask"));
      }
      emitSource(ref, true, 0, out);
      for (int from = 0; from < rows; from += perUnit) {
        out.get(CHIP_ROWS).output(new ChipRows(ref, from, Math.min(rows, from + perUnit), rows));
      }
    }
  }

  /** Bytes of examples a unit of chip rows makes at most, whatever --rasterStripeRows asks (work per element). */
  static final long MAX_UNIT_BYTES = 32L << 20;

  /**
   * Chip rows per unit: the rows of {@code stripeRows} pixel rows, fewer when a unit's examples would exceed
   * {@link #MAX_UNIT_BYTES} (wide rasters of many bands), at least one.
   */
  static int unitRows(RasterInfo info, ExamplePreparer.Chips chips, int stripeRows, int bands) {
    int byRows = Math.max(1, stripeRows / (chips.size() - chips.overlap()));
    long rowBytes = (long) chips.rows(info.width()) * chips.size() * chips.size() * bands * info.type().bytes();
    return (int) Math.max(1, Math.min(byRows, MAX_UNIT_BYTES / Math.max(1, rowBytes)));
  }

  /**
   * One unit of chip rows of a large raster: its chips are written into temporary shard files as they are made
   * ({@link #TEMP_FILES}), only their summaries leave as elements, so neither a worker nor the runner holds a
   * raster's examples. A row that fails (a corrupt tile, an unknown label under the reject policy) ends its unit
   * with one dead letter naming the rows not written; the raster's other units are written.
   */
  static final class ChipRowsFn extends ExampleFn<ChipRows, WriteTfRecordShards.TempFile> {
    private final String tempDir;
    private transient WriteTfRecordShards.BundleFiles files;

    ChipRowsFn(ExamplePreparer preparer, BandMapping bands, ExamplePreparer.Chips chips, String tempDir) {
      super(preparer, bands, chips);
      this.tempDir = tempDir;
    }

    @StartBundle
    public void startBundle() {
      files = new WriteTfRecordShards.BundleFiles(tempDir);
    }

    @FinishBundle
    public void finishBundle(FinishBundleContext context) throws IOException {
      for (WriteTfRecordShards.TempFile f : files.close()) {
        context.output(TEMP_FILES, f, GlobalWindow.INSTANCE.maxTimestamp(), GlobalWindow.INSTANCE);
      }
      files = null;
    }

    /** Writes a chip into this bundle's temporary file of its split; only its summary leaves the DoFn. */
    private void write(SampleRef ref, PreparedExample p, MultiOutputReceiver out) {
      try {
        files.write(ref.split(), p.example());
      } catch (IOException e) {
        throw new java.io.UncheckedIOException("cannot write chip " + p.id() + " to " + tempDir, e);
      }
      out.get(SUMMARIES).output(count(ref, p, false, 0));
    }

    @ProcessElement
    public void process(@Element ChipRows unit, MultiOutputReceiver out) {
      SampleRef ref = unit.ref();
      RasterSource raster = null;
      try {
        try {
          raster = openRasterFile(ref.imageUri());
        } catch (InvalidImageException e) {
          throw new RejectedInputException(FailureReason.of(e.kind(), FailureReason.Part.IMAGE), "image: "
              + e.getMessage(), e);
        }
        // The whole unit in one call: the mask is opened (or a PNG mask decoded) once per unit, not per row.
        int dropped = chipRows(ref, raster, unit.from(), unit.to(), p -> write(ref, p, out));
        noDataChips.inc(dropped);
        if (dropped > 0) {
          emitSource(ref, false, dropped, out);
        }
      } catch (RejectedInputException e) {
        // The message names the window that failed; chips of the unit made before it are written.
        reject(ref, new RejectedInputException(e.reason(), "chip rows " + unit.from() + ".." + (unit.to() - 1)
            + " of " + unit.rows() + " not written from the failure on (the raster's other rows are): "
            + e.getMessage(), e.getCause()), out);
      } finally {
        if (raster != null) {
          closeQuietly(raster);
        }
      }
    }
  }
}
