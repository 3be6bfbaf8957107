package io.maskbeam.models.infer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;

/**
 * How an ONNX model wants its pixels and what it gives back: the {@code onnx} block of {@value
 * ModelMetadata#FILE_NAME}. What the sidecar leaves out is read from the graph where the graph says it (dtype,
 * layout when one axis is fixed at 3, a fixed input size, the class count of a static output) and otherwise takes
 * the defaults of MMSegmentation's and torchvision's exports: NCHW float32 RGB, ImageNet mean and std on the 0-255
 * scale, logits [N, C, H, W], dynamic sizes fed as they are (stride 1).
 *
 * @param input graph input name
 * @param output graph output name
 * @param layout {@code NCHW} or {@code NHWC} of the input
 * @param uint8 true for raw 8-bit pixels (the model normalises inside), false for float32 normalised here
 * @param bgr channel order of the input ({@code BGR} for OpenCV-trained models)
 * @param mean per input channel, on the {@code scale}
 * @param std per input channel, on the {@code scale}
 * @param scale 255 when mean and std are on the 0-255 scale, 1 when pixels are first divided by 255
 * @param fixedHeight the input height the graph is fixed to, or 0 when dynamic
 * @param fixedWidth the input width the graph is fixed to, or 0 when dynamic
 * @param fixedBatch the batch size the graph is fixed to, or 0 when dynamic
 * @param stride for dynamic sizes, inputs are padded (bottom and right) to a multiple of it
 * @param outputKind {@code logits}, {@code probabilities} ([N, C, H, W] or [N, H, W, C]) or {@code classes} ([N, H, W])
 * @param outputLayout {@code NCHW} or {@code NHWC} of a 4-d output
 */
public record OnnxConventions(String input, String output, String layout, boolean uint8, boolean bgr, float[] mean,
    float[] std, float scale, int fixedHeight, int fixedWidth, int fixedBatch, int stride, String outputKind,
    String outputLayout) {

  static final float[] IMAGENET_MEAN = {123.675f, 116.28f, 103.53f};
  static final float[] IMAGENET_STD = {58.395f, 57.12f, 57.375f};
  private static final ObjectMapper JSON = new ObjectMapper();

  public boolean nchw() {
    return layout.equals("NCHW");
  }

  public boolean fixedSize() {
    return fixedHeight > 0;
  }

  public boolean outputsClasses() {
    return outputKind.equals("classes");
  }

  /** The block as written back into the metadata: every setting explicit, so workers need not re-infer them. */
  public ObjectNode toJson() {
    ObjectNode n = JSON.createObjectNode();
    n.put("input", input).put("output", output).put("layout", layout).put("dtype", uint8 ? "uint8" : "float32")
        .put("channelOrder", bgr ? "BGR" : "RGB");
    if (!uint8) {
      ArrayNode m = n.putArray("mean");
      ArrayNode s = n.putArray("std");
      for (int c = 0; c < 3; c++) {
        m.add(mean[c]);
        s.add(std[c]);
      }
      n.put("scale", scale == 255f ? "0-255" : "0-1");
    }
    if (fixedSize()) {
      n.putArray("inputSize").add(fixedHeight).add(fixedWidth);
    } else {
      n.put("stride", stride);
    }
    if (fixedBatch > 0) {
      n.put("batch", fixedBatch);
    }
    n.put("outputKind", outputKind);
    if (!outputsClasses()) {
      n.put("outputLayout", outputLayout);
    }
    return n;
  }

  static String upper(JsonNode block, String field, String fallback, String... allowed) {
    String v = block.path(field).asText(fallback).toUpperCase(Locale.ROOT);
    for (String a : allowed) {
      if (a.equals(v)) {
        return v;
      }
    }
    throw new IllegalArgumentException("onnx." + field + " must be one of " + String.join(", ", allowed) + ", got "
        + block.path(field));
  }

  static float[] triple(JsonNode block, String field, float[] fallback) {
    JsonNode n = block.path(field);
    if (n.isMissingNode() || n.isNull()) {
      return fallback.clone();
    }
    if (!n.isArray() || n.size() != 3) {
      throw new IllegalArgumentException("onnx." + field + " must list 3 numbers (one per input channel), got " + n);
    }
    float[] out = new float[3];
    for (int c = 0; c < 3; c++) {
      if (!n.get(c).isNumber()) {
        throw new IllegalArgumentException("onnx." + field + " must list numbers, got " + n);
      }
      out[c] = (float) n.get(c).asDouble();
    }
    return out;
  }
}
