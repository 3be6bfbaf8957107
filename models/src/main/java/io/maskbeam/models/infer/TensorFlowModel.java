package io.maskbeam.models.infer;

import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.models.train.SegmentationGraph;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TUint8;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model exported by {@code maskbeam train}, loaded once: its SavedModel session (safe to share between threads)
 * and its metadata. Loading checks what inference relies on, so a wrong folder fails before any image is read: the files,
 * the signature, and one small inference whose class output must agree with the metadata's class count.
 */
public final class TensorFlowModel implements SegmentationModel {
  private static final Logger LOG = LoggerFactory.getLogger(TensorFlowModel.class);

  private final Path dir;
  private final SavedModelBundle bundle;
  private final SessionFunction serving;
  /** Graph tensor names of the signature's input and class output, to fetch the classes alone. */
  private final String imagesTensor;
  private final String classesTensor;
  private final ModelMetadata metadata;
  private final int numClasses;
  private final List<LabelClass> classes;
  /** Bands per pixel of a model trained on raw bands; 0 for RGB. */
  private final int inputBands;
  private Precision precision = Precision.FP32;

  private TensorFlowModel(Path dir, SavedModelBundle bundle, SessionFunction serving, ModelMetadata meta) {
    this.dir = dir;
    this.metadata = meta;
    this.bundle = bundle;
    this.serving = serving;
    this.imagesTensor = serving.signature().getInputs().get("images").name;
    this.classesTensor = serving.signature().getOutputs().get("classes").name;
    this.numClasses = meta.numClasses();
    this.classes = meta.classes();
    io.maskbeam.models.train.TrainConfig.InputSpec raw = meta.rawBands();
    this.inputBands = raw == null ? 0 : raw.channels();
  }

  /** Loads a model folder written by {@code maskbeam train} (SavedModel plus {@value ModelMetadata#FILE_NAME}). */
  public static TensorFlowModel load(Path dir) throws IOException {
    return load(dir, 0);
  }

  /**
   * Checks that a folder holds the files of an exported model, without loading it: {@code saved_model.pb},
   * {@code variables/variables.index} with its data shards, and readable metadata. Returns the metadata.
   *
   * @throws IllegalArgumentException naming what is missing
   */
  public static ModelMetadata checkFiles(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("model folder " + dir + " does not exist");
    }
    java.util.List<String> names = new java.util.ArrayList<>();
    try (var files = Files.walk(dir, 2)) {
      files.filter(Files::isRegularFile).forEach(f -> names.add(dir.relativize(f).toString().replace('\\', '/')));
    }
    java.util.List<String> missing = ModelFormat.SAVED_MODEL.missingFiles(names);
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(ModelMetadata.incompleteMessage(dir.toString(), missing));
    }
    Path metaFile = dir.resolve(ModelMetadata.FILE_NAME);
    return ModelMetadata.parse(Files.readString(metaFile), metaFile.toString());
  }

  /**
   * Loads a model whose Session uses {@code threads} threads per call (0: TensorFlow's default, every core). A
   * worker that owns only some of a machine's cores (a Spark executor with one core) must say so, or its calls
   * compete with the other workers' for every core.
   */
  public static TensorFlowModel load(Path dir, int threads) throws IOException {
    return load(dir, threads, Precision.FP32);
  }

  /**
   * Loads a model whose session runs in {@code precision} (mixed precision is TensorFlow's graph rewrite, applied
   * to the loaded graph when it first runs: no re-export).
   */
  public static TensorFlowModel load(Path dir, int threads, Precision precision) throws IOException {
    long start = System.nanoTime();
    ModelMetadata meta = checkFiles(dir);
    SavedModelBundle.Loader loader = SavedModelBundle.loader(dir.toString()).withTags("serve")
        .withConfigProto(precision.config(threads));
    SavedModelBundle bundle;
    try {
      bundle = loader.load();
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(dir + " could not be loaded as a SavedModel: " + e.getMessage(), e);
    }
    TensorFlowModel model;
    try {
      SessionFunction serving = bundle.function(SegmentationGraph.SERVING_KEY);
      Signature sig = serving.signature();
      Map<String, Signature.TensorDescription> in = sig.getInputs();
      Map<String, Signature.TensorDescription> out = sig.getOutputs();
      if (!in.containsKey("images") || !out.containsKey("classes") || !out.containsKey("probabilities")) {
        throw new IllegalArgumentException(dir + ": signature " + SegmentationGraph.SERVING_KEY + " must take 'images'"
            + " and return 'classes' and 'probabilities'; it has inputs " + in.keySet() + " and outputs "
            + out.keySet());
      }
      model = new TensorFlowModel(dir, bundle, serving, meta);
    } catch (RuntimeException e) {
      bundle.close();
      if (e instanceof IllegalArgumentException) {
        throw e;
      }
      throw new IllegalArgumentException(dir + " has no '" + SegmentationGraph.SERVING_KEY + "' signature: "
          + e.getMessage(), e);
    }
    try {
      model.checkAgainstMetadata();
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
    if (precision == Precision.BF16 && hasRgbConvolution(bundle)) {
      // Graphs exported before Net ran 3-channel convolutions as 4 hit a oneDNN bf16 bug: their bf16 answers are
      // wrong, so they run fp32 rather than silently mislabel.
      LOG.warn("model {} was exported with a 3-channel convolution, which oneDNN computes wrongly in bfloat16 on"
          + " this CPU; running it in fp32 (re-export it with this version, e.g. train --resume, for bf16)", dir);
      model.close();
      return load(dir, threads, Precision.FP32);
    }
    model.precision = precision;
    LOG.info("loaded model {} ({} classes, {}, {} threads per call) in {} ms", dir, meta.numClasses(),
        precision.name().toLowerCase(java.util.Locale.ROOT), threads > 0 ? threads : "all",
        (System.nanoTime() - start) / 1_000_000);
    return model;
  }

  /** Whether the graph has a Conv2D whose filter takes exactly 3 input channels (see {@code Net}'s conv2d). */
  static boolean hasRgbConvolution(SavedModelBundle bundle) {
    java.util.Iterator<org.tensorflow.GraphOperation> ops = bundle.graph().operations();
    while (ops.hasNext()) {
      org.tensorflow.GraphOperation op = ops.next();
      if (op.type().equals("Conv2D")) {
        Shape filter = op.input(1).shape();
        if (filter.numDimensions() == 4 && filter.size(2) == 3) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * One inference on a tiny image: the graph must run, and its probabilities must have the metadata's class count
   * (a metadata file that disagrees with the graph would label pixels with ids the statistics never count).
   */
  private void checkAgainstMetadata() {
    int side = Math.max(8, metadata.stride());
    long outputClasses;
    try (org.tensorflow.Tensor x = input(inputBands == 0 ? new byte[side * side * 3]
            : new float[side * side * inputBands], 1, side, side);
        Result r = serving.call(Map.of("images", x))) {
      Shape shape = r.get("probabilities").orElseThrow(
          () -> new IllegalStateException("the serving signature has no 'probabilities' output")).shape();
      if (shape.numDimensions() != 4 || shape.size(0) != 1 || shape.size(1) != side || shape.size(2) != side) {
        throw new IllegalStateException("probabilities of shape " + shape + " for one " + side + "x" + side
            + " image (expected [1, " + side + ", " + side + ", classes])");
      }
      outputClasses = shape.size(3);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(dir + " fails a test inference (" + side + "x" + side + "): "
          + e.getMessage(), e);
    }
    if (outputClasses != numClasses) {
      throw new IllegalArgumentException(dir + ": " + ModelMetadata.FILE_NAME + " declares " + numClasses
          + " classes but the graph outputs " + outputClasses);
    }
  }

  @Override
  public Path path() {
    return dir;
  }

  @Override
  public ModelMetadata metadata() {
    return metadata;
  }


  @Override
  public int numClasses() {
    return numClasses;
  }


  @Override
  public List<LabelClass> classes() {
    return classes;
  }

  @Override
  public String backend() {
    return "tensorflow";
  }

  @Override
  public Precision precision() {
    return precision;
  }

  @Override
  public int inputBands() {
    return inputBands;
  }

  /**
   * The input tensor of a batch: uint8 [n, h, w, 3] from a {@code byte[]}, float32 [n, h, w, bands] from a
   * {@code float[]}; the other kind than the model takes is refused.
   */
  private org.tensorflow.Tensor input(Object batch, int n, int h, int w) {
    if (batch instanceof float[] f) {
      if (inputBands == 0) {
        throw new IllegalArgumentException(dir + " takes 8-bit RGB images, not raw bands");
      }
      return TFloat32.tensorOf(Shape.of(n, h, w, inputBands), DataBuffers.of(f, true, false));
    }
    if (inputBands > 0) {
      throw new IllegalArgumentException(dir + " was trained on " + inputBands + " raw bands; it takes rasters of"
          + " them, not RGB images");
    }
    return TUint8.tensorOf(Shape.of(n, h, w, 3), DataBuffers.of((byte[]) batch, true, false));
  }

  /** Class ids for a batch of same-size images [n, h, w, 3]; only the class output is computed. */
  public int[] classes(byte[] rgb, int n, int h, int w) {
    return classesOf(rgb, n, h, w);
  }

  private int[] classesOf(Object batch, int n, int h, int w) {
    try (org.tensorflow.Tensor x = input(batch, n, h, w);
        Result r = serving.session().runner().feed(imagesTensor, x).fetch(classesTensor).run()) {
      int[] out = new int[n * h * w];
      ((TInt32) r.get(0)).copyTo(DataBuffers.of(out, false, false));
      return out;
    }
  }

  @Override
  public byte[] labelsOf(Object batch, int n, int h, int w) {
    return asBytes(classesOf(batch, n, h, w));
  }

  private static byte[] asBytes(int[] classes) {
    byte[] labels = new byte[classes.length];
    for (int i = 0; i < classes.length; i++) {
      labels[i] = (byte) classes[i];
    }
    return labels;
  }

  @Override
  public float[] probabilities(float[] bands, int n, int h, int w) {
    return probabilitiesOf(bands, n, h, w);
  }

  @Override
  public byte[] labels(byte[] rgb, int n, int h, int w) {
    return asBytes(classes(rgb, n, h, w));
  }

  /** Class probabilities [n, h, w, C] for a batch of same-size images. */
  @Override
  public float[] probabilities(byte[] rgb, int n, int h, int w) {
    return probabilitiesOf(rgb, n, h, w);
  }

  @Override
  public float[] probabilitiesOf(Object batch, int n, int h, int w) {
    try (org.tensorflow.Tensor x = input(batch, n, h, w);
        Result r = serving.call(Map.of("images", x))) {
      TFloat32 probabilities = (TFloat32) r.get("probabilities").orElseThrow();
      long size = probabilities.shape().size();
      if (size != (long) n * h * w * numClasses) {
        throw new IllegalStateException("the model returned " + probabilities.shape() + " probabilities for " + n
            + "x" + h + "x" + w + " images of " + numClasses + " classes");
      }
      float[] out = new float[(int) size];
      probabilities.copyTo(DataBuffers.of(out, false, false));
      return out;
    }
  }

  /** Segments one image whole. */
  @Override
  public LabelImage segment(RgbImage image) {
    return new LabelImage(image.width(), image.height(), asBytes(classes(image.pixels(), 1, image.height(),
        image.width())));
  }

  @Override
  public void close() {
    bundle.close();
  }
}
