package io.maskbeam.models.infer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/** How a model is stored, told from its path or its file names, without loading a runtime. */
public enum ModelFormat {
  /** A SavedModel folder with {@value ModelMetadata#FILE_NAME}, written by {@code maskbeam train}. */
  SAVED_MODEL,
  /** An ONNX model: a {@code .onnx} file, or a folder with {@value #ONNX_FILE} and optionally the metadata. */
  ONNX;

  /** The model file of an ONNX folder. */
  public static final String ONNX_FILE = "model.onnx";

  /** How summaries and metadata name the format: {@code savedmodel} or {@code onnx}. */
  public String label() {
    return this == ONNX ? "onnx" : "savedmodel";
  }

  /** Whether a path or URI names an ONNX file itself (not a folder). */
  public static boolean isOnnxFile(String pathOrUri) {
    return pathOrUri.toLowerCase(Locale.ROOT).endsWith(".onnx");
  }

  /** The format of a local model path. */
  public static ModelFormat of(Path path) {
    if (isOnnxFile(path.toString()) || Files.isRegularFile(path.resolve(ONNX_FILE))) {
      return ONNX;
    }
    return SAVED_MODEL;
  }

  /** The format of a model folder from the relative names of its files ("/" between folders). */
  public static ModelFormat ofFolder(Collection<String> names) {
    return names.contains(ONNX_FILE) ? ONNX : SAVED_MODEL;
  }

  /** What a folder of this format lacks, given the relative names of its files. */
  public List<String> missingFiles(Collection<String> names) {
    if (this == ONNX) {
      return names.contains(ONNX_FILE) ? List.of() : List.of(ONNX_FILE);
    }
    List<String> missing = new ArrayList<>();
    for (String required : List.of("saved_model.pb", ModelMetadata.FILE_NAME, "variables/variables.index")) {
      if (!names.contains(required)) {
        missing.add(required);
      }
    }
    // A SavedModel without variables loads, then fails every inference.
    if (names.stream().noneMatch(n -> n.startsWith("variables/variables.data-"))) {
      missing.add("variables/variables.data-*");
    }
    return missing;
  }
}
