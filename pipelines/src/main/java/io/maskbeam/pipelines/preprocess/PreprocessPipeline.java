package io.maskbeam.pipelines.preprocess;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.dataset.DatasetStatistics;
import io.maskbeam.dataset.ExamplePreparer;
import io.maskbeam.dataset.UnknownLabelPolicy;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.labels.LabelMap;
import io.maskbeam.pipelines.cli.LabelMapResolver;
import io.maskbeam.pipelines.cli.Parallelism;
import io.maskbeam.pipelines.cli.PipelineArgs;
import io.maskbeam.pipelines.cli.ProgressReporter;
import io.maskbeam.transforms.io.Storage;
import io.maskbeam.transforms.preprocess.ComputeDatasetStatistics;
import io.maskbeam.transforms.preprocess.DatasetLayout;
import io.maskbeam.transforms.preprocess.DatasetSource;
import io.maskbeam.transforms.preprocess.ExampleRecord;
import io.maskbeam.transforms.preprocess.ExampleSummary;
import io.maskbeam.transforms.preprocess.MatchDatasetPairs;
import io.maskbeam.transforms.preprocess.PrepareExamples;
import io.maskbeam.transforms.preprocess.Rejection;
import io.maskbeam.transforms.preprocess.SplitPolicy;
import io.maskbeam.transforms.preprocess.WriteDatasetMetadata;
import io.maskbeam.transforms.preprocess.WriteRejections;
import io.maskbeam.transforms.preprocess.WriteTfRecordShards;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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
 * the job, {@link #applyTransforms} builds the graph (and is what tests drive).
 */
public final class PreprocessPipeline {
  public static final String METRICS_NAMESPACE = "maskbeam.preprocess";

  private PreprocessPipeline() {}

  /** The graph's main outputs, for tests and for callers that extend the pipeline. */
  public record Outputs(
      PCollection<ExampleRecord> examples, PCollection<Rejection> rejections, PCollection<DatasetStatistics> stats,
      PCollection<KV<String, String>> shards) {}

  public static void main(String[] args) {
    PreprocessOptions options = PipelineArgs.parse(args, PreprocessOptions.class);
    System.exit(execute(options, System.out) ? 0 : 1);
  }

  /** Checks, runs with progress, and prints the reconciled counts. Returns whether the job succeeded. */
  public static boolean execute(PreprocessOptions options, PrintStream out) {
    PipelineResult result = run(options);
    String[][] shown = {
      {"pairs_matched", "pairs"}, {"examples_written", "written"}, {"pairs_rejected", "rejected"},
      {"files_unpaired", "unpaired"}};
    PipelineResult.State state =
        new ProgressReporter(out, METRICS_NAMESPACE, shown, "examples_written").waitFor(result);
    if (state != PipelineResult.State.DONE) {
      out.println("preprocess ended in state " + state);
      return false;
    }
    printSummary(options.getOutput(), out);
    return true;
  }

  /** Validates inputs and output, then starts the job (without waiting for it). */
  public static PipelineResult run(PreprocessOptions options) {
    LabelMap labelMap = LabelMapResolver.resolve(options.getLabelMap());
    DatasetSource source = sourceOf(options);
    try {
      source.checkInputsExist();
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
    return new DatasetSource(layout, o.getImages(), o.getMasks(), o.getRoot(), o.getManifest());
  }

  public static Outputs applyTransforms(Pipeline pipeline, PreprocessOptions o, LabelMap labelMap) {
    DatasetSource source = sourceOf(o);
    source.filePatterns(); // fails early on missing layout flags
    SplitPolicy splitPolicy = new SplitPolicy(o.getValidationFraction(), o.getSplitSeed(), o.getUseLayoutSplits());
    ExamplePreparer preparer = new ExamplePreparer(labelMap, ResizePolicy.parse(o.getResize()),
        UnknownLabelPolicy.parse(o.getUnknownLabels()), o.getMaxPixels(), o.getJpegQuality());
    String output = o.getOutput();

    PCollectionTuple matched =
        pipeline.apply("MatchPairs", new MatchDatasetPairs(source, splitPolicy, parallelism(pipeline, o)));
    PCollectionTuple prepared = matched.get(MatchDatasetPairs.PAIRS)
        .apply("PrepareExamples", new PrepareExamples(preparer));
    PCollection<ExampleRecord> examples = prepared.get(PrepareExamples.EXAMPLES);
    PCollection<Rejection> rejections = PCollectionList.of(matched.get(MatchDatasetPairs.REJECTED))
        .and(prepared.get(PrepareExamples.REJECTED))
        .apply("AllRejections", Flatten.pCollections());

    PCollection<KV<String, String>> shards = examples.apply("WriteShards", new WriteTfRecordShards(output,
        o.getNumShards(), o.getShardSizeMb() * 1024L * 1024L, compression(o.getCompression())));
    rejections.apply("WriteRejections", new WriteRejections(output));
    PCollection<DatasetStatistics> stats = examples
        .apply("Summaries", MapElements.into(TypeDescriptor.of(ExampleSummary.class)).via(ExampleRecord::summary))
        .apply("Statistics", new ComputeDatasetStatistics(labelMap.numClasses()));
    stats.apply("WriteDatasetJson", new WriteDatasetMetadata(output, labelMap, settingsJson(o), rejections, shards));
    return new Outputs(examples, rejections, stats, shards);
  }

  /** Groups the decode/encode work is spread over (see {@link Parallelism#groups}). */
  static int parallelism(Pipeline pipeline, PreprocessOptions o) {
    return Parallelism.groups(o, o.getParallelism(), 0, 1);
  }

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
    return s.toString();
  }

  /**
   * Refuses to mix a new dataset with an old one: stale shards from a run with a different shard count would be
   * read together with the new ones. With {@code overwrite}, the old dataset's files are deleted first.
   */
  static void prepareOutput(String output, boolean overwrite) throws IOException {
    List<ResourceId> existing = new ArrayList<>();
    for (String glob : List.of(Storage.join(output, "*" + WriteTfRecordShards.SUFFIX + "*"),
        Storage.join(output, WriteDatasetMetadata.FILE_NAME), Storage.join(output, WriteRejections.DIR + "/*"))) {
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

  /** Prints the reconciled counts from dataset.json, the job's durable record on every runner. */
  public static void printSummary(String output, PrintStream out) {
    String path = Storage.join(output, WriteDatasetMetadata.FILE_NAME);
    JsonNode d;
    try {
      d = new ObjectMapper().readTree(new String(Storage.readAll(path), StandardCharsets.UTF_8));
    } catch (IOException e) {
      out.println("finished, but " + path + " cannot be read: " + e.getMessage());
      return;
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
      out.println("rejected: " + Storage.join(output, WriteRejections.DIR + "/") + " (one JSON line per input, with"
          + " the reason)");
    }
  }
}
