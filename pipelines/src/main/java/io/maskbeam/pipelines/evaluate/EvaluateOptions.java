package io.maskbeam.pipelines.evaluate;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import io.maskbeam.pipelines.cli.LaunchOptions;
import org.apache.beam.sdk.options.Validation;

/** Options of {@code maskbeam evaluate}: the single definition of its flags. */
public interface EvaluateOptions extends LaunchOptions, io.maskbeam.pipelines.cli.PrecisionOptions {
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

  @Description("Ground truth as annotations (with --model): a COCO JSON file (--layout=coco; images resolve against"
      + " --images, else the JSON's folder), a folder or glob of LabelMe files (labelme), a CVAT XML file (cvat) or"
      + " Vertex AI JSON Lines (vertex), drawn into masks as preprocess draws them.")
  String getAnnotations();

  void setAnnotations(String value);

  @Description("With --annotations: coco, labelme, cvat or vertex (by default a .json file is read as COCO, .xml as"
      + " CVAT, .jsonl as Vertex AI's, a folder or glob as LabelMe files).")
  @Default.String("paired")
  String getLayout();

  void setLayout(String value);

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

  @Description("Metrics per slice as well as overall: path:REGEX (named groups of a regular expression found in each"
      + " example's image path, e.g. 'path:(?<city>[a-z]+)_\\d+\\.png') or field:NAME (a field of --sliceMetadata)."
      + " Examples that match nothing form the slice '(none)', so slices add up to the whole.")
  String getSliceBy();

  void setSliceBy(String value);

  @Description("With --sliceBy=field:NAME: JSON Lines with \"id\" or \"image\" (or SageMaker's \"source-ref\") and the"
      + " field per image; a manifest works as it is.")
  String getSliceMetadata();

  void setSliceMetadata(String value);

  @Description("A second model (e.g. the one in production) scored in the same job on the same examples: deltas per"
      + " metric, class and slice, and a paired bootstrap interval of the mIoU difference.")
  String getBaselineModel();

  void setBaselineModel(String value);

  @Description("Quality gate, rules separated by ';': meanIou>=0.55;meanIou.delta>=-0.01;class.Pedestrian.iou>=0.3;"
      + "slice.*.meanIou.delta>=-0.03. Writes blessing.json; exit code 3 when a rule fails (not blessed).")
  String getThresholds();

  void setThresholds(String value);

  @Description("Resamples of the paired bootstrap of the mIoU difference (with --baselineModel).")
  @Default.Integer(1000)
  Integer getBootstrapSamples();

  void setBootstrapSamples(Integer value);

  @Description("Seed of the paired bootstrap: the same seed and data give the same interval.")
  @Default.Long(7)
  Long getBootstrapSeed();

  void setBootstrapSeed(Long value);

  @Description("Accelerator resource hint for the scoring step, as for segment.")
  String getAcceleratorType();

  void setAcceleratorType(String value);
}
