package io.maskbeam.transforms.segment;

import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import io.maskbeam.image.InvalidImageException;
import io.maskbeam.image.LabelImage;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.models.infer.InferenceSettings;
import io.maskbeam.models.infer.MaskRendering;
import io.maskbeam.models.infer.RasterSegmenter;
import io.maskbeam.models.infer.Segmenter;
import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.raster.BandMapping;
import io.maskbeam.raster.GeoTiffWriter;
import io.maskbeam.raster.RasterInfo;
import io.maskbeam.raster.RasterPolygons;
import io.maskbeam.raster.RasterSource;
import io.maskbeam.raster.SampleType;
import io.maskbeam.transforms.common.CoderFields;
import io.maskbeam.transforms.io.Storage;
import io.maskbeam.transforms.model.ModelReference;
import io.maskbeam.transforms.model.SharedModels;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a raster spreads over workers: {@link SegmentImages} cuts it into stripes of whole window rows, each stripe
 * is segmented where the runner puts it ({@link StripeFn}: its windows, its compressed GeoTIFF tiles, its class
 * counts and polygons), and the stripes of a raster meet again by key ({@link AssembleFn}), which writes the GeoTIFFs
 * and reports the raster once: written, or failed with the first failing stripe's reason.
 */
final class RasterStripes {
  private RasterStripes() {}

  /** Tile size of the GeoTIFFs written for rasters (GDAL's and COG's default). */
  static final int TILE = 256;

  /** The window core for these inference settings: with its margins, one inference tile. */
  static int core(InferenceSettings inference) {
    return RasterSegmenter.coreFor(inference.tileSize(), inference.tileOverlap(), TILE);
  }

  /** Rows per stripe: {@code requested} rounded up to whole windows. */
  static int stripeRows(int requested, int core) {
    return Math.max(1, (requested + core - 1) / core) * core;
  }

  /** Rows [y0, y1) of a raster: stripe {@code index} of {@code count}. */
  record Stripe(SegmentInput input, int index, int count, int y0, int y1) {
    /** The explicit coder of {@link Stripe} (set on the collections that carry it). */
    static final class Coder extends AtomicCoder<Stripe> {
      private static final Coder INSTANCE = new Coder();

      public static Coder of() {
        return INSTANCE;
      }

      @Override
      public void encode(Stripe s, OutputStream out) throws IOException {
        SegmentInput.Coder.of().encode(s.input(), out);
        CoderFields.putInt(out, s.index());
        CoderFields.putInt(out, s.count());
        CoderFields.putInt(out, s.y0());
        CoderFields.putInt(out, s.y1());
      }

      @Override
      public Stripe decode(InputStream in) throws IOException {
        return new Stripe(SegmentInput.Coder.of().decode(in), CoderFields.getInt(in), CoderFields.getInt(in),
            CoderFields.getInt(in), CoderFields.getInt(in));
      }
    }
  }

  /** A compressed GeoTIFF tile: column, row and its Deflate bytes. */
  record Tile(int column, int row, byte[] deflated) {}

  /**
   * What a stripe gave: its mask and colour tiles, class counts, nodata pixels, windows, polygons (a JSON array, or
   * null); or, when {@code failureReason} is set, why it failed.
   */
  record Result(Stripe stripe, long[] classPixels, long noDataPixels, int windows, List<Tile> mask,
      List<Tile> colour, byte[] features, String failureReason, String failureMessage, String exception) {
    static Result failed(Stripe stripe, FailureReason reason, String message, Throwable cause) {
      return new Result(stripe, new long[0], 0, 0, List.of(), List.of(), null, reason.name(), message,
          cause == null ? null : cause.getClass().getName());
    }

    boolean ok() {
      return failureReason == null;
    }

    /** The explicit coder of {@link Result} (set on the collections that carry it). */
    static final class Coder extends AtomicCoder<Result> {
      private static final Coder INSTANCE = new Coder();

      public static Coder of() {
        return INSTANCE;
      }

      @Override
      public void encode(Result r, OutputStream out) throws IOException {
        Stripe.Coder.of().encode(r.stripe(), out);
        CoderFields.putLongs(out, r.classPixels());
        CoderFields.putLong(out, r.noDataPixels());
        CoderFields.putInt(out, r.windows());
        putTiles(out, r.mask());
        putTiles(out, r.colour());
        CoderFields.putBoolean(out, r.features() != null);
        if (r.features() != null) {
          CoderFields.putBytes(out, r.features());
        }
        CoderFields.putBoolean(out, r.failureReason() != null);
        if (r.failureReason() != null) {
          CoderFields.putString(out, r.failureReason());
          CoderFields.putString(out, r.failureMessage());
          CoderFields.putString(out, r.exception() == null ? "" : r.exception());
        }
      }

      @Override
      public Result decode(InputStream in) throws IOException {
        Stripe stripe = Stripe.Coder.of().decode(in);
        long[] counts = CoderFields.getLongs(in);
        long noData = CoderFields.getLong(in);
        int windows = CoderFields.getInt(in);
        List<Tile> mask = getTiles(in);
        List<Tile> colour = getTiles(in);
        byte[] features = CoderFields.getBoolean(in) ? CoderFields.getBytes(in) : null;
        if (!CoderFields.getBoolean(in)) {
          return new Result(stripe, counts, noData, windows, mask, colour, features, null, null, null);
        }
        String reason = CoderFields.getString(in);
        String message = CoderFields.getString(in);
        String exception = CoderFields.getString(in);
        return new Result(stripe, counts, noData, windows, mask, colour, features, reason, message,
            exception.isEmpty() ? null : exception);
      }

      private static void putTiles(OutputStream out, List<Tile> tiles) throws IOException {
        CoderFields.putInt(out, tiles.size());
        for (Tile t : tiles) {
          CoderFields.putInt(out, t.column());
          CoderFields.putInt(out, t.row());
          CoderFields.putBytes(out, t.deflated());
        }
      }

      private static List<Tile> getTiles(InputStream in) throws IOException {
        int n = CoderFields.getInt(in);
        List<Tile> tiles = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          tiles.add(new Tile(CoderFields.getInt(in), CoderFields.getInt(in), CoderFields.getBytes(in)));
        }
        return tiles;
      }
    }
  }

  /** A raster's writers, for its layout: mask (palette) and colour (RGB), with its georeferencing and nodata. */
  private record Writers(GeoTiffWriter mask, GeoTiffWriter colour) {
    static Writers of(RasterInfo info, boolean noData, List<LabelClass> classes, boolean colour) {
      int[] palette = classes.stream().mapToInt(LabelClass::rgb).toArray();
      GeoTiffWriter mask = new GeoTiffWriter(info.width(), info.height(), 1, SampleType.UINT8, TILE)
          .withGeoReference(info.geo()).withPalette(palette)
          .withNoData(noData ? String.valueOf(BandMapping.NO_DATA_LABEL) : null);
      GeoTiffWriter rgb = colour
          ? new GeoTiffWriter(info.width(), info.height(), 3, SampleType.UINT8, TILE).asRgb()
              .withGeoReference(info.geo()).withNoData(noData ? "0" : null)
          : null;
      return new Writers(mask, rgb);
    }
  }

  /** Segments one stripe of a raster with the JVM's shared model. */
  static final class StripeFn extends DoFn<Stripe, KV<String, Result>> {
    private static final Logger LOG = LoggerFactory.getLogger(StripeFn.class);
    private final ModelReference modelRef;
    private final SegmentOutputs outputs;
    private final InferenceSettings inference;
    private final BandMapping bands;
    private final int stripeRows;
    private final Counter windowsDone = Metrics.counter(SegmentMetrics.NAMESPACE, SegmentMetrics.RASTER_WINDOWS);
    private transient SegmentationModel model;
    private transient Segmenter segmenter;

    StripeFn(ModelReference model, SegmentOutputs outputs, InferenceSettings inference, BandMapping bands,
        int stripeRows) {
      this.modelRef = model;
      this.outputs = outputs;
      this.inference = inference;
      this.bands = bands;
      this.stripeRows = stripeRows;
    }

    @Setup
    public void setup() {
      SegmentImages.Leased leased = SegmentImages.acquire(modelRef, inference);
      segmenter = leased.segmenter();
      model = leased.model();
    }

    @Teardown
    public void teardown() {
      if (model != null) {
        model = null;
        SharedModels.release(modelRef, inference.runtime());
      }
    }

    @ProcessElement
    public void process(@Element Stripe stripe, OutputReceiver<KV<String, Result>> out) {
      out.output(KV.of(stripe.input().key(), segment(stripe)));
    }

    private Result segment(Stripe stripe) {
      SegmentInput input = stripe.input();
      int core = core(inference);
      RasterSegmenter windows = new RasterSegmenter(segmenter, core, inference.tileOverlap());
      try (RasterSource source = RasterSource.open(Storage.openSeekable(input.uri()), input.uri())) {
        RasterInfo info = source.info();
        boolean noData = bands.noDataFor(info) != null;
        Writers writers = Writers.of(info, noData, model.classes(), outputs.writeColor());
        SegmentOutputs.Annotations a = outputs.annotations();
        // Polygon blocks are the stripes' rows (whole windows), so no block spans two stripes.
        RasterPolygons polygons = a.geoJson() ? new RasterPolygons(info.width(), info.height(),
            stripeRows(stripeRows, core),
            info.geo(), model.classes().stream().map(LabelClass::name).toList(), a.tolerance(),
            noData ? BandMapping.NO_DATA_LABEL : -1) : null;
        int total = ((info.width() + core - 1) / core) * ((stripe.y1() - stripe.y0() + core - 1) / core);
        int[] done = {0};
        RasterSegmenter.Summary summary = windows.segment(source, SegmentImages.bandsFor(bands, model),
            (x, y, w, h, labels) -> {
          windowsDone.inc();
          if (polygons != null) {
            polygons.accept(x, y, w, h, labels);
          }
          putTiles(writers, x, y, w, h, labels);
          if (total >= 20 && ++done[0] * 10 / total > (done[0] - 1) * 10 / total) {
            LOG.info("{} stripe {} of {}: {} of {} windows", input.uri(), stripe.index() + 1, stripe.count(),
                done[0], total);
          }
        }, stripe.y0(), stripe.y1());
        List<Tile> mask = new ArrayList<>();
        List<Tile> colour = new ArrayList<>();
        for (int row = stripe.y0() / TILE; row * TILE < Math.min(stripe.y1(), info.height()); row++) {
          for (int column = 0; column < writers.mask().tileColumns(); column++) {
            mask.add(new Tile(column, row, writers.mask().compressedTile(column, row)));
            if (writers.colour() != null) {
              colour.add(new Tile(column, row, writers.colour().compressedTile(column, row)));
            }
          }
        }
        return new Result(stripe, summary.classPixels(), summary.noDataPixels(), summary.windows(), mask, colour,
            polygons == null ? null : polygons.featuresJson(), null, null, null);
      } catch (InvalidImageException e) {
        return Result.failed(stripe, FailureReason.of(e.kind(), FailureReason.Part.IMAGE), e.getMessage(), e);
      } catch (IOException e) {
        return Result.failed(stripe, Storage.reasonFor(e, FailureReason.READ_FAILED), "cannot read " + input.uri()
            + ": " + e.getMessage(), e);
      } catch (RuntimeException e) {
        return Result.failed(stripe, FailureReason.INFERENCE_FAILED, "raster inference failed: " + e.getMessage(),
            e);
      }
    }

    /** Cuts a window's core into the output tiles it covers (whole tiles: cores are multiples of the tile size). */
    private void putTiles(Writers writers, int x, int y, int w, int h, byte[] labels) {
      byte[] rgb = writers.colour() == null ? null
          : MaskRendering.colorize(new LabelImage(w, h, labels), model.classes()).pixels();
      for (int row = y / TILE; row * TILE < y + h; row++) {
        for (int column = x / TILE; column * TILE < x + w; column++) {
          writers.mask().putTileFrom(column, row, labels, x, y, w, h);
          if (writers.colour() != null) {
            writers.colour().putTileFrom(column, row, rgb, x, y, w, h);
          }
        }
      }
    }
  }

  /**
   * Writes a raster's GeoTIFFs (and polygons) from its stripes, mask last, and reports it once; a raster with a
   * failed or missing stripe is one failure and nothing is written.
   */
  static final class AssembleFn extends DoFn<KV<String, Iterable<Result>>, ImageStats> {
    private final ModelReference modelRef;
    private final SegmentOutputs outputs;
    private final BandMapping bands;
    private final Counter segmented = Metrics.counter(SegmentMetrics.NAMESPACE, SegmentMetrics.IMAGES_SEGMENTED);
    private final Counter failed = Metrics.counter(SegmentMetrics.NAMESPACE, SegmentMetrics.IMAGES_FAILED);
    private final Counter rasters = Metrics.counter(SegmentMetrics.NAMESPACE, SegmentMetrics.RASTERS_SEGMENTED);
    private final Counter inferences = Metrics.counter(SegmentMetrics.NAMESPACE, SegmentMetrics.INFERENCES);

    AssembleFn(ModelReference model, SegmentOutputs outputs, BandMapping bands) {
      this.modelRef = model;
      this.outputs = outputs;
      this.bands = bands;
    }

    @ProcessElement
    public void process(@Element KV<String, Iterable<Result>> raster, MultiOutputReceiver out) {
      List<Result> stripes = new ArrayList<>();
      raster.getValue().forEach(stripes::add);
      stripes.sort(Comparator.comparingInt(r -> r.stripe().index()));
      SegmentInput input = stripes.get(0).stripe().input();
      int count = stripes.get(0).stripe().count();
      for (Result r : stripes) {
        if (!r.ok()) {
          Stripe s = r.stripe();
          fail(input, FailureReason.valueOf(r.failureReason()), (count > 1 ? "stripe " + (s.index() + 1) + " of "
              + count + " (rows " + s.y0() + "-" + (s.y1() - 1) + "): " : "") + r.failureMessage(), r.exception(),
              out);
          return;
        }
      }
      if (stripes.size() != count) {
        fail(input, FailureReason.INFERENCE_FAILED, stripes.size() + " of " + count + " stripes arrived", null, out);
        return;
      }
      List<LabelClass> classes = modelRef.metadata().classes();
      String current = outputs.rasterMaskUri(input.key());
      RasterInfo info;
      try (RasterSource source = RasterSource.open(Storage.openSeekable(input.uri()), input.uri())) {
        info = source.info();
        boolean noData = bands.noDataFor(info) != null;
        Writers writers = Writers.of(info, noData, classes, outputs.writeColor());
        long[] counts = new long[classes.size()];
        long noDataPixels = 0;
        int windows = 0;
        List<byte[]> features = new ArrayList<>();
        for (Result r : stripes) {
          r.mask().forEach(t -> writers.mask().putCompressedTile(t.column(), t.row(), t.deflated()));
          if (writers.colour() != null) {
            r.colour().forEach(t -> writers.colour().putCompressedTile(t.column(), t.row(), t.deflated()));
          }
          for (int c = 0; c < counts.length && c < r.classPixels().length; c++) {
            counts[c] += r.classPixels()[c];
          }
          noDataPixels += r.noDataPixels();
          windows += r.windows();
          if (r.features() != null) {
            features.add(r.features());
          }
        }
        Map<String, String> provenance = SegmentImages.provenance(input, modelRef, outputs);
        if (writers.colour() != null) {
          current = outputs.rasterColorUri(input.key());
          Storage.write(current, writers.colour().toByteArray(), "image/tiff", provenance);
        }
        if (outputs.annotations().geoJson()) {
          current = outputs.geoJsonUri(input.key());
          Storage.write(current, RasterPolygons.collection(info.geo(), features), "application/geo+json",
              provenance);
        }
        current = outputs.rasterMaskUri(input.key());
        Storage.write(current, writers.mask().toByteArray(), "image/tiff", provenance);
        inferences.inc(windows);
        rasters.inc();
        segmented.inc();
        out.get(SegmentImages.PROCESSED).output(input);
        out.get(SegmentImages.STATS).output(new ImageStats(input.key(), input.uri(), outputs.run(), info.width(),
            info.height(), 1, Arrays.copyOf(counts, counts.length), null, new ImageStats.RasterArea(noDataPixels,
            info.geo().pixelArea(), info.geo().areaUnit(), info.geo().epsg().isPresent()
            ? "EPSG:" + info.geo().epsg().getAsInt() : info.geo().describe())));
      } catch (InvalidImageException e) {
        fail(input, FailureReason.of(e.kind(), FailureReason.Part.IMAGE), e.getMessage(), e.getClass().getName(),
            out);
      } catch (IOException | RuntimeException e) {
        fail(input, FailureReason.WRITE_FAILED, "cannot write " + current + ": " + e.getMessage(),
            e.getClass().getName(), out);
      }
    }

    private void fail(SegmentInput input, FailureReason reason, String message, String exception,
        MultiOutputReceiver out) {
      failed.inc();
      out.get(SegmentImages.FAILURES).output(new Failure(Stage.SEGMENT, input.key(), input.uri(),
          Map.of("image", input.uri()), reason, message, exception));
    }
  }
}
