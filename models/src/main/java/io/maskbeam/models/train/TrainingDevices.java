package io.maskbeam.models.train;

import io.maskbeam.models.infer.Precision;
import java.io.Serializable;

/**
 * Where one worker trains: {@code count} devices of one {@code type} (GPU or CPU), one tower each. Each tower takes
 * {@code 1/count} of every batch; gradients are summed over towers against one loss normalised over the whole batch,
 * so N towers step exactly as one device on the same batch would, except for batch norm: unsynchronised (the default,
 * as in SageMaker's {@code syncbn=False}) each tower normalises with its own slice's statistics; with {@code
 * syncBatchNorm} every tower normalises with the statistics of the whole batch, gathered across towers.
 *
 * <p>Several CPU devices are TensorFlow's logical devices ({@code ConfigProto.device_count}) over the same cores:
 * correct but not faster. They are how the tower code is tested on machines without GPUs.
 */
public record TrainingDevices(String type, int count, boolean syncBatchNorm) implements Serializable {
  public static final TrainingDevices SINGLE = new TrainingDevices("CPU", 1, false);

  public TrainingDevices {
    if (!type.equals("CPU") && !type.equals("GPU")) {
      throw new IllegalArgumentException("device type must be CPU or GPU, got " + type);
    }
    if (count < 1) {
      throw new IllegalArgumentException("--devices must be at least 1, got " + count);
    }
  }

  /**
   * Settles {@code --devices}: 0 means every visible GPU of a CUDA build, else 1. More GPUs than are visible, or
   * on a CPU build more logical devices than cores, is refused before training.
   *
   * @param miniBatchSize the batch each step splits across the towers: it must divide evenly
   */
  public static TrainingDevices choose(int requested, boolean syncBatchNorm, int miniBatchSize) {
    if (requested < 0) {
      throw new IllegalArgumentException("--devices must be 0 (every visible GPU, else 1) or positive, got "
          + requested);
    }
    int gpus = Precision.cudaBuild() ? Precision.visibleGpus() : 0;
    int count = requested == 0 ? Math.max(1, gpus) : requested;
    String type = gpus > 0 ? "GPU" : "CPU";
    if (gpus > 0 && count > gpus) {
      throw new IllegalArgumentException("--devices=" + count + " but " + gpus + " GPU" + (gpus == 1 ? " is" : "s are")
          + " visible");
    }
    int cores = Runtime.getRuntime().availableProcessors();
    if (gpus == 0 && count > cores) {
      throw new IllegalArgumentException("--devices=" + count + " but this machine has no visible GPU"
          + (Precision.cudaBuild() ? "" : " (a CPU build; GPUs need the -Pgpu build)") + " and " + cores
          + " cores for logical CPU devices");
    }
    if (miniBatchSize % count != 0) {
      throw new IllegalArgumentException("--miniBatchSize=" + miniBatchSize + " cannot be split evenly over "
          + count + " devices; use a multiple of " + count);
    }
    if (syncBatchNorm && count == 1) {
      syncBatchNorm = false; // one tower sees the whole batch already
    }
    return new TrainingDevices(type, count, syncBatchNorm);
  }

  /** The TensorFlow device name of tower {@code i}, e.g. {@code /device:GPU:1}. */
  public String device(int i) {
    return "/device:" + type + ":" + i;
  }

  /** "2 GPUs, batch norm synchronised" for logs and metadata. */
  public String describe() {
    return count + " " + type + (count == 1 ? "" : "s") + (count == 1 ? ""
        : syncBatchNorm ? ", batch norm synchronised across towers" : ", batch norm per tower");
  }
}
