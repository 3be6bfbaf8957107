package io.maskbeam.pipelines.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.models.train.Trainer;
import io.maskbeam.pipelines.cli.PipelineArgs;
import io.maskbeam.pipelines.cli.Runners;
import io.maskbeam.transforms.train.TrainTrials;
import io.maskbeam.transforms.train.TrainingJob;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;

/**
 * Training as a Beam pipeline: every trial (a setting of the grid, or the single run) is an element carrying its
 * typed {@link TrainingJob}, trained by {@link TrainTrials} (the step that alone carries the accelerator hint), and
 * the best trial by validation mIoU is recorded in {@code trials.json}. The grid is parsed at launch: a trial's
 * flags are checked before any job starts, and workers parse nothing.
 */
public final class TrainPipeline {
  public static final String TRIALS_FILE = "trials.json";

  private TrainPipeline() {}

  /** The Flex Template entry point: the same as {@code maskbeam train ARGS} (a pipeline on remote runners). */
  public static void main(String[] args) {
    System.exit(io.maskbeam.pipelines.Maskbeam.run(io.maskbeam.pipelines.Maskbeam.withCommand("train", args),
        System.out, System.err));
  }

  /** Whether {@code maskbeam train} should run as a pipeline rather than in this process. */
  public static boolean wanted(TrainOptions o) {
    return (o.getTrials() != null && !o.getTrials().isBlank())
        || (o.getAcceleratorType() != null && !o.getAcceleratorType().isBlank())
        || !Runners.isDirect(o);
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

  /**
   * Trials from the command line: trial N writes to output/trial-N and overrides its grid values. Each trial's
   * flags are parsed here, at launch, into its job; an unknown or bad value fails now, naming the trial.
   */
  static List<TrainTrials.Trial> trials(String[] args, TrainOptions o) {
    List<String> base = new ArrayList<>();
    for (String a : args) {
      if (!a.startsWith("--trials=") && !a.startsWith("--acceleratorType=") && !a.startsWith("--output=")) {
        base.add(a);
      }
    }
    List<Map<String, String>> settings = grid(o.getTrials());
    List<TrainTrials.Trial> trials = new ArrayList<>();
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
      TrainOptions trialOptions;
      TrainingJob job;
      try {
        trialOptions = PipelineArgs.parse(trialArgs.toArray(String[]::new), TrainOptions.class);
        job = TrainCommand.job(trialOptions, Map.of());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("trial " + i + " " + overrides + ": " + e.getMessage(), e);
      }
      trials.add(new TrainTrials.Trial(i, overrides, job));
    }
    return trials;
  }

  /** Builds the graph: trials -> train (with the accelerator hint) -> all results -> trials.json. */
  public static PCollection<TrainTrials.Result> applyTransforms(Pipeline pipeline, List<TrainTrials.Trial> trials,
      String output, String acceleratorType) {
    PCollection<TrainTrials.Result> results = pipeline
        .apply("Trials", Create.of(trials))
        .apply("TrainTrials", TrainTrials.create().withAccelerator(acceleratorType));
    results
        .apply("AllTrials", Combine.globally(new ToListFn()))
        .apply("WriteTrials", ParDo.of(new WriteTrialsFn(output)));
    return results;
  }

  public static int execute(String[] args, TrainOptions o, PrintStream out) {
    if (o.getOutput() == null || o.getOutput().isBlank()) {
      throw new IllegalArgumentException("--output is required: trials and remote runs write their models and"
          + " trials.json there");
    }
    List<TrainTrials.Trial> trials = trials(args, o);
    out.printf(Locale.ROOT, "training %d trial(s) as a Beam pipeline on %s%s%n", trials.size(),
        o.getRunner().getSimpleName(), o.getAcceleratorType() == null ? "" : " with accelerator " + o.getAcceleratorType());
    Pipeline pipeline = Pipeline.create(o);
    applyTransforms(pipeline, trials, o.getOutput(), o.getAcceleratorType());
    PipelineResult result = pipeline.run();
    if (!Runners.waits(o)) {
      io.maskbeam.pipelines.cli.Launcher.reportSubmitted(result, o, "train", out);
      out.println("trials.json will be written to " + Storage.join(o.getOutput(), TRIALS_FILE));
      return 0;
    }
    PipelineResult.State state = result.waitUntilFinish();
    if (state != PipelineResult.State.DONE) {
      out.println("training pipeline ended in state " + state);
      return 1;
    }
    out.println("trials: " + Storage.join(o.getOutput(), TRIALS_FILE));
    return 0;
  }

  /** Gathers the (few) trial results. */
  static final class ToListFn extends Combine.CombineFn<TrainTrials.Result, ArrayList<TrainTrials.Result>,
      ArrayList<TrainTrials.Result>> {
    @Override
    public ArrayList<TrainTrials.Result> createAccumulator() {
      return new ArrayList<>();
    }

    @Override
    public ArrayList<TrainTrials.Result> addInput(ArrayList<TrainTrials.Result> acc, TrainTrials.Result r) {
      acc.add(r);
      return acc;
    }

    @Override
    public ArrayList<TrainTrials.Result> mergeAccumulators(Iterable<ArrayList<TrainTrials.Result>> accs) {
      ArrayList<TrainTrials.Result> all = new ArrayList<>();
      accs.forEach(all::addAll);
      return all;
    }

    @Override
    public ArrayList<TrainTrials.Result> extractOutput(ArrayList<TrainTrials.Result> acc) {
      return acc;
    }
  }

  /** Writes trials.json: every trial's settings and mIoU, and the best one. */
  static final class WriteTrialsFn extends DoFn<ArrayList<TrainTrials.Result>, Void> {
    private final String output;

    WriteTrialsFn(String output) {
      this.output = output;
    }

    @ProcessElement
    public void process(@Element ArrayList<TrainTrials.Result> results) throws IOException {
      ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
      ObjectNode root = json.createObjectNode();
      ArrayNode trials = root.putArray("trials");
      TrainTrials.Result best = null;
      results.sort((a, b) -> Integer.compare(a.trial().number(), b.trial().number()));
      for (TrainTrials.Result r : results) {
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
