package io.maskbeam.pipelines.preprocess;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import io.maskbeam.pipelines.cli.LaunchOptions;
import org.apache.beam.sdk.options.Validation;

/**
 * Options of {@code maskbeam preprocess}. This interface is the single definition of the command's flags: the
 * command line's help, Beam's parser and the Flex Template metadata all read it.
 */
public interface PreprocessOptions extends LaunchOptions {
  @Description("Dataset layout: paired, cityscapes, voc, pets, manifest (mask files), or coco, labelme, cvat,"
      + " cityscapes-polygons, vertex (annotations drawn into masks: polygons, boxes, circles, ellipses, RLE).")
  @Default.String("paired")
  String getLayout();

  void setLayout(String value);

  @Description("paired: folder or glob of images (local, gs:// or s3://). coco, cvat: the folder the images'"
      + " names resolve against (default: coco the JSON's folder, cvat images/ beside the XML).")
  String getImages();

  void setImages(String value);

  @Description("paired: folder or glob of masks, matched to images by file stem.")
  String getMasks();

  void setMasks(String value);

  @Description("cityscapes, cityscapes-polygons, voc, pets: the dataset's root folder. paired without"
      + " --images/--masks: a folder with"
      + " SageMaker's channels train/, train_annotation/, validation/, validation_annotation/.")
  String getRoot();

  void setRoot(String value);

  @Description("manifest: JSON Lines file of {\"image\": uri, \"mask\": uri} (relative URIs resolve against its folder).")
  String getManifest();

  void setManifest(String value);

  @Description("coco: the COCO JSON file (instances or stuff: polygons, RLE, compressed RLE). labelme: a folder or"
      + " glob of LabelMe JSON files, one per image. cvat: CVAT for images 1.1 XML (images under --images, default"
      + " images/ beside it). vertex: Vertex AI image segmentation JSON Lines (masks with annotationSpecColors, or"
      + " polygons). cityscapes-polygons reads --root instead. Categories become classes by name (case, spaces, _ and -"
      + " ignored), else by category id as a raw value; pixels no shape covers are the class named background,"
      + " else raw value 0's class, else ignored. Overlaps: COCO paints smaller regions on top, the others the later"
      + " shape (CVAT by z_order first). A pixel is inside a polygon when its centre is (even-odd rule, so rings inside rings are holes).")
  String getAnnotations();

  void setAnnotations(String value);

  @Description("Label map: a preset (cityscapes-8, cityscapes-19, voc, pets-trimap, camvid-11), a JSON file path"
      + " or inline JSON ({\"scale\": k} or {\"map\": {class: raw}} as SageMaker's, {\"values\": {raw: class}},"
      + " \"classes\", \"colors\", \"ignoreValue\").")
  @Validation.Required
  String getLabelMap();

  void setLabelMap(String value);

  @Description("Output folder for <split>-NNNNN-of-MMMMM.tfrecord shards, dataset.json and rejected/.")
  @Validation.Required
  String getOutput();

  void setOutput(String value);

  @Description("Replace an existing dataset in --output (its shards, dataset.json and rejected/ are deleted first).")
  @Default.Boolean(false)
  Boolean getOverwrite();

  void setOverwrite(Boolean value);

  @Description("Mask values (or colours) the label map does not cover: 'ignore' writes them as the ignore value,"
      + " 'reject' rejects the pair. Counted either way.")
  @Default.String("ignore")
  String getUnknownLabels();

  void setUnknownLabels(String value);

  @Description("Resize: keep, WIDTHxHEIGHT, shorter:N or longer:N. Images resample smoothly, masks by nearest"
      + " neighbour.")
  @Default.String("keep")
  String getResize();

  void setResize(String value);

  @Description("Fraction of examples hashed into the val split (when the layout has no split lists of its own).")
  @Default.Double(0.1)
  Double getValidationFraction();

  void setValidationFraction(Double value);

  @Description("Seed of the stable split hash; change it to draw a different train/val split.")
  @Default.String("maskbeam")
  String getSplitSeed();

  void setSplitSeed(String value);

  @Description("Use the layout's own splits (cityscapes folders, voc lists, a manifest's \"split\") when present.")
  @Default.Boolean(true)
  Boolean getUseLayoutSplits();

  void setUseLayoutSplits(Boolean value);

  @Description("Shards per split; 0 derives the count from the data size and --shardSizeMb.")
  @Default.Integer(0)
  Integer getNumShards();

  void setNumShards(Integer value);

  @Description("Target shard size in MB when --numShards=0.")
  @Default.Integer(128)
  Integer getShardSizeMb();

  void setShardSizeMb(Integer value);

  @Description("Shard compression: none or gzip (files end in .tfrecord.gz; read with compression_type='GZIP').")
  @Default.String("none")
  String getCompression();

  void setCompression(String value);

  @Description("Groups the decode/encode work is spread over; 0 = 4 per DirectRunner thread, 1024 on distributed"
      + " runners.")
  @Default.Integer(0)
  Integer getParallelism();

  void setParallelism(Integer value);

  @Description("Largest accepted image, in pixels, checked from the header before decoding.")
  @Default.Long(100_000_000L)
  Long getMaxPixels();

  void setMaxPixels(Long value);

  @Description("JPEG quality for images re-encoded after resizing or conversion.")
  @Default.Integer(95)
  Integer getJpegQuality();

  void setJpegQuality(Integer value);

  @Description("Rasters (multi-band, 16-bit, float or georeferenced TIFFs): the bands kept, in order, 1-based as GDAL"
      + " numbers them, such as 1,2,3,8. Default: every band. Examples keep the raw samples in the raster's type"
      + " (image/format raw, see dataset.json); setting it sends every TIFF the raster way.")
  String getBands();

  void setBands(String value);

  @Description("Rasters: the sample value meaning 'no data' (a number or nan), overriding the file's GDAL_NODATA."
      + " Such pixels become the ignore value in the labels.")
  String getNodata();

  void setNodata(String value);

  @Description("Rasters: cut into square training chips of this many pixels (0: one example per raster). Chips"
      + " without a pixel of data are dropped and counted.")
  @Default.Integer(0)
  Integer getChipSize();

  void setChipSize(Integer value);

  @Description("Rasters: pixels shared by neighbouring chips (less than --chipSize).")
  @Default.Integer(0)
  Integer getChipOverlap();

  void setChipOverlap(Integer value);

  @Description("Rasters cut into chips: pixel rows per unit of work (whole rows of chips, at least one). A raster's"
      + " units are spread over workers, and a worker holds one unit's examples at a time.")
  @Default.Integer(4096)
  Integer getRasterStripeRows();

  void setRasterStripeRows(Integer value);
}
