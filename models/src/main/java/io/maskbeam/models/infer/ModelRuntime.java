package io.maskbeam.models.infer;

import java.io.Serializable;
import java.util.Locale;
import java.util.Set;

/**
 * How a model's session runs on the machine that loads it: threads per call and the precision asked for. The
 * precision is settled where the model is loaded ({@link #choice()}), because {@code auto} depends on that machine's
 * CPU and GPUs, which on Dataflow or Spark are not the launcher's.
 *
 * @param threads threads per model call (0: every core)
 * @param precision {@code fp32}, {@code bf16}, {@code fp16} or {@code auto}
 * @param strictPrecision refuse, rather than fall back to fp32, when the machine lacks the precision asked for
 */
public record ModelRuntime(int threads, String precision, boolean strictPrecision) implements Serializable {
  private static final Set<String> PRECISIONS = Set.of("fp32", "bf16", "fp16", "auto");

  public ModelRuntime {
    if (threads < 0) {
      throw new IllegalArgumentException("--inferenceThreads must be >= 0, got " + threads);
    }
    precision = precision == null || precision.isBlank() ? "fp32" : precision.trim().toLowerCase(Locale.ROOT);
    if (!PRECISIONS.contains(precision)) {
      throw new IllegalArgumentException("--precision must be fp32, bf16, fp16 or auto, got '" + precision + "'");
    }
  }

  /** Every core, fp32. */
  public static ModelRuntime defaults() {
    return new ModelRuntime(0, "fp32", false);
  }

  public ModelRuntime withThreads(int perCall) {
    return new ModelRuntime(perCall, precision, strictPrecision);
  }

  public ModelRuntime withPrecision(String requested, boolean strict) {
    return new ModelRuntime(threads, requested, strict);
  }

  /** The precision settled on this machine. */
  public Precision.Choice choice() {
    return Precision.choose(precision, strictPrecision);
  }

  /**
   * The precision a model of this format runs in here: ONNX models run as exported, so {@code auto} means fp32 for
   * them and an explicit other precision is refused.
   */
  public Precision.Choice choiceFor(ModelFormat format) {
    if (format == ModelFormat.ONNX) {
      if (precision.equals("auto") || precision.equals("fp32")) {
        return new Precision.Choice(precision, Precision.FP32, precision.equals("auto")
            ? "ONNX models run as exported" : null);
      }
      OnnxModel.checkPrecision(Precision.valueOf(precision.toUpperCase(Locale.ROOT)));
    }
    return choice();
  }
}
