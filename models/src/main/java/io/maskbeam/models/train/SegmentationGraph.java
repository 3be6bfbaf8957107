package io.maskbeam.models.train;

import io.maskbeam.models.nn.Net;
import io.maskbeam.models.nn.SegmentationNetwork;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Gradients;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.math.ArgMax;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TUint8;

/**
 * A segmentation model in one TensorFlow graph: a training branch (fixed-size uint8 crops and int32 labels in,
 * loss and optimizer step out) and a serving branch (uint8 images of any size in; padded to the network's stride
 * and cropped back, so no size can reach oneDNN's unsupported shapes; {@code classes} and {@code probabilities}
 * out). Both branches share variables. Every tensor is closed after use.
 */
public final class SegmentationGraph implements AutoCloseable {
  /** ImageNet statistics, the convention of pretrained backbones. */
  static final float[] MEAN = {0.485f, 0.456f, 0.406f};
  static final float[] STD = {0.229f, 0.224f, 0.225f};
  public static final String SERVING_KEY = "serving_default";

  private final TrainConfig config;
  private final SegmentationNetwork network;
  private final Graph graph;
  private final Session session;
  private final Placeholder<TUint8> trainImages;
  private final Placeholder<TInt32> trainLabels;
  private final Placeholder<TFloat32> learningRate;
  private final Operand<TFloat32> loss;
  private final Op trainStep;
  private final Variable<TInt64> globalStep;
  private final Placeholder<TUint8> servingImages;
  private final Operand<TInt32> classes;
  private final Operand<TFloat32> probabilities;
  private final long parameters;
  private final java.util.Map<String, Variable<TFloat32>> variables;

  public SegmentationGraph(TrainConfig config) {
    this.config = config;
    this.network = config.network();
    this.graph = new Graph();
    try {
      Ops tf = Ops.create(graph);
      globalStep = tf.withInitScope().withName("global_step").variable(tf.withInitScope().constant(0L));
      Net net = new Net(tf, config.seed(), Net.warmedUpMomentum(tf, globalStep, 0.99f));

      trainImages = tf.withName("train_images").placeholder(TUint8.class, Placeholder.shape(Shape.of(-1, -1, -1, 3)));
      trainLabels = tf.withName("train_labels").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1, -1)));
      learningRate = tf.withName("learning_rate").placeholder(TFloat32.class, Placeholder.shape(Shape.scalar()));
      Operand<TFloat32> trainLogits = network.logits(net, normalise(tf, trainImages), true);
      Operand<TFloat32> dataLoss = Losses.segmentationLoss(tf, trainLogits, trainLabels, config);
      Operand<TFloat32> total = dataLoss;
      if (config.weightDecay() > 0 && !net.decayed().isEmpty()) {
        List<Operand<TFloat32>> l2 = new ArrayList<>();
        for (Variable<TFloat32> v : net.decayed()) {
          l2.add(tf.nn.l2Loss(v));
        }
        Operand<TFloat32> sum = tf.reduceSum(tf.stack(l2), tf.constant(0));
        total = tf.math.add(dataLoss, tf.math.mul(sum, tf.constant(config.weightDecay())));
      }
      loss = tf.withName("loss").identity(total);
      Gradients gradients = tf.gradients(loss, net.trainable());
      List<Op> updates = Optimizers.apply(tf, config, net.trainable(), gradients, learningRate);
      List<Op> all = new ArrayList<>(updates);
      all.addAll(net.batchNormUpdates());
      all.add(tf.assignAdd(globalStep, tf.constant(1L)));
      trainStep = tf.withControlDependencies(all).withName("train_step").noOp();

      servingImages = tf.withName("images").placeholder(TUint8.class, Placeholder.shape(Shape.of(-1, -1, -1, 3)));
      Operand<TFloat32> padded = padToStride(tf, normalise(tf, servingImages), network.stride());
      Operand<TFloat32> logits = cropLike(tf, network.logits(net, padded, false), servingImages);
      probabilities = tf.withName("probabilities").nn.softmax(logits);
      classes = tf.withName("classes").math.argMax(logits, tf.constant(3), TInt32.class);
      parameters = net.parameterCount();
      variables = net.variables();
      session = new Session(graph);
      session.initialize();
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  public TrainConfig config() {
    return config;
  }

  public SegmentationNetwork network() {
    return network;
  }

  public long parameterCount() {
    return parameters;
  }

  private static Operand<TFloat32> normalise(Ops tf, Operand<TUint8> images) {
    Operand<TFloat32> x = tf.math.div(tf.dtypes.cast(images, TFloat32.class), tf.constant(255f));
    return tf.math.div(tf.math.sub(x, tf.constant(MEAN)), tf.constant(STD));
  }

  private static Operand<TInt32> dim(Ops tf, Operand<?> x, int axis) {
    return tf.gather(tf.shape((Operand) x), tf.constant(axis), tf.constant(0));
  }

  /** Zero-pads bottom and right (zero is the mean colour after normalisation) to multiples of the stride. */
  private static Operand<TFloat32> padToStride(Ops tf, Operand<TFloat32> x, int stride) {
    Operand<TInt32> s = tf.constant(stride);
    Operand<TInt32> h = dim(tf, x, 1);
    Operand<TInt32> w = dim(tf, x, 2);
    Operand<TInt32> padH = tf.math.sub(tf.math.mul(tf.math.floorDiv(tf.math.add(h, tf.constant(stride - 1)), s), s), h);
    Operand<TInt32> padW = tf.math.sub(tf.math.mul(tf.math.floorDiv(tf.math.add(w, tf.constant(stride - 1)), s), s), w);
    Operand<TInt32> zero = tf.constant(0);
    Operand<TInt32> paddings = tf.reshape(tf.stack(List.of(zero, zero, zero, padH, zero, padW, zero, zero)),
        tf.constant(new int[] {4, 2}));
    return tf.pad(x, paddings, tf.constant(0f));
  }

  private static Operand<TFloat32> cropLike(Ops tf, Operand<TFloat32> logits, Operand<TUint8> like) {
    Operand<TInt32> size = tf.stack(List.of(tf.constant(-1), dim(tf, like, 1), dim(tf, like, 2), tf.constant(-1)));
    return tf.slice(logits, tf.constant(new int[] {0, 0, 0, 0}), size);
  }

  /** One optimizer step on a batch: {@code images} is [n, h, w, 3] uint8 RGB, {@code labels} [n, h, w]. */
  public float trainStep(byte[] images, int[] labels, int n, int h, int w, float lr) {
    if (h % network.stride() != 0 || w % network.stride() != 0) {
      // oneDNN aborts the JVM on transposed convolutions of such sizes: refuse in Java first.
      throw new IllegalArgumentException("training crops must be multiples of " + network.stride() + ", got " + h + "x" + w);
    }
    try (TUint8 x = TUint8.tensorOf(Shape.of(n, h, w, 3), DataBuffers.of(images, true, false));
        TInt32 y = TInt32.tensorOf(Shape.of(n, h, w), DataBuffers.of(labels, true, false));
        TFloat32 rate = TFloat32.scalarOf(lr);
        Result result = session.runner().feed(trainImages, x).feed(trainLabels, y).feed(learningRate, rate)
            .addTarget(trainStep).fetch(loss).run()) {
      return ((TFloat32) result.get(0)).getFloat();
    }
  }

  /** Class ids [n, h, w] for a batch of same-size images of any size. */
  public int[] predict(byte[] images, int n, int h, int w) {
    try (TUint8 x = TUint8.tensorOf(Shape.of(n, h, w, 3), DataBuffers.of(images, true, false));
        Result result = session.runner().feed(servingImages, x).fetch(classes).run()) {
      int[] out = new int[n * h * w];
      ((TInt32) result.get(0)).copyTo(DataBuffers.of(out, false, false));
      return out;
    }
  }

  /**
   * Overwrites variables by name (pretrained weights). Every named variable must exist with the value's size;
   * returns how many values were assigned.
   */
  public int assign(java.util.Map<String, float[]> values) {
    Ops tf = Ops.create(graph);
    // All assign ops first, then one run: every graph extension after the session exists costs a full pass.
    List<Placeholder<TFloat32>> placeholders = new ArrayList<>();
    List<TFloat32> tensors = new ArrayList<>();
    Session.Runner runner = session.runner();
    try {
      for (java.util.Map.Entry<String, float[]> e : values.entrySet()) {
        Variable<TFloat32> v = variables.get(e.getKey());
        if (v == null) {
          throw new IllegalArgumentException("the " + network.describe() + " graph has no variable " + e.getKey());
        }
        if (v.shape().size() != e.getValue().length) {
          throw new IllegalArgumentException("variable " + e.getKey() + " has shape " + v.shape() + " ("
              + v.shape().size() + " values) but " + e.getValue().length + " values were given");
        }
        Placeholder<TFloat32> value = tf.placeholder(TFloat32.class, Placeholder.shape(v.shape()));
        placeholders.add(value);
        TFloat32 t = TFloat32.tensorOf(v.shape(), DataBuffers.of(e.getValue()));
        tensors.add(t);
        runner.feed(value, t).addTarget(tf.assign(v, value));
      }
      if (!tensors.isEmpty()) {
        runner.run().close();
      }
    } finally {
      tensors.forEach(TFloat32::close);
    }
    return placeholders.size();
  }

  /** A variable's current values, flattened. */
  public float[] read(String variable) {
    Variable<TFloat32> v = variables.get(variable);
    if (v == null) {
      throw new IllegalArgumentException("no variable " + variable);
    }
    try (Result r = session.runner().fetch(v).run()) {
      float[] out = new float[(int) v.shape().size()];
      ((TFloat32) r.get(0)).copyTo(DataBuffers.of(out, false, false));
      return out;
    }
  }

  public long globalStep() {
    try (Result r = session.runner().fetch(globalStep).run()) {
      return ((TInt64) r.get(0)).getLong();
    }
  }

  /** Saves every variable (weights, optimizer slots, moving averages, step) under a checkpoint prefix. */
  public void save(Path prefix) throws IOException {
    Files.createDirectories(prefix.getParent());
    session.save(prefix.toString());
  }

  public void restore(Path prefix) {
    session.restore(prefix.toString());
  }

  /** The serving signature: uint8 images [N, H, W, 3] of any size to classes [N, H, W] and probabilities. */
  public Signature servingSignature() {
    return Signature.builder().key(SERVING_KEY).methodName("tensorflow/serving/predict")
        .input("images", servingImages).output("classes", classes).output("probabilities", probabilities).build();
  }

  /** Exports a SavedModel of the current weights. */
  public void export(Path dir) throws IOException {
    SavedModelBundle.exporter(dir.toString()).withSession(session).withSignature(servingSignature()).export();
  }

  @Override
  public void close() {
    // The session must close before its graph: Graph.close() waits for open sessions.
    session.close();
    graph.close();
  }

  static Output<TFloat32> asFloat(Output<?> o) {
    @SuppressWarnings("unchecked")
    Output<TFloat32> f = (Output<TFloat32>) o;
    return f;
  }
}
