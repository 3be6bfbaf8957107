package io.maskbeam.transforms.evaluate;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.core.Failure;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.models.eval.ConfusionMatrix;
import io.maskbeam.transforms.common.WriteFailures;
import io.maskbeam.transforms.io.Storage;
import java.io.Serializable;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Top;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * The whole of evaluation after the examples are found: score each example ({@link ScoreExamples}, the step an
 * accelerator hint lands on), write {@code errors/} ({@link WriteFailures}) and {@code per-image/}, sum the confusion
 * matrices across workers ({@link CombineConfusion}), render the best and worst examples and write the report
 * ({@link WriteEvaluationReport}). Its input is a {@link PCollectionTuple} of the {@link #ITEMS} to score and the
 * {@link #UNMATCHED} failures of finding them; its output is the URI of {@code metrics.json} once written.
 *
 * <pre>{@code
 * PCollection<String> metrics = PCollectionTuple.of(ITEMS, items).and(UNMATCHED, unmatched)
 *     .apply("Evaluate", EvaluateExamples.with(observer, classes).to(output).withExamples(4));
 * }</pre>
 */
public final class EvaluateExamples extends PTransform<PCollectionTuple, PCollection<String>> {
  public static final TupleTag<EvalItem> ITEMS = new TupleTag<>() {};
  public static final TupleTag<Failure> UNMATCHED = new TupleTag<>() {};

  private final Observer observer;
  private final List<LabelClass> classes;
  private final String output;
  private final int examples;
  private final String accelerator;
  private final String describeJson;
  private final Slicer slicer;
  private final WriteEvaluationReport.Judgement judgement;

  private EvaluateExamples(Observer observer, List<LabelClass> classes, String output, int examples,
      String accelerator, String describeJson, Slicer slicer, WriteEvaluationReport.Judgement judgement) {
    this.slicer = slicer;
    this.judgement = judgement;
    this.observer = observer;
    this.classes = List.copyOf(classes);
    this.output = output;
    this.examples = examples;
    this.accelerator = accelerator;
    this.describeJson = describeJson;
  }

  public static EvaluateExamples with(Observer observer, List<LabelClass> classes) {
    return new EvaluateExamples(observer, classes, null, 4, null, "{}", null,
        WriteEvaluationReport.Judgement.NONE);
  }

  public EvaluateExamples to(String outputDir) {
    return new EvaluateExamples(observer, classes, outputDir, examples, accelerator, describeJson, slicer,
        judgement);
  }

  /** How many best and worst examples the report shows. */
  public EvaluateExamples withExamples(int count) {
    if (count < 0) {
      throw new IllegalArgumentException("--examples must be >= 0");
    }
    return new EvaluateExamples(observer, classes, output, count, accelerator, describeJson, slicer, judgement);
  }

  public EvaluateExamples withAccelerator(String hint) {
    return new EvaluateExamples(observer, classes, output, examples, hint, describeJson, slicer, judgement);
  }

  /** What was evaluated, as a JSON object recorded in metrics.json. */
  public EvaluateExamples describedAs(String json) {
    return new EvaluateExamples(observer, classes, output, examples, accelerator, json, slicer, judgement);
  }

  /** Metrics per slice as well as overall (null: no slicing). */
  public EvaluateExamples withSlicer(Slicer s) {
    return new EvaluateExamples(observer, classes, output, examples, accelerator, describeJson, s, judgement);
  }

  /** How the candidate is compared with its baseline and judged against thresholds. */
  public EvaluateExamples judgedBy(WriteEvaluationReport.Judgement j) {
    return new EvaluateExamples(observer, classes, output, examples, accelerator, describeJson, slicer, j);
  }

  @Override
  public PCollection<String> expand(PCollectionTuple in) {
    if (output == null) {
      throw new IllegalStateException("EvaluateExamples needs .to(outputDir)");
    }
    PCollection<EvalItem> items = in.get(ITEMS);
    PCollectionTuple scored = items.apply("Score", ScoreExamples.with(observer).withAccelerator(accelerator)
        .withSlicer(slicer));
    PCollection<ImageEvaluation> evaluated = scored.get(ScoreExamples.EVALUATED);
    PCollection<Failure> errors = PCollectionList.of(scored.get(ScoreExamples.FAILED)).and(in.get(UNMATCHED))
        .apply("AllErrors", Flatten.pCollections());
    WriteFailures.Result written = errors.apply("WriteErrors",
        WriteFailures.to(Storage.join(output, "errors")).withPrefix("errors"));
    evaluated.apply("PerImageToJson", MapElements.into(TypeDescriptors.strings()).via(EvaluateExamples::perImageLine))
        .apply("WritePerImage", TextIO.write().to(Storage.join(output, "per-image/per-image")).withSuffix(".jsonl"));

    PCollection<ConfusionMatrix> matrix = evaluated.apply("CombineConfusion",
        Combine.globally(new CombineConfusion(classes.size())));
    PCollectionView<Map<String, String>> chosen = choose(evaluated, examples);
    PCollectionView<List<ExampleRender>> renders = items
        .apply("RenderExamples", new RenderExamples(observer, classes, output, chosen))
        .apply("RendersView", View.asList());
    PCollectionView<Long> count = evaluated.apply("CountEvaluated", Count.globally())
        .apply("EvaluatedView", View.asSingleton());
    // Slices, the baseline's deltas and its bootstrap need every image's matrices in one place; plain evaluation
    // needs only their sum.
    PCollectionView<List<ImageEvaluation>> perImage = slicer != null || observer.baseline() != null
        ? evaluated.apply("PerImageView", View.asList()) : null;
    return matrix.apply("WriteReport", new WriteEvaluationReport(output, classes, describeJson, count,
        written.countByReason(), renders, perImage, judgement));
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("output", output).withLabel("Output"))
        .add(DisplayData.item("classes", classes.size()).withLabel("Classes"))
        .add(DisplayData.item("examples", examples).withLabel("Best and worst examples shown"))
        .add(DisplayData.item("sliced", slicer != null).withLabel("Metrics per slice"))
        .addIfNotNull(DisplayData.item("baseline", judgement.baselineModel()).withLabel("Baseline model"))
        .add(DisplayData.item("thresholds", judgement.gate().toString()).withLabel("Quality gate"))
        .addIfNotNull(DisplayData.item("accelerator", accelerator).withLabel("Accelerator hint"));
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
    PCollection<List<ImageEvaluation>> worst = evaluated.apply("Worst", Top.of(Math.max(k, 1), new WorstFirst()));
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
    ObjectNode n = new ObjectMapper().createObjectNode();
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
}
