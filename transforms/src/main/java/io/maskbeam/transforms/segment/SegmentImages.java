package io.maskbeam.transforms.segment;

import io.maskbeam.annotations.AnnotationExport;
import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.ImageLoader;
import io.maskbeam.image.InvalidImageException;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.models.infer.Confidence;
import io.maskbeam.models.infer.InferenceSettings;
import io.maskbeam.models.infer.MaskRendering;
import io.maskbeam.models.infer.Npy;
import io.maskbeam.models.infer.ProbabilitySink;
import io.maskbeam.models.infer.RasterSegmenter;
import io.maskbeam.raster.BandMapping;
import io.maskbeam.raster.GeoReference;
import io.maskbeam.raster.RasterInfo;
import io.maskbeam.raster.RasterPolygons;
import io.maskbeam.raster.RasterSource;
import io.maskbeam.raster.SampleType;
import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.models.infer.Segmenter;
import io.maskbeam.transforms.common.FailureCoder;
import io.maskbeam.transforms.io.Storage;
import io.maskbeam.transforms.model.ModelReference;
import io.maskbeam.transforms.model.SharedModels;
import io.maskbeam.transforms.model.SharedResources;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.resourcehints.ResourceHints;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Segments images and writes their masks, colour masks, overlays and (optionally) probabilities; emits per-image
 * statistics ({@link #STATS}), a {@link Failure} for each input that failed ({@link #FAILURES}), and the keys of
 * inputs skipped because their outputs exist ({@link #SKIPPED}). Every input ends in exactly one of the three.
 *
 * <pre>{@code
 * PCollectionTuple out = inputs.apply(SegmentImages.with(model, SegmentOutputs.to(output, runId))
 *     .withInference(InferenceSettings.defaults().withBatching(8, 256 << 20))
 *     .withParallelism(1024).withAccelerator("type:nvidia-tesla-t4;count:1;install-nvidia-driver"));
 * }</pre>
 *
 * <p>Inputs are spread over {@code parallelism} groups by a hash of their output key, so inputs that would share an
 * output name meet in one group and are told apart there, and each group is one unit of work on a worker. Within a
 * group, images of one inference size are batched; larger images run in tiles. A batch whose model call fails is
 * retried image by image, so only the image that makes the model fail is lost. The model is the JVM's shared
 * instance of the {@link ModelReference} pinned at launch, released at teardown.
 *
 * <p>Rasters (georeferenced, multi-band or wide-sample TIFFs; see {@link #withBandMapping}) are read and segmented
 * window by window by a {@link RasterSegmenter} and written as tiled GeoTIFFs carrying their georeferencing; a
 * raster is cut into stripes of window rows that the runner spreads over workers ({@link RasterStripes}).
 */
public final class SegmentImages extends PTransform<PCollection<SegmentInput>, PCollectionTuple> {
  public static final TupleTag<ImageStats> STATS = new TupleTag<>() {};
  public static final TupleTag<Failure> FAILURES = new TupleTag<>() {};
  public static final TupleTag<String> SKIPPED = new TupleTag<>() {};
  /** The inputs whose outputs were all written (what an incremental run records in its state). */
  public static final TupleTag<SegmentInput> PROCESSED = new TupleTag<>() {};
  /** Rasters cut into stripes of window rows, the units that spread a raster over workers. */
  static final TupleTag<RasterStripes.Stripe> STRIPES = new TupleTag<>() {};

  private final ModelReference model;
  private final SegmentOutputs outputs;
  private final InferenceSettings inference;
  private final boolean skipExisting;
  private final int parallelism;
  private final String accelerator;
  private final BandMapping bands;
  private final int stripeRows;

  private SegmentImages(ModelReference model, SegmentOutputs outputs, InferenceSettings inference,
      boolean skipExisting, int parallelism, String accelerator, BandMapping bands, int stripeRows) {
    this.model = model;
    this.outputs = outputs;
    this.inference = inference;
    this.skipExisting = skipExisting;
    this.parallelism = parallelism;
    this.accelerator = accelerator;
    this.bands = bands;
    this.stripeRows = stripeRows;
  }

  /** Rows of a raster per unit of work (rounded up to whole windows) unless {@link #withRasterStripes} says. */
  public static final int DEFAULT_STRIPE_ROWS = 4096;

  /** Segments with this model, writing these outputs; default inference settings, 64 groups, no hint. */
  public static SegmentImages with(ModelReference model, SegmentOutputs outputs) {
    return new SegmentImages(model, outputs, InferenceSettings.defaults(), false, 64, null, BandMapping.DEFAULT,
        DEFAULT_STRIPE_ROWS);
  }

  public SegmentImages withInference(InferenceSettings settings) {
    return new SegmentImages(model, outputs, settings, skipExisting, parallelism, accelerator, bands, stripeRows);
  }

  /** Skips inputs whose outputs all exist (a rerun after a failure). */
  public SegmentImages skippingExisting(boolean skip) {
    return new SegmentImages(model, outputs, inference, skip, parallelism, accelerator, bands, stripeRows);
  }

  /** How many groups the inputs are spread over (units of work). */
  public SegmentImages withParallelism(int groups) {
    if (groups < 1) {
      throw new IllegalArgumentException("parallelism must be >= 1, got " + groups);
    }
    return new SegmentImages(model, outputs, inference, skipExisting, groups, accelerator, bands, stripeRows);
  }

  /** An accelerator resource hint for the inference step alone (e.g. a GPU worker pool on Dataflow). */
  public SegmentImages withAccelerator(String hint) {
    return new SegmentImages(model, outputs, inference, skipExisting, parallelism,
        hint == null || hint.isBlank() ? null : hint, bands, stripeRows);
  }

  /**
   * How rasters' bands feed the model (band order, range of wider samples, nodata). A TIFF goes the raster way
   * (read window by window, written as tiled GeoTIFFs with its georeferencing) when it is georeferenced, declares
   * nodata, has samples wider than 8 bits or more than 4 bands, exceeds the pixel limit, or when a mapping other than
   * the default is given; other TIFFs are images like any other.
   */
  public SegmentImages withBandMapping(BandMapping mapping) {
    return new SegmentImages(model, outputs, inference, skipExisting, parallelism, accelerator,
        mapping == null ? BandMapping.DEFAULT : mapping, stripeRows);
  }

  /**
   * Rows of a raster per unit of work, rounded up to whole windows: a raster's stripes are segmented wherever the
   * runner puts them and reassembled into its GeoTIFFs; its polygons are traced in blocks of this size.
   */
  public SegmentImages withRasterStripes(int rows) {
    if (rows < 1) {
      throw new IllegalArgumentException("--rasterStripeRows must be >= 1, got " + rows);
    }
    return new SegmentImages(model, outputs, inference, skipExisting, parallelism, accelerator, bands, rows);
  }

  @Override
  public PCollectionTuple expand(PCollection<SegmentInput> inputs) {
    int groups = parallelism;
    PTransform<PCollection<? extends KV<Integer, Iterable<SegmentInput>>>, PCollectionTuple> segment =
        ParDo.of(new SegmentFn(model, outputs, inference, skipExisting, bands, stripeRows))
            .withOutputTags(STATS, TupleTagList.of(FAILURES).and(SKIPPED).and(PROCESSED).and(STRIPES));
    PTransform<PCollection<? extends RasterStripes.Stripe>, PCollection<KV<String, RasterStripes.Result>>> stripes =
        ParDo.of(new RasterStripes.StripeFn(model, outputs, inference, bands, stripeRows));
    if (accelerator != null) {
      segment = segment.setResourceHints(ResourceHints.create().withAccelerator(accelerator));
      stripes = stripes.setResourceHints(ResourceHints.create().withAccelerator(accelerator));
    }
    PCollectionTuple out = inputs
        .apply("GroupByOutputKey", WithKeys.<Integer, SegmentInput>of(in -> group(in.key(), groups))
            .withKeyType(TypeDescriptors.integers()))
        .apply("Spread", GroupByKey.create())
        .apply("Segment", segment);
    // Rasters: stripes spread over workers, segmented, and met again by raster to be written.
    out.get(STRIPES).setCoder(RasterStripes.Stripe.Coder.of());
    PCollection<KV<String, RasterStripes.Result>> segmentedStripes = out.get(STRIPES)
        .apply("SpreadRasterStripes", Reshuffle.viaRandomKey())
        .apply("SegmentRasterStripes", stripes)
        .setCoder(KvCoder.of(StringUtf8Coder.of(), RasterStripes.Result.Coder.of()));
    PCollectionTuple rasters = segmentedStripes
        .apply("GroupStripesByRaster", GroupByKey.create())
        .apply("AssembleRasters", ParDo.of(new RasterStripes.AssembleFn(model, outputs, bands))
            .withOutputTags(STATS, TupleTagList.of(FAILURES).and(PROCESSED)));
    rasters.get(FAILURES).setCoder(FailureCoder.of());
    out.get(SKIPPED).setCoder(StringUtf8Coder.of());
    out.get(FAILURES).setCoder(FailureCoder.of());
    return PCollectionTuple
        .of(STATS, PCollectionList.of(out.get(STATS)).and(rasters.get(STATS))
            .apply("AllStats", Flatten.pCollections()))
        .and(FAILURES, PCollectionList.of(out.get(FAILURES)).and(rasters.get(FAILURES))
            .apply("AllFailures", Flatten.pCollections()))
        .and(PROCESSED, PCollectionList.of(out.get(PROCESSED)).and(rasters.get(PROCESSED))
            .apply("AllProcessed", Flatten.pCollections()))
        .and(SKIPPED, out.get(SKIPPED));
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("model", model.toString()).withLabel("Model (pinned version)"))
        .add(DisplayData.item("output", outputs.output()).withLabel("Output prefix"))
        .add(DisplayData.item("inference", inference.describe()).withLabel("Inference"))
        .add(DisplayData.item("skipExisting", skipExisting).withLabel("Skip existing outputs"))
        .add(DisplayData.item("bands", bands.describe()).withLabel("Raster bands"))
        .add(DisplayData.item("rasterStripeRows", stripeRows).withLabel("Raster rows per unit of work"))
        .add(DisplayData.item("parallelism", parallelism).withLabel("Groups"))
        .addIfNotNull(DisplayData.item("accelerator", accelerator).withLabel("Accelerator hint"));
  }

  /** The JVM's shared model with its segmenter, for a DoFn's {@code @Setup}; released by the DoFn's teardown. */
  record Leased(SegmentationModel model, Segmenter segmenter, long loadMillis) {}

  static Leased acquire(ModelReference model, InferenceSettings inference) {
    SharedResources.Lease<SegmentationModel> lease = SharedModels.acquire(model, inference.runtime());
    try {
      return new Leased(lease.resource(), inference.segmenter(lease.resource()), lease.loadMillis());
    } catch (RuntimeException e) {
      SharedModels.release(model, inference.runtime()); // runners need not call @Teardown after this
      throw e;
    }
  }

  /**
   * The bands a raster feeds {@code model} through: as asked, or, for a model trained on raw bands, the bands it was
   * trained on unless {@code --bands} names others.
   */
  static BandMapping bandsFor(BandMapping bands, SegmentationModel model) {
    return model.inputBands() > 0 ? bands.withDefaultBands(model.metadata().rawBands().sourceBands()) : bands;
  }

  /** On gs:// each output records where it came from (object metadata); other stores ignore it. */
  static Map<String, String> provenance(SegmentInput input, ModelReference model, SegmentOutputs outputs) {
    return Map.of("maskbeam-input", input.uri(), "maskbeam-model", model.uri(), "maskbeam-model-version",
        model.fingerprint(), "maskbeam-run", outputs.run());
  }

  static int group(String key, int groups) {
    return Math.floorMod(key.hashCode() * 0x9E3779B9, groups);
  }

  /** A group's inputs with unique keys, and the repeats of an input listed more than once. */
  record Resolved(List<SegmentInput> unique, List<SegmentInput> repeated) {}

  /**
   * Gives inputs that share an output key distinct keys (each with its own extension), deterministically, and
   * sets aside second listings of the same URI (matched by two patterns, or twice in a manifest).
   */
  static Resolved resolveKeys(Iterable<SegmentInput> inputs) {
    Map<String, List<SegmentInput>> byKey = new TreeMap<>();
    List<SegmentInput> repeated = new ArrayList<>();
    for (SegmentInput in : inputs) {
      List<SegmentInput> same = byKey.computeIfAbsent(in.key(), k -> new ArrayList<>());
      if (same.stream().anyMatch(s -> s.uri().equals(in.uri()))) {
        repeated.add(in);
      } else {
        same.add(in);
      }
    }
    List<SegmentInput> out = new ArrayList<>();
    for (List<SegmentInput> same : byKey.values()) {
      if (same.size() == 1) {
        out.add(same.get(0));
        continue;
      }
      same.sort((a, b) -> a.uri().compareTo(b.uri()));
      Map<String, Integer> seen = new HashMap<>();
      for (SegmentInput in : same) {
        String key = OutputNames.withExtension(in.key(), in.uri());
        int n = seen.merge(key, 1, Integer::sum);
        out.add(in.withKey(n == 1 ? key : key + "_" + n));
      }
    }
    return new Resolved(out, repeated);
  }

  /** Segments one group of inputs. */
  static final class SegmentFn extends DoFn<KV<Integer, Iterable<SegmentInput>>, ImageStats> {
    private static final Logger LOG = LoggerFactory.getLogger(SegmentFn.class);
    private final ModelReference modelRef;
    private final SegmentOutputs outputs;
    private final InferenceSettings inference;
    private final boolean skipExisting;
    private final BandMapping bands;
    private final int stripeRows;
    private final Counter segmented = counter(SegmentMetrics.IMAGES_SEGMENTED);
    private final Counter failed = counter(SegmentMetrics.IMAGES_FAILED);
    private final Counter skipped = counter(SegmentMetrics.IMAGES_SKIPPED);
    private final Counter inferences = counter(SegmentMetrics.INFERENCES);
    private final Counter tiled = counter(SegmentMetrics.IMAGES_TILED);
    private final Counter retriedSingly = counter(SegmentMetrics.BATCHES_RETRIED_SINGLY);
    private final Distribution batchSize = distribution(SegmentMetrics.BATCH_SIZE);
    private final Distribution batchMillis = distribution(SegmentMetrics.BATCH_LATENCY_MS);
    private final Distribution modelLoadMillis = distribution(SegmentMetrics.MODEL_LOAD_MS);
    private transient SegmentationModel model;
    private transient Segmenter segmenter;
    private transient ImageLoader loader;
    private transient long pendingLoadMillis;
    /**
     * Reads and decodes the next inputs, and encodes and writes finished images, while the model runs on the
     * current batch: the model call uses the cores, and the one-threaded PNG/JPEG work would otherwise leave all
     * but one idle between calls. Outputs and metrics stay on the DoFn's thread (Beam's receivers and metric
     * containers belong to it); the helpers only compute and write files.
     */
    private transient ExecutorService io;
    /** Encodes and writes of this element not yet reported, oldest first. */
    private transient ArrayDeque<Future<Outcome>> pendingWrites;

    SegmentFn(ModelReference model, SegmentOutputs outputs, InferenceSettings inference, boolean skipExisting,
        BandMapping bands, int stripeRows) {
      this.modelRef = model;
      this.outputs = outputs;
      this.inference = inference;
      this.skipExisting = skipExisting;
      this.bands = bands;
      this.stripeRows = stripeRows;
    }

    private static Counter counter(String name) {
      return Metrics.counter(SegmentMetrics.NAMESPACE, name);
    }

    private static Distribution distribution(String name) {
      return Metrics.distribution(SegmentMetrics.NAMESPACE, name);
    }

    @Setup
    public void setup() {
      Leased leased = acquire(modelRef, inference);
      segmenter = leased.segmenter();
      model = leased.model();
      pendingLoadMillis = leased.loadMillis();
      loader = ImageLoader.withPixelLimit(inference.maxPixels());
      io = Executors.newFixedThreadPool(IO_THREADS, r -> {
        Thread t = new Thread(r, "maskbeam-segment-io");
        t.setDaemon(true);
        return t;
      });
      pendingWrites = new ArrayDeque<>();
    }

    @Teardown
    public void teardown() {
      if (io != null) {
        io.shutdownNow();
        io = null;
      }
      if (model != null) {
        model = null;
        SharedModels.release(modelRef, inference.runtime());
      }
    }

    /** A decoded input waiting for its batch, or a raster's header (its stripes open the file themselves). */
    private record Decoded(SegmentInput input, RgbImage image, int orientation, RasterInfo raster) {}

    @ProcessElement
    public void process(@Element KV<Integer, Iterable<SegmentInput>> group, MultiOutputReceiver out) {
      if (pendingLoadMillis > 0) {
        // Reported here rather than in @Setup, where not every runner attributes metrics to a step.
        modelLoadMillis.update(pendingLoadMillis);
        pendingLoadMillis = 0;
      }
      Batches<Decoded> batches = new Batches<>(inference.maxBatchSize(), inference.maxBatchBytes(),
          b -> runBatch(b, out));
      Resolved resolved = resolveKeys(group.getValue());
      for (SegmentInput repeat : resolved.repeated()) {
        fail(repeat, FailureReason.DUPLICATE_INPUT, "listed more than once (by two patterns or manifest lines);"
            + " segmented once", null, out);
      }
      List<SegmentInput> todo = new ArrayList<>();
      for (SegmentInput input : resolved.unique()) {
        if (skipExisting && (outputsExist(outputs.outputsOf(input.key()))
            || outputsExist(outputs.rasterOutputsOf(input.key())))) {
          skipped.inc();
          out.get(SKIPPED).output(input.key());
        } else {
          todo.add(input);
        }
      }
      // Decoding runs a bounded window ahead of the model, in input order.
      int window = Math.max(2, inference.maxBatchSize() * 2);
      ArrayDeque<Future<Outcome>> decoding = new ArrayDeque<>();
      int next = 0;
      while (next < todo.size() || !decoding.isEmpty()) {
        while (next < todo.size() && decoding.size() < window) {
          SegmentInput input = todo.get(next++);
          decoding.add(io.submit(() -> decode(input)));
        }
        Outcome o = await(decoding.poll());
        if (o.failure() != null) {
          report(o, out);
          continue;
        }
        Decoded decoded = o.decoded();
        if (decoded.raster() != null) {
          emitStripes(decoded, out);
          continue;
        }
        RgbImage image = decoded.image();
        if (!segmenter.runsWhole(image.width(), image.height())) {
          segmentTiled(decoded, out);
          continue;
        }
        int[] size = segmenter.inferenceSize(image.width(), image.height());
        batches.add(size[0] + "x" + size[1], decoded, image.pixels().length);
      }
      batches.flushAll();
      while (!pendingWrites.isEmpty()) {
        report(await(pendingWrites.poll()), out);
      }
    }

    /** Helper threads for reading, decoding, encoding and writing beside the model call. */
    static final int IO_THREADS = 2;

    /**
     * What became of an input off the DoFn's thread: decoded (for the model), written (its statistics), or failed;
     * reported on the DoFn's thread by {@link #report}.
     */
    private record Outcome(Decoded decoded, ImageStats stats, SegmentInput input, FailureReason reason,
        String failure, Throwable cause) {
      static Outcome failed(SegmentInput input, FailureReason reason, String message, Throwable cause) {
        return new Outcome(null, null, input, reason, message, cause);
      }
    }

    private static Outcome await(Future<Outcome> f) {
      try {
        return f.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while segmenting", e);
      } catch (java.util.concurrent.ExecutionException e) {
        // Tasks turn every fault of an input into an Outcome; what arrives here is a bug: fail the bundle.
        throw new IllegalStateException("segment helper failed", e.getCause());
      }
    }

    /** Emits an outcome from the DoFn's thread: outputs and metrics belong to it. */
    private void report(Outcome o, MultiOutputReceiver out) {
      if (o.failure() != null) {
        fail(o.input(), o.reason(), o.failure(), o.cause(), out);
      } else if (o.stats() != null) {
        segmented.inc();
        out.get(PROCESSED).output(o.input());
        out.get(STATS).output(o.stats());
      }
    }

    private static boolean outputsExist(List<String> uris) {
      try {
        List<MatchResult> results = FileSystems.match(uris);
        for (MatchResult r : results) {
          if (r.status() != MatchResult.Status.OK || r.metadata().isEmpty()) {
            return false;
          }
        }
        return true;
      } catch (IOException e) {
        return false; // cannot tell: segment again (outputs are deterministic, so nothing is duplicated)
      }
    }

    /** Reads and decodes an input, or opens it as a raster (on a helper thread). */
    private Outcome decode(SegmentInput input) {
      if (RasterSource.handles(input.uri())) {
        Outcome raster = openRaster(input);
        if (raster != null) {
          return raster;
        }
      }
      if (model.inputBands() > 0) {
        return Outcome.failed(input, FailureReason.BAND_MISMATCH, "the model was trained on " + model.inputBands()
            + " raw raster bands; this input is not a TIFF raster", null);
      }
      byte[] bytes;
      try {
        bytes = Storage.readAll(input.uri());
      } catch (IOException e) {
        return Outcome.failed(input, Storage.reasonFor(e, FailureReason.NOT_FOUND), e.getMessage(), e);
      }
      try {
        ImageLoader.Photo photo = loader.load(bytes);
        return new Outcome(new Decoded(input, photo.image(), photo.orientation(), null), null, input, null, null,
            null);
      } catch (InvalidImageException e) {
        return Outcome.failed(input, FailureReason.of(e.kind(), FailureReason.Part.IMAGE), e.getMessage(), e);
      } catch (RuntimeException | OutOfMemoryError e) {
        return Outcome.failed(input, FailureReason.IMAGE_UNREADABLE, "cannot decode image: " + e, e);
      }
    }

    /**
     * Opens a TIFF as a raster when it needs the raster way (see {@link SegmentImages#withBandMapping}); null when it
     * is an ordinary image, or a TIFF the raster reader does not take, which then goes the image way and fails
     * there with the image reader's reason if it must.
     */
    private Outcome openRaster(SegmentInput input) {
      RasterSource source;
      try {
        source = RasterSource.open(Storage.openSeekable(input.uri()), input.uri());
      } catch (IOException e) {
        return Outcome.failed(input, Storage.reasonFor(e, FailureReason.NOT_FOUND), e.getMessage(), e);
      } catch (InvalidImageException e) {
        // A TIFF cut short or empty is that, whichever reader looks; others may still be images (1-bit, JPEG-in-TIFF).
        return e.kind() == InvalidImageException.Kind.UNREADABLE ? null
            : Outcome.failed(input, FailureReason.of(e.kind(), FailureReason.Part.IMAGE), e.getMessage(), e);
      }
      RasterInfo info = source.info();
      closeQuietly(source);
      int modelBands = model.inputBands();
      boolean raster = modelBands > 0 || info.beyondPicture() || info.pixels() > inference.maxPixels()
          || !bands.isDefault();
      if (!raster) {
        return null;
      }
      String why = modelBands > 0 ? bandMismatch(info) : bands.mismatch(info);
      if (why != null) {
        return Outcome.failed(input, FailureReason.BAND_MISMATCH, why + " (" + info.describe() + ")", null);
      }
      return new Outcome(new Decoded(input, null, 1, info), null, input, null, null, null);
    }

    /** Why a raster cannot feed this model trained on raw bands, or null. */
    private String bandMismatch(RasterInfo info) {
      io.maskbeam.models.train.TrainConfig.InputSpec trained = model.metadata().rawBands();
      if (bands.low() != null) {
        return "--bandRange stretches bands to 8 bits for RGB models; this model was trained on raw "
            + trained.dtype() + " bands and takes them as they are";
      }
      int highest = java.util.Arrays.stream(trained.sourceBands()).max().orElse(0);
      if (bands.bands() == null && highest > info.bands()) {
        return "the model was trained on " + trained.channels() + " bands (" + java.util.Arrays.toString(
            trained.sourceBands()) + "), the raster has " + info.bands() + " (pass --bands to choose "
            + trained.channels() + ")";
      }
      return bandsFor(bands, model).bandMismatch(info, trained.channels(), SampleType.parse(trained.dtype()));
    }

    /**
     * Cuts a raster into stripes of whole window rows, the units the runner spreads over workers (a raster of one
     * stripe is one unit); {@link RasterStripes} segments and reassembles them.
     */
    private void emitStripes(Decoded d, MultiOutputReceiver out) {
      RasterInfo info = d.raster();
      int rows = RasterStripes.stripeRows(stripeRows, RasterStripes.core(inference));
      int count = (info.height() + rows - 1) / rows;
      for (int i = 0; i < count; i++) {
        out.get(STRIPES).output(new RasterStripes.Stripe(d.input(), i, count, i * rows,
            Math.min(info.height(), (i + 1) * rows)));
      }
    }

    private static void closeQuietly(RasterSource source) {
      try {
        source.close();
      } catch (IOException ignored) {
        // read-only: nothing to lose
      }
    }

    private List<String> classNames() {
      return model.classes().stream().map(LabelClass::name).toList();
    }


    /**
     * Runs one batch. When the call fails, each image runs on its own, so one image that breaks the model (or a
     * transient fault) costs only that image.
     */
    private void runBatch(List<Decoded> batch, MultiOutputReceiver out) {
      if (batch.isEmpty()) {
        return;
      }
      List<Segmenter.Result> results;
      List<Confidence.Accumulator> confidence = outputs.confidence()
          ? batch.stream().map(d -> confidence(d.image().width(), d.image().height())).toList() : null;
      long start = System.nanoTime();
      try {
        results = segmenter.segmentWhole(batch.stream().map(Decoded::image).toList(), outputs.writeProbabilities(),
            confidence);
      } catch (RuntimeException e) {
        if (batch.size() > 1) {
          retriedSingly.inc();
          LOG.warn("a model call on a batch of {} failed ({}); running its images one by one", batch.size(),
              e.toString());
          for (Decoded d : batch) {
            runBatch(List.of(d), out);
          }
          return;
        }
        fail(batch.get(0).input(), FailureReason.INFERENCE_FAILED, "model call failed: " + e.getMessage(), e, out);
        return;
      }
      inferences.inc();
      batchSize.update(batch.size());
      batchMillis.update((System.nanoTime() - start) / 1_000_000);
      for (int i = 0; i < batch.size(); i++) {
        Segmenter.Result r = results.get(i);
        write(batch.get(i), r.labels(), r.probabilities(), confidence == null ? null : confidence.get(i), out);
      }
    }

    private void segmentTiled(Decoded d, MultiOutputReceiver out) {
      long start = System.nanoTime();
      LabelImage labels;
      String npyUri = outputs.probabilitiesUri(d.input().key());
      Confidence.Accumulator confidence = confidence(d.image().width(), d.image().height());
      try {
        if (outputs.writeProbabilities()) {
          // Probabilities stream to storage band by band: a large image's map never sits in memory whole.
          try (OutputStream npy = Storage.create(npyUri, "application/octet-stream")) {
            npy.write(Npy.float32Header(d.image().height(), d.image().width(), segmenter.numClasses()));
            ProbabilitySink file = Npy.sink(npy);
            labels = segmenter.segmentTiled(d.image(), confidence == null ? file : (data, offset, count) -> {
              file.accept(data, offset, count);
              confidence.accept(data, offset, count);
            }).labels();
          }
        } else {
          labels = segmenter.segmentTiled(d.image(), confidence).labels();
        }
      } catch (IOException | UncheckedIOException e) {
        fail(d.input(), FailureReason.WRITE_FAILED, "cannot write " + npyUri + ": " + e.getMessage(), e, out);
        return;
      } catch (RuntimeException e) {
        fail(d.input(), FailureReason.INFERENCE_FAILED, "tiled inference failed: " + e.getMessage(), e, out);
        return;
      }
      tiled.inc();
      inferences.inc();
      batchMillis.update((System.nanoTime() - start) / 1_000_000);
      write(d, labels, null, confidence, out);
    }

    /** A confidence accumulator for an image of this size, or null when confidence is not computed. */
    private Confidence.Accumulator confidence(int width, int height) {
      return outputs.confidence() ? new Confidence.Accumulator(segmenter.numClasses(), outputs.confidenceThreshold(),
          outputs.writeUncertainty() ? width * height : 0) : null;
    }

    /**
     * Hands an image's outputs to a helper thread, reporting finished ones first so that at most a few batches of
     * outputs wait in memory.
     */
    private void write(Decoded d, LabelImage labels, float[] probabilities, Confidence.Accumulator confidence,
        MultiOutputReceiver out) {
      pendingWrites.add(io.submit(() -> writeFiles(d, labels, probabilities, confidence)));
      int bound = Math.max(2, inference.maxBatchSize() * 2);
      while (pendingWrites.size() > bound || (!pendingWrites.isEmpty() && pendingWrites.peek().isDone())) {
        report(await(pendingWrites.poll()), out);
      }
    }

    /** Writes an image's outputs (on a helper thread); the mask last, so an existing mask means a complete set. */
    private Outcome writeFiles(Decoded d, LabelImage labels, float[] probabilities,
        Confidence.Accumulator confidence) {
      String key = d.input().key();
      Map<String, String> provenance = provenance(d.input(), modelRef, outputs);
      String current = "";
      try {
        if (outputs.writeColor() || outputs.writeOverlays()) {
          RgbImage colour = MaskRendering.colorize(labels, model.classes());
          if (outputs.writeColor()) {
            current = outputs.colorUri(key);
            Storage.write(current, ImageCodec.encodePng(colour), "image/png", provenance);
          }
          if (outputs.writeOverlays()) {
            current = outputs.overlayUri(key);
            RgbImage overlay = MaskRendering.overlay(d.image(), colour, outputs.overlayAlpha());
            Storage.write(current, ImageCodec.encodeJpeg(overlay, outputs.overlayQuality()), "image/jpeg",
                provenance);
          }
        }
        if (probabilities != null) {
          current = outputs.probabilitiesUri(key);
          try (OutputStream npy = Storage.create(current, "application/octet-stream")) {
            npy.write(Npy.float32Header(labels.height(), labels.width(), segmenter.numClasses()));
            Npy.writeFloats(npy, probabilities, 0, probabilities.length);
          }
        }
        if (confidence != null && confidence.uncertainty() != null) {
          current = outputs.uncertaintyUri(key);
          Storage.write(current, ImageCodec.encodePng(new LabelImage(labels.width(), labels.height(),
              confidence.uncertainty())), "image/png", provenance);
        }
        SegmentOutputs.Annotations a = outputs.annotations();
        if (a.labelMe()) {
          current = outputs.labelMeUri(key);
          Storage.write(current, AnnotationExport.labelMe(labels, model.classes(), d.input().uri(), a.tolerance()),
              "application/json", provenance);
        }
        if (a.geoJson()) {
          current = outputs.geoJsonUri(key);
          RasterPolygons polygons = new RasterPolygons(labels.width(), labels.height(),
              Math.max(labels.width(), labels.height()), GeoReference.NONE, classNames(),
              a.tolerance(), -1);
          polygons.accept(0, 0, labels.width(), labels.height(), labels.labels());
          Storage.write(current, polygons.toGeoJson(), "application/geo+json", provenance);
        }
        if (a.coco()) {
          current = outputs.cocoUri(key);
          Storage.write(current, AnnotationExport.cocoImage(labels, model.classes(), d.input().uri(), a.cocoPolygons(),
              a.tolerance()).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8), "application/json",
              provenance);
        }
        current = outputs.maskUri(key);
        Storage.write(current, ImageCodec.encodePng(labels), "image/png", provenance);
      } catch (IOException | RuntimeException e) {
        return Outcome.failed(d.input(), FailureReason.WRITE_FAILED, "cannot write " + current + ": "
            + e.getMessage(), e);
      }
      return new Outcome(null, new ImageStats(key, d.input().uri(), outputs.run(), labels.width(), labels.height(),
          d.orientation(), MaskRendering.classPixels(labels, model.numClasses()),
          confidence == null ? null : confidence.result()), d.input(), null, null, null);
    }

    private void fail(SegmentInput input, FailureReason reason, String message, Throwable cause,
        MultiOutputReceiver out) {
      failed.inc();
      Failure f = new Failure(Stage.SEGMENT, input.key(), input.uri(), Map.of("image", input.uri()), reason,
          message, null);
      out.get(FAILURES).output(cause == null ? f : f.withException(cause));
    }
  }

  /**
   * Pending images by inference size, in arrival order, bounded in images per batch and in bytes over all batches:
   * a full batch runs at once; over the byte bound the largest pending batch runs.
   */
  static final class Batches<T> {
    /** Runs a batch. */
    interface Runner<T> {
      void run(List<T> batch);
    }

    private final int maxImages;
    private final long maxBytes;
    private final Runner<T> runner;
    private final Map<String, List<T>> pending = new LinkedHashMap<>();
    private final Map<String, Long> pendingBytes = new HashMap<>();
    private long totalBytes;

    Batches(int maxImages, long maxBytes, Runner<T> runner) {
      this.maxImages = maxImages;
      this.maxBytes = maxBytes;
      this.runner = runner;
    }

    void add(String sizeKey, T item, long bytes) {
      List<T> batch = pending.computeIfAbsent(sizeKey, k -> new ArrayList<>());
      batch.add(item);
      pendingBytes.merge(sizeKey, bytes, Long::sum);
      totalBytes += bytes;
      if (batch.size() >= maxImages) {
        flush(sizeKey);
      }
      while (totalBytes > maxBytes && !pending.isEmpty()) {
        String largest = pendingBytes.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        flush(largest);
      }
    }

    private void flush(String sizeKey) {
      List<T> batch = pending.remove(sizeKey);
      totalBytes -= pendingBytes.remove(sizeKey);
      runner.run(batch);
    }

    void flushAll() {
      for (String key : new ArrayList<>(pending.keySet())) {
        flush(key);
      }
    }
  }
}
