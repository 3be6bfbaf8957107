package io.maskbeam.models.infer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.maskbeam.labels.LabelClass;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code maskbeam-model.json} says about a model: its classes (names, colours), the ignore value of its
 * training data, the crop it was trained on and its stride; for an ONNX model also its input and output
 * conventions ({@link OnnxConventions}), completed from the graph when the model is first inspected. Read without TensorFlow, so a launcher can check a model
 * and name its classes without loading it.
 */
public final class ModelMetadata implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final String FILE_NAME = "maskbeam-model.json";

  /** The message for a folder that lacks {@code missing} files. */
  public static String incompleteMessage(String folder, java.util.List<String> missing) {
    return "model " + folder + " is not a complete model folder written by 'maskbeam train' (nor an ONNX folder"
        + " with " + ModelFormat.ONNX_FILE + ", nor an .onnx file): missing " + String.join(", ", missing);
  }

  private final String json;
  private transient JsonNode tree;

  private ModelMetadata(String json, JsonNode tree) {
    this.json = json;
    this.tree = tree;
  }

  /**
   * Parses and checks a metadata document.
   *
   * @param where names the file in messages
   * @throws IllegalArgumentException naming what is missing or wrong
   */
  public static ModelMetadata parse(String json, String where) {
    JsonNode tree;
    try {
      tree = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(where + " is not JSON: " + e.getOriginalMessage());
    }
    if (tree == null || !tree.isObject()) {
      throw new IllegalArgumentException(where + " is not a JSON object");
    }
    int n = tree.path("numClasses").asInt(0);
    if (n < 2 || n > 256) {
      throw new IllegalArgumentException(where + " declares no usable numClasses (2..256), got "
          + tree.path("numClasses"));
    }
    JsonNode classes = tree.path("classes");
    if (classes.isArray() && classes.size() != 0 && classes.size() != n) {
      throw new IllegalArgumentException(where + " lists " + classes.size() + " classes but numClasses is " + n);
    }
    for (JsonNode c : classes) {
      String hex = c.path("color").asText("#808080").replace("#", "");
      if (!hex.matches("[0-9a-fA-F]{6}")) {
        throw new IllegalArgumentException(where + ": class colour " + c.path("color") + " is not #rrggbb");
      }
    }
    return new ModelMetadata(json, tree);
  }

  private JsonNode tree() {
    if (tree == null) {
      tree = parse(json, FILE_NAME).tree;
    }
    return tree;
  }

  /** The document as a tree (a copy: callers may change it). */
  public JsonNode toTree() {
    return tree().deepCopy();
  }

  public String json() {
    return json;
  }

  public int numClasses() {
    return tree().path("numClasses").asInt();
  }

  public int ignoreValue() {
    return tree().path("ignoreValue").asInt(255);
  }

  /** Class ids, names and colours, in id order (names class_K and grey when the document gives none). */
  public List<LabelClass> classes() {
    List<LabelClass> list = new ArrayList<>();
    for (int c = 0; c < numClasses(); c++) {
      JsonNode node = tree().path("classes").path(c);
      String hex = node.path("color").asText("#808080").replace("#", "");
      list.add(new LabelClass(c, node.path("name").asText("class_" + c), Integer.parseInt(hex, 16)));
    }
    return List.copyOf(list);
  }

  /** The square crop the model was trained on (its natural input size), or 0 when the metadata does not say. */
  public int trainingCropSize() {
    return tree().path("training").path("settings").path("cropSize").asInt(0);
  }

  /** {@code onnx} for ONNX models, {@code savedmodel} (the default) for models written by {@code maskbeam train}. */
  public String format() {
    return tree().path("format").asText("savedmodel");
  }

  /** The {@code onnx} block: how an ONNX model's input and output are laid out (empty for SavedModels). */
  public JsonNode onnx() {
    return tree().path("onnx").deepCopy();
  }

  /**
   * What a model trained on raw bands takes ({@code training.config.input}), or null for an RGB model (every ONNX
   * model and every model trained on photos).
   */
  public io.maskbeam.models.train.TrainConfig.InputSpec rawBands() {
    JsonNode in = tree().path("training").path("config").path("input");
    if (!in.path("mean").isArray() || in.path("mean").isEmpty()) {
      return null;
    }
    int channels = in.path("channels").asInt();
    float[] mean = new float[channels];
    float[] std = new float[channels];
    int[] bands = new int[channels];
    for (int c = 0; c < channels; c++) {
      mean[c] = (float) in.path("mean").path(c).asDouble();
      std[c] = (float) in.path("std").path(c).asDouble();
      bands[c] = in.path("sourceBands").path(c).asInt(c + 1);
    }
    return new io.maskbeam.models.train.TrainConfig.InputSpec(channels, in.path("dtype").asText("float32"), bands,
        mean, std);
  }

  /** The network's total stride (inputs are padded to multiples of it inside the graph), or 0 if unknown. */
  public int stride() {
    return tree().path("stride").asInt(0);
  }
}
