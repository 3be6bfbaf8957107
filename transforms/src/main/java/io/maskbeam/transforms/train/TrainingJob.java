package io.maskbeam.transforms.train;

import io.maskbeam.models.train.TrainConfig;
import io.maskbeam.models.train.Trainer;
import java.io.Serializable;
import java.util.Locale;

/**
 * Everything one training run needs, typed and serializable: built once from the command line (or a trial of a
 * grid, or SageMaker's hyperparameters) at launch, and handed as it is to whichever worker trains it. Nothing on a
 * worker parses flags.
 *
 * @param data a folder written by {@code maskbeam preprocess} (local, gs:// or s3://)
 * @param output the run folder: model/, metrics.jsonl, checkpoints/ and the plots
 * @param network the architecture
 * @param classWeights {@code none}, {@code median-frequency} (from dataset.json) or comma-separated values
 * @param schedule epochs, batch sizes and the learning-rate schedule
 * @param augment the random crops and their jitter
 * @param initModel an exported model to start from (same classes and network), or null
 * @param pretrainedWeights a Keras ResNet HDF5 weights file, or null
 * @param dataThreads threads decoding and augmenting batches
 * @param platform what the platform around the run watches and where it wants the results
 * @param precision fp32, bf16, fp16 or auto, settled on the machine that trains
 * @param strictPrecision refuse rather than fall back to fp32 when that machine lacks it
 * @param inputChannels the channels the network takes: 0 follows the data (3 for photos, the bands of raster
 *     examples); another value must agree with the data
 * @param devices towers on the machine that trains: 0 means every visible GPU there, else 1
 * @param syncBatchNorm whether towers normalise with the whole batch's statistics (SageMaker's syncbn)
 */
public record TrainingJob(String data, String output, TrainConfig.Network network, TrainConfig.Loss loss,
    String classWeights, float focalGamma, TrainConfig.OptimizerSpec optimizer, Trainer.Schedule schedule,
    Augment augment, Trainer.EarlyStopping earlyStopping, Trainer.Checkpoints checkpoints, String initModel,
    String pretrainedWeights, int dataThreads, long seed, Platform platform, String precision,
    boolean strictPrecision, int inputChannels, int devices, boolean syncBatchNorm) implements Serializable {

  public TrainingJob {
    if (data == null || data.isBlank()) {
      throw new IllegalArgumentException("--data is required: a folder written by 'maskbeam preprocess'");
    }
    if (output == null || output.isBlank()) {
      throw new IllegalArgumentException("--output is required");
    }
    if (inputChannels < 0) {
      throw new IllegalArgumentException("--inputChannels must be 0 (follow the data) or positive, got "
          + inputChannels);
    }
    if (devices < 0) {
      throw new IllegalArgumentException("--devices must be 0 (every visible GPU, else 1) or positive, got " + devices);
    }
    if (dataThreads < 1) {
      throw new IllegalArgumentException("--dataThreads must be positive, got " + dataThreads);
    }
    if (!classWeights.trim().toLowerCase(Locale.ROOT).matches("none|median-frequency|[-+0-9.,eE ]+")) {
      throw new IllegalArgumentException("--classWeights must be none, median-frequency or comma-separated numbers,"
          + " got '" + classWeights + "'");
    }
  }

  /** Random crops of {@code cropSize} at scales in [minScale, maxScale], flips, and colour jitter. */
  public record Augment(int cropSize, float minScale, float maxScale, boolean flip, float jitter)
      implements Serializable {
    public Augment {
      if (cropSize < 8) {
        throw new IllegalArgumentException("--cropSize must be at least 8, got " + cropSize);
      }
      if (!(minScale > 0) || maxScale < minScale) {
        throw new IllegalArgumentException("--minScale and --maxScale must satisfy 0 < min <= max, got " + minScale
            + ".." + maxScale);
      }
      if (jitter < 0 || jitter > 1) {
        throw new IllegalArgumentException("--jitter must be in [0, 1], got " + jitter);
      }
    }
  }

  /**
   * What the platform around a run expects of it.
   *
   * @param modelDestination where the exported model's files go at the end (e.g. SageMaker's /opt/ml/model or
   *     Vertex AI's AIP_MODEL_DIR), besides {@code <output>/model}; null for none
   * @param checkpointDestination where checkpoints are copied after each epoch (Vertex's AIP_CHECKPOINT_DIR); null
   * @param tensorBoardDir where TensorBoard event files are written (Vertex's AIP_TENSORBOARD_LOG_DIR); null
   */
  public record Platform(String modelDestination, String checkpointDestination, String tensorBoardDir)
      implements Serializable {
    public static final Platform NONE = new Platform(null, null, null);
  }

  /** The same job writing to another folder (a trial of a grid). */
  public TrainingJob withOutput(String folder) {
    return new TrainingJob(data, folder, network, loss, classWeights, focalGamma, optimizer, schedule, augment,
        earlyStopping, checkpoints, initModel, pretrainedWeights, dataThreads, seed, platform, precision,
        strictPrecision, inputChannels, devices, syncBatchNorm);
  }

  /** This job with the platform's destinations (SageMaker's /opt/ml/model, Vertex AI's AIP_* folders). */
  public TrainingJob withPlatform(Platform destinations) {
    return new TrainingJob(data, output, network, loss, classWeights, focalGamma, optimizer, schedule, augment,
        earlyStopping, checkpoints, initModel, pretrainedWeights, dataThreads, seed, destinations, precision,
        strictPrecision, inputChannels, devices, syncBatchNorm);
  }
}
