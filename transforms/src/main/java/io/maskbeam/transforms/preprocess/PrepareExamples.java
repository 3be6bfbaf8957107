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
import org.apache.beam.sdk.transforms.DoFn;
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
 * PCollectionTuple prepared = pairs.apply(PrepareExamples.with(preparer));
 * }</pre>
 */
public final class PrepareExamples extends PTransform<PCollection<SampleRef>, PCollectionTuple> {
  public static final TupleTag<ExampleRecord> EXAMPLES = new TupleTag<>() {};
  public static final TupleTag<Failure> REJECTED = new TupleTag<>() {};

  private final ExamplePreparer preparer;
  private final BandMapping bands;
  private final ExamplePreparer.Chips chips;

  private PrepareExamples(ExamplePreparer preparer, BandMapping bands, ExamplePreparer.Chips chips) {
    this.preparer = preparer;
    this.bands = bands;
    this.chips = chips;
  }

  public static PrepareExamples with(ExamplePreparer preparer) {
    return new PrepareExamples(preparer, BandMapping.DEFAULT, ExamplePreparer.Chips.WHOLE);
  }

  /** The bands of rasters to keep, in order, and the nodata value overriding the files' ({@code --bands}...). */
  public PrepareExamples withBandMapping(BandMapping bands) {
    return new PrepareExamples(preparer, bands, chips);
  }

  /** Cuts rasters into training chips ({@code --chipSize}, {@code --chipOverlap}). */
  public PrepareExamples withChips(ExamplePreparer.Chips chips) {
    return new PrepareExamples(preparer, bands, chips);
  }

  @Override
  public PCollectionTuple expand(PCollection<SampleRef> pairs) {
    PCollectionTuple out = pairs.apply("Prepare", ParDo.of(new PrepareFn(preparer, bands, chips))
        .withOutputTags(EXAMPLES, TupleTagList.of(REJECTED)));
    out.get(REJECTED).setCoder(FailureCoder.of());
    return out;
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

  static final class PrepareFn extends DoFn<SampleRef, ExampleRecord> {
    private static final Logger LOG = LoggerFactory.getLogger(PrepareFn.class);
    private final ExamplePreparer preparer;
    private final BandMapping bands;
    private final ExamplePreparer.Chips chips;
    private final Counter noDataChips = counter(PreprocessMetrics.CHIPS_NO_DATA);
    private final Counter written = counter(PreprocessMetrics.EXAMPLES_WRITTEN);
    private final Counter allIgnore = counter(PreprocessMetrics.EXAMPLES_ALL_IGNORE);
    private final Counter rejected = counter(PreprocessMetrics.PAIRS_REJECTED);
    private final Counter bytesRead = counter(PreprocessMetrics.BYTES_READ);
    private final Counter unknownPixels = counter(PreprocessMetrics.UNKNOWN_LABEL_PIXELS);
    private final Distribution exampleBytes =
        Metrics.distribution(PreprocessMetrics.NAMESPACE, PreprocessMetrics.EXAMPLE_BYTES);

    PrepareFn(ExamplePreparer preparer, BandMapping bands, ExamplePreparer.Chips chips) {
      this.preparer = preparer;
      this.bands = bands;
      this.chips = chips;
    }

    private static Counter counter(String name) {
      return Metrics.counter(PreprocessMetrics.NAMESPACE, name);
    }

    @ProcessElement
    public void process(@Element SampleRef ref, MultiOutputReceiver out) {
      try {
        RasterSource raster = openRaster(ref.imageUri());
        if (raster != null) {
          try (raster) {
            prepareRaster(ref, raster, out);
          } catch (IOException e) {
            LOG.debug("closing {}", ref.imageUri(), e); // read-only: nothing lost
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
        source = RasterSource.open(Storage.openSeekable(uri), uri);
      } catch (IOException e) {
        throw new RejectedInputException(Storage.reasonFor(e, FailureReason.MISSING_IMAGE), "image: "
            + e.getMessage(), e);
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
      try {
        source.close();
      } catch (IOException ignored) {
        // read-only
      }
      return null;
    }

    private void prepareRaster(SampleRef ref, RasterSource raster, MultiOutputReceiver out)
        throws RejectedInputException {
      if (ref.annotation() != null) {
        throw new RejectedInputException(FailureReason.INVALID_ANNOTATION, "rasters are labelled by mask files;"
            + " annotation shapes on a raster (" + raster.info().describe() + ") are not supported");
      }
      ExamplePreparer.RasterExamples r = preparer.prepareRaster(ref.id(), raster,
          read(ref.maskUri(), FailureReason.MISSING_MASK, "mask"), bands, chips);
      noDataChips.inc(r.noDataChips());
      if (r.examples().isEmpty()) {
        throw new RejectedInputException(FailureReason.NO_DATA, "image: every pixel of the raster is nodata ("
            + raster.info().describe() + (chips.size() > 0 ? ", " + r.noDataChips() + " chips" : "") + ")");
      }
      for (int i = 0; i < r.examples().size(); i++) {
        emit(ref, r.examples().get(i), i == 0, i == 0 ? r.noDataChips() : 0, out);
      }
    }

    private void emit(SampleRef ref, PreparedExample p, boolean firstOfSource, int dropped, MultiOutputReceiver out) {
      written.inc();
      if (p.allIgnore()) {
        allIgnore.inc();
        LOG.warn("example {} is written, but every pixel of its mask is the ignore value: it teaches nothing",
            p.id());
      }
      exampleBytes.update(p.example().length);
      unknownPixels.inc(p.unknownPixels());
      out.get(EXAMPLES).output(new ExampleRecord(p.id(), ref.split(), p.example(), new ExampleSummary(
          ref.split(), p.sourceWidth(), p.sourceHeight(), p.width(), p.height(), p.classPixels(), p.ignorePixels(),
          p.unknownPixels(), p.imageReencoded(), p.example().length, p.bands(), firstOfSource, dropped)));
    }

    private void reject(SampleRef ref, RejectedInputException e, MultiOutputReceiver out) {
      rejected.inc();
      Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.rejected(e.reason())).inc();
      Failure f = new Failure(Stage.PREPROCESS, ref.id(), ref.imageUri(), ref.files(), e.reason(), e.getMessage(),
          null);
      out.get(REJECTED).output(e.getCause() == null ? f : f.withException(e.getCause()));
    }

    private byte[] read(String uri, FailureReason missing, String what) throws RejectedInputException {
      try {
        byte[] bytes = Storage.readAll(uri);
        bytesRead.inc(bytes.length);
        return bytes;
      } catch (IOException e) {
        throw new RejectedInputException(Storage.reasonFor(e, missing), what + ": " + e.getMessage(), e);
      }
    }
  }
}
