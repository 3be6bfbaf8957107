package io.maskbeam.pipelines.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.ImageLoader;
import io.maskbeam.image.InvalidImageException;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.models.infer.MaskRendering;
import io.maskbeam.models.infer.Npy;
import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.models.infer.Segmenter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Base64;
import java.util.List;

/**
 * What the endpoint answers for an image, in each form it speaks: the label mask as PNG (byte for byte what
 * {@code segment} writes), class statistics as JSON, probabilities as {@code .npy} or as SageMaker's RecordIO
 * protobuf, and Vertex AI's {@code {"predictions": [...]}} for {@code {"instances": [...]}} requests.
 */
final class Answers {
  static final String PNG = "image/png";
  static final String JSON = "application/json";
  static final String NPY = "application/x-npy";
  static final String RECORDIO_PROTOBUF = "application/x-recordio-protobuf";
  static final String PROTOBUF = "application/x-protobuf";
  /** What /invocations can answer, in the server's order of preference (the PNG mask first). */
  static final List<String> FOR_IMAGES = List.of(PNG, JSON, NPY, RECORDIO_PROTOBUF, PROTOBUF);
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final SegmentationModel model;
  private final Segmenter segmenter;
  private final ImageLoader loader;

  Answers(SegmentationModel model, Segmenter segmenter, ImageLoader loader) {
    this.model = model;
    this.segmenter = segmenter;
    this.loader = loader;
  }

  /** A client's mistake, answered with its status and message. */
  static final class BadRequest extends Exception {
    private static final long serialVersionUID = 1L;
    final int status;

    BadRequest(int status, String message) {
      super(message);
      this.status = status;
    }
  }

  /** Decodes an image body as every stage does (header limits, EXIF orientation). */
  RgbImage decode(byte[] body, String what) throws BadRequest {
    try {
      return loader.load(body).image();
    } catch (InvalidImageException e) {
      throw new BadRequest(e.kind() == InvalidImageException.Kind.TOO_MANY_PIXELS ? 413 : 400,
          what + io.maskbeam.core.FailureReason.of(e.kind(), io.maskbeam.core.FailureReason.Part.IMAGE).name() + ": "
              + e.getMessage());
    }
  }

  /** The answer to an image in one of {@link #FOR_IMAGES}. */
  byte[] forImage(RgbImage image, String type) throws IOException, BadRequest {
    int w = image.width();
    int h = image.height();
    int c = model.numClasses();
    if (type.equals(NPY) || type.equals(RECORDIO_PROTOBUF) || type.equals(PROTOBUF)) {
      // Refused before inference: an answer that cannot be built (a Java array, a RecordIO record) is a 413.
      long bytes = 4L * w * h * c;
      long limit = type.equals(NPY) ? Integer.MAX_VALUE - 1024 : SageMakerRecords.MAX_PROBABILITY_BYTES;
      if (bytes > limit) {
        throw new BadRequest(413, String.format(java.util.Locale.ROOT, "probabilities of a %dx%d image with %d"
            + " classes take %d MB, over the %d MB this answer can hold; send a smaller image or ask for image/png",
            w, h, c, bytes >> 20, limit >> 20));
      }
    }
    switch (type) {
      case NPY -> {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(Npy.float32Header(h, w, c));
        segmenter.segment(image, false, Npy.sink(out));
        return out.toByteArray();
      }
      case RECORDIO_PROTOBUF, PROTOBUF -> {
        // The segmenter streams [h, w, c] in order; each value goes straight to its [c, h, w] place.
        float[] chw = new float[w * h * c];
        int plane = w * h;
        long[] filled = {0};
        segmenter.segment(image, false, (data, offset, count) -> {
          for (int i = 0; i < count; i++) {
            long g = filled[0] + i;
            chw[(int) (g % c) * plane + (int) (g / c)] = data[offset + i];
          }
          filled[0] += count;
        });
        return SageMakerRecords.probabilities(chw, h, w, c);
      }
      case JSON -> {
        return MAPPER.writeValueAsBytes(stats(mask(image)));
      }
      default -> {
        return ImageCodec.encodePng(mask(image));
      }
    }
  }

  LabelImage mask(RgbImage image) {
    return segmenter.segment(image, false, null).labels();
  }

  /** Per-class pixel counts and fractions of a mask, keyed by class name. */
  ObjectNode stats(LabelImage labels) {
    long[] counts = MaskRendering.classPixels(labels, model.numClasses());
    long pixels = (long) labels.width() * labels.height();
    ObjectNode node = MAPPER.createObjectNode();
    node.put("width", labels.width());
    node.put("height", labels.height());
    node.put("pixels", pixels);
    ObjectNode counted = node.putObject("classPixels");
    ObjectNode fractions = node.putObject("classFractions");
    List<LabelClass> classes = model.classes();
    for (int k = 0; k < counts.length; k++) {
      counted.put(classes.get(k).name(), counts[k]);
      fractions.put(classes.get(k).name(), (double) counts[k] / pixels);
    }
    return node;
  }

  /**
   * Vertex AI's prediction request: {@code {"instances": [image, ...], "parameters": {...}}} where an image is
   * {@code {"b64": ...}}, {@code {"image": {"b64": ...}}}, {@code {"image_bytes": {"b64": ...}}} or
   * {@code {"content": base64}}. Each prediction holds the mask as base64 PNG and the class statistics; with
   * {@code "parameters": {"colorMask": true}} also the colour mask. A malformed instance is a 400 naming it.
   */
  byte[] predictions(byte[] body) throws BadRequest, IOException {
    JsonNode request;
    try {
      request = MAPPER.readTree(body);
    } catch (IOException e) {
      throw new BadRequest(400, "the body is not JSON: " + e.getMessage().lines().findFirst().orElse(""));
    }
    if (request == null || !request.path("instances").isArray() || request.path("instances").isEmpty()) {
      throw new BadRequest(400, "a JSON request needs \"instances\": a non-empty array of images such as"
          + " {\"b64\": \"<base64 image>\"}");
    }
    JsonNode parameters = request.path("parameters");
    boolean colour = parameters.path("colorMask").asBoolean(false);
    ArrayNode predictions = MAPPER.createArrayNode();
    int index = 0;
    for (JsonNode instance : request.path("instances")) {
      String where = "instances[" + index++ + "]: ";
      RgbImage image = decode(imageBytes(instance, where), where);
      LabelImage labels = mask(image);
      ObjectNode p = stats(labels);
      p.putObject("mask").put("b64", Base64.getEncoder().encodeToString(ImageCodec.encodePng(labels)));
      if (colour) {
        p.putObject("colorMask").put("b64", Base64.getEncoder().encodeToString(
            ImageCodec.encodePng(MaskRendering.colorize(labels, model.classes()))));
      }
      predictions.add(p);
    }
    ObjectNode answer = MAPPER.createObjectNode();
    answer.set("predictions", predictions);
    return MAPPER.writeValueAsBytes(answer);
  }

  private static byte[] imageBytes(JsonNode instance, String where) throws BadRequest {
    JsonNode b64 = instance.get("b64");
    if (b64 == null && instance.has("image")) {
      b64 = instance.get("image").get("b64");
    }
    if (b64 == null && instance.has("image_bytes")) {
      b64 = instance.get("image_bytes").get("b64");
    }
    if (b64 == null && instance.has("content")) {
      b64 = instance.get("content");
    }
    if (b64 == null || !b64.isTextual()) {
      throw new BadRequest(400, where + "no image: give {\"b64\": \"<base64 image>\"} (or \"image\": {\"b64\"},"
          + " \"image_bytes\": {\"b64\"}, \"content\")");
    }
    try {
      return Base64.getDecoder().decode(b64.asText().replaceAll("\\s", ""));
    } catch (IllegalArgumentException e) {
      throw new BadRequest(400, where + "b64 is not base64: " + e.getMessage());
    }
  }
}
