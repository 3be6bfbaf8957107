package io.maskbeam.pipelines.preprocess;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.dataset.DatasetStatistics;
import io.maskbeam.dataset.ExamplePreparer;
import io.maskbeam.dataset.UnknownLabelPolicy;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.labels.LabelMap;
import io.maskbeam.core.Failure;
import io.maskbeam.pipelines.Maskbeam;
import io.maskbeam.pipelines.cli.LabelMapResolver;
import io.maskbeam.pipelines.cli.Launcher;
import io.maskbeam.pipelines.cli.Parallelism;
import io.maskbeam.pipelines.cli.ProgressReporter;
import io.maskbeam.transforms.io.Storage;
import io.maskbeam.transforms.preprocess.ComputeDatasetStatistics;
import io.maskbeam.transforms.preprocess.DatasetLayout;
import io.maskbeam.transforms.preprocess.DatasetSource;
import io.maskbeam.transforms.preprocess.ExampleRecord;
import io.maskbeam.transforms.preprocess.ExampleSummary;
import io.maskbeam.transforms.preprocess.MatchDatasetPairs;
import io.maskbeam.transforms.preprocess.PrepareExamples;
import io.maskbeam.raster.BandMapping;
import io.maskbeam.transforms.common.WriteFailures;
import io.maskbeam.transforms.preprocess.PreprocessMetrics;
import io.maskbeam.transforms.preprocess.SplitPolicy;
import io.maskbeam.transforms.preprocess.WriteDatasetMetadata;
import io.maskbeam.transforms.preprocess.WriteTfRecordShards;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.Compression;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.ResourceId;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TypeDescriptor;

/**
 * {@code maskbeam preprocess}: images and masks from any Beam filesystem to sharded DeepLab TFRecords,
 * {@code dataset.json} and a {@code rejected/} dead-letter output.
 *
 * <p>Shaped like the DataflowTemplates v2 pipelines: {@link #main} parses, {@link #run} checks inputs and starts
 * the job without waiting, {@link #applyTransforms} builds the graph (and is what tests drive).
 */
public final class PreprocessPipeline {
  private PreprocessPipeline() {}

  /** The graph's main outputs, for tests and for callers that extend the pipeline. */
  public record Outputs(
      PCollection<ExampleRecord> examples, PCollection<Failure> rejections, PCollection<DatasetStatistics> stats,
      PCollection<KV<String, String>> shards, PCollection<String> datasetJson) {}

  /** The Flex Template entry point: the same as {@code maskbeam preprocess ARGS}. */
  public static void main(String[] args) {
    System.exit(Maskbeam.run(Maskbeam.withCommand("preprocess", args), System.out, System.err));
  }

  /** Checks, starts, and (when it waits) prints the reconciled counts. Returns the exit code. */
  public static int execute(PreprocessOptions options, PrintStream out) {
    PipelineResult result = run(options);
    String[][] shown = {
      {PreprocessMetrics.PAIRS_MATCHED, "pairs"}, {PreprocessMetrics.EXAMPLES_WRITTEN, "written"},
      {PreprocessMetrics.PAIRS_REJECTED, "rejected"}, {PreprocessMetrics.FILES_UNPAIRED, "unpaired"}};
    return Launcher.await(result, options, new ProgressReporter(out, PreprocessMetrics.NAMESPACE, shown,
        PreprocessMetrics.EXAMPLES_WRITTEN), () -> printSummary(options.getOutput(), out), "preprocess", out);
  }

  /** Validates inputs and output, then starts the job (without waiting for it). */
  public static PipelineResult run(PreprocessOptions options) {
    LabelMap labelMap = LabelMapResolver.resolve(options.getLabelMap());
    DatasetSource source = sourceOf(options);
    try {
      source.checkInputsExist();
      // Writable first: a launch refused for its output must not have deleted the dataset already there.
      Storage.checkWritable(options.getOutput(), "--output");
      prepareOutput(options.getOutput(), options.getOverwrite());
    } catch (IOException e) {
      throw new IllegalStateException("cannot list inputs or output: " + e.getMessage(), e);
    }
    Pipeline pipeline = Pipeline.create(options);
    applyTransforms(pipeline, options, labelMap);
    return pipeline.run();
  }

  public static DatasetSource sourceOf(PreprocessOptions o) {
    DatasetLayout layout = DatasetLayout.parse(o.getLayout());
    return new DatasetSource(layout, o.getImages(), o.getMasks(), o.getRoot(), o.getManifest(), o.getAnnotations());
  }

  public static Outputs applyTransforms(Pipeline pipeline, PreprocessOptions o, LabelMap labelMap) {
    DatasetSource source = sourceOf(o);
    source.filePatterns(); // fails early on missing layout flags
    SplitPolicy splitPolicy = new SplitPolicy(o.getValidationFraction(), o.getSplitSeed(), o.getUseLayoutSplits());
    ExamplePreparer preparer = new ExamplePreparer(labelMap, ResizePolicy.parse(o.getResize()),
        UnknownLabelPolicy.parse(o.getUnknownLabels()), o.getMaxPixels(), o.getJpegQuality());
    String output = o.getOutput();

    PCollectionTuple matched = pipeline.apply("MatchPairs", MatchDatasetPairs.of(source)
        .withSplitPolicy(splitPolicy).withBuckets(Parallelism.groups(o, o.getParallelism(), 0, 1)));
    PCollectionTuple prepared = matched.get(MatchDatasetPairs.PAIRS)
        .apply("PrepareExamples", PrepareExamples.with(preparer, output)
            .withBandMapping(BandMapping.parse(o.getBands(), null, o.getNodata()))
            .withChips(new ExamplePreparer.Chips(o.getChipSize(), o.getChipOverlap()))
            .withStripeRows(o.getRasterStripeRows()));
    PCollection<ExampleRecord> examples = prepared.get(PrepareExamples.EXAMPLES);
    PCollection<Failure> rejections = PCollectionList.of(matched.get(MatchDatasetPairs.REJECTED))
        .and(prepared.get(PrepareExamples.REJECTED))
        .apply("AllRejections", Flatten.pCollections());

    PCollection<KV<String, String>> shards = examples.apply("WriteShards", new WriteTfRecordShards(output,
        o.getNumShards(), o.getShardSizeMb() * 1024L * 1024L, compression(o.getCompression()))
        .withPrewritten(prepared.get(PrepareExamples.TEMP_FILES)));
    WriteFailures.Result rejected = rejections.apply("WriteRejections",
        WriteFailures.to(Storage.join(output, REJECTED_DIR)).withPrefix("rejected"));
    PCollection<ExampleSummary> summaries = examples
        .apply("Summaries", MapElements.into(TypeDescriptor.of(ExampleSummary.class)).via(ExampleRecord::summary));
    PCollection<DatasetStatistics> stats = PCollectionList.of(summaries).and(prepared.get(PrepareExamples.SUMMARIES))
        .apply("AllSummaries", Flatten.pCollections())
        .apply("Statistics", new ComputeDatasetStatistics(labelMap.numClasses()));
    PCollection<String> datasetJson = PCollectionTuple.of(WriteDatasetMetadata.STATISTICS, stats)
        .and(WriteDatasetMetadata.SHARDS, shards)
        .apply("WriteDatasetJson", WriteDatasetMetadata.to(output, labelMap, settingsJson(o), rejected));
    return new Outputs(examples, rejections, stats, shards, datasetJson);
  }

  /** The dead-letter folder: one JSON line per input that did not become an example. */
  public static final String REJECTED_DIR = "rejected";

  static Compression compression(String name) {
    return switch (name.trim().toLowerCase(Locale.ROOT)) {
      case "none", "uncompressed", "" -> Compression.UNCOMPRESSED;
      case "gzip", "gz" -> Compression.GZIP;
      default -> throw new IllegalArgumentException("--compression must be none or gzip, got '" + name + "'");
    };
  }

  static String settingsJson(PreprocessOptions o) {
    ObjectNode s = new ObjectMapper().createObjectNode();
    s.put("layout", o.getLayout());
    s.put("images", o.getImages());
    s.put("masks", o.getMasks());
    s.put("root", o.getRoot());
    s.put("manifest", o.getManifest());
    s.put("annotations", o.getAnnotations());
    s.put("resize", ResizePolicy.parse(o.getResize()).toString());
    s.put("unknownLabels", UnknownLabelPolicy.parse(o.getUnknownLabels()).name().toLowerCase(Locale.ROOT));
    s.put("validationFraction", o.getValidationFraction());
    s.put("splitSeed", o.getSplitSeed());
    s.put("useLayoutSplits", o.getUseLayoutSplits());
    s.put("numShards", o.getNumShards());
    s.put("shardSizeMb", o.getShardSizeMb());
    s.put("compression", compression(o.getCompression()).name().toLowerCase(Locale.ROOT));
    s.put("maxPixels", o.getMaxPixels());
    s.put("jpegQuality", o.getJpegQuality());
    s.put("bands", o.getBands());
    s.put("nodata", o.getNodata());
    s.put("chipSize", o.getChipSize());
    s.put("chipOverlap", o.getChipOverlap());
    s.put("rasterStripeRows", o.getRasterStripeRows());
    return s.toString();
  }

  /**
   * Refuses to mix a new dataset with an old one: stale shards from a run with a different shard count would be
   * read together with the new ones. With {@code overwrite}, the old dataset's files are deleted first.
   */
  static void prepareOutput(String output, boolean overwrite) throws IOException {
    List<ResourceId> existing = new ArrayList<>();
    for (String glob : List.of(Storage.join(output, "*" + WriteTfRecordShards.SUFFIX + "*"),
        Storage.join(output, WriteDatasetMetadata.FILE_NAME), Storage.join(output, REJECTED_DIR + "/*"))) {
      MatchResult m = FileSystems.match(glob);
      if (m.status() == MatchResult.Status.OK) {
        m.metadata().forEach(md -> existing.add(md.resourceId()));
      }
    }
    if (existing.isEmpty()) {
      return;
    }
    if (!overwrite) {
      throw new IllegalArgumentException("--output '" + output + "' already holds a dataset (" + existing.size()
          + " files such as " + existing.get(0) + "); pass --overwrite=true to replace it");
    }
    FileSystems.delete(existing);
  }

  /** Prints the reconciled counts from dataset.json, the job's durable record on every runner; returns them. */
  public static Launcher.Counts printSummary(String output, PrintStream out) {
    String path = Storage.join(output, WriteDatasetMetadata.FILE_NAME);
    JsonNode d = Launcher.readRecord(path, out);
    if (d == null) {
      return null;
    }
    JsonNode counts = d.path("counts");
    out.printf(Locale.ROOT, "inputs %d = written %d + rejected %d%n", counts.path("inputs").asLong(),
        counts.path("written").asLong(), counts.path("rejected").asLong());
    d.path("splits").fields().forEachRemaining(e -> out.printf(Locale.ROOT, "  %-6s %6d examples in %d shard(s)%n",
        e.getKey(), e.getValue().path("examples").asLong(), d.path("shards").path(e.getKey()).size()));
    counts.path("rejectedByReason").fields().forEachRemaining(
        e -> out.printf(Locale.ROOT, "  rejected %-24s %d%n", e.getKey(), e.getValue().asLong()));
    out.println("dataset:  " + path);
    if (counts.path("rejected").asLong() > 0) {
      out.println("rejected: " + Storage.join(output, REJECTED_DIR + "/") + " (one JSON line per input, with"
          + " the reason)");
    }
    long allIgnore = counts.path("writtenAllIgnore").asLong();
    if (allIgnore > 0) {
      out.printf(Locale.ROOT, "warning: %d written example(s) have no labelled pixel (every pixel is the ignore"
          + " value): they teach nothing; check the label map%n", allIgnore);
    }
    return new Launcher.Counts(counts.path("inputs").asLong(), counts.path("rejected").asLong());
  }
}
