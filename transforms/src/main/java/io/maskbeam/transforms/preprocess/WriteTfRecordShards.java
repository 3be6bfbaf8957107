package io.maskbeam.transforms.preprocess;

import io.maskbeam.dataset.TfRecordFraming;
import io.maskbeam.transforms.io.Storage;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.io.Compression;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.CreateOptions;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.MoveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * Writes examples as {@code <output>/<split>-NNNNN-of-MMMMM.tfrecord} ({@code .tfrecord.gz} with GZIP), the
 * naming of TensorFlow's own dataset builders. Returns (split, shard path) for every shard written.
 *
 * <p>Example bytes are never shuffled. Each bundle frames its records into a temporary file per split; a plan,
 * made from the temporary files' record counts alone, gives every shard an exact, contiguous range of records; each
 * shard is then a stream copy of TFRecord frames (compressed on the way when asked). This keeps the DirectRunner
 * linear (its GroupByKey state is copied on access, which made Beam's fixed-shard write quadratic in shard size
 * here) and saves distributed runners a shuffle of every image byte. Shards are balanced by record count.
 *
 * <p>With {@code numShards == 0} each split gets ceil(bytes / {@code targetShardBytes}) shards (TensorFlow's
 * guidance is 100-200 MB per shard), at least 1 and at most 1024 or its record count.
 */
public class WriteTfRecordShards extends PTransform<PCollection<ExampleRecord>, PCollection<KV<String, String>>> {
  public static final String SUFFIX = ".tfrecord";
  static final String TEMP_DIR = ".maskbeam-temp";

  private final String outputDir;
  private final int numShards;
  private final long targetShardBytes;
  private final Compression compression;
  /** Temporary files written upstream (chips of large rasters), planned into the shards with the rest; or null. */
  private final PCollection<TempFile> prewritten;

  public WriteTfRecordShards(String outputDir, int numShards, long targetShardBytes, Compression compression) {
    this(outputDir, numShards, targetShardBytes, compression, null);
  }

  private WriteTfRecordShards(String outputDir, int numShards, long targetShardBytes, Compression compression,
      PCollection<TempFile> prewritten) {
    if (numShards < 0) {
      throw new IllegalArgumentException("number of shards must be >= 0 (0 = from the data size)");
    }
    if (targetShardBytes <= 0) {
      throw new IllegalArgumentException("target shard size must be positive");
    }
    if (compression != Compression.UNCOMPRESSED && compression != Compression.GZIP) {
      throw new IllegalArgumentException("TFRecord shards support UNCOMPRESSED or GZIP, not " + compression);
    }
    this.outputDir = outputDir;
    this.numShards = numShards;
    this.targetShardBytes = targetShardBytes;
    this.compression = compression;
    this.prewritten = prewritten;
  }

  /**
   * Also shards the records of temporary files written upstream into {@link #tempDir} (see {@link BundleFiles}), so
   * a step that makes many large examples from one element writes them as it goes instead of holding them.
   */
  public WriteTfRecordShards withPrewritten(PCollection<TempFile> files) {
    return new WriteTfRecordShards(outputDir, numShards, targetShardBytes, compression, files);
  }

  /** Where temporary files of {@code outputDir}'s shards are written (and deleted once the shards exist). */
  public static String tempDir(String outputDir) {
    return Storage.join(outputDir, TEMP_DIR);
  }

  /** The shard file name of TensorFlow's convention. */
  public static String shardName(String split, int index, int count, Compression compression) {
    return String.format(Locale.ROOT, "%s-%05d-of-%05d%s%s", split, index, count, SUFFIX,
        compression == Compression.GZIP ? ".gz" : "");
  }

  @Override
  public PCollection<KV<String, String>> expand(PCollection<ExampleRecord> examples) {
    String tempDir = tempDir(outputDir);
    PCollection<TempFile> files = examples.apply("WriteBundleFiles", ParDo.of(new WriteBundleFn(tempDir)));
    if (prewritten != null) {
      files = PCollectionList.of(files).and(prewritten).apply("WithPrewritten", Flatten.pCollections());
    }
    PCollection<KV<String, String>> written = files
        .apply("OneGroup", WithKeys.<String, TempFile>of("all").withKeyType(TypeDescriptors.strings()))
        .apply("CollectTempFiles", GroupByKey.create())
        .apply("PlanShards", ParDo.of(new PlanShardsFn(numShards, targetShardBytes)))
        .apply("SpreadShards", Reshuffle.viaRandomKey())
        .apply("CopyToShards", ParDo.of(new WriteShardFn(outputDir, compression)));
    written
        .apply("AfterAllShards", WithKeys.<String, KV<String, String>>of("all").withKeyType(TypeDescriptors.strings()))
        .apply("AllShards", GroupByKey.create())
        .apply("DeleteTempFiles", ParDo.of(new DeleteTempFn(tempDir)));
    return written;
  }

  /** A bundle's temporary file of framed records for one split. */
  @DefaultCoder(SerializableCoder.class)
  public record TempFile(String split, String path, long records, long bytes) implements Serializable {}

  /** One temporary file per split for a bundle's records, framed as they come; closed into {@link TempFile}s. */
  static final class BundleFiles {
    private final String tempDir;
    private final Map<String, BundleFile> open = new HashMap<>();

    BundleFiles(String tempDir) {
      this.tempDir = tempDir;
    }

    private static final class BundleFile {
      final String path;
      final OutputStream out;
      long records;
      long bytes;

      BundleFile(String path, OutputStream out) {
        this.path = path;
        this.out = out;
      }
    }

    void write(String split, byte[] example) throws IOException {
      BundleFile f = open.get(split);
      if (f == null) {
        String path = Storage.join(tempDir, split + "-" + UUID.randomUUID() + SUFFIX);
        WritableByteChannel channel = FileSystems.create(Storage.resource(path),
            CreateOptions.StandardCreateOptions.builder().setMimeType("application/octet-stream").build());
        f = new BundleFile(path, new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 20));
        open.put(split, f);
      }
      TfRecordFraming.write(f.out, example);
      f.records++;
      f.bytes += example.length;
    }

    /** Closes every file; its split, path and counts, to output at the end of the bundle. */
    List<TempFile> close() throws IOException {
      List<TempFile> files = new ArrayList<>();
      for (Map.Entry<String, BundleFile> e : open.entrySet()) {
        BundleFile f = e.getValue();
        f.out.close();
        files.add(new TempFile(e.getKey(), f.path, f.records, f.bytes));
      }
      open.clear();
      return files;
    }
  }

  /** A contiguous run of records of one temporary file. */
  record Segment(String path, long skip, long take) implements Serializable {}

  /** What one shard holds. */
  @DefaultCoder(SerializableCoder.class)
  record ShardPlan(String split, int index, int count, List<Segment> segments) implements Serializable {}

  /** Frames each bundle's records into one temporary file per split. */
  static final class WriteBundleFn extends DoFn<ExampleRecord, TempFile> {
    private final String tempDir;
    private transient BundleFiles files;

    WriteBundleFn(String tempDir) {
      this.tempDir = tempDir;
    }

    @StartBundle
    public void startBundle() {
      files = new BundleFiles(tempDir);
    }

    @ProcessElement
    public void process(@Element ExampleRecord record) throws IOException {
      files.write(record.split(), record.example());
    }

    @FinishBundle
    public void finishBundle(FinishBundleContext context) throws IOException {
      for (TempFile f : files.close()) {
        context.output(f, GlobalWindow.INSTANCE.maxTimestamp(), GlobalWindow.INSTANCE);
      }
      files = null;
    }
  }

  /** Assigns every split's records, in a deterministic order, to its shards in equal contiguous ranges. */
  static final class PlanShardsFn extends DoFn<KV<String, Iterable<TempFile>>, ShardPlan> {
    private final int numShards;
    private final long targetShardBytes;

    PlanShardsFn(int numShards, long targetShardBytes) {
      this.numShards = numShards;
      this.targetShardBytes = targetShardBytes;
    }

    @ProcessElement
    public void process(@Element KV<String, Iterable<TempFile>> all, OutputReceiver<ShardPlan> out) {
      Map<String, List<TempFile>> bySplit = new TreeMap<>();
      for (TempFile t : all.getValue()) {
        bySplit.computeIfAbsent(t.split(), s -> new ArrayList<>()).add(t);
      }
      bySplit.forEach((split, files) -> plan(split, files).forEach(out::output));
    }

    List<ShardPlan> plan(String split, List<TempFile> files) {
      files.sort(Comparator.comparing(TempFile::path));
      long records = files.stream().mapToLong(TempFile::records).sum();
      long bytes = files.stream().mapToLong(TempFile::bytes).sum();
      int count = numShards > 0 ? numShards : autoShards(bytes, records, targetShardBytes);
      List<ShardPlan> plans = new ArrayList<>();
      int fileIndex = 0;
      long usedOfFile = 0;
      for (int s = 0; s < count; s++) {
        long begin = records * s / count;
        long end = records * (s + 1) / count;
        long need = end - begin;
        List<Segment> segments = new ArrayList<>();
        while (need > 0) {
          TempFile f = files.get(fileIndex);
          long take = Math.min(need, f.records() - usedOfFile);
          segments.add(new Segment(f.path(), usedOfFile, take));
          usedOfFile += take;
          need -= take;
          if (usedOfFile == f.records()) {
            fileIndex++;
            usedOfFile = 0;
          }
        }
        plans.add(new ShardPlan(split, s, count, segments));
      }
      return plans;
    }
  }

  static int autoShards(long bytes, long records, long targetShardBytes) {
    long n = (bytes + targetShardBytes - 1) / targetShardBytes;
    return (int) Math.max(1, Math.min(Math.min(1024, Math.max(1, records)), n));
  }

  /** Copies a shard's record ranges from the temporary files, frame by frame, into the final shard file. */
  static final class WriteShardFn extends DoFn<ShardPlan, KV<String, String>> {
    private final String outputDir;
    private final Compression compression;
    private final Counter shards = Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.SHARDS_WRITTEN);

    WriteShardFn(String outputDir, Compression compression) {
      this.outputDir = outputDir;
      this.compression = compression;
    }

    @ProcessElement
    public void process(@Element ShardPlan plan, OutputReceiver<KV<String, String>> out) throws IOException {
      String path = Storage.join(outputDir, shardName(plan.split(), plan.index(), plan.count(), compression));
      WritableByteChannel channel = FileSystems.create(Storage.resource(path),
          CreateOptions.StandardCreateOptions.builder().setMimeType("application/octet-stream").build());
      try (OutputStream sink = new BufferedOutputStream(
          Channels.newOutputStream(compression.writeCompressed(channel)), 1 << 20)) {
        for (Segment segment : plan.segments()) {
          copyRecords(segment, sink);
        }
      }
      shards.inc();
      out.output(KV.of(plan.split(), path));
    }

    private static void copyRecords(Segment segment, OutputStream sink) throws IOException {
      try (InputStream raw = Channels.newInputStream(FileSystems.open(Storage.resource(segment.path())));
          DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 1 << 20))) {
        byte[] header = new byte[12];
        byte[] buffer = new byte[1 << 16];
        for (long r = 0; r < segment.skip() + segment.take(); r++) {
          in.readFully(header);
          if (ByteBuffer.wrap(header, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt()
              != TfRecordFraming.maskedCrc32c(header, 0, 8)) {
            throw new IOException("corrupt temporary record header in " + segment.path());
          }
          long remaining = ByteBuffer.wrap(header, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong() + 4;
          boolean keep = r >= segment.skip();
          if (keep) {
            sink.write(header);
          }
          while (remaining > 0) {
            int n = in.read(buffer, 0, (int) Math.min(buffer.length, remaining));
            if (n < 0) {
              throw new IOException("temporary file " + segment.path() + " ends inside a record");
            }
            if (keep) {
              sink.write(buffer, 0, n);
            }
            remaining -= n;
          }
        }
      }
    }
  }

  /** Deletes the temporary files (those of failed bundle attempts too) once every shard is written. */
  static final class DeleteTempFn extends DoFn<KV<String, Iterable<KV<String, String>>>, Void> {
    private final String tempDir;

    DeleteTempFn(String tempDir) {
      this.tempDir = tempDir;
    }

    @ProcessElement
    public void process(@Element KV<String, Iterable<KV<String, String>>> ignored) throws IOException {
      MatchResult match = FileSystems.match(Storage.join(tempDir, "*"));
      List<ResourceId> files = new ArrayList<>();
      if (match.status() == MatchResult.Status.OK) {
        match.metadata().forEach(m -> files.add(m.resourceId()));
      }
      FileSystems.delete(files, MoveOptions.StandardMoveOptions.IGNORE_MISSING_FILES);
      if (!tempDir.contains("://")) {
        java.nio.file.Files.deleteIfExists(java.nio.file.Path.of(tempDir));
      }
    }
  }
}
