package io.maskbeam.models.infer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.maskbeam.dataset.SyntheticShapes;
import io.maskbeam.models.train.SegmentationGraph;
import io.maskbeam.models.train.Trainer;
import io.maskbeam.models.train.TrainerTest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.RewriterConfig;

/**
 * Mixed precision: how {@code --precision} is settled on a machine (described through the {@code maskbeam.cpuFlags}
 * property, so machines without bf16 are covered too), what the session is told, and, where the CPU has bf16,
 * that inference and training in bf16 agree with fp32.
 */
class PrecisionTest {
  @TempDir Path dir;

  static Precision.Choice on(String cpuFlags, String requested, boolean strict) {
    String before = System.getProperty("maskbeam.cpuFlags");
    System.setProperty("maskbeam.cpuFlags", cpuFlags);
    try {
      return Precision.choose(requested, strict);
    } finally {
      if (before == null) {
        System.clearProperty("maskbeam.cpuFlags");
      } else {
        System.setProperty("maskbeam.cpuFlags", before);
      }
    }
  }

  @Test
  void precisionIsSettledFromTheMachineAndFallsBackOrRefuses() {
    String zen4 = "fpu sse2 avx2 avx512f avx512_vnni avx512_bf16 avx_vnni";
    String older = "fpu sse2 avx2 avx512f";
    assertThat(on(zen4, "auto", false).precision()).isEqualTo(Precision.BF16);
    assertThat(on(zen4, "auto", false).note()).contains("avx512_bf16");
    assertThat(on("fpu amx_bf16 amx_tile", "auto", false).precision()).isEqualTo(Precision.BF16);
    assertThat(on(older, "auto", false).precision()).isEqualTo(Precision.FP32);
    assertThat(on(zen4, "bf16", true).precision()).isEqualTo(Precision.BF16);
    assertThat(on(zen4, "BF16", false).label()).isEqualTo("bf16");

    Precision.Choice fallback = on(older, "bf16", false);
    assertThat(fallback.precision()).isEqualTo(Precision.FP32);
    assertThat(fallback.note()).contains("neither avx512_bf16 nor amx_bf16").contains("running fp32 instead");
    assertThatThrownBy(() -> on(older, "bf16", true)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--strictPrecision");
    // This build carries CPU natives: fp16 (a GPU precision) falls back, or is refused when strict.
    assertThat(on(zen4, "fp16", false).precision()).isEqualTo(Precision.FP32);
    assertThatThrownBy(() -> on(zen4, "fp16", true)).hasMessageContaining("-Pgpu");
    assertThatThrownBy(() -> on(zen4, "fp8", false)).hasMessageContaining("fp32, bf16, fp16 or auto");
    assertThatThrownBy(() -> new ModelRuntime(0, "half", false)).hasMessageContaining("fp32, bf16, fp16 or auto");
  }

  @Test
  void sessionsAreToldTensorFlowsOwnRewriteAndOnnxModelsRunAsExported() {
    assertThat(Precision.FP32.config(2).getGraphOptions().hasRewriteOptions()).isFalse();
    assertThat(Precision.FP32.config(2).getIntraOpParallelismThreads()).isEqualTo(2);
    RewriterConfig bf16 = Precision.BF16.config(0).getGraphOptions().getRewriteOptions();
    assertThat(bf16.getAutoMixedPrecisionOnednnBfloat16()).isEqualTo(RewriterConfig.Toggle.ON);
    assertThat(bf16.getAutoMixedPrecision()).isNotEqualTo(RewriterConfig.Toggle.ON);
    RewriterConfig fp16 = Precision.FP16.config(0).getGraphOptions().getRewriteOptions();
    assertThat(fp16.getAutoMixedPrecision()).isEqualTo(RewriterConfig.Toggle.ON);

    ModelRuntime auto = ModelRuntime.defaults().withPrecision("auto", false);
    assertThat(auto.choiceFor(ModelFormat.ONNX).precision()).isEqualTo(Precision.FP32);
    assertThatThrownBy(() -> ModelRuntime.defaults().withPrecision("bf16", false).choiceFor(ModelFormat.ONNX))
        .hasMessageContaining("not available for ONNX models");
  }

  /**
   * oneDNN's bf16 Conv2D with exactly 3 input channels is wrong on AVX512_BF16 CPUs without AMX; Net runs such
   * convolutions as 4 channels. A direct check that the workaround is still needed, and works, on this TensorFlow.
   */
  @Test
  void threeChannelConvolutionsAreRunAsFourInBf16() {
    assumeTrue(Precision.cpuHasBf16(), "this CPU has no bf16 instructions");
    double raw3 = convError(3, false);
    double padded3 = convError(3, true);
    double raw8 = convError(8, false);
    assertThat(raw8).as("bf16 error of an 8-channel convolution").isLessThan(0.05);
    assertThat(padded3).as("bf16 error of a 3-channel convolution run as 4").isLessThan(0.05);
    // If this starts failing, TensorFlow fixed the kernel: the padding in Net.conv2d can go.
    assertThat(raw3).as("bf16 error of a plain 3-channel convolution").isGreaterThan(0.5);
  }

  /** Largest |bf16 - fp32| of a random 3x3 convolution (and ReLU) of cin channels to 16 (outputs of about 0.6). */
  static double convError(int cin, boolean padTo4) {
    java.util.Random r = new java.util.Random(1);
    int hw = 32;
    int cout = 16;
    float[] x = new float[hw * hw * cin];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextGaussian();
    }
    float[] w = new float[9 * cin * cout];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) (r.nextGaussian() * Math.sqrt(2.0 / (9 * cin)));
    }
    float[][] out = new float[2][];
    for (Precision p : new Precision[] {Precision.FP32, Precision.BF16}) {
      try (org.tensorflow.Graph g = new org.tensorflow.Graph()) {
        org.tensorflow.op.Ops tf = org.tensorflow.op.Ops.create(g);
        org.tensorflow.Operand<org.tensorflow.types.TFloat32> in = tf.withName("x")
            .placeholder(org.tensorflow.types.TFloat32.class);
        org.tensorflow.Operand<org.tensorflow.types.TFloat32> filter = tf.variable(tf.constant(
            org.tensorflow.ndarray.Shape.of(3, 3, cin, cout), org.tensorflow.ndarray.buffer.DataBuffers.of(w, true,
                false)));
        if (padTo4) {
          in = tf.pad(in, tf.constant(new int[][] {{0, 0}, {0, 0}, {0, 0}, {0, 4 - cin}}), tf.constant(0f));
          filter = tf.pad(filter, tf.constant(new int[][] {{0, 0}, {0, 0}, {0, 4 - cin}, {0, 0}}), tf.constant(0f));
        }
        // Grappler leaves a fetched node's own op alone: the convolution feeds a ReLU, as in a network.
        tf.withName("y").identity(tf.nn.relu(tf.nn.conv2d(in, filter, List.of(1L, 1L, 1L, 1L), "SAME")));
        try (org.tensorflow.Session s = new org.tensorflow.Session(g, p.config(0));
            org.tensorflow.types.TFloat32 t = org.tensorflow.types.TFloat32.tensorOf(
                org.tensorflow.ndarray.Shape.of(1, hw, hw, cin), org.tensorflow.ndarray.buffer.DataBuffers.of(x, true,
                    false))) {
          s.initialize();
          try (org.tensorflow.Result res = s.runner().feed("x", t).fetch("y").run()) {
            float[] o = new float[hw * hw * cout];
            ((org.tensorflow.types.TFloat32) res.get(0)).copyTo(org.tensorflow.ndarray.buffer.DataBuffers.of(o,
                false, false));
            out[p == Precision.FP32 ? 0 : 1] = o;
          }
        }
      }
    }
    double max = 0;
    for (int i = 0; i < out[0].length; i++) {
      max = Math.max(max, Math.abs(out[0][i] - out[1][i]));
    }
    return max;
  }

  @Test
  void bf16InferenceAndTrainingAgreeWithFp32() throws Exception {
    assumeTrue(Precision.cpuHasBf16(), "this CPU has no bf16 instructions");
    List<byte[]> train = TrainerTest.records(12, 48, 900);
    Path run = dir.resolve("run");
    new Trainer(TrainerTest.config(SyntheticShapes.NUM_CLASSES), new TrainerTest().settings(run, 3, false, null, false),
        TrainerTest.datasetInfo(), new PrintStream(new ByteArrayOutputStream())).run(train, train);
    long same = 0;
    long total = 0;
    try (TensorFlowModel fp32 = TensorFlowModel.load(run.resolve("model"), 0, Precision.FP32);
        TensorFlowModel bf16 = TensorFlowModel.load(run.resolve("model"), 0, Precision.BF16)) {
      assertThat(bf16.precision()).isEqualTo(Precision.BF16);
      for (int i = 0; i < 6; i++) {
        SyntheticShapes.Sample s = SyntheticShapes.generate(96, 64, 7000 + i);
        byte[] a = fp32.labels(s.image().pixels(), 1, 64, 96);
        byte[] b = bf16.labels(s.image().pixels(), 1, 64, 96);
        for (int p = 0; p < a.length; p++) {
          same += a[p] == b[p] ? 1 : 0;
        }
        total += a.length;
        // The rewrite is real: bf16 probabilities are close to fp32's but not identical.
        float[] pa = fp32.probabilities(s.image().pixels(), 1, 64, 96);
        float[] pb = bf16.probabilities(s.image().pixels(), 1, 64, 96);
        double maxDiff = 0;
        for (int p = 0; p < pa.length; p++) {
          maxDiff = Math.max(maxDiff, Math.abs(pa[p] - pb[p]));
        }
        assertThat(maxDiff).as("image %d", i).isGreaterThan(0).isLessThan(0.2);
      }
    }
    assertThat((double) same / total).as("pixels where bf16 and fp32 agree").isGreaterThanOrEqualTo(0.99);

    // Training steps in bf16 start from the same loss as fp32 (same seed, same batch) and bring it down.
    byte[] images = new byte[4 * 32 * 32 * 3];
    int[] labels = new int[4 * 32 * 32];
    for (int i = 0; i < 4; i++) {
      SyntheticShapes.Sample s = SyntheticShapes.generate(32, 32, i);
      System.arraycopy(s.image().pixels(), 0, images, i * 32 * 32 * 3, 32 * 32 * 3);
      for (int p = 0; p < 32 * 32; p++) {
        labels[i * 32 * 32 + p] = s.mask().labels()[p];
      }
    }
    try (SegmentationGraph fp32 = new SegmentationGraph(TrainerTest.config(SyntheticShapes.NUM_CLASSES));
        SegmentationGraph bf16 = new SegmentationGraph(TrainerTest.config(SyntheticShapes.NUM_CLASSES),
            Precision.BF16)) {
      float first32 = fp32.trainStep(images, labels, 4, 32, 32, 0.01f);
      float first16 = bf16.trainStep(images, labels, 4, 32, 32, 0.01f);
      assertThat(first16).isCloseTo(first32, org.assertj.core.api.Assertions.withinPercentage(5));
      float last = first16;
      for (int s = 0; s < 30; s++) {
        last = bf16.trainStep(images, labels, 4, 32, 32, 0.01f);
      }
      assertThat(Float.isFinite(last)).isTrue();
      assertThat(last).isLessThan(first16 * 0.8f);
    }
    assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(Files.readString(run.resolve("model/"
        + ModelMetadata.FILE_NAME))).path("training").path("settings").path("precision").asText()).isEqualTo("fp32");
  }
}
