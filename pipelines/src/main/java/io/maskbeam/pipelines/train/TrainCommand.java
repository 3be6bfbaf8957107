package io.maskbeam.pipelines.train;

import io.maskbeam.models.train.LearningRateSchedule;
import io.maskbeam.models.train.TrainConfig;
import io.maskbeam.models.train.Trainer;
import io.maskbeam.models.train.TrainingListener;
import io.maskbeam.transforms.train.TrainingJob;
import io.maskbeam.transforms.train.TrainingRun;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;

/**
 * {@code maskbeam train} in this process: the flags become a typed {@link TrainingJob} (every value checked before
 * anything is read), which {@link TrainingRun} trains. On Vertex AI custom training, its variables are honoured:
 * without {@code --output} the model goes to {@code AIP_MODEL_DIR}, checkpoints to {@code AIP_CHECKPOINT_DIR} and
 * TensorBoard events to {@code AIP_TENSORBOARD_LOG_DIR}.
 */
public final class TrainCommand {
  private TrainCommand() {}

  public static Trainer.Outcome execute(TrainOptions o, PrintStream out, TrainingListener... listeners)
      throws IOException, InterruptedException {
    return TrainingRun.execute(job(o, System.getenv()), out, listeners);
  }

  /** The job the flags describe, with the platform's variables where the flags leave a choice. */
  public static TrainingJob job(TrainOptions o, Map<String, String> env) {
    String output = blankToNull(o.getOutput());
    String vertexModel = blankToNull(env.get("AIP_MODEL_DIR"));
    TrainingJob.Platform platform = new TrainingJob.Platform(
        output == null ? vertexModel : null,
        blankToNull(env.get("AIP_CHECKPOINT_DIR")),
        blankToNull(env.get("AIP_TENSORBOARD_LOG_DIR")));
    if (output == null) {
      if (vertexModel == null) {
        throw new IllegalArgumentException("--output is required (or AIP_MODEL_DIR, on Vertex AI)");
      }
      // On Vertex AI the run folder is local; the model's files go to AIP_MODEL_DIR itself.
      output = System.getProperty("java.io.tmpdir") + "/maskbeam-vertex-run-" + Long.toHexString(System.nanoTime());
    }
    return new TrainingJob(o.getData(), output,
        TrainConfig.network(o.getAlgorithm(), o.getBackbone(), o.getOutputStride(), o.getUnetDepth(),
            o.getUnetWidth(), parseUpsampling(o.getUpsampling())),
        TrainConfig.Loss.parse(o.getLoss()), o.getClassWeights(), o.getFocalGamma(),
        new TrainConfig.OptimizerSpec(TrainConfig.Optimizer.parse(o.getOptimizer()), o.getMomentum(),
            o.getNesterov(), o.getWeightDecay(), o.getRmsDecay()),
        new Trainer.Schedule(o.getEpochs(), o.getMiniBatchSize(), o.getValidationMiniBatchSize(),
            o.getLearningRate(), LearningRateSchedule.Kind.parse(o.getLrScheduler()), o.getWarmupSteps(),
            o.getLrSchedulerFactor(), o.getLrSchedulerStepEpochs()),
        new TrainingJob.Augment(o.getCropSize(), o.getMinScale(), o.getMaxScale(), o.getFlip(), o.getJitter()),
        new Trainer.EarlyStopping(o.getEarlyStopping(), o.getEarlyStoppingPatience(), o.getEarlyStoppingMinEpochs(),
            o.getEarlyStoppingTolerance()),
        new Trainer.Checkpoints(o.getCheckpointEverySteps(), o.getResume()),
        blankToNull(o.getInitModel()), blankToNull(o.getPretrainedWeights()),
        o.getDataThreads() > 0 ? o.getDataThreads() : Runtime.getRuntime().availableProcessors(), o.getSeed(),
        platform, o.getPrecision(), o.getStrictPrecision(), o.getInputChannels(), o.getDevices(),
        o.getSyncBatchNorm());
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }

  private static boolean parseUpsampling(String s) {
    return switch (s.trim().toLowerCase(Locale.ROOT)) {
      case "transposed" -> true;
      case "bilinear" -> false;
      default -> throw new IllegalArgumentException("--upsampling must be transposed or bilinear, got '" + s + "'");
    };
  }
}
