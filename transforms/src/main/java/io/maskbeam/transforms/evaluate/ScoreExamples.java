package io.maskbeam.transforms.evaluate;

import io.maskbeam.core.Failure;
import io.maskbeam.core.Stage;
import io.maskbeam.models.eval.ConfusionMatrix;
import io.maskbeam.transforms.common.FailureCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.resourcehints.ResourceHints;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * Each example's confusion matrix (its prediction from the model or a file, against its ground truth), or a
 * {@link Failure} saying why it could not be scored. Combining the matrices is left to {@link CombineConfusion}, so it
 * happens across workers. An accelerator hint, when given, lands on this step alone.
 */
public final class ScoreExamples extends PTransform<PCollection<EvalItem>, PCollectionTuple> {
  public static final TupleTag<ImageEvaluation> EVALUATED = new TupleTag<>() {};
  public static final TupleTag<Failure> FAILED = new TupleTag<>() {};

  private final Observer observer;
  private final String accelerator;
  private final Slicer slicer;

  private ScoreExamples(Observer observer, String accelerator, Slicer slicer) {
    this.observer = observer;
    this.accelerator = accelerator;
    this.slicer = slicer;
  }

  public static ScoreExamples with(Observer observer) {
    return new ScoreExamples(observer, null, null);
  }

  public ScoreExamples withAccelerator(String hint) {
    return new ScoreExamples(observer, hint == null || hint.isBlank() ? null : hint, slicer);
  }

  /** Puts every example in a slice (null: none). */
  public ScoreExamples withSlicer(Slicer s) {
    return new ScoreExamples(observer, accelerator, s);
  }

  @Override
  public PCollectionTuple expand(PCollection<EvalItem> items) {
    PTransform<PCollection<? extends EvalItem>, PCollectionTuple> score =
        ParDo.of(new ScoreFn(observer, slicer)).withOutputTags(EVALUATED, TupleTagList.of(FAILED));
    if (accelerator != null) {
      score = score.setResourceHints(ResourceHints.create().withAccelerator(accelerator));
    }
    PCollectionTuple out = items.apply("Score", score);
    out.get(FAILED).setCoder(FailureCoder.of());
    return out;
  }

  /** The confusion matrix of one prediction against its truth; truth pixels outside the classes are skipped. */
  public static ConfusionMatrix confusion(byte[] truth, byte[] prediction, int numClasses) {
    int[] t = new int[truth.length];
    int[] p = new int[prediction.length];
    for (int i = 0; i < t.length; i++) {
      t[i] = truth[i] & 0xFF;
      p[i] = prediction[i] & 0xFF;
    }
    return new ConfusionMatrix(numClasses).add(t, p);
  }

  static final class ScoreFn extends DoFn<EvalItem, ImageEvaluation> {
    private final Observer observer;
    private final Slicer slicer;
    private final Counter evaluated = Metrics.counter(EvaluateMetrics.NAMESPACE, EvaluateMetrics.EXAMPLES_EVALUATED);
    private final Counter failed = Metrics.counter(EvaluateMetrics.NAMESPACE, EvaluateMetrics.EXAMPLES_FAILED);

    ScoreFn(Observer observer, Slicer slicer) {
      this.observer = observer;
      this.slicer = slicer;
    }

    @Setup
    public void setup() {
      observer.open();
    }

    @Teardown
    public void teardown() {
      observer.close();
    }

    @ProcessElement
    public void process(@Element EvalItem item, MultiOutputReceiver out) {
      try {
        Observer.Observation o = observer.observe(item);
        ConfusionMatrix m = confusion(o.truth().labels(), o.prediction().labels(), observer.numClasses());
        evaluated.inc();
        ConfusionMatrix baseline = o.baselinePrediction() == null ? null
            : confusion(o.truth().labels(), o.baselinePrediction().labels(), observer.numClasses());
        out.get(EVALUATED).output(new ImageEvaluation(item.id(), item.source(), o.truth().width(),
            o.truth().height(), m, slicer == null ? "" : slicer.sliceOf(item), baseline));
      } catch (Observer.Unusable e) {
        failed.inc();
        out.get(FAILED).output(new Failure(Stage.EVALUATE, item.id(), item.source(), item.files(), e.reason(),
            e.getMessage(), null));
      }
    }
  }
}
