package io.maskbeam.models.train;

import io.maskbeam.models.nn.Net;
import io.maskbeam.models.nn.SegmentationNetwork;
import io.maskbeam.models.nn.Towers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TString;
import org.tensorflow.types.TUint8;

/**
 * A segmentation model in one TensorFlow graph: a training branch (fixed-size uint8 crops and int32 labels in,
 * loss and optimizer step out) and a serving branch (uint8 images of any size in; padded to the network's stride
 * and cropped back, so no size can reach oneDNN's unsupported shapes; {@code classes} and {@code probabilities}
 * out). Both branches share variables. Every tensor is closed after use.
 */
public final class SegmentationGraph implements AutoCloseable {
  static final String TOWER_SCOPE = "tower_";
  /** ImageNet statistics, the convention of pretrained backbones. */
  static final float[] MEAN = {0.485f, 0.456f, 0.406f};
  static final float[] STD = {0.229f, 0.224f, 0.225f};
  public static final String SERVING_KEY = "serving_default";
  /**
   * The signature for stock TensorFlow serving (TF Serving's REST API, Vertex AI's prebuilt TensorFlow container):
   * encoded images in ({@code image_bytes}, a string per image, as {@code {"instances": [{"b64": ...}]}} feeds it),
   * PNG label masks ({@code mask_png_bytes}, which TF Serving returns as {@code {"b64": ...}}) and class fractions
   * ({@code class_fractions}, [N, C]) out. Images of any size and format (JPEG, PNG, GIF, BMP) in one request.
   */
  public static final String BYTES_KEY = "serving_bytes";

  private final TrainConfig config;
  private final SegmentationNetwork network;
  private final TrainingDevices devices;
  private final Graph graph;
  private final Session session;
  /** uint8 RGB [n, h, w, 3], or float32 raw bands [n, h, w, C] (see {@link TrainConfig.InputSpec}). */
  private final Operand<?> trainImages;
  private final Operand<TInt32> trainLabels;
  private final Operand<TFloat32> learningRate;
  private final Operand<TFloat32> loss;
  private final org.tensorflow.Operation trainStep;
  private final Operand<TInt64> globalStep;
  private final Operand<?> servingImages;
  private final Operand<TInt32> classes;
  private final Operand<TFloat32> probabilities;
  /** serving_bytes, built on the first export (training graphs need not carry it): input, masks, fractions. */
  private Placeholder<TString> imageBytes;
  private Output<?> maskPngs;
  private Output<?> classFractions;
  private final long parameters;
  /** Every variable of the network (weights and batch-norm statistics) by name, in creation order. */
  private final java.util.Map<String, Operand<TFloat32>> variables;

  public SegmentationGraph(TrainConfig config) {
    this(config, io.maskbeam.models.infer.Precision.FP32);
  }

  public SegmentationGraph(TrainConfig config, io.maskbeam.models.infer.Precision precision) {
    this(config, precision, TrainingDevices.SINGLE);
  }

  /**
   * A graph whose session runs in {@code precision}: for bf16 and fp16, TensorFlow's mixed-precision rewrite of
   * the training step itself (variables, batch-norm statistics, loss and optimizer state stay float32); on several
   * {@code devices}, one tower per device (see {@link TrainingDevices}).
   */
  public SegmentationGraph(TrainConfig config, io.maskbeam.models.infer.Precision precision,
      TrainingDevices devices) {
    this.config = config;
    this.network = config.buildNetwork();
    this.devices = devices;
    Graph built = new Graph();
    Graph placed = null;
    try {
      Ops tf = Ops.create(built);
      Variable<TInt64> step = tf.withInitScope().withName("global_step").variable(tf.withInitScope().constant(0L));
      Net net = new Net(tf, config.seed(), Net.warmedUpMomentum(tf, step, 0.99f), config.input().channels());
      Placeholder<?> images = imagesPlaceholder(tf.withName("train_images"));
      Placeholder<TInt32> labels = tf.withName("train_labels").placeholder(TInt32.class,
          Placeholder.shape(Shape.of(-1, -1, -1)));
      Placeholder<TFloat32> rate = tf.withName("learning_rate").placeholder(TFloat32.class,
          Placeholder.shape(Shape.scalar()));
      if (devices.count() > 1) {
        // Towers take the network's variables as they are: the serving branch creates them all first, in the order
        // the training branch would (so a towered graph starts from the same values as a single-device one).
        buildServing(tf, net);
      }
      List<Op> updates = new ArrayList<>();
      Operand<TFloat32> total = devices.count() == 1 ? singleDeviceStep(tf, net, images, labels, rate, updates)
          : towerStep(tf, net, images, labels, rate, updates);
      tf.withName("loss").identity(total);
      // The step advances after the updates: the batch-norm momentum of this step reads it.
      Op advance = tf.withControlDependencies(updates).assignAdd(step, tf.constant(1L));
      tf.withControlDependencies(List.of(advance)).withName("train_step").noOp();
      if (devices.count() == 1) {
        buildServing(tf, net);
      }
      parameters = net.parameterCount();
      List<String> names = new ArrayList<>(net.variables().keySet());
      if (devices.count() > 1) {
        // TensorFlow Java's gradient builder gives the ops it adds no device, and TensorFlow would put them all on
        // the first GPU: through a GraphDef, each tower's backward pass goes to its tower's device.
        placed = new Graph();
        placed.importGraphDef(placeTowers(built.toGraphDef(), devices));
        built.close();
        built = placed;
      }
      graph = built;
      trainImages = output("train_images");
      trainLabels = output("train_labels");
      learningRate = output("learning_rate");
      loss = output("loss");
      trainStep = graph.operation("train_step");
      globalStep = output("global_step");
      servingImages = output("images");
      probabilities = output("probabilities");
      classes = output("classes");
      java.util.Map<String, Operand<TFloat32>> vars = new java.util.LinkedHashMap<>();
      for (String name : names) {
        vars.put(name, output(name));
      }
      variables = java.util.Collections.unmodifiableMap(vars);
      session = new Session(graph, sessionConfig(precision, devices));
      session.initialize();
    } catch (RuntimeException e) {
      built.close();
      throw e;
    }
  }

  /** The loss and updates of one training step on one device. */
  private Operand<TFloat32> singleDeviceStep(Ops tf, Net net, Operand<?> images, Operand<TInt32> labels,
      Operand<TFloat32> rate, List<Op> updates) {
    Operand<TFloat32> logits = network.logits(net, normaliseInput(tf, images), true);
    Operand<TFloat32> dataLoss = Losses.segmentationLoss(tf, logits, labels, config);
    Operand<TFloat32> decayTerm = weightDecayTerm(tf, net);
    Operand<TFloat32> total = decayTerm == null ? dataLoss : tf.math.add(dataLoss, decayTerm);
    Gradients gradients = tf.gradients(total, net.trainable());
    List<Operand<TFloat32>> dy = new ArrayList<>();
    for (int i = 0; i < net.trainable().size(); i++) {
      dy.add(asFloat(gradients.dy(i)));
    }
    updates.addAll(Optimizers.apply(tf, config, net.trainable(), dy, rate));
    updates.addAll(net.batchNormUpdates());
    return total;
  }

  /**
   * The loss and updates of one training step split over towers: tower i runs the network on the i-th slice of the
   * batch and backpropagates, within its own name scope (and so on its own device), the share of the whole batch's
   * loss its slice contributes; the shares' gradients are summed. The loss is combined from every tower's partial
   * sums (see {@link Losses#combine}), so the summed gradient is the single-device gradient of the same batch.
   */
  private Operand<TFloat32> towerStep(Ops tf, Net net, Operand<?> images, Operand<TInt32> labels,
      Operand<TFloat32> rate, List<Op> updates) {
    int n = devices.count();
    List<Operand<?>> imageSlices = split(tf, images, n);
    List<Operand<?>> labelSlices = split(tf, labels, n);
    // One scope per tower, kept: a second withSubScope of the same name would make a new, renamed scope.
    List<Ops> scopes = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      scopes.add(towerOps(tf, i));
    }
    Towers towers = new Towers(net, n, devices.syncBatchNorm());
    List<List<Operand<TFloat32>>> parts = towers.build(scopes::get, (towerNet, i) -> {
      Ops t = towerNet.tf();
      @SuppressWarnings("unchecked")
      Operand<TInt32> towerLabels = (Operand<TInt32>) labelSlices.get(i);
      Operand<TFloat32> logits = network.logits(towerNet, normaliseInput(t, imageSlices.get(i)), true);
      return Losses.partialSums(t, logits, towerLabels, config);
    });
    Operand<TFloat32> dataLoss = Losses.combine(tf, parts, config);
    Operand<TFloat32> decayTerm = weightDecayTerm(tf, net);
    Operand<TFloat32> total = decayTerm == null ? dataLoss : tf.math.add(dataLoss, decayTerm);
    // How the loss changes with each tower's partial sums: a few scalars (or C values), on the first device.
    List<Operand<?>> sums = new ArrayList<>();
    parts.forEach(sums::addAll);
    Gradients upstream = tf.gradients(total, sums);
    List<List<Operand<TFloat32>>> shares = new ArrayList<>();
    int k = 0;
    for (int i = 0; i < n; i++) {
      List<Operand<?>> dx = new ArrayList<>();
      for (int j = 0; j < parts.get(i).size(); j++) {
        dx.add(upstream.dy(k++));
      }
      Gradients g = scopes.get(i).gradients(parts.get(i), net.trainable(), Gradients.dx(dx));
      List<Operand<TFloat32>> share = new ArrayList<>();
      for (int v = 0; v < net.trainable().size(); v++) {
        share.add(asFloat(g.dy(v)));
      }
      shares.add(share);
    }
    List<Operand<TFloat32>> decay = decayTerm == null ? null : decayGradients(tf, net, decayTerm);
    List<Operand<TFloat32>> summed = new ArrayList<>();
    for (int v = 0; v < net.trainable().size(); v++) {
      List<Operand<TFloat32>> terms = new ArrayList<>();
      for (List<Operand<TFloat32>> share : shares) {
        terms.add(share.get(v));
      }
      if (decay != null && decay.get(v) != null) {
        terms.add(decay.get(v));
      }
      summed.add(tf.math.addN(terms));
    }
    updates.addAll(Optimizers.apply(tf, config, net.trainable(), summed, rate));
    updates.addAll(towers.batchNormUpdates(tf));
    return total;
  }

  /**
   * The weight-decay term's gradient for each trainable variable, null where there is none: differentiated by
   * TensorFlow from the term itself, added once to the towers' summed shares.
   */
  private List<Operand<TFloat32>> decayGradients(Ops tf, Net net, Operand<TFloat32> decayTerm) {
    List<Variable<TFloat32>> decayed = net.decayed();
    Gradients g = tf.gradients(decayTerm, decayed);
    List<Operand<TFloat32>> out = new ArrayList<>();
    for (Variable<TFloat32> v : net.trainable()) {
      int at = decayed.indexOf(v);
      out.add(at < 0 ? null : asFloat(g.dy(at)));
    }
    return out;
  }

  /** decay x sum(l2Loss(kernel)) over the decayed kernels, or null when there is no decay. */
  private Operand<TFloat32> weightDecayTerm(Ops tf, Net net) {
    if (config.optimizer().weightDecay() <= 0 || net.decayed().isEmpty()) {
      return null;
    }
    List<Operand<TFloat32>> l2 = new ArrayList<>();
    for (Variable<TFloat32> v : net.decayed()) {
      l2.add(tf.nn.l2Loss(v));
    }
    Operand<TFloat32> sum = tf.reduceSum(tf.stack(l2), tf.constant(0));
    return tf.math.mul(sum, tf.constant(config.optimizer().weightDecay()));
  }

  /** The serving branch: images of any size in, padded to the stride and cropped back; classes and probabilities. */
  private void buildServing(Ops tf, Net net) {
    Placeholder<?> images = imagesPlaceholder(tf.withName("images"));
    Operand<TFloat32> padded = padToStride(tf, normaliseInput(tf, images), network.stride());
    Operand<TFloat32> logits = cropLike(tf, network.logits(net, padded, false), images);
    tf.withName("probabilities").nn.softmax(logits);
    tf.withName("classes").math.argMax(logits, tf.constant(3), TInt32.class);
  }

  /** Tower i's ops: its own name scope, its device. */
  private Ops towerOps(Ops tf, int i) {
    return tf.withSubScope(TOWER_SCOPE + i).withDevice(org.tensorflow.DeviceSpec.newBuilder()
        .deviceType(org.tensorflow.DeviceSpec.DeviceType.valueOf(devices.type())).deviceIndex(i).build());
  }

  /** How many ops of the graph are placed on each device ("" for those TensorFlow places itself). */
  public Map<String, Integer> opsPerDevice() {
    Map<String, Integer> counts = new java.util.TreeMap<>();
    for (org.tensorflow.proto.NodeDef node : graphDef().getNodeList()) {
      counts.merge(node.getDevice(), 1, Integer::sum);
    }
    return counts;
  }

  org.tensorflow.proto.GraphDef graphDef() {
    return graph.toGraphDef();
  }

  /** Splits a batch along its first axis into n equal slices. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static List<Operand<?>> split(Ops tf, Operand<?> batch, int n) {
    List<Operand<?>> out = new ArrayList<>();
    for (Object o : tf.split(tf.constant(0), (Operand) batch, (long) n).output()) {
      out.add((Operand<?>) o);
    }
    return out;
  }

  /** The graph with every op of tower i that has no device yet (its gradients) placed on tower i's device. */
  static org.tensorflow.proto.GraphDef placeTowers(org.tensorflow.proto.GraphDef def, TrainingDevices devices) {
    org.tensorflow.proto.GraphDef.Builder b = def.toBuilder();
    for (org.tensorflow.proto.NodeDef.Builder node : b.getNodeBuilderList()) {
      if (!node.getDevice().isEmpty() || !node.getName().startsWith(TOWER_SCOPE)) {
        continue;
      }
      String rest = node.getName().substring(TOWER_SCOPE.length());
      int slash = rest.indexOf('/');
      if (slash > 0 && rest.substring(0, slash).chars().allMatch(Character::isDigit)) {
        node.setDevice(devices.device(Integer.parseInt(rest.substring(0, slash))));
      }
    }
    return b.build();
  }

  private static org.tensorflow.proto.ConfigProto sessionConfig(io.maskbeam.models.infer.Precision precision,
      TrainingDevices devices) {
    org.tensorflow.proto.ConfigProto base = precision.config(0);
    if (devices.count() == 1) {
      return base;
    }
    org.tensorflow.proto.ConfigProto.Builder b = base.toBuilder().setAllowSoftPlacement(true);
    if (devices.type().equals("CPU")) {
      b.putDeviceCount("CPU", devices.count());
    }
    return b.build();
  }

  @SuppressWarnings("unchecked")
  private <T extends org.tensorflow.types.family.TType> Operand<T> output(String name) {
    org.tensorflow.GraphOperation op = graph.operation(name);
    if (op == null) {
      throw new IllegalStateException("the training graph has no op " + name);
    }
    return (Operand<T>) op.output(0);
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

  /**
   * serving_bytes: a loop over the encoded images (they may differ in size, so they cannot share a batch). The loop
   * body cannot read the graph's variables, so it carries them: the network is built in the body from the
   * loop's copies of the weights ({@link Net#frozen}). JPEGs decode with libjpeg's accurate integer IDCT and fancy
   * upsampling, as Java's decoder does, so masks match {@code segment}'s; other formats through DecodeImage. EXIF
   * orientation is not applied here (segment applies it).
   *
   * @return the PNG masks [N] and the class fractions [N, C]
   */
  @SuppressWarnings("unchecked")
  private Output<?>[] bytesLoop(Ops tf, Placeholder<TString> bytes, Map<String, Operand<TFloat32>> weights,
      SegmentationNetwork net, int numClasses) {
    List<String> names = new ArrayList<>(weights.keySet());
    java.util.Collections.sort(names);
    int fixed = 4;
    Output<?>[] init = new Output<?>[fixed + names.size()];
    init[0] = tf.constant(0).asOutput();
    init[1] = bytes.asOutput();
    init[2] = tf.fill(tf.constant(new int[] {0}), tf.constant("")).asOutput();
    init[3] = tf.fill(tf.constant(new int[] {0, numClasses}), tf.constant(0f)).asOutput();
    for (int k = 0; k < names.size(); k++) {
      init[fixed + k] = tf.identity(weights.get(names.get(k))).asOutput();
    }
    Output<?>[] out = graph.whileLoop(init, (g, in, cond) -> {
      Ops c = Ops.create(g);
      Operand<TInt32> n = c.reshape(c.shape.size(c.shape((Operand<TString>) in[1])), c.constant(new int[0]));
      cond[0] = c.math.less((Operand<TInt32>) in[0], n).asOutput();
    }, (g, in, next) -> {
      Ops b = Ops.create(g);
      Operand<TString> one = b.gather((Operand<TString>) in[1], (Operand<TInt32>) in[0], b.constant(0));
      Operand<TBool> isJpeg;
      // The JPEG signature as bytes (a Java String constant would be encoded as UTF-8).
      try (TString soi = TString.tensorOfBytes(org.tensorflow.ndarray.NdArrays.scalarOfObject(
          new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF}))) {
        isJpeg = b.math.equal(b.strings.substr(one, b.constant(0), b.constant(3)), b.constantOf(soi));
      }
      org.tensorflow.op.core.SwitchCond<TString> which = b.switchCond(one, isJpeg);
      Operand<TUint8> jpeg = b.image.decodeJpeg(which.outputTrue(),
          org.tensorflow.op.image.DecodeJpeg.channels(3L),
          org.tensorflow.op.image.DecodeJpeg.dctMethod("INTEGER_ACCURATE"));
      Operand<TUint8> other = b.image.decodeImage(which.outputFalse(), TUint8.class,
          org.tensorflow.op.image.DecodeImage.channels(3L),
          org.tensorflow.op.image.DecodeImage.expandAnimations(false));
      Operand<TUint8> image = b.expandDims(b.merge(List.of(jpeg, other)).output(), b.constant(0));
      java.util.Map<String, Operand<TFloat32>> carried = new java.util.HashMap<>();
      for (int k = 0; k < names.size(); k++) {
        carried.put(names.get(k), (Operand<TFloat32>) in[fixed + k]);
      }
      Operand<TFloat32> logits = cropLike(b, net.logits(Net.frozen(b, carried),
          padToStride(b, normalise(b, image), net.stride()), false), image);
      Operand<TInt32> labels = b.math.argMax(logits, b.constant(3), TInt32.class);
      Operand<TString> png = b.image.encodePng(b.dtypes.cast(b.reshape(labels,
          b.stack(List.of(dim(b, image, 1), dim(b, image, 2), b.constant(1)))), TUint8.class));
      Operand<TFloat32> fractions = b.math.mean(b.oneHot(labels, b.constant(numClasses), b.constant(1f),
          b.constant(0f)), b.constant(new int[] {1, 2}));
      next[0] = b.math.add((Operand<TInt32>) in[0], b.constant(1)).asOutput();
      next[1] = in[1];
      next[2] = b.concat(List.of((Operand<TString>) in[2], b.reshape(png, b.constant(new int[] {1}))),
          b.constant(0)).asOutput();
      next[3] = b.concat(List.of((Operand<TFloat32>) in[3], fractions), b.constant(0)).asOutput();
      for (int k = fixed; k < in.length; k++) {
        next[k] = in[k];
      }
    }, "serving_bytes");
    return new Output<?>[] {out[2], out[3]};
  }

  private Placeholder<?> imagesPlaceholder(Ops named) {
    TrainConfig.InputSpec in = config.input();
    return in.rawBands()
        ? named.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, in.channels())))
        : named.placeholder(TUint8.class, Placeholder.shape(Shape.of(-1, -1, -1, 3)));
  }

  /**
   * RGB: to 0..1, then ImageNet's statistics. Raw bands: each band's training mean and std; a pixel without data
   * (NaN) becomes 0, the mean, so it pulls no prediction either way.
   */
  @SuppressWarnings("unchecked")
  private Operand<TFloat32> normaliseInput(Ops tf, Operand<?> images) {
    TrainConfig.InputSpec in = config.input();
    if (!in.rawBands()) {
      return normalise(tf, (Operand<TUint8>) images);
    }
    Operand<TFloat32> x = (Operand<TFloat32>) images;
    Operand<TFloat32> z = tf.math.div(tf.math.sub(x, tf.constant(in.mean())), tf.constant(in.std()));
    return tf.select(tf.math.isNan(z), tf.zerosLike(z), z);
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

  private static Operand<TFloat32> cropLike(Ops tf, Operand<TFloat32> logits, Operand<?> like) {
    Operand<TInt32> size = tf.stack(List.of(tf.constant(-1), dim(tf, like, 1), dim(tf, like, 2), tf.constant(-1)));
    return tf.slice(logits, tf.constant(new int[] {0, 0, 0, 0}), size);
  }

  /** One optimizer step on a batch: {@code images} is [n, h, w, 3] uint8 RGB, {@code labels} [n, h, w]. */
  public float trainStep(byte[] images, int[] labels, int n, int h, int w, float lr) {
    expect(false);
    try (TUint8 x = TUint8.tensorOf(Shape.of(n, h, w, 3), DataBuffers.of(images, true, false))) {
      return trainStep(x, labels, n, h, w, lr);
    }
  }

  /** One optimizer step on a batch of raw bands [n, h, w, C] (a graph for raw bands). */
  public float trainStep(float[] bands, int[] labels, int n, int h, int w, float lr) {
    expect(true);
    try (TFloat32 x = TFloat32.tensorOf(Shape.of(n, h, w, config.input().channels()),
        DataBuffers.of(bands, true, false))) {
      return trainStep(x, labels, n, h, w, lr);
    }
  }

  private void expect(boolean rawBands) {
    if (config.input().rawBands() != rawBands) {
      throw new IllegalArgumentException("this graph takes " + describeInput() + ", not "
          + (rawBands ? "raw bands" : "RGB"));
    }
  }

  /** "uint8 RGB" or "4 raw uint16 bands" for messages. */
  public String describeInput() {
    TrainConfig.InputSpec in = config.input();
    return in.rawBands() ? in.channels() + " raw " + in.dtype() + " bands" : "uint8 RGB";
  }

  private float trainStep(org.tensorflow.Tensor x, int[] labels, int n, int h, int w, float lr) {
    if (h % network.stride() != 0 || w % network.stride() != 0) {
      // oneDNN aborts the JVM on transposed convolutions of such sizes: refuse in Java first.
      throw new IllegalArgumentException("training crops must be multiples of " + network.stride() + ", got " + h + "x" + w);
    }
    if (n % devices.count() != 0) {
      throw new IllegalArgumentException("a batch of " + n + " images cannot be split evenly over " + devices.count()
          + " towers (a dataset smaller than --miniBatchSize gives smaller batches)");
    }
    try (TInt32 y = TInt32.tensorOf(Shape.of(n, h, w), DataBuffers.of(labels, true, false));
        TFloat32 rate = TFloat32.scalarOf(lr);
        Result result = session.runner().feed(trainImages, x).feed(trainLabels, y).feed(learningRate, rate)
            .addTarget(trainStep).fetch(loss).run()) {
      return ((TFloat32) result.get(0)).getFloat();
    }
  }

  /** Class ids [n, h, w] for a batch of same-size images of any size. */
  public int[] predict(byte[] images, int n, int h, int w) {
    expect(false);
    try (TUint8 x = TUint8.tensorOf(Shape.of(n, h, w, 3), DataBuffers.of(images, true, false))) {
      return predict(x, n, h, w);
    }
  }

  /** Class ids [n, h, w] for a batch of raw bands [n, h, w, C]. */
  public int[] predict(float[] bands, int n, int h, int w) {
    expect(true);
    try (TFloat32 x = TFloat32.tensorOf(Shape.of(n, h, w, config.input().channels()),
        DataBuffers.of(bands, true, false))) {
      return predict(x, n, h, w);
    }
  }

  private int[] predict(org.tensorflow.Tensor x, int n, int h, int w) {
    try (Result result = session.runner().feed(servingImages, x).fetch(classes).run()) {
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
        Operand<TFloat32> v = variables.get(e.getKey());
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

  /** Every weight and batch-norm statistic of the network by name (not optimizer slots), flattened. */
  public java.util.Map<String, float[]> readAll() {
    java.util.Map<String, float[]> all = new java.util.LinkedHashMap<>();
    for (String name : variables.keySet()) {
      all.put(name, read(name));
    }
    return all;
  }

  /**
   * This network's weights and batch-norm statistics as an exported SavedModel holds them, by name (whatever its
   * optimizer was: its slots are not read).
   */
  public java.util.Map<String, float[]> readFrom(Path savedModel) {
    java.util.Map<String, float[]> values = new java.util.LinkedHashMap<>();
    try (SavedModelBundle bundle = SavedModelBundle.load(savedModel.toString(), "serve")) {
      for (String name : variables.keySet()) {
        try (Result r = bundle.session().runner().fetch(name).run()) {
          TFloat32 t = (TFloat32) r.get(0);
          float[] out = new float[(int) t.shape().size()];
          t.copyTo(DataBuffers.of(out, false, false));
          values.put(name, out);
        } catch (RuntimeException e) {
          throw new IllegalArgumentException(savedModel + " has no variable " + name + " of " + network.describe()
              + ": " + e.getMessage(), e);
        }
      }
    }
    return values;
  }

  /** The name of the first convolution's kernel [k, k, input channels, out]: the one that sees the input. */
  public String firstConvolution() {
    // Variables are kept in creation order; the first 4-D one is the kernel applied to the images.
    return variables.entrySet().stream().filter(e -> e.getValue().shape().numDimensions() == 4)
        .map(java.util.Map.Entry::getKey).findFirst().orElseThrow();
  }

  /**
   * A first-convolution kernel [k, k, from, out] for {@code to} input channels, as timm adapts pretrained
   * convolutions: one channel takes the sum over the old ones; more take the old channels cyclically (RGB to bands
   * 1-3, again to 4-6...) scaled by from / to, so an input whose channels all hold the same value gives the old
   * output exactly when {@code to} is a multiple of {@code from}.
   */
  public static float[] inflate(float[] kernel, int k, int from, int to, int out) {
    if (kernel.length != k * k * from * out) {
      throw new IllegalArgumentException("a " + k + "x" + k + "x" + from + "x" + out + " kernel has "
          + (k * k * from * out) + " values, got " + kernel.length);
    }
    float[] inflated = new float[k * k * to * out];
    for (int pos = 0; pos < k * k; pos++) {
      for (int o = 0; o < out; o++) {
        for (int c = 0; c < to; c++) {
          float v;
          if (to == 1) {
            v = 0;
            for (int s = 0; s < from; s++) {
              v += kernel[(pos * from + s) * out + o];
            }
          } else {
            v = kernel[(pos * from + c % from) * out + o] * from / (float) to;
          }
          inflated[(pos * to + c) * out + o] = v;
        }
      }
    }
    return inflated;
  }

  /**
   * {@link #assign} with a first-convolution kernel of another input channel count adapted by {@link #inflate}
   * (weights from an RGB model or ImageNet for a network of N bands, and back).
   *
   * @param fromChannels the channels the values' first convolution takes
   */
  public int assignInflating(java.util.Map<String, float[]> values, int fromChannels) {
    String first = firstConvolution();
    Shape shape = variables.get(first).shape();
    int to = (int) shape.size(2);
    float[] kernel = values.get(first);
    if (kernel != null && fromChannels != to) {
      java.util.Map<String, float[]> adapted = new java.util.LinkedHashMap<>(values);
      adapted.put(first, inflate(kernel, (int) shape.size(0), fromChannels, to, (int) shape.size(3)));
      return assign(adapted);
    }
    return assign(values);
  }

  /** A variable's current values, flattened. */
  public float[] read(String variable) {
    Operand<TFloat32> v = variables.get(variable);
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

  /** The bytes signature for stock TensorFlow serving (see {@link #BYTES_KEY}); built into the graph once. */
  @SuppressWarnings("unchecked")
  public synchronized Signature bytesSignature() {
    if (imageBytes == null) {
      Ops tf = Ops.create(graph);
      imageBytes = tf.withName("image_bytes").placeholder(TString.class, Placeholder.shape(Shape.of(-1)));
      Output<?>[] loop = bytesLoop(tf, imageBytes, variables, network, config.numClasses());
      maskPngs = tf.withName("mask_png_bytes").identity((Operand<TString>) loop[0]).asOutput();
      classFractions = tf.withName("class_fractions").identity((Operand<TFloat32>) loop[1]).asOutput();
    }
    return Signature.builder().key(BYTES_KEY).methodName("tensorflow/serving/predict")
        .input("image_bytes", imageBytes).output("mask_png_bytes", (Operand<?>) maskPngs)
        .output("class_fractions", (Operand<?>) classFractions).build();
  }

  /**
   * Exports a SavedModel of the current weights, with both signatures; a model of raw bands has only
   * {@value #SERVING_KEY} (encoded-image requests are for photos).
   */
  public void export(Path dir) throws IOException {
    if (devices.count() > 1) {
      // A towered graph names devices a serving machine may not have: export the same weights from a
      // single-device twin instead.
      try (SegmentationGraph twin = new SegmentationGraph(config)) {
        twin.assign(readAll());
        twin.export(dir);
      }
      return;
    }
    SavedModelBundle.Exporter exporter = SavedModelBundle.exporter(dir.toString()).withSession(session);
    if (config.input().rawBands()) {
      exporter.withSignatures(servingSignature()).export();
    } else {
      exporter.withSignatures(servingSignature(), bytesSignature()).export();
    }
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
