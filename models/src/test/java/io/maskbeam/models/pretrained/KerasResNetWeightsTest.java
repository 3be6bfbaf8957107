package io.maskbeam.models.pretrained;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jhdf.HdfFile;
import io.jhdf.WritableHdfFile;
import io.jhdf.api.WritableGroup;
import io.maskbeam.models.train.SegmentationGraph;
import io.maskbeam.models.train.TrainConfig;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.nn.FusedBatchNorm;
import org.tensorflow.types.TFloat32;

class KerasResNetWeightsTest {
  @TempDir Path dir;

  private static float[] random(int n, long seed, double scale) {
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextGaussian() * scale);
    }
    return v;
  }

  private static float[] positive(int n, long seed) {
    float[] v = random(n, seed, 0.3);
    for (int i = 0; i < n; i++) {
      v[i] = Math.abs(v[i]) + 0.5f;
    }
    return v;
  }

  @Test
  void readsAKerasWeightsFileWrittenInKerasLayout() throws Exception {
    Path h5 = dir.resolve("weights.h5");
    float[][][][] kernel = new float[7][7][3][64];
    kernel[3][3][1][5] = 2.5f;
    float[] gamma = positive(64, 1);
    try (WritableHdfFile file = HdfFile.write(h5)) {
      file.putAttribute("layer_names", new String[] {"conv1_conv", "conv1_bn"});
      WritableGroup conv = file.putGroup("conv1_conv").putGroup("conv1_conv");
      conv.putDataset("kernel:0", kernel);
      conv.putDataset("bias:0", new float[64]);
      WritableGroup bn = file.putGroup("conv1_bn").putGroup("conv1_bn");
      bn.putDataset("gamma:0", gamma);
      bn.putDataset("beta:0", new float[64]);
      bn.putDataset("moving_mean:0", new float[64]);
      bn.putDataset("moving_variance:0", positive(64, 2));
    }
    Map<String, KerasResNetWeights.Tensor> w = KerasResNetWeights.read(h5);
    assertThat(w).containsKeys("conv1_conv/kernel", "conv1_conv/bias", "conv1_bn/gamma", "conv1_bn/moving_variance");
    assertThat(w.get("conv1_conv/kernel").shape()).containsExactly(7, 7, 3, 64);
    assertThat(w.get("conv1_conv/kernel").values()[((3 * 7 + 3) * 3 + 1) * 64 + 5]).isEqualTo(2.5f);
    assertThat(w.get("conv1_bn/gamma").values()).containsExactly(gamma);
    // Only the stem is there: mapping a whole ResNet names what is missing.
    assertThatThrownBy(() -> KerasResNetWeights.toMaskbeam(w, 50)).hasMessageContaining("conv2_block1_0_conv/kernel");
  }

  /**
   * Keras' stem on caffe-style input (BGR, 0..255, mean subtracted) with its bias and BN epsilon, against
   * Maskbeam's stem on ImageNet-normalised RGB with the folded weights: equal away from the padded border.
   */
  @Test
  void foldedStemComputesWhatKerasComputes() {
    int s = 20;
    float[] kernel = random(7 * 7 * 3 * 64, 3, 0.05);
    float[] bias = random(64, 4, 0.5);
    float[] gamma = positive(64, 5);
    float[] beta = random(64, 6, 0.2);
    float[] mean = random(64, 7, 2.0);
    float[] var = positive(64, 8);
    float[] pixels = new float[s * s * 3];
    Random r = new Random(9);
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = r.nextFloat();
    }
    float[] caffe = new float[pixels.length];
    float[] normalised = new float[pixels.length];
    for (int p = 0; p < s * s; p++) {
      for (int c = 0; c < 3; c++) {
        int bgr = 2 - c;
        caffe[p * 3 + bgr] = 255f * pixels[p * 3 + c] - KerasResNetWeights.CAFFE_MEAN_BGR[bgr];
        normalised[p * 3 + c] = (pixels[p * 3 + c] - KerasResNetWeights.MEAN_RGB[c]) / KerasResNetWeights.STD_RGB[c];
      }
    }
    Map<String, KerasResNetWeights.Tensor> keras = new HashMap<>();
    keras.put("conv1_conv/kernel", new KerasResNetWeights.Tensor(new int[] {7, 7, 3, 64}, kernel));
    keras.put("conv1_conv/bias", new KerasResNetWeights.Tensor(new int[] {64}, bias));
    keras.put("conv1_bn/gamma", new KerasResNetWeights.Tensor(new int[] {64}, gamma));
    keras.put("conv1_bn/beta", new KerasResNetWeights.Tensor(new int[] {64}, beta));
    keras.put("conv1_bn/moving_mean", new KerasResNetWeights.Tensor(new int[] {64}, mean));
    keras.put("conv1_bn/moving_variance", new KerasResNetWeights.Tensor(new int[] {64}, var));
    KerasResNetWeights.FoldedStem folded = KerasResNetWeights.foldStem(kernel, bias, 49, 64);
    Map<String, float[]> ours = new HashMap<>();
    ours.put("conv1_w", folded.kernel());
    // The same path toMaskbeam takes for the stem's batch norm.
    float[] ourMean = mean.clone();
    float[] ourVar = var.clone();
    for (int c = 0; c < 64; c++) {
      ourMean[c] -= folded.bias()[c];
      ourVar[c] = var[c] + KerasResNetWeights.KERAS_EPSILON - KerasResNetWeights.MASKBEAM_EPSILON;
    }
    float[] kerasOut = stem(caffe, s, kernel, bias, gamma, beta, mean, var, KerasResNetWeights.KERAS_EPSILON);
    float[] ourOut = stem(normalised, s, folded.kernel(), new float[64], gamma, beta, ourMean, ourVar,
        KerasResNetWeights.MASKBEAM_EPSILON);
    int o = s / 2;
    // Outputs at stride 2 whose 7x7 window lies inside the image (rows and columns 2..7 of 10).
    for (int y = 2; y < o - 2; y++) {
      for (int x = 2; x < o - 2; x++) {
        for (int c = 0; c < 64; c++) {
          int i = (y * o + x) * 64 + c;
          assertThat(ourOut[i]).as("y %d x %d c %d", y, x, c)
              .isCloseTo(kerasOut[i], org.assertj.core.data.Offset.offset(2e-3f * (1 + Math.abs(kerasOut[i]))));
        }
      }
    }
  }

  private static float[] stem(float[] input, int s, float[] kernel, float[] bias, float[] gamma, float[] beta,
      float[] mean, float[] var, float epsilon) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> x = tf.constant(Shape.of(1, s, s, 3), DataBuffers.of(input));
      Operand<TFloat32> y = tf.nn.biasAdd(tf.nn.conv2d(x, tf.constant(Shape.of(7, 7, 3, 64), DataBuffers.of(kernel)),
          List.of(1L, 2L, 2L, 1L), "SAME"), tf.constant(bias));
      Operand<TFloat32> bn = tf.nn.fusedBatchNorm(y, tf.constant(gamma), tf.constant(beta), tf.constant(mean),
          tf.constant(var), FusedBatchNorm.isTraining(false), FusedBatchNorm.epsilon(epsilon)).y();
      try (Session session = new Session(g); Result r = session.runner().fetch(bn).run()) {
        TFloat32 t = (TFloat32) r.get(0);
        float[] out = new float[(int) t.shape().size()];
        t.copyTo(DataBuffers.of(out, false, false));
        return out;
      }
    }
  }

  @Test
  void aWholeResNet50MapsOntoTheDeepLabBackbone() {
    Map<String, KerasResNetWeights.Tensor> keras = new HashMap<>();
    long seed = 0;
    keras.put("conv1_conv/kernel", new KerasResNetWeights.Tensor(new int[] {7, 7, 3, 64}, random(7 * 7 * 3 * 64, seed++, 0.01)));
    putBn(keras, "conv1_bn", 64, seed++);
    int[] blocks = {3, 4, 6, 3};
    int cin = 64;
    for (int stage = 0; stage < 4; stage++) {
      int w = 64 << stage;
      for (int b = 1; b <= blocks[stage]; b++) {
        String k = "conv" + (stage + 2) + "_block" + b;
        if (b == 1) {
          putConv(keras, k + "_0", 1, cin, 4 * w, seed++);
        }
        putConv(keras, k + "_1", 1, b == 1 ? cin : 4 * w, w, seed++);
        putConv(keras, k + "_2", 3, w, w, seed++);
        putConv(keras, k + "_3", 1, w, 4 * w, seed++);
      }
      cin = 4 * w;
    }
    Map<String, float[]> mapped = KerasResNetWeights.toMaskbeam(keras, 50);
    TrainConfig config = new TrainConfig(new TrainConfig.ResNetHeadSpec("deeplabv3plus", "resnet-50", 16), 3, 255,
        TrainConfig.LossSpec.crossEntropy(), new TrainConfig.OptimizerSpec(TrainConfig.Optimizer.SGD, 0.9f, false, 0f),
        1);
    try (SegmentationGraph graph = new SegmentationGraph(config)) {
      // 1 stem conv + 16 blocks x 3 convs + 4 projections = 53 convolutions, each with 4 batch-norm arrays.
      assertThat(graph.assign(mapped)).isEqualTo(53 * 5);
      assertSameValues(graph.read("res5_c_c3_w"), keras.get("conv5_block3_3_conv/kernel").values(), "res5_c_c3_w");
      float[] bnMean = graph.read("res3_b_c2_bn_mean");
      float[] expected = keras.get("conv3_block2_2_bn/moving_mean").values();
      float[] convBias = keras.get("conv3_block2_2_conv/bias").values();
      for (int c = 0; c < expected.length; c++) {
        assertThat(bnMean[c]).isCloseTo(expected[c] - convBias[c], org.assertj.core.data.Offset.offset(1e-6f));
      }
    }
  }

  /** Element-wise equality with the first difference in the message (AssertJ's diff is quadratic on 1 M floats). */
  private static void assertSameValues(float[] actual, float[] expected, String what) {
    assertThat(actual.length).as(what + " length").isEqualTo(expected.length);
    for (int i = 0; i < actual.length; i++) {
      if (Float.compare(actual[i], expected[i]) != 0) {
        throw new AssertionError(what + "[" + i + "] = " + actual[i] + ", expected " + expected[i]);
      }
    }
  }

  private static void putConv(Map<String, KerasResNetWeights.Tensor> keras, String layer, int k, int cin, int cout,
      long seed) {
    keras.put(layer + "_conv/kernel", new KerasResNetWeights.Tensor(new int[] {k, k, cin, cout},
        random(k * k * cin * cout, seed, 0.01)));
    keras.put(layer + "_conv/bias", new KerasResNetWeights.Tensor(new int[] {cout}, random(cout, seed + 1000, 0.1)));
    putBn(keras, layer + "_bn", cout, seed);
  }

  private static void putBn(Map<String, KerasResNetWeights.Tensor> keras, String layer, int c, long seed) {
    keras.put(layer + "/gamma", new KerasResNetWeights.Tensor(new int[] {c}, positive(c, seed)));
    keras.put(layer + "/beta", new KerasResNetWeights.Tensor(new int[] {c}, random(c, seed + 1, 0.1)));
    keras.put(layer + "/moving_mean", new KerasResNetWeights.Tensor(new int[] {c}, random(c, seed + 2, 0.1)));
    keras.put(layer + "/moving_variance", new KerasResNetWeights.Tensor(new int[] {c}, positive(c, seed + 3)));
  }
}
