package io.maskbeam.pipelines.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.models.train.Trainer;
import io.maskbeam.pipelines.cli.PipelineArgs;
import io.maskbeam.transforms.io.Storage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.transforms.resourcehints.ResourceHints;
import org.apache.beam.sdk.values.PCollection;

/**
 * Training as a Beam pipeline: every trial (a setting of the grid, or the single run) is an element, trained by a
 * step that alone carries the accelerator resource hint, so Dataflow runs it on a GPU worker pool while the rest
 * stays on CPU workers. The best trial by validation mIoU is recorded in {@code trials.json}.
 */
public final class TrainPipeline {
  public static final String TRIALS_FILE = "trials.json";

  private TrainPipeline() {}

  /** One trial: its number and the full argument list of its training run. */
  @DefaultCoder(SerializableCoder.class)
  public record Trial(int number, Map<String, String> overrides, List<String> args) implements Serializable {}

  /** A finished trial. */
  @DefaultCoder(SerializableCoder.class)
  public record TrialResult(Trial trial, String output, double meanIou, int bestEpoch, long steps, String log)
      implements Serializable {}

  /** Whether {@code maskbeam train} should run as a pipeline rather than in this process. */
  public static boolean wanted(TrainOptions o) {
    return (o.getTrials() != null && !o.getTrials().isBlank())
        || (o.getAcceleratorType() != null && !o.getAcceleratorType().isBlank())
        || !o.getRunner().getSimpleName().equals("DirectRunner");
  }

  /** The cartesian product of a grid such as "learningRate=0.001,0.0003;optimizer=adam,sgd". */
  static List<Map<String, String>> grid(String spec) {
    List<Map<String, String>> out = new ArrayList<>();
    out.add(new LinkedHashMap<>());
    if (spec == null || spec.isBlank()) {
      return out;
    }
    for (String axis : spec.split(";")) {
      String[] kv = axis.split("=", 2);
      if (kv.length != 2 || kv[0].isBlank() || kv[1].isBlank()) {
        throw new IllegalArgumentException("--trials axis '" + axis + "' is not name=value1,value2,...");
      }
      List<Map<String, String>> next = new ArrayList<>();
      for (Map<String, String> partial : out) {
        for (String value : kv[1].split(",")) {
          Map<String, String> m = new LinkedHashMap<>(partial);
          m.put(kv[0].trim(), value.trim());
          next.add(m);
        }
      }
      out = next;
    }
    return out;
  }

  /** Trials from the command-line arguments: trial N writes to output/trial-N and overrides its grid values. */
  static List<Trial> trials(String[] args, TrainOptions o) {
    List<String> base = new ArrayList<>();
    for (String a : args) {
      if (!a.startsWith("--trials=") && !a.startsWith("--acceleratorType=") && !a.startsWith("--output=")
          && !a.startsWith("--runner=")) {
        base.add(a);
      }
    }
    List<Map<String, String>> settings = grid(o.getTrials());
    List<Trial> trials = new ArrayList<>();
    for (int i = 0; i < settings.size(); i++) {
      List<String> trialArgs = new ArrayList<>();
      Map<String, String> overrides = settings.get(i);
      for (String a : base) {
        String name = a.startsWith("--") && a.contains("=") ? a.substring(2, a.indexOf('=')) : "";
        if (!overrides.containsKey(name)) {
          trialArgs.add(a);
        }
      }
      overrides.forEach((k, v) -> trialArgs.add("--" + k + "=" + v));
      String output = settings.size() == 1 ? o.getOutput() : Storage.join(o.getOutput(), "trial-" + i);
      trialArgs.add("--output=" + output);
      trials.add(new Trial(i, overrides, trialArgs));
    }
    return trials;
  }

  /** Builds the graph: trials -> spread -> train (with the accelerator hint) -> best -> trials.json. */
  public static PCollection<TrialResult> applyTransforms(Pipeline pipeline, List<Trial> trials, String output,
      String acceleratorType) {
    // A multi-output ParDo on purpose: Dataflow replaces a single-output ParDo with a multi-output one and the
    // replacement drops the resource hints (found by DataflowJobSpecTest: the job spec had no accelerator).
    TupleTag<TrialResult> resultsTag = new TupleTag<>() {};
    PTransform<PCollection<? extends Trial>, PCollectionTuple> train =
        ParDo.of(new TrainTrialFn()).withOutputTags(resultsTag, TupleTagList.empty());
    if (acceleratorType != null && !acceleratorType.isBlank()) {
      train = train.setResourceHints(ResourceHints.create().withAccelerator(acceleratorType));
    }
    PCollection<TrialResult> results = pipeline
        .apply("Trials", Create.of(trials))
        // One trial per worker: without the reshuffle, a runner may fuse all trials into one bundle.
        .apply("SpreadTrials", Reshuffle.viaRandomKey())
        .apply("Train", train)
        .get(resultsTag);
    results
        .apply("AllTrials", Combine.globally(new ToListFn()))
        .apply("WriteTrials", ParDo.of(new WriteTrialsFn(output)));
    return results;
  }

  public static int execute(String[] args, TrainOptions o, PrintStream out) {
    List<Trial> trials = trials(args, o);
    out.printf(Locale.ROOT, "training %d trial(s) as a Beam pipeline on %s%s%n", trials.size(),
        o.getRunner().getSimpleName(), o.getAcceleratorType() == null ? "" : " with accelerator " + o.getAcceleratorType());
    Pipeline pipeline = Pipeline.create(o);
    applyTransforms(pipeline, trials, o.getOutput(), o.getAcceleratorType());
    PipelineResult.State state = pipeline.run().waitUntilFinish();
    if (state != PipelineResult.State.DONE) {
      out.println("training pipeline ended in state " + state);
      return 1;
    }
    out.println("trials: " + Storage.join(o.getOutput(), TRIALS_FILE));
    return 0;
  }

  /** Trains one trial in this worker's JVM. */
  static final class TrainTrialFn extends DoFn<Trial, TrialResult> {
    private final Counter trained = Metrics.counter("maskbeam.train", "trials_trained");

    @ProcessElement
    public void process(@Element Trial trial, OutputReceiver<TrialResult> out) throws Exception {
      String[] args = trial.args().toArray(String[]::new);
      // The trial's arguments may carry the launching runner's flags (--project, --region, ...).
      TrainOptions options = PipelineArgs.parseLenient(args, TrainOptions.class);
      ByteArrayOutputStream log = new ByteArrayOutputStream();
      Trainer.Outcome outcome;
      try (PrintStream print = new PrintStream(log, true, StandardCharsets.UTF_8)) {
        outcome = TrainCommand.execute(options, print);
      }
      trained.inc();
      String text = log.toString(StandardCharsets.UTF_8);
      String tail = text.length() > 4000 ? text.substring(text.length() - 4000) : text;
      out.output(new TrialResult(trial, options.getOutput(), outcome.bestMeanIou(), outcome.bestEpoch(),
          outcome.steps(), tail));
    }
  }

  /** Gathers the (few) trial results. */
  static final class ToListFn extends Combine.CombineFn<TrialResult, ArrayList<TrialResult>, ArrayList<TrialResult>> {
    @Override
    public ArrayList<TrialResult> createAccumulator() {
      return new ArrayList<>();
    }

    @Override
    public ArrayList<TrialResult> addInput(ArrayList<TrialResult> acc, TrialResult r) {
      acc.add(r);
      return acc;
    }

    @Override
    public ArrayList<TrialResult> mergeAccumulators(Iterable<ArrayList<TrialResult>> accs) {
      ArrayList<TrialResult> all = new ArrayList<>();
      accs.forEach(all::addAll);
      return all;
    }

    @Override
    public ArrayList<TrialResult> extractOutput(ArrayList<TrialResult> acc) {
      return acc;
    }
  }

  /** Writes trials.json: every trial's settings and mIoU, and the best one. */
  static final class WriteTrialsFn extends DoFn<ArrayList<TrialResult>, Void> {
    private final String output;

    WriteTrialsFn(String output) {
      this.output = output;
    }

    @ProcessElement
    public void process(@Element ArrayList<TrialResult> results) throws IOException {
      ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
      ObjectNode root = json.createObjectNode();
      ArrayNode trials = root.putArray("trials");
      TrialResult best = null;
      results.sort((a, b) -> Integer.compare(a.trial().number(), b.trial().number()));
      for (TrialResult r : results) {
        ObjectNode t = trials.addObject();
        t.put("trial", r.trial().number());
        t.set("settings", json.valueToTree(r.trial().overrides()));
        t.put("output", r.output());
        t.put("valMeanIou", r.meanIou());
        t.put("bestEpoch", r.bestEpoch());
        t.put("steps", r.steps());
        if (!Double.isNaN(r.meanIou()) && (best == null || r.meanIou() > best.meanIou())) {
          best = r;
        }
      }
      if (best != null) {
        ObjectNode b = root.putObject("best");
        b.put("trial", best.trial().number());
        b.put("valMeanIou", best.meanIou());
        b.put("model", Storage.join(best.output(), Trainer.MODEL_DIR));
      }
      Storage.writeString(Storage.join(output, TRIALS_FILE), json.writeValueAsString(root) + "\n", "application/json");
    }
  }
}
