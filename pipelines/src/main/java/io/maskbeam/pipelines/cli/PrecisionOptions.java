package io.maskbeam.pipelines.cli;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/** The arithmetic models run in, common to train, segment and evaluate (serve and bench take the same flags). */
public interface PrecisionOptions extends PipelineOptions {
  @Description("fp32, bf16 (TensorFlow's oneDNN bfloat16 mixed precision, for CPUs with AVX512_BF16 or AMX), fp16"
      + " (mixed precision on NVIDIA GPUs, -Pgpu build) or auto (bf16 where the CPU has it, fp16 on a GPU, else fp32)."
      + " Settled on each machine that loads the model; a precision the machine lacks falls back to fp32 with a"
      + " warning.")
  @Default.String("fp32")
  String getPrecision();

  void setPrecision(String value);

  @Description("Refuse, rather than fall back to fp32, when the machine lacks the --precision asked for.")
  @Default.Boolean(false)
  Boolean getStrictPrecision();

  void setStrictPrecision(Boolean value);
}
