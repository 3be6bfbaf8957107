package io.maskbeam.pipelines.templates;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.pipelines.cli.OptionsCommand;
import io.maskbeam.pipelines.evaluate.EvaluateOptions;
import io.maskbeam.pipelines.preprocess.PreprocessOptions;
import io.maskbeam.pipelines.segment.SegmentOptions;
import io.maskbeam.pipelines.train.TrainOptions;
import java.lang.reflect.Method;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.Validation;

/**
 * Dataflow Flex Template {@code metadata.json} generated from a pipeline's {@code PipelineOptions} interface, so the
 * template's parameters can never drift from the flags the pipeline parses: names, labels, help text (the
 * {@code @Description}), optional flags ({@code @Validation.Required}) and regexes by type.
 * {@code templates/dataflow/<pipeline>/metadata.json} are its output, kept equal by a test.
 */
public final class FlexTemplateMetadata {
  /** The pipelines that have templates, with their options and descriptions. */
  public static final Map<String, Class<? extends PipelineOptions>> PIPELINES = new LinkedHashMap<>();
  private static final Map<String, String> DESCRIPTIONS = new LinkedHashMap<>();

  static {
    register("preprocess", PreprocessOptions.class, "Images and masks (gs://, s3://) to sharded DeepLab TFRecords,"
        + " dataset.json statistics and a rejected/ dead-letter output.");
    register("train", TrainOptions.class, "Trains a segmentation network (U-Net, DeepLab v3+, FCN, PSPNet) on"
        + " preprocessed shards and exports a SavedModel with metadata; parallel trials with accelerator hints.");
    register("segment", SegmentOptions.class, "Bulk segmentation of an image collection with a trained model: masks,"
        + " colour masks, overlays, per-image stats, summary and errors/, incremental on a schedule.");
    register("evaluate", EvaluateOptions.class, "Scores a model or existing predictions against ground truth:"
        + " metrics.json, plots and an HTML report.");
  }

  private FlexTemplateMetadata() {}

  private static void register(String name, Class<? extends PipelineOptions> options, String description) {
    PIPELINES.put(name, options);
    DESCRIPTIONS.put(name, description);
  }

  public static String json(String pipeline) {
    Class<? extends PipelineOptions> options = PIPELINES.get(pipeline);
    if (options == null) {
      throw new IllegalArgumentException("no template for '" + pipeline + "'; one of " + PIPELINES.keySet());
    }
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = mapper.createObjectNode();
    root.put("name", "Maskbeam " + pipeline);
    root.put("description", DESCRIPTIONS.get(pipeline));
    ArrayNode parameters = root.putArray("parameters");
    for (Method getter : OptionsCommand.getters(options)) {
      String name = OptionsCommand.propertyName(getter);
      ObjectNode p = parameters.addObject();
      p.put("name", name);
      p.put("label", label(name));
      Description d = getter.getAnnotation(Description.class);
      String def = OptionsCommand.defaultValue(getter);
      p.put("helpText", (d == null ? name : d.value()) + (def != null ? " Default: " + def + "." : ""));
      p.put("isOptional", getter.getAnnotation(Validation.Required.class) == null);
      String regex = regex(getter.getReturnType(), name);
      if (regex != null) {
        p.putArray("regexes").add(regex);
      }
    }
    try {
      return mapper.writeValueAsString(root) + "\n";
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** "maxBatchSize" to "Max batch size". */
  static String label(String name) {
    String spaced = name.replaceAll("([a-z0-9])([A-Z])", "$1 $2").toLowerCase(java.util.Locale.ROOT);
    return Character.toUpperCase(spaced.charAt(0)) + spaced.substring(1);
  }

  static String regex(Class<?> type, String name) {
    if (type == Integer.class || type == Long.class) {
      return "^-?[0-9]+$";
    }
    if (type == Double.class || type == Float.class) {
      return "^-?[0-9]+(\\.[0-9]+)?([eE]-?[0-9]+)?$";
    }
    if (type == Boolean.class) {
      return "^(true|false)$";
    }
    if (name.equals("output") || name.equals("model") || name.equals("data")) {
      // Template jobs read and write object storage (a local path would be on a worker's disk).
      return "^(gs|s3)://.+$";
    }
    return null;
  }
}
