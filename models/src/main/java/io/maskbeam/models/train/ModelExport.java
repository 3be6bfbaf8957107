package io.maskbeam.models.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.models.infer.ModelMetadata;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.BiConsumer;

/**
 * Writes a trained model: the SavedModel of the graph's current weights and {@value ModelMetadata#FILE_NAME} (classes,
 * colours, ignore value, normalisation, stride, the training configuration and its validation metrics). The folder
 * is filled beside its place and moved into it, so a model folder is always complete.
 */
final class ModelExport {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ModelExport() {}

  /**
   * @param datasetInfo the dataset's classes and source
   * @param settings the training settings to record
   * @param validation writes the validation metrics into a node
   */
  static void export(SegmentationGraph graph, Path modelDir, TrainConfig config, ObjectNode datasetInfo,
      ObjectNode settings, BiConsumer<ObjectNode, ObjectNode> validation, int epoch, long step) throws IOException {
    Path staging = modelDir.resolveSibling(modelDir.getFileName() + ".staging");
    Trainer.deleteTree(staging);
    graph.export(staging);
    ObjectNode meta = JSON.createObjectNode();
    meta.put("format", "maskbeam-model/1");
    meta.put("signature", SegmentationGraph.SERVING_KEY);
    ObjectNode io = meta.putObject("io");
    TrainConfig.InputSpec input = config.input();
    io.put("input", input.rawBands()
        ? "images: float32 [N, H, W, " + input.channels() + "] raw " + input.dtype() + " samples of bands "
            + java.util.Arrays.toString(input.sourceBands()) + " (NaN: no data), any H and W"
        : "images: uint8 [N, H, W, 3] RGB, any H and W");
    io.put("classes", "int32 [N, H, W]");
    io.put("probabilities", "float32 [N, H, W, numClasses]");
    meta.put("numClasses", config.numClasses());
    meta.put("ignoreValue", config.ignoreValue());
    meta.set("classes", datasetInfo.path("classes"));
    ObjectNode norm = meta.putObject("normalization");
    ArrayNode mean = norm.putArray("mean");
    ArrayNode std = norm.putArray("std");
    if (input.rawBands()) {
      for (int i = 0; i < input.channels(); i++) {
        mean.add(input.mean()[i]);
        std.add(input.std()[i]);
      }
      norm.put("scale", "(x - mean) / std per band, NaN to 0, inside the graph");
    } else {
      for (int i = 0; i < 3; i++) {
        mean.add(SegmentationGraph.MEAN[i]);
        std.add(SegmentationGraph.STD[i]);
      }
      norm.put("scale", "x / 255, then (x - mean) / std, inside the graph");
    }
    meta.put("stride", graph.network().stride());
    ObjectNode training = meta.putObject("training");
    training.put("network", graph.network().describe());
    training.put("parameters", graph.parameterCount());
    training.set("config", JSON.valueToTree(config));
    training.set("settings", settings);
    training.put("epoch", epoch);
    training.put("step", step);
    training.set("dataset", datasetInfo.path("source"));
    validation.accept(meta.putObject("validation"), datasetInfo);
    JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValue(
        staging.resolve(ModelMetadata.FILE_NAME).toFile(), meta);
    Trainer.deleteTree(modelDir);
    Files.move(staging, modelDir);
  }
}
