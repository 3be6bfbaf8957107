package io.maskbeam.pipelines.cli;

import io.maskbeam.pipelines.Maskbeam;
import java.io.PrintStream;
import java.util.Locale;
import org.apache.beam.runners.dataflow.DataflowPipelineJob;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * What every pipeline's command does once its job is started: wait with a progress line and judge the outcome
 * (when {@link Runners#waits}), or report the submitted job and return, as a Flex Template launcher must.
 */
public final class Launcher {
  private Launcher() {}

  /** A finished job's inputs and failed inputs, from its durable record (summary.json, metrics.json, ...). */
  public record Counts(long inputs, long failed) {}

  /**
   * Waits for the job if the options say so and returns the exit code.
   *
   * @param progress shows counters while waiting
   * @param finish prints the durable record of a finished job and returns its counts (null when unreadable)
   */
  public static int await(PipelineResult result, PipelineOptions options, ProgressReporter progress,
      java.util.function.Supplier<Counts> finish, String stage, PrintStream out) {
    if (!Runners.waits(options)) {
      reportSubmitted(result, options, stage, out);
      return Maskbeam.OK;
    }
    PipelineResult.State state = progress.waitFor(result);
    if (state != PipelineResult.State.DONE) {
      out.println(stage + " ended in state " + state);
      return Maskbeam.FAILED;
    }
    Counts counts = finish.get();
    return counts == null ? Maskbeam.FAILED
        : exitCode(counts, options.as(LaunchOptions.class).getMaxFailedFraction(), stage, out);
  }

  /**
   * Starts a job that runs a model and waits as {@link #await} does. On the DirectRunner the workers are in this
   * JVM: the model is loaded here first (which also runs its test inference, so a broken model fails now) and
   * every worker shares this instance until the job ends.
   *
   * @param model the pinned model, or null when the job runs none
   * @param runtime the threads and precision the workers ask for (the shared instance is keyed by them)
   */
  public static int executeWithModel(PipelineOptions options, io.maskbeam.transforms.model.ModelReference model,
      io.maskbeam.models.infer.ModelRuntime runtime, java.util.function.Supplier<PipelineResult> start,
      ProgressReporter progress, java.util.function.Supplier<Counts> finish, String stage, PrintStream out) {
    return executeWithModels(options, model == null ? java.util.List.of() : java.util.List.of(model), runtime, start,
        progress, finish, stage, out);
  }

  /** {@link #executeWithModel} for a job that runs several models (evaluate's candidate and baseline). */
  public static int executeWithModels(PipelineOptions options,
      java.util.List<io.maskbeam.transforms.model.ModelReference> models, io.maskbeam.models.infer.ModelRuntime runtime,
      java.util.function.Supplier<PipelineResult> start, ProgressReporter progress,
      java.util.function.Supplier<Counts> finish, String stage, PrintStream out) {
    boolean held = Runners.isDirect(options);
    if (!models.isEmpty()) {
      out.println(describePrecision(runtime.choiceFor(models.get(0).format()), held));
    }
    java.util.List<io.maskbeam.transforms.model.ModelReference> acquired = new java.util.ArrayList<>();
    try {
      if (held) {
        for (io.maskbeam.transforms.model.ModelReference m : models) {
          io.maskbeam.transforms.model.SharedModels.acquire(m, runtime);
          acquired.add(m);
        }
      }
      return await(start.get(), options, progress, finish, stage, out);
    } finally {
      for (io.maskbeam.transforms.model.ModelReference m : acquired) {
        io.maskbeam.transforms.model.SharedModels.release(m, runtime);
      }
    }
  }

  /**
   * The console line naming the precision a job's models run in. On a remote runner it is this machine's view:
   * workers settle {@code auto} on their own hardware.
   */
  public static String describePrecision(io.maskbeam.models.infer.Precision.Choice choice, boolean here) {
    String line = "precision: " + choice.label() + (choice.requested().equals(choice.label()) ? ""
        : " (--precision=" + choice.requested() + ")");
    if (choice.note() != null) {
      line += (choice.precision() == io.maskbeam.models.infer.Precision.FP32 && !choice.requested().equals("auto")
          && !choice.requested().equals("fp32") ? "; warning: " : "; ") + choice.note();
    }
    return here ? line : line + " [on this machine; workers settle it on theirs]";
  }

  /** Reads a job's durable JSON record, or says why it cannot (and returns null). */
  public static com.fasterxml.jackson.databind.JsonNode readRecord(String path, PrintStream out) {
    try {
      return new com.fasterxml.jackson.databind.ObjectMapper().readTree(new String(
          io.maskbeam.transforms.io.Storage.readAll(path), java.nio.charset.StandardCharsets.UTF_8));
    } catch (java.io.IOException e) {
      out.println("finished, but " + path + " cannot be read: " + e.getMessage());
      return null;
    }
  }

  /**
   * 0 when the failed inputs are within the allowed fraction; {@link Maskbeam#INPUTS_FAILED} when they exceed it,
   * or when every input failed.
   */
  static int exitCode(Counts counts, double maxFailedFraction, String stage, PrintStream out) {
    if (counts.failed() == 0 || counts.inputs() == 0) {
      return Maskbeam.OK;
    }
    double fraction = (double) counts.failed() / counts.inputs();
    if (counts.failed() == counts.inputs() || fraction > maxFailedFraction) {
      out.printf(Locale.ROOT, "%s: %d of %d inputs failed (%.1f%%, allowed %.1f%%): exit code %d%n", stage,
          counts.failed(), counts.inputs(), 100 * fraction, 100 * maxFailedFraction, Maskbeam.INPUTS_FAILED);
      return Maskbeam.INPUTS_FAILED;
    }
    return Maskbeam.OK;
  }

  public static void reportSubmitted(PipelineResult result, PipelineOptions options, String stage,
      PrintStream out) {
    if (Runners.writesTemplate(options)) {
      out.println(stage + ": job spec written (template); the job runs when it is launched");
    } else if (result instanceof DataflowPipelineJob job) {
      out.println(stage + ": submitted Dataflow job " + job.getJobId() + " in " + job.getRegion() + " of project "
          + job.getProjectId() + "; follow it in the Dataflow console (this launcher does not wait:"
          + " --waitUntilFinish=true would)");
    } else {
      out.println(stage + ": job submitted; not waiting for it (--waitUntilFinish=false)");
    }
  }
}
