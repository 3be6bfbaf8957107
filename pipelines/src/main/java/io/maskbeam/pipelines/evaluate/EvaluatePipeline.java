package io.maskbeam.pipelines.evaluate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import io.maskbeam.dataset.DeepLabExample;
import io.maskbeam.dataset.ExamplePreparer;
import io.maskbeam.dataset.UnknownLabelPolicy;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.labels.LabelMap;
import io.maskbeam.labels.LabelMaps;
import io.maskbeam.models.eval.QualityGate;
import io.maskbeam.models.infer.InferenceSettings;
import io.maskbeam.pipelines.Maskbeam;
import io.maskbeam.pipelines.cli.LabelMapResolver;
import io.maskbeam.pipelines.cli.Launcher;
import io.maskbeam.pipelines.cli.Parallelism;
import io.maskbeam.pipelines.cli.ProgressReporter;
import io.maskbeam.transforms.common.FailureCoder;
import io.maskbeam.transforms.evaluate.EvalItem;
import io.maskbeam.transforms.evaluate.EvaluateExamples;
import io.maskbeam.transforms.evaluate.EvaluateMetrics;
import io.maskbeam.transforms.evaluate.Observer;
import io.maskbeam.transforms.evaluate.Slicer;
import io.maskbeam.transforms.evaluate.WriteEvaluationReport;
import io.maskbeam.transforms.io.FileListing;
import io.maskbeam.transforms.io.Storage;
import io.maskbeam.transforms.model.ModelReference;
import io.maskbeam.transforms.preprocess.DatasetLayout;
import io.maskbeam.transforms.preprocess.DatasetSource;
import io.maskbeam.transforms.preprocess.MatchDatasetPairs;
import io.maskbeam.transforms.preprocess.SampleRef;
import io.maskbeam.transforms.preprocess.SplitPolicy;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.Compression;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.TFRecordIO;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TypeDescriptor;

/**
 * {@code maskbeam evaluate}: ground truth (preprocessed shards, or mask files) against a model or against existing
 * predictions. The examples are found here; the rest is {@link EvaluateExamples} (per-example confusion matrices
 * combined across workers, {@code metrics.json}, plots, an HTML report with the best and worst examples,
 * {@code per-image/} scores and {@code errors/}).
 */
public final class EvaluatePipeline {
  private static final ObjectMapper JSON = new ObjectMapper();

  private EvaluatePipeline() {}

  /**
   * What the checks at launch learned.
   *
   * @param model the pinned model, or null when predictions are read from files
   * @param groundTruthMap the label map of ground-truth mask files (null for shards)
   */
  public record Launch(ModelReference model, List<LabelClass> classes, int ignoreValue, LabelMap groundTruthMap,
      ModelReference baseline, Slicer slicer, QualityGate gate) implements Serializable {
    Launch(ModelReference model, List<LabelClass> classes, int ignoreValue, LabelMap groundTruthMap) {
      this(model, classes, ignoreValue, groundTruthMap, null, null, QualityGate.NONE);
    }

    Launch judged(ModelReference b, Slicer s, QualityGate g) {
      return new Launch(model, classes, ignoreValue, groundTruthMap, b, s, g);
    }
  }

  /** The Flex Template entry point: the same as {@code maskbeam evaluate ARGS}. */
  public static void main(String[] args) {
    System.exit(Maskbeam.run(Maskbeam.withCommand("evaluate", args), System.out, System.err));
  }

  public static int execute(EvaluateOptions o, PrintStream out) throws IOException {
    Launch launch = launch(o);
    String[][] shown = {{EvaluateMetrics.EXAMPLES_EVALUATED, "evaluated"}, {EvaluateMetrics.EXAMPLES_FAILED,
        "failed"}};
    List<ModelReference> models = new java.util.ArrayList<>();
    if (launch.model() != null) {
      models.add(launch.model());
    }
    if (launch.baseline() != null) {
      models.add(launch.baseline());
    }
    int code = Launcher.executeWithModels(o, models, inference(o).runtime(), () -> start(o, launch),
        new ProgressReporter(out, EvaluateMetrics.NAMESPACE, shown, EvaluateMetrics.EXAMPLES_EVALUATED),
        () -> printSummary(o.getOutput(), out), "evaluate", out);
    if (code != Maskbeam.OK || launch.gate().isEmpty()) {
      return code;
    }
    return judge(o.getOutput(), out);
  }

  /** Prints the quality gate's verdict from blessing.json; 0 when blessed, {@link Maskbeam#NOT_BLESSED} if not. */
  static int judge(String output, PrintStream out) {
    String path = Storage.join(output, WriteEvaluationReport.BLESSING_JSON);
    JsonNode b = Launcher.readRecord(path, out);
    if (b == null) {
      return Maskbeam.FAILED;
    }
    int failed = 0;
    for (JsonNode r : b.path("rules")) {
      if (!r.path("passed").asBoolean()) {
        failed++;
        out.printf(Locale.ROOT, "  failed: %s%s = %s%s%n", r.path("rule").asText(),
            r.has("slice") ? " [" + r.path("slice").asText() + "]" : "",
            r.path("value").isNumber() ? String.format(Locale.ROOT, "%.4f", r.path("value").asDouble()) : "n/a",
            r.has("note") ? " (" + r.path("note").asText() + ")" : "");
      }
    }
    boolean blessed = b.path("blessed").asBoolean();
    out.println((blessed ? "blessed: yes (" + b.path("rules").size() + " rules passed)"
        : "blessed: NO (" + failed + " of " + b.path("rules").size() + " rules failed)") + "; " + path);
    return blessed ? Maskbeam.OK : Maskbeam.NOT_BLESSED;
  }

  /** Makes the checks at launch and starts the job, without waiting for it. */
  public static PipelineResult run(EvaluateOptions o) throws IOException {
    return start(o, launch(o));
  }

  private static PipelineResult start(EvaluateOptions o, Launch launch) {
    Pipeline pipeline = Pipeline.create(o);
    applyTransforms(pipeline, o, launch);
    return pipeline.run();
  }

  /** Checks the flag combination, the model (pinned, without loading it) or label map, and the ground truth. */
  public static Launch launch(EvaluateOptions o) throws IOException {
    boolean withModel = present(o.getModel());
    boolean withPredictions = present(o.getPredictions());
    if (withModel == withPredictions) {
      throw new IllegalArgumentException("give exactly one of --model (evaluate its predictions) and --predictions"
          + " (evaluate existing masks)");
    }
    int truths = (present(o.getData()) ? 1 : 0) + (present(o.getMasks()) ? 1 : 0)
        + (present(o.getAnnotations()) ? 1 : 0);
    if (truths != 1) {
      throw new IllegalArgumentException("give the ground truth as exactly one of --data (preprocessed shards),"
          + " --masks (mask files) and --annotations (COCO or LabelMe)");
    }
    if (present(o.getAnnotations()) && !withModel) {
      throw new IllegalArgumentException("--annotations names the images to segment: use it with --model (existing"
          + " --predictions are evaluated against --masks)");
    }
    if (present(o.getData()) && withPredictions) {
      throw new IllegalArgumentException("--data holds images to segment: use it with --model; existing predictions"
          + " are evaluated against --masks");
    }
    if (present(o.getMasks()) && withModel && !present(o.getImages())) {
      throw new IllegalArgumentException("--masks with --model needs --images, the images to segment");
    }
    if (o.getExamples() < 0) {
      throw new IllegalArgumentException("--examples must be >= 0");
    }
    ModelReference model = withModel ? ModelReference.resolve(o.getModel()) : null;
    if (model != null) {
      model.requireRgbInput("evaluate");
      inference(o);
    }
    Launch launch;
    try {
      if (present(o.getData())) {
        JsonNode dataset = JSON.readTree(new String(Storage.readAll(Storage.join(o.getData(), "dataset.json")),
            StandardCharsets.UTF_8));
        int n = dataset.path("numClasses").asInt();
        if (n != model.metadata().numClasses()) {
          throw new IllegalArgumentException("--data has " + n + " classes but the model predicts "
              + model.metadata().numClasses());
        }
        if (shardCount(o) == 0) {
          throw new IllegalArgumentException("--data " + o.getData() + " has no " + o.getSplit()
              + "-*.tfrecord shards");
        }
        launch = new Launch(model, model.metadata().classes(), dataset.path("ignoreValue").asInt(255), null);
      } else {
        LabelMap map;
        if (present(o.getLabelMap())) {
          map = LabelMapResolver.resolve(o.getLabelMap());
        } else if (withModel) {
          map = identityMap(model.metadata().classes(), model.metadata().ignoreValue());
        } else {
          throw new IllegalArgumentException("--predictions needs --labelMap: it names the classes and reads the"
              + " masks");
        }
        if (withModel && map.numClasses() != model.metadata().numClasses()) {
          throw new IllegalArgumentException("--labelMap has " + map.numClasses() + " classes but the model predicts "
              + model.metadata().numClasses());
        }
        if (present(o.getAnnotations())) {
          annotationSource(o).checkInputsExist();
        } else {
          for (String glob : List.of(o.getMasks(), withModel ? o.getImages() : o.getPredictions())) {
            if (FileListing.countFiles(folderGlob(glob)) == 0) {
              throw new IllegalArgumentException("'" + glob + "' matched no files");
            }
          }
        }
        launch = new Launch(model, map.classes(), map.ignoreValue(), map);
      }
    } catch (Storage.NotFoundException e) {
      throw new IllegalArgumentException("--data " + o.getData() + " has no dataset.json; is it a folder written by"
          + " 'maskbeam preprocess'?");
    }
    ModelReference baseline = null;
    if (present(o.getBaselineModel())) {
      if (!withModel) {
        throw new IllegalArgumentException("--baselineModel is compared with --model on the same images; existing"
            + " --predictions have no baseline");
      }
      baseline = ModelReference.resolve(o.getBaselineModel());
      if (baseline.metadata().numClasses() != model.metadata().numClasses()) {
        throw new IllegalArgumentException("--baselineModel predicts " + baseline.metadata().numClasses()
            + " classes but --model " + model.metadata().numClasses());
      }
      inference(o).runtime().choiceFor(baseline.format());
    }
    if (o.getBootstrapSamples() < 2) {
      throw new IllegalArgumentException("--bootstrapSamples must be at least 2, got " + o.getBootstrapSamples());
    }
    Slicer slicer = Slicer.parse(o.getSliceBy(), o.getSliceMetadata());
    QualityGate gate = QualityGate.parse(o.getThresholds(), launch.classes().stream().map(LabelClass::name).toList(),
        baseline != null);
    Storage.checkWritable(o.getOutput(), "--output");
    return launch.judged(baseline, slicer, gate);
  }

  /** The annotations evaluate reads ground truth from. */
  static DatasetSource annotationSource(EvaluateOptions o) {
    DatasetLayout layout = DatasetLayout.parse(o.getLayout());
    if (layout == DatasetLayout.PAIRED) {
      // Not given (paired is the options' shared default): the file's kind says which.
      String name = o.getAnnotations().toLowerCase(Locale.ROOT);
      layout = name.endsWith(".json") ? DatasetLayout.COCO : name.endsWith(".xml") ? DatasetLayout.CVAT
          : name.endsWith(".jsonl") ? DatasetLayout.VERTEX : DatasetLayout.LABELME;
    }
    if (!layout.isAnnotations() || layout == DatasetLayout.CITYSCAPES_POLYGONS) {
      throw new IllegalArgumentException("--layout=" + o.getLayout() + " is not an annotation file format;"
          + " evaluate --annotations reads coco, labelme, cvat or vertex (other layouts: preprocess them and use"
          + " --data)");
    }
    return new DatasetSource(layout, present(o.getImages()) ? o.getImages() : null, null, null, null,
        o.getAnnotations());
  }

  /** How the model's predictions are made: tiles as in segment, images one at a time. */
  static InferenceSettings inference(EvaluateOptions o) {
    return InferenceSettings.defaults().withTiles(o.getTileSize(), o.getTileOverlap()).withBatching(1, 256L << 20)
        .withPrecision(o.getPrecision(), o.getStrictPrecision());
  }

  /** Masks that hold class ids directly, named after the model's classes. */
  static LabelMap identityMap(List<LabelClass> classes, int ignoreValue) {
    ObjectNode spec = JSON.createObjectNode();
    spec.put("scale", 1);
    spec.put("ignoreValue", ignoreValue);
    ArrayNode list = spec.putArray("classes");
    for (LabelClass c : classes) {
      list.addObject().put("name", c.name()).put("color", c.hexColor());
    }
    return LabelMaps.parse(spec.toString(), "model-classes");
  }

  private static boolean present(String s) {
    return s != null && !s.isBlank();
  }

  /** A folder becomes "folder/*"; a glob stays as it is. */
  static String folderGlob(String s) {
    return s.contains("*") || s.contains("?") || s.contains("[") ? s : Storage.join(s, "*");
  }

  private static long shardCount(EvaluateOptions o) throws IOException {
    MatchResult m = FileSystems.match(Storage.join(o.getData(), o.getSplit() + "-*.tfrecord*"),
        EmptyMatchTreatment.ALLOW);
    return m.status() == MatchResult.Status.OK ? m.metadata().size() : 0;
  }

  public static PCollection<String> applyTransforms(Pipeline pipeline, EvaluateOptions o, Launch launch) {
    int numClasses = launch.classes().size();
    ExamplePreparer groundTruth = launch.groundTruthMap() == null ? null : new ExamplePreparer(
        launch.groundTruthMap(), ResizePolicy.KEEP, UnknownLabelPolicy.IGNORE, ExamplePreparer.DEFAULT_MAX_PIXELS, 95);
    Observer observer = new Observer(launch.model(), inference(o), groundTruth, numClasses, launch.ignoreValue())
        .withBaseline(launch.baseline());

    PCollection<EvalItem> items;
    PCollection<Failure> unmatched;
    if (present(o.getData())) {
      items = pipeline
          .apply("ReadShards", TFRecordIO.read().from(Storage.join(o.getData(), o.getSplit() + "-*.tfrecord*"))
              .withCompression(Compression.AUTO))
          .apply("ToItems", MapElements.into(TypeDescriptor.of(EvalItem.class))
              .via(r -> EvalItem.ofRecord(DeepLabExample.parse(r).filename(), r)));
      unmatched = pipeline.apply("NoUnmatched", Create.empty(FailureCoder.of()));
    } else {
      boolean withModel = present(o.getModel());
      String other = withModel ? o.getImages() : o.getPredictions();
      DatasetSource truth = present(o.getAnnotations()) ? annotationSource(o) : DatasetSource.paired(other,
          o.getMasks());
      PCollectionTuple pairs = pipeline.apply("MatchFiles", MatchDatasetPairs.of(truth)
          .withSplitPolicy(new SplitPolicy(0.0, "maskbeam", false))
          .withBuckets(Parallelism.groups(o, 0, 0, 1)).forStage(Stage.EVALUATE));
      items = pairs.get(MatchDatasetPairs.PAIRS).apply("ToItems", MapElements.into(TypeDescriptor.of(EvalItem.class))
          .via((SampleRef p) -> withModel
              ? new EvalItem(p.id(), p.imageUri(), p.maskUri(), null, null, p.annotation())
              : new EvalItem(p.id(), null, p.maskUri(), p.imageUri(), null)));
      unmatched = pairs.get(MatchDatasetPairs.REJECTED).apply("Unmatched", MapElements
          .into(TypeDescriptor.of(Failure.class)).via((Failure f) -> renamePairing(f, withModel)))
          .setCoder(FailureCoder.of());
    }
    return PCollectionTuple.of(EvaluateExamples.ITEMS, items).and(EvaluateExamples.UNMATCHED, unmatched)
        .apply("Evaluate", EvaluateExamples.with(observer, launch.classes()).to(o.getOutput())
            .withExamples(o.getExamples()).withAccelerator(o.getAcceleratorType()).describedAs(describe(o))
            .withSlicer(launch.slicer())
            .judgedBy(new WriteEvaluationReport.Judgement(launch.baseline() == null ? null : launch.baseline().uri(),
                launch.gate(), o.getBootstrapSamples(), o.getBootstrapSeed())));
  }

  /**
   * Pairing speaks of images and masks; in evaluate the "masks" are the ground truth and the "images" are the
   * images to segment or the predictions.
   */
  static Failure renamePairing(Failure f, boolean withModel) {
    FailureReason reason = switch (f.reason()) {
      case MISSING_IMAGE -> withModel ? FailureReason.MISSING_IMAGE : FailureReason.MISSING_PREDICTION;
      case MISSING_MASK -> FailureReason.MISSING_GROUND_TRUTH;
      default -> f.reason();
    };
    Map<String, String> files = new HashMap<>();
    f.inputs().forEach((role, uri) -> files.put(role.equals("mask") ? "groundTruth"
        : role.equals("image") && !withModel ? "prediction" : role, uri));
    return new Failure(Stage.EVALUATE, f.id(), f.input(), files, reason, f.message(), f.exception());
  }

  static String describe(EvaluateOptions o) {
    ObjectNode n = JSON.createObjectNode();
    n.put("model", o.getModel());
    n.put("predictions", o.getPredictions());
    n.put("data", o.getData());
    if (present(o.getData())) {
      n.put("split", o.getSplit());
    }
    n.put("masks", o.getMasks());
    n.put("annotations", o.getAnnotations());
    n.put("layout", present(o.getAnnotations()) ? annotationSource(o).layout().name().toLowerCase(Locale.ROOT)
        : null);
    n.put("images", o.getImages());
    n.put("labelMap", o.getLabelMap());
    n.put("precision", o.getPrecision());
    n.put("baselineModel", o.getBaselineModel());
    n.put("sliceBy", o.getSliceBy());
    n.put("thresholds", o.getThresholds());
    return n.toString();
  }

  /** Prints the scores and where the outputs are, from metrics.json; returns the counts (null: unreadable). */
  public static Launcher.Counts printSummary(String output, PrintStream out) {
    String path = Storage.join(output, WriteEvaluationReport.METRICS_JSON);
    JsonNode m = Launcher.readRecord(path, out);
    if (m == null) {
      return null;
    }
    out.printf(Locale.ROOT, "examples %d evaluated, %d failed; mIoU %.4f, pixel accuracy %.4f, mean Dice %.4f%n",
        m.path("examples").asLong(), m.path("failed").asLong(), m.path("meanIou").asDouble(Double.NaN),
        m.path("pixelAccuracy").asDouble(Double.NaN), m.path("meanDice").asDouble(Double.NaN));
    out.println("metrics:  " + path);
    out.println("report:   " + Storage.join(output, WriteEvaluationReport.REPORT_HTML));
    if (m.path("failed").asLong() > 0) {
      out.println("errors:   " + Storage.join(output, "errors/") + " " + m.path("failedByReason"));
    }
    return new Launcher.Counts(m.path("examples").asLong() + m.path("failed").asLong(), m.path("failed").asLong());
  }
}
