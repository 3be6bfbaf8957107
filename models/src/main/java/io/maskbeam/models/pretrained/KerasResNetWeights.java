package io.maskbeam.models.pretrained;

import io.jhdf.HdfFile;
import io.jhdf.api.Dataset;
import io.jhdf.api.Group;
import io.jhdf.api.Node;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * ImageNet ResNet weights from a Keras HDF5 file (keras.applications ResNet50 / ResNet101, e.g.
 * {@code resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5}, which the user downloads), mapped onto
 * Maskbeam's ResNet variables. Nothing is downloaded here.
 *
 * <p>Three exact conversions make the Keras weights compute the same function in Maskbeam's graph:
 * <ul>
 *   <li>Keras' first convolution expects caffe-style input (BGR, 0..255, mean subtracted); Maskbeam feeds RGB
 *       normalised with ImageNet mean and std. The channel swap and scale fold into the kernel, the offset into the
 *       following batch norm (exact away from the zero-padded border).</li>
 *   <li>Keras' convolutions carry biases before batch norm; a bias b shifts BN's input, so it folds into the moving
 *       mean (mean - b).</li>
 *   <li>Keras' BN epsilon is 1.001e-5, Maskbeam's 1e-3: the moving variance is shifted by the difference.</li>
 * </ul>
 * Keras' ResNet v1 strides the first 1x1 convolution of a downsampling block, Maskbeam (like torchvision) the 3x3:
 * the shapes agree and fine-tuning absorbs the difference.
 */
public final class KerasResNetWeights {
  static final float KERAS_EPSILON = 1.001e-5f;
  static final float MASKBEAM_EPSILON = 1e-3f;
  static final float[] CAFFE_MEAN_BGR = {103.939f, 116.779f, 123.68f};
  static final float[] MEAN_RGB = {0.485f, 0.456f, 0.406f};
  static final float[] STD_RGB = {0.229f, 0.224f, 0.225f};

  private KerasResNetWeights() {}

  /** A weight array and its shape. */
  public record Tensor(int[] shape, float[] values) {}

  /** Reads every weight of a Keras weights file as "layer/weight" (e.g. "conv1_conv/kernel"). */
  public static Map<String, Tensor> read(Path h5) throws IOException {
    Map<String, Tensor> out = new TreeMap<>();
    try (HdfFile file = new HdfFile(h5)) {
      Group root = file;
      if (file.getChildren().containsKey("model_weights")) {
        root = (Group) file.getChild("model_weights"); // a whole saved model rather than weights only
      }
      collect(root, out);
    } catch (RuntimeException e) {
      throw new IOException("cannot read Keras weights from " + h5 + ": " + e.getMessage(), e);
    }
    if (out.isEmpty()) {
      throw new IOException(h5 + " holds no weights");
    }
    return out;
  }

  private static void collect(Group group, Map<String, Tensor> out) {
    for (Node child : group.getChildren().values()) {
      if (child instanceof Group g) {
        collect(g, out);
      } else if (child instanceof Dataset d) {
        // Paths look like /conv1_conv/conv1_conv/kernel:0; keep "layer/weight".
        String path = d.getPath();
        String[] parts = path.replaceAll("^/+", "").split("/");
        if (parts.length < 2) {
          continue;
        }
        String layer = parts[parts.length - 2];
        String weight = parts[parts.length - 1].replaceAll(":\\d+$", "");
        out.put(layer + "/" + weight, new Tensor(d.getDimensions(), flatFloats(d.getDataFlat())));
      }
    }
  }

  private static float[] flatFloats(Object data) {
    if (data instanceof float[] f) {
      return f;
    }
    if (data instanceof double[] d) {
      float[] f = new float[d.length];
      for (int i = 0; i < d.length; i++) {
        f[i] = (float) d[i];
      }
      return f;
    }
    throw new IllegalArgumentException("weights must be float32 or float64, got " + data.getClass().getSimpleName());
  }

  /**
   * Maskbeam variable values for a ResNet of {@code layers} (50 or 101) from Keras weights. Fails, naming the
   * layer, when one the backbone needs is missing or has another shape.
   */
  public static Map<String, float[]> toMaskbeam(Map<String, Tensor> keras, int layers) {
    int[] blocks = layers == 50 ? new int[] {3, 4, 6, 3} : new int[] {3, 4, 23, 3};
    Map<String, float[]> out = new LinkedHashMap<>();
    // Stem: fold input conversion into the kernel and its constant into the batch norm.
    Tensor kernel = require(keras, "conv1_conv/kernel", 7, 7, 3, 64);
    float[] bias = keras.containsKey("conv1_conv/bias") ? keras.get("conv1_conv/bias").values() : new float[64];
    FoldedStem stem = foldStem(kernel.values(), bias, 7 * 7, 64);
    out.put("conv1_w", stem.kernel());
    batchNorm(keras, "conv1_bn", "conv1_bn", stem.bias(), 64, out);
    for (int stage = 0; stage < 4; stage++) {
      int width = 64 << stage;
      for (int b = 0; b < blocks[stage]; b++) {
        String k = "conv" + (stage + 2) + "_block" + (b + 1);
        String m = "res" + (stage + 2) + "_" + (char) ('a' + Math.min(b, 25)) + (b > 25 ? b : "");
        if (b == 0) {
          conv(keras, k + "_0", m + "_proj", width * 4, out);
        }
        conv(keras, k + "_1", m + "_c1", width, out);
        conv(keras, k + "_2", m + "_c2", width, out);
        conv(keras, k + "_3", m + "_c3", width * 4, out);
      }
    }
    return out;
  }

  private static void conv(Map<String, Tensor> keras, String kerasLayer, String name, int channels,
      Map<String, float[]> out) {
    Tensor kernel = keras.get(kerasLayer + "_conv/kernel");
    if (kernel == null) {
      throw new IllegalArgumentException("Keras weights lack " + kerasLayer + "_conv/kernel; is this a ResNet file of"
          + " the right depth?");
    }
    out.put(name + "_w", kernel.values());
    Tensor bias = keras.get(kerasLayer + "_conv/bias");
    batchNorm(keras, kerasLayer + "_bn", name + "_bn", bias == null ? new float[channels] : bias.values(), channels, out);
  }

  private static void batchNorm(Map<String, Tensor> keras, String kerasLayer, String name, float[] precedingBias,
      int channels, Map<String, float[]> out) {
    float[] gamma = require(keras, kerasLayer + "/gamma", channels).values();
    float[] beta = require(keras, kerasLayer + "/beta", channels).values();
    float[] mean = require(keras, kerasLayer + "/moving_mean", channels).values().clone();
    float[] var = require(keras, kerasLayer + "/moving_variance", channels).values().clone();
    for (int c = 0; c < channels; c++) {
      mean[c] -= precedingBias[c];
      var[c] = Math.max(0f, var[c] + KERAS_EPSILON - MASKBEAM_EPSILON);
    }
    out.put(name + "_gamma", gamma);
    out.put(name + "_beta", beta);
    out.put(name + "_mean", mean);
    out.put(name + "_var", var);
  }

  private static Tensor require(Map<String, Tensor> keras, String key, int... shape) {
    Tensor t = keras.get(key);
    if (t == null) {
      throw new IllegalArgumentException("Keras weights lack " + key);
    }
    if (!java.util.Arrays.equals(t.shape(), shape)) {
      throw new IllegalArgumentException("Keras weight " + key + " has shape " + java.util.Arrays.toString(t.shape())
          + ", expected " + java.util.Arrays.toString(shape));
    }
    return t;
  }

  /** The stem kernel for Maskbeam's input and the bias that absorbs the input offset. */
  record FoldedStem(float[] kernel, float[] bias) {}

  /**
   * Keras computes sum_k W[k, c', o] * (255 * x[bgr c'] - caffeMean[c']) + b[o] on raw 0..1 pixels x. With
   * Maskbeam's input z[c] = (x[c] - mean[c]) / std[c], x[c] = z[c] * std[c] + mean[c], so the kernel on z is
   * W[k, bgr(c), o] * 255 * std[c] and the constant sum_k W[k, bgr(c), o] * (255 * mean[c] - caffeMean[bgr(c)])
   * joins the bias.
   */
  static FoldedStem foldStem(float[] kerasKernel, float[] kerasBias, int positions, int outputs) {
    float[] kernel = new float[kerasKernel.length];
    float[] bias = kerasBias.clone();
    for (int k = 0; k < positions; k++) {
      for (int c = 0; c < 3; c++) {
        int bgr = 2 - c;
        for (int o = 0; o < outputs; o++) {
          float w = kerasKernel[(k * 3 + bgr) * outputs + o];
          kernel[(k * 3 + c) * outputs + o] = w * 255f * STD_RGB[c];
          bias[o] += w * (255f * MEAN_RGB[c] - CAFFE_MEAN_BGR[bgr]);
        }
      }
    }
    return new FoldedStem(kernel, bias);
  }
}
