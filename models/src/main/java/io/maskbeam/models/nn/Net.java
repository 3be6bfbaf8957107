package io.maskbeam.models.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.image.ResizeBilinear;
import org.tensorflow.op.nn.FusedBatchNorm;
import org.tensorflow.op.nn.MaxPool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Builds layers into a TensorFlow graph and owns their variables. A layer's variables are created on first use of
 * its name and reused after, so the training branch (batch statistics) and the serving branch (moving averages)
 * of one network share weights. Initial values come from a seeded {@link Random}, so a run is reproducible.
 *
 * <p>Variable names never contain '/', which TensorFlow Java's optimizer slot naming cannot take.
 */
public final class Net {
  private final Ops tf;
  private final Random random;
  private final Map<String, Variable<TFloat32>> variables = new LinkedHashMap<>();
  private final List<Variable<TFloat32>> trainable = new ArrayList<>();
  private final List<Variable<TFloat32>> decayed = new ArrayList<>();
  private final List<Op> batchNormUpdates = new ArrayList<>();
  private final Operand<TFloat32> batchNormMomentum;
  /** Inference on given weights instead of variables (null: this net owns variables). */
  private final Map<String, Operand<TFloat32>> frozen;
  private final int inputChannels;
  /** For a tower's view of a net: the towers it belongs to, and which it is (null, -1: a net of its own). */
  private final Towers towers;
  private final int towerIndex;

  /**
   * @param batchNormMomentum decay of the batch-norm moving averages, an operand so that it can follow the step
   *     (see {@link #warmedUpMomentum})
   */
  public Net(Ops tf, long seed, Operand<TFloat32> batchNormMomentum) {
    this(tf, seed, batchNormMomentum, 3);
  }

  /** A net whose input has {@code inputChannels} channels (3 for RGB; N for raw bands). */
  public Net(Ops tf, long seed, Operand<TFloat32> batchNormMomentum, int inputChannels) {
    this.inputChannels = inputChannels;
    this.tf = tf;
    this.random = new Random(seed);
    this.batchNormMomentum = batchNormMomentum;
    this.frozen = null;
    this.towers = null;
    this.towerIndex = -1;
  }

  private Net(Ops tf, Map<String, Operand<TFloat32>> weights) {
    this.inputChannels = 3;
    this.tf = tf;
    this.random = new Random(0);
    this.batchNormMomentum = null;
    this.frozen = Map.copyOf(weights);
    this.towers = null;
    this.towerIndex = -1;
  }

  /** Tower {@code index}'s view of {@code owner}: the owner's variables, ops built with {@code tf}. */
  private Net(Net owner, Ops tf, Towers towers, int index) {
    this.inputChannels = owner.inputChannels;
    this.tf = tf;
    this.random = owner.random;
    this.batchNormMomentum = owner.batchNormMomentum;
    this.frozen = null;
    this.towers = towers;
    this.towerIndex = index;
    this.variables.putAll(owner.variables);
  }

  /**
   * The view of this net that tower {@code index} builds its part of a training step with: the same variables
   * (which must exist already, so that towers built in any order initialise nothing), ops from {@code tf} (scoped
   * and placed for the tower), and batch norm as {@code towers} settles it.
   */
  Net tower(Ops tf, Towers towers, int index) {
    if (frozen != null || this.towers != null) {
      throw new IllegalStateException("towers are views of a net that owns its variables");
    }
    return new Net(this, tf, towers, index);
  }

  /**
   * A net for inference only, whose layers read the given tensors (by variable name) instead of variables: how a
   * network is built inside a loop body, where the loop carries the weights (serving_bytes).
   */
  public static Net frozen(Ops tf, Map<String, Operand<TFloat32>> weights) {
    return new Net(tf, weights);
  }

  /**
   * min(momentum, (1 + step) / (10 + step)), TensorFlow's ExponentialMovingAverage rule with num_updates: early on
   * the averages follow the batches closely, so a short run does not serve with its initial statistics.
   */
  public static Operand<TFloat32> warmedUpMomentum(Ops tf, Operand<org.tensorflow.types.TInt64> step, float momentum) {
    Operand<TFloat32> t = tf.dtypes.cast(step, TFloat32.class);
    Operand<TFloat32> ramp = tf.math.div(tf.math.add(t, tf.constant(1f)), tf.math.add(t, tf.constant(10f)));
    return tf.math.minimum(ramp, tf.constant(momentum));
  }

  public Ops tf() {
    return tf;
  }

  /** The channels of the images the network's first convolution takes. */
  public int inputChannels() {
    return inputChannels;
  }

  /** Trainable variables, in creation order. */
  public List<Variable<TFloat32>> trainable() {
    return Collections.unmodifiableList(trainable);
  }

  /** Convolution kernels, the variables weight decay applies to. */
  public List<Variable<TFloat32>> decayed() {
    return Collections.unmodifiableList(decayed);
  }

  /** All variables by name (trainable and batch-norm moving statistics). */
  public Map<String, Variable<TFloat32>> variables() {
    return Collections.unmodifiableMap(variables);
  }

  /** Moving-average updates of the training branch's batch norms; run them with every training step. */
  public List<Op> batchNormUpdates() {
    return Collections.unmodifiableList(batchNormUpdates);
  }

  public long parameterCount() {
    long n = 0;
    for (Variable<TFloat32> v : trainable) {
      n += v.shape().size();
    }
    return n;
  }

  /** Initial values: {@code he} normal (std sqrt(2 / fanIn)), or a constant. */
  private float[] init(Shape shape, double std, float constant) {
    float[] values = new float[(int) shape.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = std > 0 ? (float) (random.nextGaussian() * std) : constant;
    }
    return values;
  }

  /** A layer's weight: its variable, or in a frozen net the tensor given for it. */
  Operand<TFloat32> weight(String name, Shape shape, double std, float constant, boolean train, boolean decay) {
    if (frozen != null) {
      Operand<TFloat32> w = frozen.get(name);
      if (w == null) {
        throw new IllegalStateException("no weight " + name + " was given to the frozen net");
      }
      return w;
    }
    return variable(name, shape, std, constant, train, decay);
  }

  Variable<TFloat32> variable(String name, Shape shape, double std, float constant, boolean train, boolean decay) {
    if (frozen != null) {
      throw new IllegalStateException("a frozen net has no variables (training needs a net of its own)");
    }
    Variable<TFloat32> existing = variables.get(name);
    if (existing != null) {
      if (!existing.shape().equals(shape)) {
        throw new IllegalStateException("variable " + name + " reused with shape " + shape + ", was " + existing.shape());
      }
      return existing;
    }
    if (towers != null) {
      throw new IllegalStateException("tower " + towerIndex + " needs variable " + name + ", which the net did not"
          + " create before its towers were built");
    }
    if (name.contains("/")) {
      throw new IllegalArgumentException("variable names cannot contain '/': " + name);
    }
    Variable<TFloat32> v = tf.withInitScope().withName(name)
        .variable(tf.withInitScope().constant(shape, DataBuffers.of(init(shape, std, constant))));
    variables.put(name, v);
    if (train) {
      trainable.add(v);
    }
    if (decay) {
      decayed.add(v);
    }
    return v;
  }

  /**
   * Conv2D, with an input of exactly 3 channels (RGB) run as 4: a zero channel on the input and zero weights for it
   * give the same sums, while oneDNN's bfloat16 convolution with exactly 3 input channels is wrong on AVX512_BF16
   * CPUs without AMX (measured on Zen 4 with TensorFlow 2.18: errors up to 4.8 on outputs of mean magnitude 0.58;
   * 1, 2, 4 and more channels are right). The weights keep their [k, k, 3, out] shape, so checkpoints and
   * pretrained weights are unchanged.
   */
  private Operand<TFloat32> conv2d(Operand<TFloat32> x, Operand<TFloat32> w, int cin, List<Long> strides,
      String padding) {
    if (cin == 3) {
      x = tf.pad(x, tf.constant(new int[][] {{0, 0}, {0, 0}, {0, 0}, {0, 1}}), tf.constant(0f));
      w = tf.pad(w, tf.constant(new int[][] {{0, 0}, {0, 0}, {0, 1}, {0, 0}}), tf.constant(0f));
    }
    return tf.nn.conv2d(x, w, strides, padding);
  }

  /** A k x k convolution; He-initialised; a bias only when no batch norm follows. */
  public Operand<TFloat32> conv(String name, Operand<TFloat32> x, int k, int cin, int cout, int stride, boolean bias) {
    Operand<TFloat32> w = weight(name + "_w", Shape.of(k, k, cin, cout), Math.sqrt(2.0 / (k * k * cin)), 0, true, true);
    Operand<TFloat32> y = conv2d(x, w, cin, List.of(1L, (long) stride, (long) stride, 1L), "SAME");
    if (bias) {
      Operand<TFloat32> b = weight(name + "_b", Shape.of(cout), 0, 0f, true, false);
      y = tf.nn.biasAdd(y, b);
    }
    return y;
  }

  /**
   * A k x k convolution with dilation {@code rate}, stride 1, SAME padding, built as SpaceToBatchND -> plain
   * VALID convolution -> BatchToSpaceND. TensorFlow's own dilated Conv2D has silently wrong gradients in this
   * version; this form has the same output and correct gradients. Any input size works: the input is padded by
   * (k-1)/2 * rate on each side plus what makes it divisible by the rate, and the extra is cropped after.
   */
  public Operand<TFloat32> atrousConv(String name, Operand<TFloat32> x, int k, int cin, int cout, int rate,
      boolean bias) {
    if (rate == 1) {
      return conv(name, x, k, cin, cout, 1, bias);
    }
    if (k % 2 == 0) {
      throw new IllegalArgumentException("atrous convolution needs an odd kernel, got " + k);
    }
    Operand<TFloat32> w = weight(name + "_w", Shape.of(k, k, cin, cout), Math.sqrt(2.0 / (k * k * cin)), 0, true, true);
    int p = (k - 1) / 2 * rate;
    Operand<TInt32> r = tf.constant(rate);
    Operand<TInt32> h = tf.gather(tf.shape(x), tf.constant(1), tf.constant(0));
    Operand<TInt32> wd = tf.gather(tf.shape(x), tf.constant(2), tf.constant(0));
    // Extra bottom/right padding so that (size + 2p + extra) is a multiple of the rate.
    Operand<TInt32> extraH = tf.math.floorMod(tf.math.sub(r, tf.math.floorMod(tf.math.add(h, tf.constant(2 * p)), r)), r);
    Operand<TInt32> extraW = tf.math.floorMod(tf.math.sub(r, tf.math.floorMod(tf.math.add(wd, tf.constant(2 * p)), r)), r);
    Operand<TInt32> pad = tf.constant(p);
    Operand<TInt32> paddings = tf.reshape(tf.stack(List.of(pad, tf.math.add(pad, extraH), pad, tf.math.add(pad, extraW))),
        tf.constant(new int[] {2, 2}));
    Operand<TInt32> zero = tf.constant(0);
    Operand<TInt32> crops = tf.reshape(tf.stack(List.of(zero, extraH, zero, extraW)), tf.constant(new int[] {2, 2}));
    Operand<TInt32> block = tf.constant(new int[] {rate, rate});
    Operand<TFloat32> batched = tf.spaceToBatchNd(x, block, paddings);
    Operand<TFloat32> convolved = conv2d(batched, w, cin, List.of(1L, 1L, 1L, 1L), "VALID");
    Operand<TFloat32> y = tf.batchToSpaceNd(convolved, block, crops);
    if (bias) {
      y = tf.nn.biasAdd(y, weight(name + "_b", Shape.of(cout), 0, 0f, true, false));
    }
    return y;
  }

  /** atrous conv (no bias) -> batch norm -> ReLU. */
  public Operand<TFloat32> atrousConvBnRelu(String name, Operand<TFloat32> x, int k, int cin, int cout, int rate,
      boolean training) {
    return tf.nn.relu(batchNorm(name + "_bn", atrousConv(name, x, k, cin, cout, rate, false), cout, training));
  }

  /** 3x3 max pooling with stride 2 and SAME padding (ResNet's stem). */
  public Operand<TFloat32> maxPool3s2(Operand<TFloat32> x) {
    return tf.nn.maxPool(x, tf.constant(new int[] {1, 3, 3, 1}), tf.constant(new int[] {1, 2, 2, 1}), "SAME",
        new MaxPool.Options[0]);
  }

  /**
   * Adaptive average pooling to {@code bins x bins} for inputs of any (dynamic) size, exactly as PyTorch defines
   * it: output bin i averages input rows [floor(i*H/b), ceil((i+1)*H/b)). TensorFlow's pooling ops need static
   * window sizes, so this is two matrix products with averaging matrices built from the runtime shape.
   */
  public Operand<TFloat32> adaptiveAvgPool(Operand<TFloat32> x, int bins) {
    Operand<TInt32> n = tf.gather(tf.shape(x), tf.constant(0), tf.constant(0));
    Operand<TInt32> h = tf.gather(tf.shape(x), tf.constant(1), tf.constant(0));
    Operand<TInt32> w = tf.gather(tf.shape(x), tf.constant(2), tf.constant(0));
    Operand<TInt32> c = tf.gather(tf.shape(x), tf.constant(3), tf.constant(0));
    Operand<TInt32> b = tf.constant(bins);
    // [H, N*W*C] -> [bins, N*W*C]
    Operand<TFloat32> t = tf.reshape(tf.linalg.transpose(x, tf.constant(new int[] {1, 0, 2, 3})),
        tf.stack(List.of(h, tf.constant(-1))));
    t = tf.linalg.matMul(poolingMatrix(h, bins), t);
    // [bins, N, W, C] -> [W, bins*N*C] -> [bins, bins*N*C]
    t = tf.reshape(t, tf.stack(List.of(b, n, w, c)));
    t = tf.reshape(tf.linalg.transpose(t, tf.constant(new int[] {2, 0, 1, 3})), tf.stack(List.of(w, tf.constant(-1))));
    t = tf.linalg.matMul(poolingMatrix(w, bins), t);
    // [binsW, binsH, N, C] -> [N, binsH, binsW, C]
    t = tf.reshape(t, tf.stack(List.of(b, b, n, c)));
    return tf.linalg.transpose(t, tf.constant(new int[] {2, 1, 0, 3}));
  }

  /** [bins, size]: row i holds 1/len over input positions [floor(i*size/bins), ceil((i+1)*size/bins)). */
  private Operand<TFloat32> poolingMatrix(Operand<TInt32> size, int bins) {
    Operand<TFloat32> s = tf.dtypes.cast(size, TFloat32.class);
    Operand<TFloat32> i = tf.expandDims(tf.range(tf.constant(0f), tf.constant((float) bins), tf.constant(1f)),
        tf.constant(1));
    Operand<TFloat32> start = tf.math.floor(tf.math.div(tf.math.mul(i, s), tf.constant((float) bins)));
    Operand<TFloat32> end = tf.math.ceil(tf.math.div(tf.math.mul(tf.math.add(i, tf.constant(1f)), s),
        tf.constant((float) bins)));
    Operand<TFloat32> j = tf.expandDims(tf.range(tf.constant(0f), s, tf.constant(1f)), tf.constant(0));
    Operand<TFloat32> inside = tf.dtypes.cast(tf.math.logicalAnd(tf.math.greaterEqual(j, start), tf.math.less(j, end)),
        TFloat32.class);
    // The matrix depends on the input's shape only; without the stop, TensorFlow's C++ gradient builder walks from
    // the input through Shape into Floor/Ceil, which have no gradients.
    return tf.stopGradient(tf.math.div(inside, tf.math.sub(end, start)));
  }

  /** Mean over height and width, keeping them as size-1 axes: [N, 1, 1, C]. */
  public Operand<TFloat32> globalAveragePool(Operand<TFloat32> x) {
    return tf.math.mean(x, tf.constant(new int[] {1, 2}), org.tensorflow.op.math.Mean.keepDims(true));
  }

  /**
   * Batch norm: batch statistics in training (and their moving averages updated by {@link #batchNormUpdates}),
   * moving averages in inference.
   */
  public Operand<TFloat32> batchNorm(String name, Operand<TFloat32> x, int channels, boolean training) {
    Operand<TFloat32> gamma = weight(name + "_gamma", Shape.of(channels), 0, 1f, true, false);
    Operand<TFloat32> beta = weight(name + "_beta", Shape.of(channels), 0, 0f, true, false);
    if (!training) {
      return tf.nn.fusedBatchNorm(x, gamma, beta, weight(name + "_mean", Shape.of(channels), 0, 0f, false, false),
          weight(name + "_var", Shape.of(channels), 0, 1f, false, false), FusedBatchNorm.isTraining(false),
          FusedBatchNorm.epsilon(1e-3f)).y();
    }
    Variable<TFloat32> mean = variable(name + "_mean", Shape.of(channels), 0, 0f, false, false);
    Variable<TFloat32> var = variable(name + "_var", Shape.of(channels), 0, 1f, false, false);
    if (towers != null) {
      return towers.batchNorm(tf, towerIndex, name, x, gamma, beta, mean, var);
    }
    FusedBatchNorm<TFloat32, TFloat32> bn = tf.nn.fusedBatchNorm(x, gamma, beta, tf.constant(new float[0]),
        tf.constant(new float[0]), FusedBatchNorm.isTraining(true), FusedBatchNorm.epsilon(1e-3f));
    // FusedBatchNorm returns the batch statistics but does not keep moving averages: that is ours to do.
    batchNormUpdates.addAll(movingAverageUpdates(tf, mean, var, bn.batchMean(), bn.batchVariance(),
        batchNormMomentum));
    return bn.y();
  }

  /** Assignments moving {@code mean} and {@code var} towards a batch's statistics by {@code momentum}. */
  static List<Op> movingAverageUpdates(Ops tf, Variable<TFloat32> mean, Variable<TFloat32> var,
      Operand<TFloat32> batchMean, Operand<TFloat32> batchVariance, Operand<TFloat32> momentum) {
    Operand<TFloat32> oneMinusM = tf.math.sub(tf.constant(1f), momentum);
    return List.of(
        tf.assign(mean, tf.math.add(tf.math.mul(mean, momentum), tf.math.mul(batchMean, oneMinusM))),
        tf.assign(var, tf.math.add(tf.math.mul(var, momentum), tf.math.mul(batchVariance, oneMinusM))));
  }

  Operand<TFloat32> batchNormMomentum() {
    return batchNormMomentum;
  }

  /** conv (no bias) -> batch norm -> ReLU. */
  public Operand<TFloat32> convBnRelu(String name, Operand<TFloat32> x, int k, int cin, int cout, int stride,
      boolean training) {
    return tf.nn.relu(batchNorm(name + "_bn", conv(name, x, k, cin, cout, stride, false), cout, training));
  }

  public Operand<TFloat32> maxPool2(Operand<TFloat32> x) {
    return tf.nn.maxPool(x, tf.constant(new int[] {1, 2, 2, 1}), tf.constant(new int[] {1, 2, 2, 1}), "VALID",
        new MaxPool.Options[0]);
  }

  /** A learned 2x upsampling: a transposed 2x2 convolution with stride 2. */
  public Operand<TFloat32> upConv2(String name, Operand<TFloat32> x, int cin, int cout) {
    Operand<TFloat32> w = weight(name + "_w", Shape.of(2, 2, cout, cin), Math.sqrt(2.0 / (4 * cin)), 0, true, true);
    Operand<TInt32> outShape = tf.math.add(tf.math.mul(tf.shape(x), tf.constant(new int[] {1, 2, 2, 0})),
        tf.constant(new int[] {0, 0, 0, cout}));
    Operand<TFloat32> y = tf.nn.conv2dBackpropInput(outShape, w, x, List.of(1L, 2L, 2L, 1L), "SAME");
    Operand<TFloat32> b = weight(name + "_b", Shape.of(cout), 0, 0f, true, false);
    return tf.nn.biasAdd(y, b);
  }

  /** Bilinear resize to the spatial size of {@code like} (half-pixel centres, as modern TensorFlow does). */
  public Operand<TFloat32> resizeLike(Operand<TFloat32> x, Operand<? extends org.tensorflow.types.family.TType> like) {
    Operand<TInt32> size = tf.slice(tf.shape(like), tf.constant(new int[] {1}), tf.constant(new int[] {2}));
    return tf.image.resizeBilinear(x, size, ResizeBilinear.halfPixelCenters(true));
  }

  /** Bilinear 2x upsampling. */
  public Operand<TFloat32> upsample2(Operand<TFloat32> x) {
    Operand<TInt32> size = tf.math.mul(
        tf.slice(tf.shape(x), tf.constant(new int[] {1}), tf.constant(new int[] {2})), tf.constant(new int[] {2, 2}));
    return tf.image.resizeBilinear(x, size, ResizeBilinear.halfPixelCenters(true));
  }

  public Operand<TFloat32> concat(Operand<TFloat32> a, Operand<TFloat32> b) {
    return tf.concat(List.of(a, b), tf.constant(3));
  }
}
