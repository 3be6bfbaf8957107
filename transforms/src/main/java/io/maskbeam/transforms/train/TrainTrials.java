package io.maskbeam.transforms.train;

import io.maskbeam.models.train.Trainer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.resourcehints.ResourceHints;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * Trains each {@link Trial} on a worker of its own ({@link Reshuffle} keeps a runner from fusing all trials into
 * one bundle), in a step that alone carries the accelerator hint, so Dataflow runs it on a GPU worker pool while the
 * rest stays on CPU workers. Trials carry their typed {@link TrainingJob}: workers parse no flags.
 */
public final class TrainTrials extends PTransform<PCollection<TrainTrials.Trial>, PCollection<TrainTrials.Result>> {
  /**
   * One trial: its number, the grid values it sets (for trials.json) and its job. Trials are few, so Java
   * serialization is their coder.
   */
  @DefaultCoder(SerializableCoder.class)
  public record Trial(int number, Map<String, String> overrides, TrainingJob job) implements Serializable {}

  /** A finished trial. */
  @DefaultCoder(SerializableCoder.class)
  public record Result(Trial trial, String output, double meanIou, int bestEpoch, long steps, String log)
      implements Serializable {}

  private final String accelerator;

  private TrainTrials(String accelerator) {
    this.accelerator = accelerator;
  }

  public static TrainTrials create() {
    return new TrainTrials(null);
  }

  public TrainTrials withAccelerator(String hint) {
    return new TrainTrials(hint == null || hint.isBlank() ? null : hint);
  }

  @Override
  public PCollection<Result> expand(PCollection<Trial> trials) {
    // A multi-output ParDo on purpose: Dataflow replaces a single-output ParDo with a multi-output one and the
    // replacement drops the resource hints (found by DataflowJobSpecTest: the job spec had no accelerator).
    TupleTag<Result> results = new TupleTag<>() {};
    PTransform<PCollection<? extends Trial>, PCollectionTuple> train =
        ParDo.of(new TrainFn()).withOutputTags(results, TupleTagList.empty());
    if (accelerator != null) {
      train = train.setResourceHints(ResourceHints.create().withAccelerator(accelerator));
    }
    return trials
        .apply("SpreadTrials", Reshuffle.viaRandomKey())
        .apply("Train", train)
        .get(results);
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.addIfNotNull(DisplayData.item("accelerator", accelerator).withLabel("Accelerator hint"));
  }

  /** Trains one trial in this worker's JVM. */
  static final class TrainFn extends DoFn<Trial, Result> {
    private final Counter trained = Metrics.counter("maskbeam.train", "trials_trained");

    @ProcessElement
    public void process(@Element Trial trial, OutputReceiver<Result> out) throws Exception {
      ByteArrayOutputStream log = new ByteArrayOutputStream();
      Trainer.Outcome outcome;
      try (PrintStream print = new PrintStream(log, true, StandardCharsets.UTF_8)) {
        outcome = TrainingRun.execute(trial.job(), print);
      }
      trained.inc();
      String text = log.toString(StandardCharsets.UTF_8);
      String tail = text.length() > 4000 ? text.substring(text.length() - 4000) : text;
      out.output(new Result(trial, trial.job().output(), outcome.bestMeanIou(), outcome.bestEpoch(), outcome.steps(),
          tail));
    }
  }
}
