package io.maskbeam.pipelines.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.core.Failure;
import io.maskbeam.models.infer.InferenceSettings;
import io.maskbeam.pipelines.Maskbeam;
import io.maskbeam.pipelines.cli.Launcher;
import io.maskbeam.pipelines.cli.Parallelism;
import io.maskbeam.pipelines.cli.PipelineArgs;
import io.maskbeam.pipelines.cli.ProgressReporter;
import io.maskbeam.transforms.io.FileListing;
import io.maskbeam.transforms.io.Storage;
import io.maskbeam.transforms.model.ModelReference;
import io.maskbeam.transforms.segment.ImageStats;
import io.maskbeam.transforms.segment.IncrementalState;
import io.maskbeam.transforms.segment.ListImages;
import io.maskbeam.transforms.segment.OutputNames;
import io.maskbeam.raster.BandMapping;
import io.maskbeam.transforms.segment.SegmentImages;
import io.maskbeam.transforms.segment.SegmentInput;
import io.maskbeam.transforms.segment.SegmentMetrics;
import io.maskbeam.transforms.segment.SegmentOutputs;
import io.maskbeam.transforms.segment.WriteCocoDataset;
import io.maskbeam.transforms.segment.WriteSegmentationResults;
import java.io.IOException;
import java.io.PrintStream;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * {@code maskbeam segment}: bulk inference over an image collection, writing masks, colour masks, overlays,
 * optional probabilities, per-image statistics, a summary and an {@code errors/} dead-letter output.
 *
 * <p>Shaped like the DataflowTemplates v2 pipelines: {@link #main} (the Flex Template's main class) parses and
 * runs, {@link #run} makes the checks at launch and starts the job without waiting, and {@link #applyTransforms}
 * builds the graph. The checks read the model's metadata and list its files (pinning their versions), but never
 * load TensorFlow: on Dataflow the launcher submits and returns.
 */
public final class SegmentPipeline {
  private static final DateTimeFormatter RUN_ID = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'");

  private SegmentPipeline() {}

  /** What the checks at launch learned: the pinned model, this run's id, and earlier runs' record files. */
  public record Launch(ModelReference model, String runId, List<String> previousStatsFiles,
      List<String> previousStateFiles, long listedFiles) {}

  /** The graph's main outputs. */
  public record Outputs(PCollection<ImageStats> stats, PCollection<Failure> failures, PCollection<String> skipped,
      PCollection<String> summary) {}

  /** The Flex Template entry point: the same as {@code maskbeam segment ARGS}. */
  public static void main(String[] args) {
    System.exit(Maskbeam.run(Maskbeam.withCommand("segment", args), System.out, System.err));
  }

  /**
   * Parses segment's arguments. On the DirectRunner, unless told otherwise, one worker thread per core: every
   * model call already spreads over all cores, so Beam's default of at least three threads on a two-core machine
   * only makes calls compete (measured: 0.89 of the raw ceiling with 2 threads, lower with 3).
   */
  public static SegmentOptions parse(String[] args) {
    SegmentOptions options = PipelineArgs.parse(args, SegmentOptions.class);
    if (java.util.Arrays.stream(args).noneMatch(a -> a.startsWith("--targetParallelism"))) {
      options.as(DirectOptions.class).setTargetParallelism(Runtime.getRuntime().availableProcessors());
    }
    return options;
  }

  /** Checks, starts the job, and (when it waits) prints the reconciled counts; returns the exit code. */
  public static int execute(SegmentOptions options, PrintStream out) throws IOException {
    Launch launch = launch(options);
    String[][] shown = {
      {SegmentMetrics.INPUTS_MATCHED, "matched"}, {SegmentMetrics.IMAGES_SEGMENTED, "segmented"},
      {SegmentMetrics.IMAGES_SKIPPED, "skipped"}, {SegmentMetrics.IMAGES_FAILED, "failed"},
      // Progress inside rasters, which take minutes each; shown once there is any.
      {SegmentMetrics.RASTER_WINDOWS, "raster windows", ProgressReporter.WHEN_NONZERO}};
    ProgressReporter progress = new ProgressReporter(out, SegmentMetrics.NAMESPACE, shown,
        SegmentMetrics.IMAGES_SEGMENTED, SegmentMetrics.INPUTS_MATCHED, SegmentMetrics.IMAGES_SEGMENTED,
        SegmentMetrics.IMAGES_SKIPPED, SegmentMetrics.IMAGES_FAILED);
    return Launcher.executeWithModel(options, launch.model(), inference(options, launch.model()).runtime(),
        () -> start(options, launch), progress, () -> printSummary(options.getOutput(), out), "segment", out);
  }

  /** Makes the checks at launch and starts the job, without waiting for it (DataflowTemplates' {@code run}). */
  public static PipelineResult run(SegmentOptions options) throws IOException {
    return start(options, launch(options));
  }

  private static PipelineResult start(SegmentOptions options, Launch launch) {
    Pipeline pipeline = Pipeline.create(options);
    applyTransforms(pipeline, options, launch);
    return pipeline.run();
  }

  /**
   * The checks that must pass before a job starts, and what they learn: inputs exist, settings are valid, the
   * output can be written, and the model is complete (its files pinned, its metadata read; TensorFlow not loaded).
   */
  public static Launch launch(SegmentOptions o) throws IOException {
    List<String> patterns = patterns(o.getInput());
    if (patterns.isEmpty() && (o.getManifest() == null || o.getManifest().isBlank())) {
      throw new IllegalArgumentException("give --input (globs) and/or --manifest");
    }
    ModelReference model = ModelReference.resolve(o.getModel());
    // Settings are checked here, not inside the job: a strict precision this machine lacks, or bf16 for an ONNX
    // model, is refused now.
    inference(o, model).runtime().choiceFor(model.format());
    outputs(o, "check");
    long listed = 0;
    for (String pattern : patterns) {
      List<FileListing.Entry> entries = FileListing.list(pattern);
      if (entries.isEmpty()) {
        throw new IllegalArgumentException("--input '" + pattern + "' matched no files");
      }
      listed += entries.size();
    }
    if (o.getManifest() != null && !o.getManifest().isBlank()) {
      MatchResult m = FileSystems.match(o.getManifest(), EmptyMatchTreatment.ALLOW);
      if (m.status() != MatchResult.Status.OK || m.metadata().isEmpty()) {
        throw new IllegalArgumentException("--manifest '" + o.getManifest() + "' does not exist");
      }
    }
    Storage.checkWritable(o.getOutput(), "--output");
    String runId = ZonedDateTime.now(ZoneOffset.UTC).format(RUN_ID);
    return new Launch(model, runId, previousFiles(o.getOutput(), SegmentOutputs.STATS),
        previousFiles(o.getOutput(), IncrementalState.DIR), listed);
  }

  /** Splits --input on commas that are not inside a {a,b} glob alternative. */
  static List<String> patterns(String input) {
    List<String> out = new ArrayList<>();
    if (input == null) {
      return out;
    }
    StringBuilder current = new StringBuilder();
    int depth = 0;
    for (char c : input.toCharArray()) {
      if (c == '{') {
        depth++;
      } else if (c == '}') {
        depth = Math.max(0, depth - 1);
      }
      if (c == ',' && depth == 0) {
        add(out, current);
      } else {
        current.append(c);
      }
    }
    add(out, current);
    return out;
  }

  private static void add(List<String> out, StringBuilder s) {
    String p = s.toString().trim();
    if (!p.isEmpty()) {
      out.add(p);
    }
    s.setLength(0);
  }

  /** Earlier runs' JSON Lines files in a folder of the output (listed before this run writes its own). */
  static List<String> previousFiles(String output, String dir) throws IOException {
    MatchResult m = FileSystems.match(Storage.join(output, dir + "/*.jsonl"), EmptyMatchTreatment.ALLOW);
    List<String> files = new ArrayList<>();
    if (m.status() == MatchResult.Status.OK) {
      m.metadata().forEach(md -> files.add(md.resourceId().toString()));
    }
    files.sort(null);
    return files;
  }

  /** How images become masks, from the flags; {@code --inferenceSize=model} is the model's training crop. */
  public static InferenceSettings inference(SegmentOptions o, ModelReference model) {
    String inferenceSize = o.getInferenceSize();
    if (inferenceSize.trim().equalsIgnoreCase("model")) {
      int crop = model.metadata().trainingCropSize();
      if (crop <= 0) {
        throw new IllegalArgumentException("--inferenceSize=model: the model's metadata records no training crop");
      }
      inferenceSize = crop + "x" + crop;
    }
    return InferenceSettings.defaults()
        .withTiles(o.getTileSize(), o.getTileOverlap())
        .withBatching(o.getMaxBatchSize(), o.getMaxBatchMb() * 1024L * 1024L)
        .withInferenceSize(inferenceSize)
        .withTestTimeAugmentation(o.getTtaFlip(), InferenceSettings.parseScales(o.getTtaScales()))
        .withMaxPixels(o.getMaxPixels())
        .withThreads(o.getInferenceThreads())
        .withPrecision(o.getPrecision(), o.getStrictPrecision());
  }

  static SegmentOutputs outputs(SegmentOptions o, String runId) {
    return SegmentOutputs.to(o.getOutput(), runId)
        .withColor(o.getWriteColor())
        .withOverlays(o.getWriteOverlays(), o.getOverlayAlpha().floatValue(), o.getOverlayQuality())
        .withProbabilities(o.getWriteProbabilities())
        .withConfidence(o.getConfidence(), o.getConfidenceThreshold().floatValue(), o.getWriteUncertainty(),
            o.getUncertainCount())
        .withAnnotations(SegmentOutputs.Annotations.parse(o.getWriteAnnotations(), o.getCocoPolygons(),
            o.getPolygonTolerance()));
  }

  public static Outputs applyTransforms(Pipeline pipeline, SegmentOptions o, Launch launch) {
    InferenceSettings inference = inference(o, launch.model());
    SegmentOutputs outputs = outputs(o, launch.runId());
    List<String> patterns = patterns(o.getInput());
    String root = o.getInputRoot() != null && !o.getInputRoot().isBlank()
        ? OutputNames.absoluteLocal(o.getInputRoot(), true)
        : ListImages.defaultRoot(patterns, o.getManifest());
    PCollectionTuple listed = pipeline.apply("ListImages", ListImages.matching(patterns).withManifest(o.getManifest())
        .withRoot(root).excludingPrefix(OutputNames.absoluteLocal(o.getOutput(), true)));
    PCollection<SegmentInput> inputs = listed.get(ListImages.INPUTS);
    PCollection<SegmentInput> toSegment = inputs;
    PCollectionList<String> skipped = PCollectionList.empty(pipeline);
    if (o.getIncremental()) {
      PCollectionTuple compared = inputs.apply("FilterUnchanged",
          IncrementalState.filterUnchanged().withStateFiles(launch.previousStateFiles()));
      toSegment = compared.get(IncrementalState.CHANGED);
      skipped = skipped.and(compared.get(IncrementalState.UNCHANGED));
    }
    PCollectionTuple segmented = toSegment.apply("SegmentImages", SegmentImages.with(launch.model(), outputs)
        .withInference(inference)
        .skippingExisting(o.getSkipExisting())
        .withParallelism(Parallelism.groups(o, o.getParallelism(), launch.listedFiles(), IMAGES_PER_GROUP))
        .withAccelerator(o.getAcceleratorType())
        .withBandMapping(BandMapping.parse(o.getBands(), o.getBandRange(), o.getNodata()))
        .withRasterStripes(o.getRasterStripeRows()));
    // Every run records what it processed, so a later --incremental run can build on any run.
    segmented.get(SegmentImages.PROCESSED).apply("RecordState",
        IncrementalState.write(o.getOutput(), launch.runId()));
    PCollection<String> allSkipped = skipped.and(segmented.get(SegmentImages.SKIPPED))
        .apply("AllSkipped", Flatten.pCollections());
    PCollection<Failure> failures = PCollectionList.of(listed.get(ListImages.FAILURES))
        .and(segmented.get(SegmentImages.FAILURES))
        .apply("AllFailures", Flatten.pCollections());
    PCollection<String> matched = PCollectionList
        .of(inputs.apply("InputUris", MapElements.into(TypeDescriptors.strings()).via(SegmentInput::uri)))
        .and(listed.get(ListImages.FAILURES)
            .apply("ListingFailures", MapElements.into(TypeDescriptors.strings()).via(Failure::input)))
        .apply("AllMatched", Flatten.pCollections());
    PCollection<ImageStats> stats = segmented.get(SegmentImages.STATS);
    PCollection<String> summary = PCollectionTuple.of(WriteSegmentationResults.STATS, stats)
        .and(WriteSegmentationResults.FAILURES, failures)
        .and(WriteSegmentationResults.SKIPPED, allSkipped)
        .and(WriteSegmentationResults.MATCHED, matched)
        .apply("WriteResults", WriteSegmentationResults.to(outputs, launch.model())
            .withPreviousStats(launch.previousStatsFiles())
            .withSettings(settingsJson(o, inference, root, launch.model())));
    if (outputs.annotations().coco()) {
      stats.apply("WriteCocoDataset", WriteCocoDataset.of(outputs, launch.model().metadata().classes()));
    }
    return new Outputs(stats, failures, allSkipped, summary);
  }

  static final int IMAGES_PER_GROUP = 32;

  static String settingsJson(SegmentOptions o, InferenceSettings s, String root, ModelReference model) {
    ObjectNode n = new ObjectMapper().createObjectNode();
    n.put("input", o.getInput());
    n.put("manifest", o.getManifest());
    n.put("inputRoot", root);
    n.put("skipExisting", o.getSkipExisting());
    n.put("incremental", o.getIncremental());
    n.put("tileSize", s.tileSize());
    n.put("tileOverlap", s.tileOverlap());
    n.put("maxBatchSize", s.maxBatchSize());
    n.put("inferenceSize", s.inferenceSize());
    n.put("ttaFlip", s.ttaFlip());
    n.put("ttaScales", o.getTtaScales());
    n.put("maxPixels", s.maxPixels());
    n.put("writeColor", o.getWriteColor());
    n.put("writeOverlays", o.getWriteOverlays());
    n.put("writeProbabilities", o.getWriteProbabilities());
    n.put("overlayAlpha", o.getOverlayAlpha());
    n.put("overlayQuality", o.getOverlayQuality());
    n.put("inferenceThreads", s.threads());
    n.put("confidence", o.getConfidence());
    n.put("confidenceThreshold", o.getConfidenceThreshold());
    n.put("writeUncertainty", o.getWriteUncertainty());
    n.put("uncertainCount", o.getUncertainCount());
    n.put("writeAnnotations", o.getWriteAnnotations());
    n.put("cocoPolygons", o.getCocoPolygons());
    n.put("polygonTolerance", o.getPolygonTolerance());
    n.put("bands", o.getBands());
    n.put("bandRange", o.getBandRange());
    n.put("nodata", o.getNodata());
    n.put("rasterStripeRows", o.getRasterStripeRows());
    n.put("precision", s.runtime().precision());
    n.put("strictPrecision", s.runtime().strictPrecision());
    // As settled on the launching machine; workers on other hardware settle 'auto' on theirs (their logs say).
    n.put("precisionUsed", s.runtime().choiceFor(model.format()).label());
    return n.toString();
  }

  /** Prints the reconciled counts and where the outputs are, from summary.json; returns them (null: unreadable). */
  public static Launcher.Counts printSummary(String output, PrintStream out) {
    String path = Storage.join(output, WriteSegmentationResults.SUMMARY_JSON);
    JsonNode d = Launcher.readRecord(path, out);
    if (d == null) {
      return null;
    }
    JsonNode run = d.path("run");
    out.printf(Locale.ROOT, "matched %d = segmented %d + skipped %d + failed %d%n", run.path("matched").asLong(),
        run.path("segmented").asLong(), run.path("skipped").asLong(), run.path("failed").asLong());
    run.path("failedByReason").fields().forEachRemaining(
        e -> out.printf(Locale.ROOT, "  failed %-22s %d%n", e.getKey(), e.getValue().asLong()));
    out.println("masks:    " + Storage.join(output, SegmentOutputs.MASKS + "/"));
    JsonNode settings = run.path("settings");
    if (settings.path("writeColor").asBoolean()) {
      out.println("colour:   " + Storage.join(output, SegmentOutputs.COLOR + "/"));
    }
    if (settings.path("writeOverlays").asBoolean()) {
      out.println("overlays: " + Storage.join(output, SegmentOutputs.OVERLAYS + "/"));
    }
    if (settings.path("writeProbabilities").asBoolean()) {
      out.println("probabilities: " + Storage.join(output, SegmentOutputs.PROBABILITIES + "/"));
    }
    SegmentOutputs.Annotations annotations = SegmentOutputs.Annotations.parse(
        settings.path("writeAnnotations").asText(""), false, 0);
    if (annotations.coco()) {
      out.println("coco:     " + Storage.join(output, SegmentOutputs.COCO_DATASET)
          + " (import into CVAT or Label Studio as pre-annotations)");
    }
    if (annotations.geoJson()) {
      out.println("polygons: " + Storage.join(output, SegmentOutputs.POLYGONS + "/")
          + " (GeoJSON per image, in each raster's CRS)");
    }
    if (annotations.labelMe()) {
      out.println("labelme:  " + Storage.join(output, SegmentOutputs.LABELME + "/") + " (one LabelMe file per image)");
    }
    out.println("stats:    " + Storage.join(output, SegmentOutputs.STATS + "/") + " (one JSON line per image)");
    out.println("summary:  " + path + " and " + WriteSegmentationResults.SUMMARY_CSV);
    out.println("report:   " + Storage.join(output, "report.html") + " (open it in a browser)");
    if (d.has("confidence")) {
      out.println("uncertain: " + d.path("confidence").path("uncertainCsv").asText()
          + " (the least confident images first, for labelling)");
    }
    if (run.path("failed").asLong() > 0) {
      out.println("errors:   " + Storage.join(output, SegmentOutputs.ERRORS + "/")
          + " (one JSON line per failed input, with the reason)");
    }
    return new Launcher.Counts(run.path("matched").asLong(), run.path("failed").asLong());
  }
}
