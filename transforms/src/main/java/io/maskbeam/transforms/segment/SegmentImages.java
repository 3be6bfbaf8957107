package io.maskbeam.transforms.segment;

import io.maskbeam.image.ExifOrientation;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.InvalidImageException;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.image.RgbImage;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.models.infer.MaskRendering;
import io.maskbeam.models.infer.Npy;
import io.maskbeam.models.infer.ProbabilityModel;
import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.models.infer.Segmenter;
import io.maskbeam.models.infer.TestTimeAugmentation;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.transforms.resourcehints.ResourceHints;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * Segments images and writes their masks, colour masks, overlays and (optionally) probabilities; emits per-image
 * statistics, errors for inputs that failed (with a reason), and the keys of inputs skipped because their outputs
 * exist. Every input ends in exactly one of the three outputs.
 *
 * <p>Inputs are spread over {@code parallelism} groups by a hash of their output key, so inputs that would share
 * an output name meet in one group and are told apart there, and each group is one unit of work on a worker.
 * Within a group, images of one inference size are batched (up to {@code maxBatchSize} images and
 * {@code maxBatchBytes} of pixels); larger images run in tiles. The model is loaded once per JVM
 * ({@link SharedModels}) and released at teardown.
 */
public final class SegmentImages extends PTransform<PCollection<SegmentInput>, PCollectionTuple> {
  public static final String METRICS_NAMESPACE = "maskbeam.segment";
  public static final TupleTag<ImageStats> STATS = new TupleTag<>() {};
  public static final TupleTag<SegmentError> ERRORS = new TupleTag<>() {};
  public static final TupleTag<String> SKIPPED = new TupleTag<>() {};
  /** The inputs whose outputs were all written (what an incremental run records in its state). */
  public static final TupleTag<SegmentInput> PROCESSED = new TupleTag<>() {};

  private final SegmentationSettings settings;
  private final int parallelism;
  private final String acceleratorHint;

  public SegmentImages(SegmentationSettings settings, int parallelism, String acceleratorHint) {
    this.settings = settings;
    this.parallelism = parallelism;
    this.acceleratorHint = acceleratorHint;
  }

  @Override
  public PCollectionTuple expand(PCollection<SegmentInput> inputs) {
    int groups = parallelism;
    PTransform<PCollection<? extends KV<Integer, Iterable<SegmentInput>>>, PCollectionTuple> segment =
        ParDo.of(new SegmentFn(settings))
            .withOutputTags(STATS, TupleTagList.of(ERRORS).and(SKIPPED).and(PROCESSED));
    if (acceleratorHint != null && !acceleratorHint.isBlank()) {
      segment = segment.setResourceHints(ResourceHints.create().withAccelerator(acceleratorHint));
    }
    PCollectionTuple out = inputs
        .apply("GroupByOutputKey", WithKeys.<Integer, SegmentInput>of(in -> group(in.key(), groups))
            .withKeyType(TypeDescriptors.integers()))
        .apply("Spread", GroupByKey.create())
        .apply("Segment", segment);
    out.get(SKIPPED).setCoder(org.apache.beam.sdk.coders.StringUtf8Coder.of());
    return out;
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
    private final SegmentationSettings settings;
    private final Counter segmented = Metrics.counter(METRICS_NAMESPACE, "images_segmented");
    private final Counter failed = Metrics.counter(METRICS_NAMESPACE, "images_failed");
    private final Counter skipped = Metrics.counter(METRICS_NAMESPACE, "images_skipped");
    private final Counter inferences = Metrics.counter(METRICS_NAMESPACE, "inferences");
    private final Counter tiled = Metrics.counter(METRICS_NAMESPACE, "images_tiled");
    private final Distribution batchSize = Metrics.distribution(METRICS_NAMESPACE, "batch_size");
    private final Distribution batchMillis = Metrics.distribution(METRICS_NAMESPACE, "batch_latency_ms");
    private final Distribution modelLoadMillis = Metrics.distribution(METRICS_NAMESPACE, "model_load_ms");
    private transient SegmentationModel model;
    private transient Segmenter segmenter;
    private transient List<String> classNames;
    private transient long pendingLoadMillis;

    SegmentFn(SegmentationSettings settings) {
      this.settings = settings;
    }

    @Setup
    public void setup() {
      SharedModels.Lease lease = SharedModels.acquire(settings.model(), settings.inferenceThreads());
      model = lease.model();
      pendingLoadMillis = lease.loadMillis();
      ProbabilityModel probabilities = TestTimeAugmentation.isIdentity(settings.ttaFlip(), settings.ttaScales())
          ? model
          : new TestTimeAugmentation(model, settings.ttaFlip(), settings.ttaScales());
      segmenter = new Segmenter(probabilities, settings.tileSize(), settings.tileOverlap(), settings.maxBatchSize(),
          ResizePolicy.parse(settings.inferenceSize()));
      classNames = model.classes().stream().map(LabelClass::name).toList();
    }

    @Teardown
    public void teardown() {
      if (model != null) {
        model = null;
        SharedModels.release(settings.model(), settings.inferenceThreads());
      }
    }

    /** A decoded input waiting for its batch. */
    private record Decoded(SegmentInput input, RgbImage image, int orientation) {}

    @ProcessElement
    public void process(@Element KV<Integer, Iterable<SegmentInput>> group, MultiOutputReceiver out) {
      if (pendingLoadMillis > 0) {
        // Reported here rather than in @Setup, where not every runner attributes metrics to a step.
        modelLoadMillis.update(pendingLoadMillis);
        pendingLoadMillis = 0;
      }
      // Batches by inference size, in arrival order; bounded in images per batch and in bytes overall.
      Map<String, List<Decoded>> pending = new LinkedHashMap<>();
      long pendingBytes = 0;
      Resolved resolved = resolveKeys(group.getValue());
      for (SegmentInput repeat : resolved.repeated()) {
        fail(repeat, "DUPLICATE_INPUT", "listed more than once (by two patterns or manifest lines); segmented once",
            out);
      }
      for (SegmentInput input : resolved.unique()) {
        if (settings.skipExisting() && outputsExist(input.key())) {
          skipped.inc();
          out.get(SKIPPED).output(input.key());
          continue;
        }
        Decoded decoded = decode(input, out);
        if (decoded == null) {
          continue;
        }
        RgbImage image = decoded.image();
        if (!segmenter.runsWhole(image.width(), image.height())) {
          segmentTiled(decoded, out);
          continue;
        }
        int[] size = segmenter.inferenceSize(image.width(), image.height());
        String sizeKey = size[0] + "x" + size[1];
        List<Decoded> batch = pending.computeIfAbsent(sizeKey, k -> new ArrayList<>());
        batch.add(decoded);
        pendingBytes += image.pixels().length;
        if (batch.size() >= settings.maxBatchSize()) {
          pendingBytes -= bytes(batch);
          runBatch(pending.remove(sizeKey), out);
        }
        while (pendingBytes > settings.maxBatchBytes() && !pending.isEmpty()) {
          String largest = pending.entrySet().stream()
              .max((a, b) -> Long.compare(bytes(a.getValue()), bytes(b.getValue()))).orElseThrow().getKey();
          List<Decoded> flush = pending.remove(largest);
          pendingBytes -= bytes(flush);
          runBatch(flush, out);
        }
      }
      for (List<Decoded> batch : pending.values()) {
        runBatch(batch, out);
      }
    }

    private static long bytes(List<Decoded> batch) {
      long n = 0;
      for (Decoded d : batch) {
        n += d.image().pixels().length;
      }
      return n;
    }

    private boolean outputsExist(String key) {
      try {
        List<MatchResult> results = FileSystems.match(settings.outputsOf(key));
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

    private Decoded decode(SegmentInput input, MultiOutputReceiver out) {
      byte[] bytes;
      try {
        bytes = Storage.readAll(input.uri());
      } catch (Storage.NotFoundException e) {
        fail(input, "NOT_FOUND", "input does not exist (deleted after listing?)", out);
        return null;
      } catch (IOException e) {
        fail(input, "READ_FAILED", e.getMessage(), out);
        return null;
      }
      try {
        RgbImage rgb = ImageCodec.toRgb(ImageCodec.decode(bytes, settings.maxPixels()));
        int orientation = ExifOrientation.read(bytes);
        return new Decoded(input, ExifOrientation.apply(rgb, orientation), orientation);
      } catch (InvalidImageException e) {
        fail(input, e.kind().name(), e.getMessage(), out);
        return null;
      } catch (RuntimeException | OutOfMemoryError e) {
        fail(input, "UNREADABLE", "cannot decode image: " + e, out);
        return null;
      }
    }

    private void runBatch(List<Decoded> batch, MultiOutputReceiver out) {
      if (batch.isEmpty()) {
        return;
      }
      List<RgbImage> images = batch.stream().map(Decoded::image).toList();
      List<Segmenter.Result> results;
      long start = System.nanoTime();
      try {
        results = segmenter.segmentWhole(images, settings.writeProbabilities());
      } catch (RuntimeException e) {
        for (Decoded d : batch) {
          fail(d.input(), "INFERENCE_FAILED", "model call failed: " + e.getMessage(), out);
        }
        return;
      }
      inferences.inc();
      batchSize.update(batch.size());
      batchMillis.update((System.nanoTime() - start) / 1_000_000);
      for (int i = 0; i < batch.size(); i++) {
        Segmenter.Result r = results.get(i);
        Decoded d = batch.get(i);
        write(d, r.labels(), r.probabilities(), out);
      }
    }

    private void segmentTiled(Decoded d, MultiOutputReceiver out) {
      long start = System.nanoTime();
      LabelImage labels;
      String npyUri = settings.probabilitiesUri(d.input().key());
      try {
        if (settings.writeProbabilities()) {
          // Probabilities stream to storage band by band: a large image's map never sits in memory whole.
          try (OutputStream npy = Storage.create(npyUri, "application/octet-stream")) {
            npy.write(Npy.float32Header(d.image().height(), d.image().width(), segmenter.numClasses()));
            labels = segmenter.segmentTiled(d.image(), Npy.sink(npy)).labels();
          }
        } else {
          labels = segmenter.segmentTiled(d.image(), null).labels();
        }
      } catch (IOException | UncheckedIOException e) {
        fail(d.input(), "WRITE_FAILED", "cannot write " + npyUri + ": " + e.getMessage(), out);
        return;
      } catch (RuntimeException e) {
        fail(d.input(), "INFERENCE_FAILED", "tiled inference failed: " + e.getMessage(), out);
        return;
      }
      tiled.inc();
      inferences.inc();
      batchMillis.update((System.nanoTime() - start) / 1_000_000);
      write(d, labels, null, out);
    }

    /** Writes every output of one image; the mask last, so an existing mask means a complete set. */
    private void write(Decoded d, LabelImage labels, float[] probabilities, MultiOutputReceiver out) {
      String key = d.input().key();
      // On gs:// each output records where it came from (object metadata); other stores ignore it.
      Map<String, String> provenance = Map.of("maskbeam-input", d.input().uri(), "maskbeam-model", settings.model(),
          "maskbeam-run", settings.run());
      String current = "";
      try {
        if (settings.writeColor() || settings.writeOverlays()) {
          RgbImage colour = MaskRendering.colorize(labels, model.classes());
          if (settings.writeColor()) {
            current = settings.colorUri(key);
            Storage.write(current, ImageCodec.encodePng(colour), "image/png", provenance);
          }
          if (settings.writeOverlays()) {
            current = settings.overlayUri(key);
            RgbImage overlay = MaskRendering.overlay(d.image(), colour, settings.overlayAlpha());
            Storage.write(current, ImageCodec.encodeJpeg(overlay, settings.overlayQuality()), "image/jpeg",
                provenance);
          }
        }
        if (probabilities != null) {
          current = settings.probabilitiesUri(key);
          try (OutputStream npy = Storage.create(current, "application/octet-stream")) {
            npy.write(Npy.float32Header(labels.height(), labels.width(), segmenter.numClasses()));
            Npy.writeFloats(npy, probabilities, 0, probabilities.length);
          }
        }
        current = settings.maskUri(key);
        Storage.write(current, ImageCodec.encodePng(labels), "image/png", provenance);
      } catch (IOException | RuntimeException e) {
        fail(d.input(), "WRITE_FAILED", "cannot write " + current + ": " + e.getMessage(), out);
        return;
      }
      segmented.inc();
      out.get(PROCESSED).output(d.input());
      out.get(STATS).output(new ImageStats(key, d.input().uri(), settings.run(), labels.width(), labels.height(),
          d.orientation(), MaskRendering.classPixels(labels, model.numClasses())));
    }

    private void fail(SegmentInput input, String reason, String message, MultiOutputReceiver out) {
      failed.inc();
      out.get(ERRORS).output(new SegmentError(input.uri(), input.key(), reason, message));
    }
  }
}
