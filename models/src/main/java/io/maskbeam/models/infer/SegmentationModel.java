package io.maskbeam.models.infer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.models.train.SegmentationGraph;
import io.maskbeam.models.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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

/**
 * An exported Maskbeam model, loaded once: its SavedModel session (safe to share between threads) and its
 * metadata. Loading checks what inference relies on, so a wrong folder fails before any image is read.
 */
public final class SegmentationModel implements ProbabilityModel, AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path dir;
  private final SavedModelBundle bundle;
  private final SessionFunction serving;
  /** Graph tensor names of the signature's input and class output, to fetch the classes alone. */
  private final String imagesTensor;
  private final String classesTensor;
  private final int numClasses;
  private final int ignoreValue;
  private final List<LabelClass> classes;
  private final JsonNode metadata;

  private SegmentationModel(Path dir, SavedModelBundle bundle, SessionFunction serving, JsonNode meta) {
    this.dir = dir;
    this.metadata = meta;
    this.bundle = bundle;
    this.serving = serving;
    this.imagesTensor = serving.signature().getInputs().get("images").name;
    this.classesTensor = serving.signature().getOutputs().get("classes").name;
    this.numClasses = meta.path("numClasses").asInt();
    this.ignoreValue = meta.path("ignoreValue").asInt(255);
    List<LabelClass> list = new ArrayList<>();
    for (int c = 0; c < numClasses; c++) {
      JsonNode node = meta.path("classes").path(c);
      String hex = node.path("color").asText("#808080").replace("#", "");
      list.add(new LabelClass(c, node.path("name").asText("class_" + c), Integer.parseInt(hex, 16)));
    }
    this.classes = List.copyOf(list);
  }

  /** Loads a model folder written by {@code maskbeam train} (SavedModel plus {@value Trainer#METADATA}). */
  public static SegmentationModel load(Path dir) throws IOException {
    return load(dir, 0);
  }

  /**
   * Loads a model whose Session uses {@code threads} threads per call (0: TensorFlow's default, every core). A
   * worker that owns only some of a machine's cores (a Spark executor with one core) must say so, or its calls
   * compete with the other workers' for every core.
   */
  public static SegmentationModel load(Path dir, int threads) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("model folder " + dir + " does not exist");
    }
    Path metaFile = dir.resolve(Trainer.METADATA);
    if (!Files.exists(metaFile) || !Files.exists(dir.resolve("saved_model.pb"))) {
      throw new IllegalArgumentException(dir + " is not a Maskbeam model: it needs saved_model.pb and "
          + Trainer.METADATA);
    }
    JsonNode meta = JSON.readTree(metaFile.toFile());
    if (meta.path("numClasses").asInt(0) < 2) {
      throw new IllegalArgumentException(metaFile + " declares no usable numClasses");
    }
    SavedModelBundle.Loader loader = SavedModelBundle.loader(dir.toString()).withTags("serve");
    if (threads > 0) {
      loader = loader.withConfigProto(org.tensorflow.proto.ConfigProto.newBuilder()
          .setIntraOpParallelismThreads(threads).setInterOpParallelismThreads(1).build());
    }
    SavedModelBundle bundle = loader.load();
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
      return new SegmentationModel(dir, bundle, serving, meta);
    } catch (RuntimeException e) {
      bundle.close();
      if (e instanceof IllegalArgumentException) {
        throw e;
      }
      throw new IllegalArgumentException(dir + " has no '" + SegmentationGraph.SERVING_KEY + "' signature: "
          + e.getMessage(), e);
    }
  }

  public Path dir() {
    return dir;
  }

  /** The parsed {@value Trainer#METADATA}. */
  public JsonNode metadata() {
    return metadata.deepCopy();
  }

  /** The square crop the model was trained on (its natural input size), or 0 when the metadata does not say. */
  public int trainingCropSize() {
    return metadata.path("training").path("settings").path("cropSize").asInt(0);
  }

  @Override
  public int numClasses() {
    return numClasses;
  }

  public int ignoreValue() {
    return ignoreValue;
  }

  public List<LabelClass> classes() {
    return classes;
  }

  /** Class ids for a batch of same-size images [n, h, w, 3]; only the class output is computed. */
  public int[] classes(byte[] rgb, int n, int h, int w) {
    try (TUint8 x = TUint8.tensorOf(Shape.of(n, h, w, 3), DataBuffers.of(rgb, true, false));
        Result r = serving.session().runner().feed(imagesTensor, x).fetch(classesTensor).run()) {
      int[] out = new int[n * h * w];
      ((TInt32) r.get(0)).copyTo(DataBuffers.of(out, false, false));
      return out;
    }
  }

  @Override
  public byte[] labels(byte[] rgb, int n, int h, int w) {
    int[] c = classes(rgb, n, h, w);
    byte[] labels = new byte[c.length];
    for (int i = 0; i < c.length; i++) {
      labels[i] = (byte) c[i];
    }
    return labels;
  }

  /** Class probabilities [n, h, w, C] for a batch of same-size images. */
  @Override
  public float[] probabilities(byte[] rgb, int n, int h, int w) {
    try (TUint8 x = TUint8.tensorOf(Shape.of(n, h, w, 3), DataBuffers.of(rgb, true, false));
        Result r = serving.call(Map.of("images", x))) {
      float[] out = new float[n * h * w * numClasses];
      ((TFloat32) r.get("probabilities").orElseThrow()).copyTo(DataBuffers.of(out, false, false));
      return out;
    }
  }

  /** Segments one image whole. */
  @Override
  public LabelImage segment(RgbImage image) {
    int[] c = classes(image.pixels(), 1, image.height(), image.width());
    byte[] labels = new byte[c.length];
    for (int i = 0; i < c.length; i++) {
      labels[i] = (byte) c[i];
    }
    return new LabelImage(image.width(), image.height(), labels);
  }

  @Override
  public void close() {
    bundle.close();
  }
}
