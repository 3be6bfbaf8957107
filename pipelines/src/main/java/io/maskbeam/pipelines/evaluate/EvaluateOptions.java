package io.maskbeam.pipelines.evaluate;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import io.maskbeam.pipelines.cli.LaunchOptions;
import org.apache.beam.sdk.options.Validation;

/** Options of {@code maskbeam evaluate}: the single definition of its flags. */
public interface EvaluateOptions extends LaunchOptions {
  @Description("Model: a folder written by 'maskbeam train', an ONNX folder (model.onnx + maskbeam-model.json) or an"
      + " .onnx file (local, gs:// or s3://): its predictions are evaluated.")
  String getModel();

  void setModel(String value);

  @Description("Existing predictions instead of a model: a folder or glob of label PNGs (class ids, e.g. segment's"
      + " masks/), matched to the ground truth by file stem.")
  String getPredictions();

  void setPredictions(String value);

  @Description("Ground truth as preprocessed shards: a folder written by 'maskbeam preprocess' (with --model).")
  String getData();

  void setData(String value);

  @Description("Which split of --data to evaluate.")
  @Default.String("val")
  String getSplit();

  void setSplit(String value);

  @Description("Ground truth as mask files: a folder or glob of label masks, read with --labelMap.")
  String getMasks();

  void setMasks(String value);

  @Description("With --masks and --model: the images to segment, a folder or glob matched to masks by file stem.")
  String getImages();

  void setImages(String value);

  @Description("With --masks: the label map of the ground-truth masks (preset, JSON file or inline JSON), as for"
      + " preprocess. Default: the model's classes, masks holding class ids.")
  String getLabelMap();

  void setLabelMap(String value);

  @Description("Output folder for metrics.json, report.html, the plots, examples/, per-image/ and errors/.")
  @Validation.Required
  String getOutput();

  void setOutput(String value);

  @Description("Best and worst examples shown in the report (each).")
  @Default.Integer(4)
  Integer getExamples();

  void setExamples(Integer value);

  @Description("Images larger than this run in overlapping tiles (as in segment).")
  @Default.Integer(1024)
  Integer getTileSize();

  void setTileSize(Integer value);

  @Description("Overlap of neighbouring tiles in pixels.")
  @Default.Integer(128)
  Integer getTileOverlap();

  void setTileOverlap(Integer value);

  @Description("Accelerator resource hint for the scoring step, as for segment.")
  String getAcceleratorType();

  void setAcceleratorType(String value);
}
