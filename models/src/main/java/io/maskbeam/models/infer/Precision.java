package io.maskbeam.models.infer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.GraphOptions;
import org.tensorflow.proto.RewriterConfig;

/**
 * The arithmetic a TensorFlow session runs in. Mixed precision is TensorFlow's own graph rewrite (Grappler), applied
 * when a session first runs a graph, to SavedModels as loaded and to training graphs alike: variables, batch-norm
 * statistics, the loss and optimizer state stay in float32, and which ops run in 16 bits is left to TensorFlow's
 * allow/deny lists rather than to hand-written casts.
 *
 * <ul>
 *   <li>{@link #BF16}: {@code auto_mixed_precision_onednn_bfloat16}, for CPUs with AVX512_BF16 or AMX (oneDNN);
 *       bfloat16 keeps float32's exponent range, so training needs no loss scaling.
 *   <li>{@link #FP16}: {@code auto_mixed_precision}, float16 on NVIDIA GPUs with tensor cores; training needs loss
 *       scaling.
 * </ul>
 */
public enum Precision {
  FP32,
  BF16,
  FP16;

  /** What was asked for, what runs, and why they differ (null when they do not). */
  public record Choice(String requested, Precision precision, String note) implements java.io.Serializable {
    public String label() {
      return precision.name().toLowerCase(Locale.ROOT);
    }
  }

  /** The session configuration for this precision, with {@code threads} intra-op threads (0: TensorFlow's default). */
  public ConfigProto config(int threads) {
    ConfigProto.Builder b = ConfigProto.newBuilder();
    if (threads > 0) {
      b.setIntraOpParallelismThreads(threads).setInterOpParallelismThreads(1);
    }
    if (this != FP32) {
      RewriterConfig.Builder rewrite = RewriterConfig.newBuilder();
      if (this == BF16) {
        rewrite.setAutoMixedPrecisionOnednnBfloat16(RewriterConfig.Toggle.ON);
      } else {
        rewrite.setAutoMixedPrecision(RewriterConfig.Toggle.ON);
      }
      b.setGraphOptions(GraphOptions.newBuilder().setRewriteOptions(rewrite));
    }
    return b.build();
  }

  /**
   * Settles {@code --precision}: {@code fp32}, {@code bf16}, {@code fp16} or {@code auto} (bf16 where the CPU has
   * it, fp16 on a CUDA build with a GPU, fp32 otherwise). A precision the machine lacks falls back to fp32 with a
   * note, or is refused when {@code strict}.
   *
   * @throws IllegalArgumentException for an unknown value, or an unsupported one when strict
   */
  public static Choice choose(String requested, boolean strict) {
    String r = requested == null || requested.isBlank() ? "fp32" : requested.trim().toLowerCase(Locale.ROOT);
    boolean cpuBf16 = cpuHasBf16();
    boolean gpu = cudaBuild() && gpuVisible();
    return switch (r) {
      case "fp32" -> new Choice(r, FP32, null);
      case "auto" -> gpu ? new Choice(r, FP16, "a CUDA build with a visible GPU")
          : cpuBf16 ? new Choice(r, BF16, "the CPU reports " + bf16Flag())
          : new Choice(r, FP32, "neither a GPU nor a CPU with bf16 instructions");
      case "bf16" -> cpuBf16 || gpu ? new Choice(r, BF16, null)
          : unsupported(r, strict, "this CPU reports neither avx512_bf16 nor amx_bf16");
      case "fp16" -> gpu ? new Choice(r, FP16, null)
          : unsupported(r, strict, "fp16 mixed precision needs a GPU and the -Pgpu build; this is "
              + (cudaBuild() ? "a CUDA build without a visible GPU" : "a CPU build"));
      default -> throw new IllegalArgumentException("--precision must be fp32, bf16, fp16 or auto, got '" + requested
          + "'");
    };
  }

  private static Choice unsupported(String requested, boolean strict, String why) {
    if (strict) {
      throw new IllegalArgumentException("--precision=" + requested + " with --strictPrecision: " + why);
    }
    return new Choice(requested, FP32, why + "; running fp32 instead");
  }

  /** Whether /proc/cpuinfo lists bfloat16 instructions oneDNN uses (AVX512_BF16 or AMX). */
  public static boolean cpuHasBf16() {
    return bf16Flag() != null;
  }

  private static String bf16Flag() {
    String flags = cpuFlags();
    for (String f : new String[] {"amx_bf16", "avx512_bf16"}) {
      if (flags.contains(" " + f + " ") || flags.endsWith(" " + f)) {
        return f;
      }
    }
    return null;
  }

  private static String cpuFlags() {
    String override = System.getProperty("maskbeam.cpuFlags"); // tests describe other machines
    if (override != null) {
      return " " + override + " ";
    }
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("flags")) {
          return " " + line.substring(line.indexOf(':') + 1).trim() + " ";
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or /proc unreadable: no bf16 claimed
    }
    return "";
  }

  /** Whether this build carries TensorFlow's CUDA natives (the -Pgpu build). */
  public static boolean cudaBuild() {
    if (Boolean.getBoolean("maskbeam.cudaBuild")) {
      return true;
    }
    try (var in = Precision.class.getResourceAsStream("/io/maskbeam/models/build.properties")) {
      java.util.Properties p = new java.util.Properties();
      if (in != null) {
        p.load(in);
      }
      return p.getProperty("tensorflow.native.classifier", "").endsWith("-gpu");
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean gpuVisible() {
    return visibleGpus() > 0 || Boolean.getBoolean("maskbeam.gpuVisible");
  }

  /**
   * NVIDIA devices the driver exposes ({@code /dev/nvidiaN}), narrowed by {@code CUDA_VISIBLE_DEVICES} when it is
   * set: what fp16 under {@code auto} and training towers ({@code --devices=0}) count on.
   */
  public static int visibleGpus() {
    String visible = System.getenv("CUDA_VISIBLE_DEVICES");
    if (visible != null) {
      String v = visible.trim();
      return v.isEmpty() || v.equals("-1") ? 0 : v.split(",").length;
    }
    try (Stream<Path> dev = Files.list(Path.of("/dev"))) {
      return (int) dev.map(p -> p.getFileName().toString()).filter(n -> n.matches("nvidia[0-9]+")).count();
    } catch (IOException e) {
      return 0;
    }
  }
}
