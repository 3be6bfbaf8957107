package io.maskbeam.models.infer;

import io.maskbeam.labels.LabelClass;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A loaded segmentation model, whatever its format: one instance per JVM, safe to call from several threads, closed
 * once. Every stage (segment, evaluate, serve, the benches) sees models only through this interface, so batching,
 * tiling, test-time augmentation, outputs and dead letters are the same for a SavedModel written by
 * {@code maskbeam train} ({@link TensorFlowModel}) and for an ONNX export ({@link OnnxModel}).
 */
public interface SegmentationModel extends ProbabilityModel, AutoCloseable {
  /** Where the model was loaded from (a folder or an {@code .onnx} file). */
  Path path();

  /** Classes, colours, ignore value and, for ONNX models, the input and output conventions. */
  ModelMetadata metadata();

  /** The runtime that runs the model: {@code tensorflow} or {@code onnxruntime}. */
  String backend();

  /** The arithmetic the model's session runs in. */
  default Precision precision() {
    return Precision.FP32;
  }

  default int ignoreValue() {
    return metadata().ignoreValue();
  }

  default List<LabelClass> classes() {
    return metadata().classes();
  }

  /** The input size the model was trained on or is fixed to (its natural input size), or 0 when unknown. */
  default int trainingCropSize() {
    return metadata().trainingCropSize();
  }

  @Override
  void close();

  /** {@link #load(Path, int)} with every core per call. */
  static SegmentationModel load(Path path) throws IOException {
    return load(path, 0);
  }

  /**
   * Loads a local model: a SavedModel folder written by {@code maskbeam train}, an ONNX folder ({@value
   * ModelFormat#ONNX_FILE} with an optional {@value ModelMetadata#FILE_NAME}) or a bare {@code .onnx} file.
   *
   * @param threads threads per call (0: the runtime's default, every core)
   * @throws IllegalArgumentException when the model is missing, incomplete or unusable, saying why
   */
  static SegmentationModel load(Path path, int threads) throws IOException {
    return load(path, threads, Precision.FP32);
  }

  /**
   * {@link #load(Path, int)} in a precision. ONNX models run as exported: another precision than fp32 is
   * refused for them rather than silently ignored.
   */
  static SegmentationModel load(Path path, int threads, Precision precision) throws IOException {
    if (ModelFormat.of(path) == ModelFormat.ONNX) {
      OnnxModel.checkPrecision(precision);
      return OnnxModel.load(path, threads);
    }
    return TensorFlowModel.load(path, threads, precision);
  }
}
