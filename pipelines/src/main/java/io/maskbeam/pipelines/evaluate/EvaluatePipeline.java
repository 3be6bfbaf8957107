package io.maskbeam.pipelines.evaluate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.dataset.DeepLabExample;
import io.maskbeam.dataset.ExamplePreparer;
import io.maskbeam.dataset.UnknownLabelPolicy;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.labels.LabelMap;
import io.maskbeam.labels.LabelMaps;
import io.maskbeam.models.eval.ConfusionMatrix;
import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.pipelines.cli.LabelMapResolver;
import io.maskbeam.pipelines.cli.Parallelism;
import io.maskbeam.pipelines.cli.PipelineArgs;
import io.maskbeam.pipelines.cli.ProgressReporter;
import io.maskbeam.transforms.evaluate.CombineConfusion;
import io.maskbeam.transforms.evaluate.EvalItem;
import io.maskbeam.transforms.evaluate.EvaluateExamples;
import io.maskbeam.transforms.evaluate.EvaluationError;
import io.maskbeam.transforms.evaluate.ExampleRender;
import io.maskbeam.transforms.evaluate.ImageEvaluation;
import io.maskbeam.transforms.evaluate.Observer;
import io.maskbeam.transforms.evaluate.RenderExamples;
import io.maskbeam.transforms.evaluate.WriteEvaluationReport;
import io.maskbeam.transforms.io.Storage;
import io.maskbeam.transforms.preprocess.DatasetSource;
import io.maskbeam.transforms.preprocess.MatchDatasetPairs;
import io.maskbeam.transforms.preprocess.Rejection;
import io.maskbeam.transforms.preprocess.SampleRef;
import io.maskbeam.transforms.preprocess.SplitPolicy;
import io.maskbeam.transforms.segment.SharedModels;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.Compression;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.TFRecordIO;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Top;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * {@code maskbeam evaluate}: ground truth (preprocessed shards, or mask files) against a model or against existing
 * predictions. Per-example confusion matrices are combined across workers; the results are {@code metrics.json},
 * two plots, an HTML report with the best and worst examples, {@code per-image/} scores and {@code errors/}.
 */
public final class EvaluatePipeline {
  public static final String METRICS_NAMESPACE = EvaluateExamples.METRICS_NAMESPACE;
  private static final ObjectMapper JSON = new ObjectMapper();

  private EvaluatePipeline() {}

  /** What the checks at launch learned. */
  public record Launch(List<LabelClass> classes, int ignoreValue, LabelMap groundTruthMap) implements Serializable {}

  public static void main(String[] args) {
    EvaluateOptions options = PipelineArgs.parse(args, EvaluateOptions.class);
    System.exit(execute(options, System.out) ? 0 : 1);
  }

  public static boolean execute(EvaluateOptions o, PrintStream out) {
    boolean withModel = o.getModel() != null && !o.getModel().isBlank();
    SharedModels.Lease lease = withModel ? SharedModels.acquire(o.getModel()) : null;
    try {
      Launch launch = launch(o, lease == null ? null : lease.model());
      Pipeline pipeline = Pipeline.create(o);
      applyTransforms(pipeline, o, launch);
      PipelineResult result = pipeline.run();
      String[][] shown = {{"examples_evaluated", "evaluated"}, {"examples_failed", "failed"}};
      PipelineResult.State state =
          new ProgressReporter(out, METRICS_NAMESPACE, shown, "examples_evaluated").waitFor(result);
      if (state != PipelineResult.State.DONE) {
        out.println("evaluate ended in state " + state);
        return false;
      }
      printSummary(o.getOutput(), out);
      return true;
    } finally {
      if (lease != null) {
        SharedModels.release(o.getModel());
      }
    }
  }

  /** Checks the flag combination, the model or label map, and that the ground truth exists. */
  public static Launch launch(EvaluateOptions o, SegmentationModel model) {
    boolean withModel = model != null;
    boolean withPredictions = present(o.getPredictions());
    if (withModel == withPredictions) {
      throw new IllegalArgumentException("give exactly one of --model (evaluate its predictions) and --predictions"
          + " (evaluate existing masks)");
    }
    if (present(o.getData()) == present(o.getMasks())) {
      throw new IllegalArgumentException("give the ground truth as exactly one of --data (preprocessed shards) and"
          + " --masks (mask files)");
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
    try {
      if (present(o.getData())) {
        JsonNode dataset = JSON.readTree(new String(Storage.readAll(Storage.join(o.getData(), "dataset.json")),
            StandardCharsets.UTF_8));
        int n = dataset.path("numClasses").asInt();
        if (n != model.numClasses()) {
          throw new IllegalArgumentException("--data has " + n + " classes but the model predicts "
              + model.numClasses());
        }
        if (shardCount(o) == 0) {
          throw new IllegalArgumentException("--data " + o.getData() + " has no " + o.getSplit() + "-*.tfrecord shards");
        }
        return new Launch(model.classes(), dataset.path("ignoreValue").asInt(255), null);
      }
      LabelMap map;
      if (present(o.getLabelMap())) {
        map = LabelMapResolver.resolve(o.getLabelMap());
      } else if (withModel) {
        map = identityMap(model.classes(), model.ignoreValue());
      } else {
        throw new IllegalArgumentException("--predictions needs --labelMap: it names the classes and reads the masks");
      }
      if (withModel && map.numClasses() != model.numClasses()) {
        throw new IllegalArgumentException("--labelMap has " + map.numClasses() + " classes but the model predicts "
            + model.numClasses());
      }
      for (String glob : List.of(o.getMasks(), withModel ? o.getImages() : o.getPredictions())) {
        MatchResult m = FileSystems.match(folderGlob(glob), EmptyMatchTreatment.ALLOW);
        if (m.status() != MatchResult.Status.OK || m.metadata().isEmpty()) {
          throw new IllegalArgumentException("'" + glob + "' matched no files");
        }
      }
      return new Launch(map.classes(), map.ignoreValue(), map);
    } catch (Storage.NotFoundException e) {
      throw new IllegalArgumentException("--data " + o.getData() + " has no dataset.json; is it a folder written by"
          + " 'maskbeam preprocess'?");
    } catch (IOException e) {
      throw new IllegalStateException("cannot read inputs: " + e.getMessage(), e);
    }
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

  public static void applyTransforms(Pipeline pipeline, EvaluateOptions o, Launch launch) {
    int numClasses = launch.classes().size();
    ExamplePreparer groundTruth = launch.groundTruthMap() == null ? null : new ExamplePreparer(
        launch.groundTruthMap(), ResizePolicy.KEEP, UnknownLabelPolicy.IGNORE, ExamplePreparer.DEFAULT_MAX_PIXELS, 95);
    Observer observer = new Observer(present(o.getModel()) ? o.getModel() : null, groundTruth, numClasses,
        launch.ignoreValue(), o.getTileSize(), o.getTileOverlap());
    String output = o.getOutput();

    PCollection<EvalItem> items;
    PCollection<EvaluationError> unmatched;
    if (present(o.getData())) {
      items = pipeline
          .apply("ReadShards", TFRecordIO.read().from(Storage.join(o.getData(), o.getSplit() + "-*.tfrecord*"))
              .withCompression(Compression.AUTO))
          .apply("ToItems", MapElements.into(TypeDescriptor.of(EvalItem.class))
              .via(r -> EvalItem.ofRecord(DeepLabExample.parse(r).filename(), r)));
      unmatched = pipeline.apply("NoUnmatched", org.apache.beam.sdk.transforms.Create.empty(
          TypeDescriptor.of(EvaluationError.class)));
    } else {
      boolean withModel = present(o.getModel());
      String other = withModel ? o.getImages() : o.getPredictions();
      DatasetSource source = DatasetSource.paired(other, o.getMasks());
      PCollectionTuple pairs = pipeline.apply("MatchFiles", new MatchDatasetPairs(source,
          new SplitPolicy(0.0, "maskbeam", false), Parallelism.groups(o, 0, 0, 1)));
      items = pairs.get(MatchDatasetPairs.PAIRS).apply("ToItems", MapElements.into(TypeDescriptor.of(EvalItem.class))
          .via((SampleRef p) -> withModel
              ? new EvalItem(p.id(), p.imageUri(), p.maskUri(), null, null)
              : new EvalItem(p.id(), null, p.maskUri(), p.imageUri(), null)));
      unmatched = pairs.get(MatchDatasetPairs.REJECTED).apply("Unmatched", MapElements
          .into(TypeDescriptor.of(EvaluationError.class))
          .via((Rejection r) -> new EvaluationError(r.id(), r.maskUri() != null ? r.maskUri() : r.imageUri(),
              r.maskUri() == null ? "MISSING_GROUND_TRUTH" : withModel ? "MISSING_IMAGE" : "MISSING_PREDICTION",
              r.message())));
    }

    var scoring = new EvaluateExamples(observer);
    PCollectionTuple scored = items.apply("Evaluate", present(o.getAcceleratorType())
        ? (org.apache.beam.sdk.transforms.PTransform<PCollection<EvalItem>, PCollectionTuple>) scoring
            .setResourceHints(org.apache.beam.sdk.transforms.resourcehints.ResourceHints.create()
                .withAccelerator(o.getAcceleratorType()))
        : scoring);
    PCollection<ImageEvaluation> evaluated = scored.get(EvaluateExamples.EVALUATED);
    PCollection<EvaluationError> errors = PCollectionList.of(scored.get(EvaluateExamples.FAILED)).and(unmatched)
        .apply("AllErrors", Flatten.pCollections());

    errors.apply("ErrorsToJson", MapElements.into(TypeDescriptors.strings()).via(EvaluationError::toJsonLine))
        .apply("WriteErrors", TextIO.write().to(Storage.join(output, "errors/errors")).withSuffix(".jsonl")
            .withNumShards(1));
    evaluated.apply("PerImageToJson", MapElements.into(TypeDescriptors.strings()).via(EvaluatePipeline::perImageLine))
        .apply("WritePerImage", TextIO.write().to(Storage.join(output, "per-image/per-image")).withSuffix(".jsonl"));

    PCollection<ConfusionMatrix> matrix = evaluated.apply("CombineConfusion",
        Combine.globally(new CombineConfusion(numClasses)));

    PCollectionView<Map<String, String>> chosen = choose(evaluated, o.getExamples());
    PCollectionView<List<ExampleRender>> renders = items
        .apply("RenderExamples", new RenderExamples(observer, launch.classes(), output, chosen))
        .apply("RendersView", View.asList());
    PCollectionView<Long> count = evaluated.apply("CountEvaluated", Count.globally())
        .apply("EvaluatedView", View.asSingleton());
    PCollectionView<Map<String, Long>> reasons = errors
        .apply("Reasons", MapElements.into(TypeDescriptors.strings()).via(EvaluationError::reason))
        .apply("CountReasons", Count.perElement())
        .apply("ReasonsView", View.asMap());
    matrix.apply("WriteReport", new WriteEvaluationReport(output, launch.classes(), describe(o), count, reasons,
        renders));
  }

  /** Scores by example mIoU, worst first; ties by id. */
  static final class ByScore implements Comparator<ImageEvaluation>, Serializable {
    @Override
    public int compare(ImageEvaluation a, ImageEvaluation b) {
      return ImageEvaluation.compareByScore(a, b);
    }
  }

  /** The reverse of {@link ByScore}, serializable (Comparator.reversed() is not). */
  static final class WorstFirst implements Comparator<ImageEvaluation>, Serializable {
    @Override
    public int compare(ImageEvaluation a, ImageEvaluation b) {
      return ImageEvaluation.compareByScore(b, a);
    }
  }

  /** The ids of the k best and k worst examples, labelled best-01.. and worst-01.. (an id appears once). */
  static PCollectionView<Map<String, String>> choose(PCollection<ImageEvaluation> evaluated, int k) {
    PCollection<List<ImageEvaluation>> best = evaluated.apply("Best", Top.of(Math.max(k, 1), new ByScore()));
    PCollection<List<ImageEvaluation>> worst = evaluated.apply("Worst",
        Top.of(Math.max(k, 1), new WorstFirst()));
    PCollectionView<List<ImageEvaluation>> worstView = worst.apply("WorstView", View.asSingleton());
    return best
        .apply("Label", ParDo.of(new DoFn<List<ImageEvaluation>, KV<String, String>>() {
          @ProcessElement
          public void process(@Element List<ImageEvaluation> top, ProcessContext c) {
            if (k == 0) {
              return;
            }
            Map<String, String> labels = new HashMap<>();
            for (int i = 0; i < top.size(); i++) {
              labels.put(top.get(i).id(), String.format(Locale.ROOT, "best-%02d", i + 1));
            }
            List<ImageEvaluation> bottom = c.sideInput(worstView);
            for (int i = 0; i < bottom.size(); i++) {
              labels.putIfAbsent(bottom.get(i).id(), String.format(Locale.ROOT, "worst-%02d", i + 1));
            }
            labels.forEach((id, label) -> c.output(KV.of(id, label)));
          }
        }).withSideInputs(worstView))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()))
        .apply("ChosenView", View.asMap());
  }

  static String perImageLine(ImageEvaluation e) {
    ObjectNode n = JSON.createObjectNode();
    n.put("id", e.id());
    n.put("source", e.source());
    n.put("width", e.width());
    n.put("height", e.height());
    double miou = e.meanIou();
    if (Double.isNaN(miou)) {
      n.putNull("meanIou");
    } else {
      n.put("meanIou", miou);
    }
    double acc = e.matrix().pixelAccuracy();
    if (Double.isNaN(acc)) {
      n.putNull("pixelAccuracy");
    } else {
      n.put("pixelAccuracy", acc);
    }
    n.put("pixels", e.matrix().total());
    return n.toString();
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
    n.put("images", o.getImages());
    n.put("labelMap", o.getLabelMap());
    return n.toString();
  }

  public static void printSummary(String output, PrintStream out) {
    String path = Storage.join(output, WriteEvaluationReport.METRICS_JSON);
    try {
      JsonNode m = JSON.readTree(new String(Storage.readAll(path), StandardCharsets.UTF_8));
      out.printf(Locale.ROOT, "examples %d evaluated, %d failed; mIoU %.4f, pixel accuracy %.4f, mean Dice %.4f%n",
          m.path("examples").asLong(), m.path("failed").asLong(), m.path("meanIou").asDouble(Double.NaN),
          m.path("pixelAccuracy").asDouble(Double.NaN), m.path("meanDice").asDouble(Double.NaN));
      out.println("metrics:  " + path);
      out.println("report:   " + Storage.join(output, WriteEvaluationReport.REPORT_HTML));
      if (m.path("failed").asLong() > 0) {
        out.println("errors:   " + Storage.join(output, "errors/") + " " + m.path("failedByReason"));
      }
    } catch (IOException e) {
      out.println("finished, but " + path + " cannot be read: " + e.getMessage());
    }
  }
}
