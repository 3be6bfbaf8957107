package io.maskbeam.models.infer;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.Resampler;
import io.maskbeam.image.RgbImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model exported to ONNX (from PyTorch, MMSegmentation, torchvision, Keras...) run by ONNX Runtime: one session
 * per instance, shared by every calling thread (ONNX Runtime's {@code run} is thread-safe). The model's conventions
 * ({@link OnnxConventions}) are settled once when it is opened, from the sidecar and the graph; pixels are then fed
 * as the model wants them and its output is brought back to Maskbeam's form: probabilities [n, h, w, C] at the
 * image's own size (softmax of logits, bilinear upsampling of probabilities computed at a lower resolution before
 * the arg-max), or class ids.
 *
 * <p>Sizes: a model with a fixed input size gets each image resized to it (bilinear) and its output resized back;
 * tiling at that size ({@code --tileSize}) avoids the resize. A dynamic model gets images padded at the bottom and
 * right to a multiple of {@code onnx.stride} (1 by default: the exact size) with zeros after normalisation (the mean
 * pixel; raw zeros for uint8 input), and only the output rows and columns that cover the image are kept.
 */
public final class OnnxModel implements SegmentationModel {
  private static final Logger LOG = LoggerFactory.getLogger(OnnxModel.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path path;
  private final OrtEnvironment env;
  private final OrtSession.SessionOptions options;
  private final OrtSession session;
  private final ModelMetadata metadata;
  private final OnnxConventions conv;
  private final int numClasses;
  /** Normalised input value per model channel and 8-bit pixel value (float inputs). */
  private final float[][] lut = new float[3][256];
  /**
   * Admits as many concurrent {@code session.run} calls as the cores hold (one when each call uses every core).
   * ONNX Runtime's intra-op threads spin between operators, so two calls that each want every core slow each other
   * (measured on 2 cores, two callers on batches of 8 480x360 images: 3.64 images/s ungated, 4.26 gated, 4.9 for
   * one caller alone); gated, a caller's input normalisation and output decoding run while another's call runs.
   */
  private final Semaphore calls;
  private final int admittedCalls;

  private OnnxModel(Path path, OrtEnvironment env, OrtSession.SessionOptions options, OrtSession session,
      ModelMetadata metadata, OnnxConventions conv, int threadsPerCall) {
    this.admittedCalls = Math.max(1, Runtime.getRuntime().availableProcessors() / threadsPerCall);
    this.calls = new Semaphore(admittedCalls, true);
    this.path = path;
    this.env = env;
    this.options = options;
    this.session = session;
    this.metadata = metadata;
    this.conv = conv;
    this.numClasses = metadata.numClasses();
    for (int c = 0; c < 3; c++) {
      for (int v = 0; v < 256; v++) {
        float x = conv.scale() == 255f ? v : v / 255f;
        lut[c][v] = (x - conv.mean()[c]) / conv.std()[c];
      }
    }
  }

  /**
   * Opens a local ONNX model: an {@code .onnx} file (conventions from the graph and the defaults) or a folder with
   * {@value ModelFormat#ONNX_FILE} and optionally {@value ModelMetadata#FILE_NAME}.
   */
  public static OnnxModel load(Path path, int threads) throws IOException {
    boolean folder = Files.isDirectory(path);
    Path file = folder ? path.resolve(ModelFormat.ONNX_FILE) : path;
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("model " + path + " does not exist" + (folder ? " (no "
          + ModelFormat.ONNX_FILE + " in the folder)" : ""));
    }
    Path sidecar = folder ? path.resolve(ModelMetadata.FILE_NAME) : null;
    String json = sidecar != null && Files.isRegularFile(sidecar) ? Files.readString(sidecar) : null;
    return open(file, json, sidecar != null ? sidecar.toString() : file + " (no sidecar)", threads);
  }

  /**
   * Opens an ONNX file with a sidecar document (null for none), checks that it is a segmentation model Maskbeam can
   * feed, settles its conventions and runs one test inference. The returned model's {@link #metadata()} is the
   * completed document: opening the same file with it again needs no inference from the graph.
   *
   * @param where names the sidecar in messages
   * @throws IllegalArgumentException naming what is wrong or which setting is missing
   */
  public static OnnxModel open(Path file, String sidecarJson, String where, int threads) {
    long start = System.nanoTime();
    ObjectNode side = parseSidecar(sidecarJson, where);
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    int threadsPerCall = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    OrtSession session;
    try {
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      // ONNX Runtime's default is one thread per physical core, which on a 2-vCPU machine is 1: "every core"
      // means every core the JVM may use, as for TensorFlow (measured: 2.8 vs 4.4 images/s on 2 vCPUs).
      options.setIntraOpNumThreads(threadsPerCall);
      options.setInterOpNumThreads(1);
      if (OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
        options.addCUDA(0); // the -Pgpu build; falls back to the CPU for nodes CUDA lacks
      }
      session = env.createSession(file.toString(), options);
    } catch (OrtException e) {
      options.close();
      throw new IllegalArgumentException(loadFailure(file, env, e), e);
    }
    OnnxModel model = null;
    try {
      OnnxConventions conv = settle(file, side, session);
      ObjectNode meta = side.deepCopy();
      meta.put("format", "onnx");
      int classes = numClasses(file, side, session, conv);
      meta.put("numClasses", classes);
      if (!meta.path("classes").isArray() || meta.path("classes").isEmpty()) {
        // Distinct colours for colour masks and overlays (the Pascal VOC palette) when the sidecar names none.
        var list = meta.putArray("classes");
        for (int c = 0; c < classes; c++) {
          list.addObject().put("name", "class_" + c)
              .put("color", String.format("#%06x", io.maskbeam.labels.LabelMaps.vocColor(c)));
        }
      }
      meta.set("onnx", conv.toJson());
      if (!conv.fixedSize()) {
        meta.put("stride", conv.stride());
      }
      ModelMetadata metadata = ModelMetadata.parse(meta.toString(), where);
      model = new OnnxModel(file, env, options, session, metadata, conv, threadsPerCall);
      model.testInference();
    } catch (RuntimeException e) {
      if (model != null) {
        model.close();
      } else {
        closeQuietly(session, options);
      }
      throw e instanceof IllegalArgumentException ? e : new IllegalArgumentException(file + " fails a test"
          + " inference: " + e.getMessage(), e);
    }
    OnnxConventions c = model.conv;
    LOG.info("loaded ONNX model {} ({} classes, input {} {} {}, output {}, {} threads per call) in {} ms", file,
        model.numClasses, c.layout(), c.uint8() ? "uint8" : "float32",
        c.fixedSize() ? c.fixedHeight() + "x" + c.fixedWidth() : "dynamic", c.outputKind(),
        threads > 0 ? threads : "all", (System.nanoTime() - start) / 1_000_000);
    return model;
  }

  private static ObjectNode parseSidecar(String json, String where) {
    if (json == null) {
      return JSON.createObjectNode();
    }
    try {
      JsonNode tree = JSON.readTree(json);
      if (tree == null || !tree.isObject()) {
        throw new IllegalArgumentException(where + " is not a JSON object");
      }
      if (tree.has("onnx") && !tree.get("onnx").isObject()) {
        throw new IllegalArgumentException(where + ": 'onnx' must be an object of settings");
      }
      return (ObjectNode) tree;
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(where + " is not JSON: " + e.getOriginalMessage());
    }
  }

  /** A reason a user can act on for a file ONNX Runtime refuses. */
  private static String loadFailure(Path file, OrtEnvironment env, OrtException e) {
    String msg = String.valueOf(e.getMessage());
    String lower = msg.toLowerCase(Locale.ROOT);
    if (lower.contains("protobuf parsing failed") || lower.contains("invalid_protobuf")) {
      return file + " is not an ONNX model (ONNX Runtime cannot parse it)";
    }
    if (lower.contains("opset")) {
      return file + " uses an ONNX opset that ONNX Runtime " + env.getVersion() + " does not support: " + msg;
    }
    return file + " could not be loaded by ONNX Runtime " + env.getVersion() + ": " + msg;
  }

  private static TensorInfo tensor(Path file, String kind, String name, NodeInfo node) {
    if (!(node.getInfo() instanceof TensorInfo t)) {
      throw new IllegalArgumentException(file + ": " + kind + " '" + name + "' is not a tensor (" + node.getInfo()
          + ")");
    }
    return t;
  }

  /** The conventions from the sidecar's {@code onnx} block, checked against the graph and completed from it. */
  static OnnxConventions settle(Path file, JsonNode side, OrtSession session) {
    JsonNode block = side.path("onnx");
    Map<String, NodeInfo> inputs;
    Map<String, NodeInfo> outputs;
    try {
      inputs = session.getInputInfo();
      outputs = session.getOutputInfo();
    } catch (OrtException e) {
      throw new IllegalArgumentException(file + ": ONNX Runtime cannot describe the graph: " + e.getMessage(), e);
    }
    String input = block.path("input").asText(null);
    if (input == null) {
      if (inputs.size() != 1) {
        throw new IllegalArgumentException(file + " has " + inputs.size() + " inputs " + inputs.keySet()
            + "; name the image input as onnx.input in " + ModelMetadata.FILE_NAME);
      }
      input = inputs.keySet().iterator().next();
    } else if (!inputs.containsKey(input)) {
      throw new IllegalArgumentException(file + " has no input '" + input + "' (onnx.input); its inputs are "
          + inputs.keySet());
    }
    TensorInfo in = tensor(file, "input", input, inputs.get(input));
    long[] s = in.getShape();
    if (s.length != 4) {
      throw new IllegalArgumentException(file + ": input '" + input + "' has rank " + s.length + " "
          + Arrays.toString(s) + "; an image segmentation model takes [N, C, H, W] or [N, H, W, C]");
    }
    boolean uint8;
    if (in.type == OnnxJavaType.FLOAT) {
      uint8 = false;
    } else if (in.type == OnnxJavaType.UINT8) {
      uint8 = true;
    } else {
      throw new IllegalArgumentException(file + ": input '" + input + "' is " + in.type + "; Maskbeam feeds float32"
          + " or uint8 pixels");
    }
    String dtype = block.path("dtype").asText(uint8 ? "uint8" : "float32").toLowerCase(Locale.ROOT);
    if (!dtype.equals(uint8 ? "uint8" : "float32")) {
      throw new IllegalArgumentException(file + ": onnx.dtype says " + dtype + " but input '" + input + "' is "
          + (uint8 ? "uint8" : "float32"));
    }
    String inferredLayout = s[1] == 3 ? "NCHW" : s[3] == 3 ? "NHWC" : "NCHW";
    String layout = OnnxConventions.upper(block, "layout", inferredLayout, "NCHW", "NHWC");
    boolean nchw = layout.equals("NCHW");
    long channels = nchw ? s[1] : s[3];
    long otherAxis = nchw ? s[3] : s[1];
    if (channels <= 0 && otherAxis == 3) {
      throw new IllegalArgumentException(file + ": input '" + input + "' " + Arrays.toString(s) + " has 3 channels"
          + " where the " + (nchw ? "NHWC" : "NCHW") + " layout has them, but onnx.layout says " + layout
          + "; Maskbeam feeds RGB (3) on the channel axis");
    }
    if (channels > 0 && channels != 3) {
      throw new IllegalArgumentException(file + ": input '" + input + "' " + Arrays.toString(s) + " takes "
          + channels + " channels in " + layout + " layout; Maskbeam feeds RGB (3)"
          + (block.has("layout") ? "" : "; if the layout is the other one, set onnx.layout"));
    }
    long gh = nchw ? s[2] : s[1];
    long gw = nchw ? s[3] : s[2];
    int fixedH = gh > 0 && gw > 0 ? (int) gh : 0;
    int fixedW = gh > 0 && gw > 0 ? (int) gw : 0;
    JsonNode size = block.path("inputSize");
    if (size.isArray()) {
      if (size.size() != 2 || size.get(0).asInt() <= 0 || size.get(1).asInt() <= 0) {
        throw new IllegalArgumentException(file + ": onnx.inputSize must be [height, width], got " + size);
      }
      if (fixedH > 0 && (size.get(0).asInt() != fixedH || size.get(1).asInt() != fixedW)) {
        throw new IllegalArgumentException(file + ": onnx.inputSize " + size + " disagrees with the graph's fixed "
            + fixedH + "x" + fixedW);
      }
      fixedH = size.get(0).asInt();
      fixedW = size.get(1).asInt();
    }
    // 1 by default: the image's exact size, as PyTorch saw it (padding changes a deep network's answers near the
    // padded edges); a model that needs multiples of its stride (encoder-decoders with skips) says so here.
    int stride = block.path("stride").asInt(1);
    if (stride < 1 || stride > 1024) {
      throw new IllegalArgumentException(file + ": onnx.stride must be 1..1024, got " + block.path("stride"));
    }
    String output = block.path("output").asText(null);
    if (output == null) {
      output = outputs.keySet().iterator().next();
      if (outputs.size() > 1) {
        LOG.info("{} has outputs {}; using the first, '{}' (set onnx.output to choose)", file, outputs.keySet(),
            output);
      }
    } else if (!outputs.containsKey(output)) {
      throw new IllegalArgumentException(file + " has no output '" + output + "' (onnx.output); its outputs are "
          + outputs.keySet());
    }
    TensorInfo out = tensor(file, "output", output, outputs.get(output));
    long[] o = out.getShape();
    String kind;
    String outputLayout = "NCHW";
    if (o.length == 3) {
      kind = "classes";
      if (!Set.of(OnnxJavaType.INT64, OnnxJavaType.INT32, OnnxJavaType.UINT8, OnnxJavaType.INT8).contains(out.type)) {
        throw new IllegalArgumentException(file + ": output '" + output + "' " + Arrays.toString(o) + " looks like"
            + " class ids but is " + out.type + " (expected an integer type)");
      }
    } else if (o.length == 4) {
      kind = block.path("outputKind").asText("logits").toLowerCase(Locale.ROOT);
      if (!kind.equals("logits") && !kind.equals("probabilities")) {
        throw new IllegalArgumentException(file + ": onnx.outputKind must be logits or probabilities for a 4-d"
            + " output, got " + block.path("outputKind"));
      }
      if (out.type != OnnxJavaType.FLOAT) {
        throw new IllegalArgumentException(file + ": output '" + output + "' is " + out.type + "; scores must be"
            + " float32");
      }
      String inferred = o[3] > 0 && o[1] <= 0 ? "NHWC" : "NCHW";
      outputLayout = OnnxConventions.upper(block, "outputLayout", inferred, "NCHW", "NHWC");
    } else {
      throw new IllegalArgumentException(file + ": output '" + output + "' has rank " + o.length + " "
          + Arrays.toString(o) + "; expected scores [N, C, H, W] / [N, H, W, C] or class ids [N, H, W]");
    }
    String order = OnnxConventions.upper(block, "channelOrder", "RGB", "RGB", "BGR");
    String scale = block.path("scale").asText("0-255");
    if (!scale.equals("0-255") && !scale.equals("0-1")) {
      throw new IllegalArgumentException(file + ": onnx.scale must be 0-255 or 0-1, got " + block.path("scale"));
    }
    float[] mean = OnnxConventions.triple(block, "mean",
        scale.equals("0-255") ? OnnxConventions.IMAGENET_MEAN : scaled(OnnxConventions.IMAGENET_MEAN));
    float[] std = OnnxConventions.triple(block, "std",
        scale.equals("0-255") ? OnnxConventions.IMAGENET_STD : scaled(OnnxConventions.IMAGENET_STD));
    for (float v : std) {
      if (!(v > 0)) {
        throw new IllegalArgumentException(file + ": onnx.std must be positive, got " + Arrays.toString(std));
      }
    }
    return new OnnxConventions(input, output, layout, uint8, order.equals("BGR"), mean, std,
        scale.equals("0-255") ? 255f : 1f, fixedH, fixedW, s[0] > 0 ? (int) s[0] : 0, stride, kind, outputLayout);
  }

  private static float[] scaled(float[] v) {
    return new float[] {v[0] / 255f, v[1] / 255f, v[2] / 255f};
  }

  private static int numClasses(Path file, JsonNode side, OrtSession session, OnnxConventions conv) {
    int declared = side.path("numClasses").asInt(0);
    long fromGraph = -1;
    if (!conv.outputsClasses()) {
      try {
        long[] o = ((TensorInfo) session.getOutputInfo().get(conv.output()).getInfo()).getShape();
        fromGraph = conv.outputLayout().equals("NCHW") ? o[1] : o[3];
      } catch (OrtException e) {
        throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
      }
    }
    if (declared > 0 && fromGraph > 0 && declared != fromGraph) {
      throw new IllegalArgumentException(file + ": " + ModelMetadata.FILE_NAME + " declares " + declared
          + " classes but output '" + conv.output() + "' has " + fromGraph);
    }
    if (declared > 0) {
      return declared;
    }
    if (fromGraph > 0) {
      return (int) fromGraph;
    }
    throw new IllegalArgumentException(file + ": the number of classes cannot be read from output '"
        + conv.output() + "' (" + (conv.outputsClasses() ? "class ids" : "a dynamic class axis")
        + "); set numClasses in " + ModelMetadata.FILE_NAME + " beside the model");
  }

  /** One inference at the model's natural size: the graph must run and give the declared shape. */
  private void testInference() {
    int h = conv.fixedSize() ? conv.fixedHeight() : ceil(64, conv.stride());
    int w = conv.fixedSize() ? conv.fixedWidth() : ceil(64, conv.stride());
    probabilities(new byte[h * w * 3], 1, h, w);
  }

  /** ONNX models run as exported (float32 here): mixed precision is TensorFlow's rewrite, not ONNX Runtime's. */
  public static void checkPrecision(Precision precision) {
    if (precision != Precision.FP32) {
      throw new IllegalArgumentException("--precision=" + precision.name().toLowerCase(Locale.ROOT) + " is not"
          + " available for ONNX models, which ONNX Runtime runs as exported; use --precision=fp32 (or export the"
          + " model in the precision you want)");
    }
  }

  @Override
  public Path path() {
    return path;
  }

  @Override
  public ModelMetadata metadata() {
    return metadata;
  }

  @Override
  public String backend() {
    return "onnxruntime";
  }

  @Override
  public int numClasses() {
    return numClasses;
  }

  /** How many {@code session.run} calls may run at once (see {@link #calls}). */
  int admittedCalls() {
    return admittedCalls;
  }

  /** The settled conventions. */
  public OnnxConventions conventions() {
    return conv;
  }

  /** The input size the graph is fixed to, else the training crop the sidecar records. */
  @Override
  public int trainingCropSize() {
    return conv.fixedSize() && conv.fixedHeight() == conv.fixedWidth() ? conv.fixedHeight()
        : metadata.trainingCropSize();
  }

  @Override
  public float[] probabilities(byte[] rgb, int n, int h, int w) {
    float[] out = new float[n * h * w * numClasses];
    run(rgb, n, h, w, (image, scores, oh, ow, ih, iw) -> {
      int base = image * h * w * numClasses;
      if (fullResolution(oh, ow, ih, iw, h, w)) {
        // Straight from the output buffer into place: no transposed copy, no second array for the softmax.
        scores.probabilitiesInto(out, base, h, w, conv.outputKind().equals("logits"));
      } else {
        float[] full = toImageSize(softmaxed(scores.hwc()), oh, ow, ih, iw, h, w);
        System.arraycopy(full, 0, out, base, h * w * numClasses);
      }
    }, (image, classes, oh, ow, ih, iw) -> {
      byte[] labels = classesToImageSize(classes, oh, ow, ih, iw, h, w);
      int base = image * h * w * numClasses;
      for (int p = 0; p < labels.length; p++) {
        out[base + p * numClasses + (labels[p] & 0xff)] = 1f;
      }
    });
    return out;
  }

  @Override
  public byte[] labels(byte[] rgb, int n, int h, int w) {
    byte[] out = new byte[n * h * w];
    run(rgb, n, h, w, (image, scores, oh, ow, ih, iw) -> {
      if (fullResolution(oh, ow, ih, iw, h, w)) {
        // At full resolution the arg-max of logits is that of their softmax.
        scores.argMaxInto(out, image * h * w, h, w);
      } else {
        // Otherwise the probabilities are upsampled first, as everywhere else.
        byte[] labels = ProbabilityMaps.argMax(toImageSize(softmaxed(scores.hwc()), oh, ow, ih, iw, h, w), 0,
            h * w, numClasses);
        System.arraycopy(labels, 0, out, image * h * w, h * w);
      }
    }, (image, classes, oh, ow, ih, iw) -> System.arraycopy(classesToImageSize(classes, oh, ow, ih, iw, h, w), 0,
        out, image * h * w, h * w));
    return out;
  }

  /**
   * Labels and confidence straight from logits at full resolution ({@link Scores#labelsWithConfidenceInto}); other
   * outputs go through their probabilities as in {@link #probabilities}.
   */
  @Override
  public byte[] labelsWithConfidenceOf(Object batch, int n, int h, int w, List<Confidence.Accumulator> confidence) {
    if (!(batch instanceof byte[] rgb) || !conv.outputKind().equals("logits")) {
      return SegmentationModel.super.labelsWithConfidenceOf(batch, n, h, w, confidence);
    }
    byte[] out = new byte[n * h * w];
    run(rgb, n, h, w, (image, scores, oh, ow, ih, iw) -> {
      if (fullResolution(oh, ow, ih, iw, h, w)) {
        scores.labelsWithConfidenceInto(out, image * h * w, h, w, confidence.get(image));
      } else {
        float[] full = toImageSize(softmaxed(scores.hwc()), oh, ow, ih, iw, h, w);
        confidence.get(image).accept(full, 0, full.length);
        System.arraycopy(ProbabilityMaps.argMax(full, 0, h * w, numClasses), 0, out, image * h * w, h * w);
      }
    }, (image, classes, oh, ow, ih, iw) -> {
      byte[] labels = classesToImageSize(classes, oh, ow, ih, iw, h, w);
      System.arraycopy(labels, 0, out, image * h * w, h * w);
      // A model that outputs class ids is certain of each: top probability 1, entropy 0.
      for (int p = 0; p < labels.length; p++) {
        confidence.get(image).acceptLogitSums(1, 0);
      }
    });
    return out;
  }

  /** Whether an output of oh x ow for an input of ih x iw maps pixel for pixel onto the image's top-left h x w. */
  private boolean fullResolution(int oh, int ow, int ih, int iw, int h, int w) {
    return oh == ih && ow == iw && !resized(h, w);
  }

  @Override
  public LabelImage segment(RgbImage image) {
    return new LabelImage(image.width(), image.height(), labels(image.pixels(), 1, image.height(), image.width()));
  }

  /** Scores of one image, at output resolution oh x ow, for input of size ih x iw. */
  private interface ScoresSink {
    void accept(int image, Scores scores, int oh, int ow, int ih, int iw);
  }

  /** Class ids of one image [oh, ow], for input of size ih x iw. */
  private interface ClassesSink {
    void accept(int image, int[] classes, int oh, int ow, int ih, int iw);
  }

  /**
   * One image's scores read in place from the output tensor's buffer, in the layout the model wrote them
   * ({@code [C, oh, ow]} planes or {@code [oh, ow, C]}), so the common full-resolution cases cost one pass and no copy.
   */
  private record Scores(FloatBuffer buffer, int base, boolean planar, int c, int oh, int ow) {
    private int index(int y, int x, int k) {
      return planar ? base + (k * oh + y) * ow + x : base + (y * ow + x) * c + k;
    }

    /** The scores as an [oh, ow, C] array, for the paths that resample them. */
    float[] hwc() {
      float[] out = new float[oh * ow * c];
      if (planar) {
        for (int k = 0; k < c; k++) {
          int plane = base + k * oh * ow;
          for (int p = 0; p < oh * ow; p++) {
            out[p * c + k] = buffer.get(plane + p);
          }
        }
      } else {
        buffer.get(base, out);
      }
      return out;
    }

    /** Arg-max of the top-left h x w, written at {@code out[offset..]}; ties go to the lower class, as elsewhere. */
    void argMaxInto(byte[] out, int offset, int h, int w) {
      float[] best = new float[w];
      for (int y = 0; y < h; y++) {
        rowMaxInto(y, w, best, out, offset + y * w);
      }
    }

    /**
     * {@link #argMaxInto}, each pixel also fed to {@code confidence} through the two sums of {@link
     * Confidence.Accumulator#acceptLogitSums} over its logits: a pass of exponentials, no softmax written anywhere.
     */
    void labelsWithConfidenceInto(byte[] out, int offset, int h, int w, Confidence.Accumulator confidence) {
      float[] best = new float[w];
      double[] expSum = new double[w];
      double[] weightedExpSum = new double[w];
      for (int y = 0; y < h; y++) {
        rowMaxInto(y, w, best, out, offset + y * w);
        Arrays.fill(expSum, 0);
        Arrays.fill(weightedExpSum, 0);
        for (int k = 0; k < c; k++) {
          for (int x = 0; x < w; x++) {
            float d = buffer.get(index(y, x, k)) - best[x];
            double e = Math.exp(d);
            expSum[x] += e;
            weightedExpSum[x] += d * e;
          }
        }
        for (int x = 0; x < w; x++) {
          confidence.acceptLogitSums(expSum[x], weightedExpSum[x]);
        }
      }
    }

    /**
     * Row y's maximum score per pixel into {@code best[0..w)} and its class into {@code out[row..row+w)}. Planar
     * scores are read plane by plane within the row: every read is sequential and the running maximum stays in cache.
     */
    private void rowMaxInto(int y, int w, float[] best, byte[] out, int row) {
      if (planar) {
        int first = base + y * ow;
        for (int x = 0; x < w; x++) {
          best[x] = buffer.get(first + x);
          out[row + x] = 0;
        }
        for (int k = 1; k < c; k++) {
          int plane = base + (k * oh + y) * ow;
          for (int x = 0; x < w; x++) {
            float v = buffer.get(plane + x);
            if (v > best[x]) {
              best[x] = v;
              out[row + x] = (byte) k;
            }
          }
        }
        return;
      }
      for (int x = 0; x < w; x++) {
        int o = base + (y * ow + x) * c;
        int bestClass = 0;
        float bestScore = buffer.get(o);
        for (int k = 1; k < c; k++) {
          float v = buffer.get(o + k);
          if (v > bestScore) {
            bestScore = v;
            bestClass = k;
          }
        }
        best[x] = bestScore;
        out[row + x] = (byte) bestClass;
      }
    }

    /**
     * The top-left h x w as [h, w, C] probabilities at {@code out[offset..]}: a softmax when the scores are logits,
     * else a copy.
     */
    void probabilitiesInto(float[] out, int offset, int h, int w, boolean logits) {
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int o = offset + (y * w + x) * c;
          float max = Float.NEGATIVE_INFINITY;
          for (int k = 0; k < c; k++) {
            float v = buffer.get(index(y, x, k));
            out[o + k] = v;
            max = Math.max(max, v);
          }
          if (!logits) {
            continue;
          }
          float sum = 0;
          for (int k = 0; k < c; k++) {
            float e = (float) Math.exp(out[o + k] - max);
            out[o + k] = e;
            sum += e;
          }
          float inverse = 1f / sum;
          for (int k = 0; k < c; k++) {
            out[o + k] *= inverse;
          }
        }
      }
    }
  }

  private boolean resized(int h, int w) {
    return conv.fixedSize() && (h != conv.fixedHeight() || w != conv.fixedWidth());
  }

  /**
   * Feeds n images of h x w in batches the graph accepts and hands each image's output to a sink, while the output
   * tensor is still open.
   */
  private void run(byte[] rgb, int n, int h, int w, ScoresSink scores, ClassesSink classes) {
    if (rgb.length != n * h * w * 3) {
      throw new IllegalArgumentException(rgb.length + " bytes for " + n + " RGB images of " + w + "x" + h);
    }
    int ih = conv.fixedSize() ? conv.fixedHeight() : ceil(h, conv.stride());
    int iw = conv.fixedSize() ? conv.fixedWidth() : ceil(w, conv.stride());
    int chunk = conv.fixedBatch() > 0 ? conv.fixedBatch() : n;
    for (int first = 0; first < n; first += chunk) {
      int count = Math.min(chunk, n - first);
      int batch = conv.fixedBatch() > 0 ? conv.fixedBatch() : count;
      long[] shape = conv.nchw() ? new long[] {batch, 3, ih, iw} : new long[] {batch, ih, iw, 3};
      OnnxTensor x = null;
      OrtSession.Result result = null;
      try {
        ByteBuffer input = fill(rgb, first, count, batch, h, w, ih, iw);
        x = conv.uint8() ? OnnxTensor.createTensor(env, input, shape, OnnxJavaType.UINT8)
            : OnnxTensor.createTensor(env, input.asFloatBuffer(), shape);
        calls.acquireUninterruptibly();
        try {
          result = session.run(Map.of(conv.input(), x), Set.of(conv.output()));
        } finally {
          calls.release();
        }
        OnnxTensor y = (OnnxTensor) result.get(0);
        long[] ys = y.getInfo().getShape();
        if (ys[0] != batch) {
          throw new IllegalStateException("output " + Arrays.toString(ys) + " for a batch of " + batch);
        }
        if (conv.outputsClasses()) {
          int oh = (int) ys[1];
          int ow = (int) ys[2];
          int[] all = readInts(y, ys);
          for (int i = 0; i < count; i++) {
            classes.accept(first + i, Arrays.copyOfRange(all, i * oh * ow, (i + 1) * oh * ow), oh, ow, ih, iw);
          }
        } else {
          boolean nchwOut = conv.outputLayout().equals("NCHW");
          int c = (int) (nchwOut ? ys[1] : ys[3]);
          int oh = (int) (nchwOut ? ys[2] : ys[1]);
          int ow = (int) (nchwOut ? ys[3] : ys[2]);
          if (c != numClasses) {
            throw new IllegalStateException("output " + Arrays.toString(ys) + " has " + c + " classes, the"
                + " metadata " + numClasses);
          }
          FloatBuffer fb = y.getFloatBuffer();
          for (int i = 0; i < count; i++) {
            scores.accept(first + i, new Scores(fb, i * oh * ow * c, nchwOut, c, oh, ow), oh, ow, ih, iw);
          }
        }
      } catch (OrtException e) {
        throw new IllegalStateException("ONNX Runtime failed on a batch of " + count + " images of " + w + "x" + h
            + (ih != h || iw != w ? " (fed as " + iw + "x" + ih + ")" : "") + ": " + e.getMessage()
            + (conv.fixedSize() || conv.stride() > 1 ? "" : " (a model that needs sizes divisible by its stride"
            + " needs onnx.stride in " + ModelMetadata.FILE_NAME + ")"), e);
      } finally {
        if (result != null) {
          result.close();
        }
        if (x != null) {
          x.close();
        }
      }
    }
  }

  private static int ceil(int v, int stride) {
    return (v + stride - 1) / stride * stride;
  }

  /** Probabilities from logits (in place: callers pass a fresh array), or the scores as they are. */
  private float[] softmaxed(float[] scores) {
    if (!conv.outputKind().equals("logits")) {
      return scores;
    }
    float[] p = scores;
    int c = numClasses;
    for (int o = 0; o < p.length; o += c) {
      float max = Float.NEGATIVE_INFINITY;
      for (int k = 0; k < c; k++) {
        max = Math.max(max, p[o + k]);
      }
      float sum = 0;
      for (int k = 0; k < c; k++) {
        p[o + k] = (float) Math.exp(p[o + k] - max);
        sum += p[o + k];
      }
      for (int k = 0; k < c; k++) {
        p[o + k] /= sum;
      }
    }
    return p;
  }

  /** The top-left h x w of a map [.., ow, c]. */
  private static float[] crop(float[] map, int ow, int c, int h, int w) {
    if (ow == w && map.length == h * w * c) {
      return map;
    }
    float[] out = new float[h * w * c];
    for (int y = 0; y < h; y++) {
      System.arraycopy(map, y * ow * c, out, y * w * c, w * c);
    }
    return out;
  }

  /**
   * Scores for an input of ih x iw, at output resolution oh x ow, brought to the image's h x w: a resized input's
   * whole output is resized; a padded input's output is cut to the cells that cover the image, upsampled by the
   * model's output stride and cut to the image.
   */
  private float[] toImageSize(float[] scores, int oh, int ow, int ih, int iw, int h, int w) {
    int c = numClasses;
    if (resized(h, w)) {
      return ProbabilityMaps.resize(scores, oh, ow, c, h, w);
    }
    if (oh == ih && ow == iw) {
      return crop(scores, ow, c, h, w);
    }
    int vr = Math.min(oh, (int) Math.ceil((double) h * oh / ih));
    int vc = Math.min(ow, (int) Math.ceil((double) w * ow / iw));
    float[] valid = crop(scores, ow, c, vr, vc);
    int th = (int) Math.round((double) vr * ih / oh);
    int tw = (int) Math.round((double) vc * iw / ow);
    float[] up = ProbabilityMaps.resize(valid, vr, vc, c, Math.max(th, h), Math.max(tw, w));
    return crop(up, Math.max(tw, w), c, h, w);
  }

  /** Class ids brought to the image's size by the same rule, nearest neighbour. */
  private byte[] classesToImageSize(int[] classes, int oh, int ow, int ih, int iw, int h, int w) {
    byte[] out = new byte[h * w];
    boolean whole = resized(h, w);
    double sy = whole ? (double) oh / h : (double) oh / ih;
    double sx = whole ? (double) ow / w : (double) ow / iw;
    for (int y = 0; y < h; y++) {
      int yy = Math.min(oh - 1, (int) ((y + 0.5) * sy));
      for (int x = 0; x < w; x++) {
        int xx = Math.min(ow - 1, (int) ((x + 0.5) * sx));
        int v = classes[yy * ow + xx];
        if (v < 0 || v >= numClasses) {
          throw new IllegalStateException("the model returned class id " + v + " outside 0.." + (numClasses - 1));
        }
        out[y * w + x] = (byte) v;
      }
    }
    return out;
  }

  private static int[] readInts(OnnxTensor y, long[] shape) {
    int size = (int) (shape[0] * shape[1] * shape[2]);
    int[] out = new int[size];
    OnnxJavaType type = y.getInfo().type;
    if (type == OnnxJavaType.INT64) {
      LongBuffer b = y.getLongBuffer();
      for (int i = 0; i < size; i++) {
        out[i] = (int) b.get(i);
      }
    } else if (type == OnnxJavaType.INT32) {
      IntBuffer b = y.getIntBuffer();
      b.get(0, out);
    } else {
      ByteBuffer b = y.getByteBuffer();
      for (int i = 0; i < size; i++) {
        out[i] = type == OnnxJavaType.UINT8 ? b.get(i) & 0xff : b.get(i);
      }
    }
    return out;
  }

  /** Source pixels of image i at the model's input size (resized for a fixed-size model). */
  private byte[] source(byte[] rgb, int i, int h, int w) {
    byte[] img = Arrays.copyOfRange(rgb, i * h * w * 3, (i + 1) * h * w * 3);
    if (resized(h, w)) {
      return Resampler.resize(new RgbImage(w, h, img), conv.fixedWidth(), conv.fixedHeight()).pixels();
    }
    return img;
  }

  /**
   * The input batch as the model wants it: raw bytes for uint8 models, normalised floats otherwise, in its layout
   * and channel order. Unused rows, columns and batch slots stay zero: the mean pixel after normalisation.
   */
  private ByteBuffer fill(byte[] rgb, int first, int count, int batch, int h, int w, int ih, int iw) {
    int values = batch * 3 * ih * iw;
    ByteBuffer bytes = ByteBuffer.allocateDirect(conv.uint8() ? values : values * Float.BYTES)
        .order(ByteOrder.nativeOrder());
    FloatBuffer floats = conv.uint8() ? null : bytes.asFloatBuffer();
    int sh = resized(h, w) ? ih : h;
    int sw = resized(h, w) ? iw : w;
    for (int i = 0; i < count; i++) {
      byte[] src = source(rgb, first + i, h, w);
      for (int y = 0; y < sh; y++) {
        for (int x = 0; x < sw; x++) {
          int s = (y * sw + x) * 3;
          for (int c = 0; c < 3; c++) {
            byte v = src[s + (conv.bgr() ? 2 - c : c)];
            int at = conv.nchw() ? ((i * 3 + c) * ih + y) * iw + x : ((i * ih + y) * iw + x) * 3 + c;
            if (floats == null) {
              bytes.put(at, v);
            } else {
              floats.put(at, lut[c][v & 0xff]);
            }
          }
        }
      }
    }
    return bytes;
  }

  private static void closeQuietly(OrtSession session, OrtSession.SessionOptions options) {
    try {
      session.close();
    } catch (OrtException e) {
      LOG.warn("closing an ONNX Runtime session failed: {}", e.getMessage());
    }
    options.close();
  }

  @Override
  public void close() {
    closeQuietly(session, options);
  }
}
