package io.maskbeam.pipelines.bench;

import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import io.maskbeam.transforms.common.FailureCoder;
import io.maskbeam.transforms.preprocess.SampleRef;
import io.maskbeam.transforms.segment.ImageStats;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.KV;

/**
 * {@code maskbeam bench coders}: the explicit coders of the element types that cross shuffles (per-image
 * statistics, pairing references, failure records) against {@link SerializableCoder} on records with the same
 * fields, which is what every element used before. Two measurements, alternating, medians and ratios:
 *
 * <ol>
 *   <li>in process: encoded bytes per element and encode+decode time per element;
 *   <li>on the runner the command line names (e.g. {@code --runner=SparkRunner --sparkMaster=local[2]}): a pipeline
 *       that makes the elements and groups them into hash buckets, as {@code LatestPerKey} does, so every element
 *       is encoded, shuffled and decoded once; wall time from run to finish.
 * </ol>
 */
final class CoderBench {
  private static final String NAMESPACE = "maskbeam.bench";
  private static final int CLASSES = 11;
  private static final int BUCKETS = 64;

  private final PrintStream out;

  CoderBench(PrintStream out) {
    this.out = out;
  }

  /** The same fields as {@link ImageStats}, serialised by Java serialisation. */
  record SerializableStats(String key, String input, String run, int width, int height, int orientation,
      long[] classPixels) implements Serializable {}

  /** The same fields as {@link SampleRef}, serialised by Java serialisation. */
  record SerializableRef(String id, String imageUri, String maskUri, String split) implements Serializable {}

  /** One element type in both encodings, made from a sequence number. */
  record Kind<E, S extends Serializable>(String name, Coder<E> explicit, SerializableFunction<Long, E> make,
      Class<S> serializableType, SerializableFunction<Long, S> makeSerializable) {}

  static ImageStats stats(long i) {
    long[] pixels = new long[CLASSES];
    long left = 480L * 360;
    for (int c = 0; c < CLASSES - 1; c++) {
      pixels[c] = Math.min(left, (i * 7919 + c * 104729) % 40000);
      left -= pixels[c];
    }
    pixels[CLASSES - 1] = left;
    return new ImageStats(name(i), "gs://photos-bucket/drives/" + name(i) + ".jpg", "20261202-171500-ab12", 480,
        360, 1, pixels);
  }

  static SerializableStats serializableStats(long i) {
    ImageStats s = stats(i);
    return new SerializableStats(s.key(), s.input(), s.run(), s.width(), s.height(), s.orientation(),
        s.classPixels());
  }

  static SampleRef ref(long i) {
    return new SampleRef(name(i).replace('/', '_'), "s3://datasets/camvid/train/" + name(i) + ".png",
        "s3://datasets/camvid/trainannot/" + name(i) + ".png", i % 5 == 0 ? "val" : "train");
  }

  static SerializableRef serializableRef(long i) {
    SampleRef r = ref(i);
    return new SerializableRef(r.id(), r.imageUri(), r.maskUri(), r.split());
  }

  static Failure failure(long i) {
    return new Failure(Stage.SEGMENT, name(i), "gs://photos-bucket/drives/" + name(i) + ".jpg",
        Map.of("image", "gs://photos-bucket/drives/" + name(i) + ".jpg"), FailureReason.IMAGE_TRUNCATED,
        "the image file is truncated: Premature end of JPEG file", "javax.imageio.IIOException");
  }

  private static String name(long i) {
    return String.format(Locale.ROOT, "drive%03d/frame_%06d", i % 97, i);
  }

  static List<Kind<?, ?>> kinds() {
    return List.of(
        new Kind<>("ImageStats", ImageStats.Coder.of(), CoderBench::stats, SerializableStats.class,
            CoderBench::serializableStats),
        new Kind<>("SampleRef", SampleRef.Coder.of(), CoderBench::ref, SerializableRef.class,
            CoderBench::serializableRef),
        // Failure is itself Serializable: the comparison is on the very same objects.
        new Kind<>("Failure", FailureCoder.of(), CoderBench::failure, Failure.class, CoderBench::failure));
  }

  int run(PipelineOptions options, long elements, int repeats) throws Exception {
    out.printf(Locale.ROOT, "coders: %d elements per measurement, %d alternating repeats, runner %s%n", elements,
        repeats, options.getRunner().getSimpleName());
    out.println();
    out.println("| element | bytes explicit | bytes Serializable | ratio | encode+decode explicit | Serializable"
        + " | ratio |");
    out.println("| --- | --- | --- | --- | --- | --- | --- |");
    for (Kind<?, ?> kind : kinds()) {
      inProcess(kind, Math.min(elements, 200_000), repeats);
    }
    out.println();
    out.println("| element | pipeline explicit (s) | pipeline Serializable (s) | ratio |");
    out.println("| --- | --- | --- | --- |");
    for (Kind<?, ?> kind : kinds()) {
      throughShuffle(kind, options, elements, repeats);
    }
    return 0;
  }

  private <E, S extends Serializable> void throughShuffle(Kind<E, S> kind, PipelineOptions options, long n,
      int repeats) {
    double[] explicit = new double[repeats];
    double[] java = new double[repeats];
    for (int r = 0; r < repeats; r++) {
      explicit[r] = pipeline(options, kind.explicit(), kind.make(), n);
      java[r] = pipeline(options, SerializableCoder.of(kind.serializableType()), kind.makeSerializable(), n);
    }
    double e = BenchCommand.median(explicit);
    double j = BenchCommand.median(java);
    out.printf(Locale.ROOT, "| %s | %.2f | %.2f | %.2f |%n", kind.name(), e, j, j / e);
  }

  private <E, S extends Serializable> void inProcess(Kind<E, S> kind, long n, int repeats) throws IOException {
    List<E> explicitElements = new ArrayList<>();
    List<S> javaElements = new ArrayList<>();
    for (long i = 0; i < n; i++) {
      explicitElements.add(kind.make().apply(i));
      javaElements.add(kind.makeSerializable().apply(i));
    }
    Coder<S> javaCoder = SerializableCoder.of(kind.serializableType());
    double[] explicitNs = new double[repeats];
    double[] javaNs = new double[repeats];
    long explicitBytes = 0;
    long javaBytes = 0;
    // One warm-up round of each, then alternating measured rounds.
    roundTrip(kind.explicit(), explicitElements);
    roundTrip(javaCoder, javaElements);
    for (int r = 0; r < repeats; r++) {
      long t0 = System.nanoTime();
      explicitBytes = roundTrip(kind.explicit(), explicitElements);
      long t1 = System.nanoTime();
      javaBytes = roundTrip(javaCoder, javaElements);
      long t2 = System.nanoTime();
      explicitNs[r] = (double) (t1 - t0) / n;
      javaNs[r] = (double) (t2 - t1) / n;
    }
    double e = BenchCommand.median(explicitNs);
    double j = BenchCommand.median(javaNs);
    out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.2f | %.0f ns | %.0f ns | %.2f |%n", kind.name(),
        (double) explicitBytes / n, (double) javaBytes / n, (double) javaBytes / explicitBytes, e, j, j / e);
  }

  /** Encodes each element alone (as a shuffle does) and decodes it; returns the bytes encoded. */
  private static <T> long roundTrip(Coder<T> coder, List<T> elements) throws IOException {
    long bytes = 0;
    ByteArrayOutputStream buffer = new ByteArrayOutputStream(512);
    for (T e : elements) {
      buffer.reset();
      coder.encode(e, buffer);
      byte[] encoded = buffer.toByteArray();
      bytes += encoded.length;
      T back = coder.decode(new ByteArrayInputStream(encoded));
      if (back == null) {
        throw new IllegalStateException(coder + " decoded null");
      }
    }
    return bytes;
  }

  /** Makes {@code n} elements, groups them into hash buckets and counts them; seconds from run to finish. */
  private static <T> double pipeline(PipelineOptions options, Coder<T> coder, SerializableFunction<Long, T> fn,
      long n) {
    Pipeline p = Pipeline.create(options);
    p.apply("Sequence", GenerateSequence.from(0).to(n))
        .apply("Make", ParDo.of(new MakeFn<>(fn))).setCoder(KvCoder.of(VarIntCoder.of(), coder))
        .apply("Group", GroupByKey.create())
        .apply("Count", ParDo.of(new CountFn<>()));
    long start = System.nanoTime();
    PipelineResult result = p.run();
    result.waitUntilFinish();
    double seconds = (System.nanoTime() - start) / 1e9;
    MetricQueryResults metrics = result.metrics().queryMetrics(MetricsFilter.builder()
        .addNameFilter(MetricNameFilter.named(NAMESPACE, "grouped")).build());
    long counted = 0;
    for (var c : metrics.getCounters()) {
      counted += c.getAttempted();
    }
    if (counted != n) {
      throw new IllegalStateException("the benchmark pipeline grouped " + counted + " of " + n + " elements");
    }
    return seconds;
  }

  private static final class MakeFn<T> extends DoFn<Long, KV<Integer, T>> {
    private final SerializableFunction<Long, T> make;

    MakeFn(SerializableFunction<Long, T> make) {
      this.make = make;
    }

    @ProcessElement
    public void process(@Element Long i, OutputReceiver<KV<Integer, T>> out) {
      out.output(KV.of((int) (i % BUCKETS), make.apply(i)));
    }
  }

  private static final class CountFn<T> extends DoFn<KV<Integer, Iterable<T>>, Void> {
    private final Counter grouped = Metrics.counter(NAMESPACE, "grouped");

    @ProcessElement
    public void process(@Element KV<Integer, Iterable<T>> bucket) {
      long n = 0;
      for (T ignored : bucket.getValue()) {
        n++;
      }
      grouped.inc(n);
    }
  }
}
