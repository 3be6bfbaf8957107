package io.maskbeam.pipelines.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.pipelines.cli.Parallelism;
import io.maskbeam.pipelines.cli.PipelineArgs;
import io.maskbeam.pipelines.cli.ProgressReporter;
import io.maskbeam.transforms.io.Storage;
import io.maskbeam.transforms.segment.ImageStats;
import io.maskbeam.transforms.segment.IncrementalState;
import io.maskbeam.transforms.segment.ListImages;
import io.maskbeam.transforms.segment.OutputNames;
import io.maskbeam.transforms.segment.SegmentError;
import io.maskbeam.transforms.segment.SegmentImages;
import io.maskbeam.transforms.segment.SegmentInput;
import io.maskbeam.transforms.segment.SegmentationSettings;
import io.maskbeam.transforms.segment.SharedModels;
import io.maskbeam.transforms.segment.WriteSegmentationResults;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.StringUtf8Coder;
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
 * <p>{@link #main} parses, {@link #run} checks the model and inputs before anything starts, and
 * {@link #applyTransforms} builds the graph (what tests drive).
 */
public final class SegmentPipeline {
  public static final String METRICS_NAMESPACE = SegmentImages.METRICS_NAMESPACE;
  private static final DateTimeFormatter RUN_ID = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'");

  private SegmentPipeline() {}

  /** What the checks at launch learned: the model's classes, this run's id, and earlier runs' stats files. */
  public record Launch(List<LabelClass> classes, int trainingCropSize, String runId, List<String> previousStatsFiles,
      List<String> previousStateFiles, long listedFiles) {}

  /** The graph's main outputs. */
  public record Outputs(PCollection<ImageStats> stats, PCollection<SegmentError> errors, PCollection<String> skipped) {}

  public static void main(String[] args) {
    SegmentOptions options = parse(args);
    System.exit(execute(options, System.out) ? 0 : 1);
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

  /** A running job and the model lease held for it (released when the job ends). */
  public record Started(PipelineResult result, Launch launch) {}

  /** Checks, runs with progress and prints the reconciled counts; returns whether the job succeeded. */
  public static boolean execute(SegmentOptions options, PrintStream out) {
    // Holding the model for the whole job lets an embedded runner's workers share this very instance.
    SharedModels.Lease lease = SharedModels.acquire(options.getModel(), options.getInferenceThreads());
    try {
      Started started = run(options, lease.model());
      String[][] shown = {
        {"inputs_matched", "matched"}, {"images_segmented", "segmented"}, {"images_skipped", "skipped"},
        {"images_failed", "failed"}};
      PipelineResult.State state = new ProgressReporter(out, METRICS_NAMESPACE, shown, "images_segmented",
          "inputs_matched", "images_segmented", "images_skipped", "images_failed").waitFor(started.result());
      if (state != PipelineResult.State.DONE) {
        out.println("segment ended in state " + state);
        return false;
      }
      printSummary(options.getOutput(), out);
      return true;
    } finally {
      SharedModels.release(options.getModel(), options.getInferenceThreads());
    }
  }

  /** Validates the model, inputs and settings, then starts the job (without waiting for it). */
  public static Started run(SegmentOptions options, SegmentationModel model) {
    Launch launch = launch(options, model);
    Pipeline pipeline = Pipeline.create(options);
    applyTransforms(pipeline, options, launch);
    return new Started(pipeline.run(), launch);
  }

  /** The checks that must pass before a job starts, and what they learn. */
  public static Launch launch(SegmentOptions o, SegmentationModel model) {
    List<String> patterns = patterns(o.getInput());
    if (patterns.isEmpty() && (o.getManifest() == null || o.getManifest().isBlank())) {
      throw new IllegalArgumentException("give --input (globs) and/or --manifest");
    }
    try {
      long listed = 0;
      for (String pattern : patterns) {
        MatchResult m = FileSystems.match(pattern, EmptyMatchTreatment.ALLOW);
        if (m.status() != MatchResult.Status.OK || m.metadata().isEmpty()) {
          throw new IllegalArgumentException("--input '" + pattern + "' matched no files");
        }
        listed += m.metadata().size();
      }
      if (o.getManifest() != null && !o.getManifest().isBlank()) {
        MatchResult m = FileSystems.match(o.getManifest(), EmptyMatchTreatment.ALLOW);
        if (m.status() != MatchResult.Status.OK || m.metadata().isEmpty()) {
          throw new IllegalArgumentException("--manifest '" + o.getManifest() + "' does not exist");
        }
      }
      settings(o, "check", model.trainingCropSize());
      String runId = ZonedDateTime.now(ZoneOffset.UTC).format(RUN_ID);
      return new Launch(model.classes(), model.trainingCropSize(), runId,
          previousFiles(o.getOutput(), SegmentationSettings.STATS), previousFiles(o.getOutput(), IncrementalState.DIR),
          listed);
    } catch (IOException e) {
      throw new IllegalStateException("cannot list inputs or output: " + e.getMessage(), e);
    }
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

  public static SegmentationSettings settings(SegmentOptions o, String runId, int trainingCropSize) {
    String inferenceSize = o.getInferenceSize();
    if (inferenceSize.trim().equalsIgnoreCase("model")) {
      if (trainingCropSize <= 0) {
        throw new IllegalArgumentException("--inferenceSize=model: the model's metadata records no training crop");
      }
      inferenceSize = trainingCropSize + "x" + trainingCropSize;
    }
    return new SegmentationSettings(o.getModel(), o.getOutput(), runId, o.getTileSize(), o.getTileOverlap(),
        o.getMaxBatchSize(), o.getMaxBatchMb() * 1024L * 1024L, ResizePolicy.parse(inferenceSize).toString(),
        o.getTtaFlip(), SegmentationSettings.parseScales(o.getTtaScales()), o.getMaxPixels(), o.getWriteColor(),
        o.getWriteOverlays(), o.getWriteProbabilities(), o.getOverlayAlpha().floatValue(), o.getOverlayQuality(),
        o.getSkipExisting(), o.getInferenceThreads());
  }

  public static Outputs applyTransforms(Pipeline pipeline, SegmentOptions o, Launch launch) {
    SegmentationSettings settings = settings(o, launch.runId(), launch.trainingCropSize());
    List<String> patterns = patterns(o.getInput());
    String root = o.getInputRoot() != null && !o.getInputRoot().isBlank()
        ? OutputNames.absoluteLocal(o.getInputRoot(), true)
        : ListImages.defaultRoot(patterns, o.getManifest());
    PCollectionTuple listed = pipeline.apply("ListImages", new ListImages(patterns, o.getManifest(), root,
        OutputNames.absoluteLocal(o.getOutput(), true)));
    PCollection<SegmentInput> inputs = listed.get(ListImages.INPUTS);
    PCollection<SegmentInput> toSegment = inputs;
    PCollectionList<String> skipped = PCollectionList.empty(pipeline);
    if (o.getIncremental()) {
      PCollectionTuple compared = inputs.apply("FilterUnchanged",
          new IncrementalState.FilterUnchanged(launch.previousStateFiles()));
      toSegment = compared.get(IncrementalState.CHANGED);
      skipped = skipped.and(compared.get(IncrementalState.UNCHANGED).setCoder(StringUtf8Coder.of()));
    }
    PCollectionTuple segmented = toSegment.apply("SegmentImages",
        new SegmentImages(settings, parallelism(o, launch.listedFiles()), o.getAcceleratorType()));
    // Every run records what it processed, so a later --incremental run can build on any run.
    segmented.get(SegmentImages.PROCESSED).apply("RecordState",
        new IncrementalState.Write(o.getOutput(), launch.runId()));
    PCollection<String> allSkipped = skipped.and(segmented.get(SegmentImages.SKIPPED))
        .apply("AllSkipped", Flatten.pCollections());
    PCollection<SegmentError> errors = PCollectionList.of(listed.get(ListImages.ERRORS))
        .and(segmented.get(SegmentImages.ERRORS))
        .apply("AllErrors", Flatten.pCollections());
    PCollection<String> matched = PCollectionList
        .of(inputs.apply("InputUris", MapElements.into(TypeDescriptors.strings()).via(SegmentInput::uri)))
        .and(listed.get(ListImages.ERRORS)
            .apply("BadLines", MapElements.into(TypeDescriptors.strings()).via(SegmentError::message)))
        .apply("AllMatched", Flatten.pCollections());
    PCollection<ImageStats> stats = segmented.get(SegmentImages.STATS);
    stats.apply("WriteResults", new WriteSegmentationResults(settings, launch.classes(), launch.previousStatsFiles(),
        matched, errors, allSkipped, settingsJson(o, settings, root)));
    return new Outputs(stats, errors, allSkipped);
  }

  /** Groups the inputs are spread over: about {@value #IMAGES_PER_GROUP} images each (see Parallelism). */
  static int parallelism(SegmentOptions o, long listedFiles) {
    return Parallelism.groups(o, o.getParallelism(), listedFiles, IMAGES_PER_GROUP);
  }

  static final int IMAGES_PER_GROUP = 32;

  static String settingsJson(SegmentOptions o, SegmentationSettings s, String root) {
    ObjectNode n = new ObjectMapper().createObjectNode();
    n.put("input", o.getInput());
    n.put("manifest", o.getManifest());
    n.put("inputRoot", root);
    n.put("skipExisting", s.skipExisting());
    n.put("incremental", o.getIncremental());
    n.put("tileSize", s.tileSize());
    n.put("tileOverlap", s.tileOverlap());
    n.put("maxBatchSize", s.maxBatchSize());
    n.put("inferenceSize", s.inferenceSize());
    n.put("ttaFlip", s.ttaFlip());
    n.put("ttaScales", o.getTtaScales());
    n.put("maxPixels", s.maxPixels());
    n.put("writeColor", s.writeColor());
    n.put("writeOverlays", s.writeOverlays());
    n.put("writeProbabilities", s.writeProbabilities());
    n.put("overlayAlpha", s.overlayAlpha());
    n.put("overlayQuality", s.overlayQuality());
    n.put("inferenceThreads", s.inferenceThreads());
    return n.toString();
  }

  /** Prints the reconciled counts and where the outputs are, from summary.json. */
  public static void printSummary(String output, PrintStream out) {
    String path = Storage.join(output, WriteSegmentationResults.SUMMARY_JSON);
    JsonNode d;
    try {
      d = new ObjectMapper().readTree(new String(Storage.readAll(path), StandardCharsets.UTF_8));
    } catch (IOException e) {
      out.println("finished, but " + path + " cannot be read: " + e.getMessage());
      return;
    }
    JsonNode run = d.path("run");
    out.printf(Locale.ROOT, "matched %d = segmented %d + skipped %d + failed %d%n", run.path("matched").asLong(),
        run.path("segmented").asLong(), run.path("skipped").asLong(), run.path("failed").asLong());
    run.path("failedByReason").fields().forEachRemaining(
        e -> out.printf(Locale.ROOT, "  failed %-18s %d%n", e.getKey(), e.getValue().asLong()));
    out.println("masks:    " + Storage.join(output, SegmentationSettings.MASKS + "/"));
    JsonNode settings = run.path("settings");
    if (settings.path("writeColor").asBoolean()) {
      out.println("colour:   " + Storage.join(output, SegmentationSettings.COLOR + "/"));
    }
    if (settings.path("writeOverlays").asBoolean()) {
      out.println("overlays: " + Storage.join(output, SegmentationSettings.OVERLAYS + "/"));
    }
    if (settings.path("writeProbabilities").asBoolean()) {
      out.println("probabilities: " + Storage.join(output, SegmentationSettings.PROBABILITIES + "/"));
    }
    out.println("stats:    " + Storage.join(output, SegmentationSettings.STATS + "/") + " (one JSON line per image)");
    out.println("summary:  " + path + " and " + WriteSegmentationResults.SUMMARY_CSV);
    if (run.path("failed").asLong() > 0) {
      out.println("errors:   " + Storage.join(output, SegmentationSettings.ERRORS + "/")
          + " (one JSON line per failed input, with the reason)");
    }
  }
}
