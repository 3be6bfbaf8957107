package io.maskbeam.pipelines.segment;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import io.maskbeam.pipelines.cli.LaunchOptions;
import org.apache.beam.sdk.options.Validation;

/** Options of {@code maskbeam segment}: the single definition of its flags (CLI help, Beam parser, templates). */
public interface SegmentOptions extends LaunchOptions, io.maskbeam.pipelines.cli.PrecisionOptions {
  @Description("Model: a folder written by 'maskbeam train' (its model/ folder), an ONNX folder (model.onnx with"
      + " an optional maskbeam-model.json of conventions) or an .onnx file; local, gs:// or s3:// (copied to a local"
      + " cache first).")
  @Validation.Required
  String getModel();

  void setModel(String value);

  @Description("Images to segment: one or more globs separated by commas (local, gs:// or s3://), e.g."
      + " 's3://bucket/photos/**.jpg,s3://bucket/scans/*.png'.")
  String getInput();

  void setInput(String value);

  @Description("JSON Lines manifest of images, {\"image\": uri} or SageMaker's {\"source-ref\": uri} per line"
      + " (relative URIs resolve against the manifest's folder). May be combined with --input.")
  String getManifest();

  void setManifest(String value);

  @Description("Root that output names are relative to. Default: the common folder of the --input globs (and"
      + " the manifest).")
  String getInputRoot();

  void setInputRoot(String value);

  @Description("Output prefix for masks/, color/, overlays/, probabilities/, stats/, errors/, summary.json and"
      + " summary.csv.")
  @Validation.Required
  String getOutput();

  void setOutput(String value);

  @Description("Segment only inputs whose outputs are missing (reruns after a failure, or new images).")
  @Default.Boolean(false)
  Boolean getSkipExisting();

  void setSkipExisting(Boolean value);

  @Description("Incremental run: segment only inputs that are new or changed (size or modification time) since the"
      + " runs recorded in the output's state/ folder; the summary still covers every image.")
  @Default.Boolean(false)
  Boolean getIncremental();

  void setIncremental(Boolean value);

  @Description("Images up to this size (after --inferenceSize) run whole; larger ones in overlapping tiles of"
      + " this size, so memory stays bounded whatever the image size.")
  @Default.Integer(1024)
  Integer getTileSize();

  void setTileSize(Integer value);

  @Description("Overlap of neighbouring tiles in pixels; probabilities are blended across it.")
  @Default.Integer(128)
  Integer getTileOverlap();

  void setTileOverlap(Integer value);

  @Description("Most images (or tiles) per model call; images of one inference size are batched.")
  @Default.Integer(8)
  Integer getMaxBatchSize();

  void setMaxBatchSize(Integer value);

  @Description("Most decoded pixel data held for batching, in MB per worker thread.")
  @Default.Integer(256)
  Integer getMaxBatchMb();

  void setMaxBatchMb(Integer value);

  @Description("Size the network sees: keep (the image's own), WIDTHxHEIGHT (all inputs share it, so any sizes"
      + " batch together), shorter:N, longer:N, or 'model' (the training crop). Masks are always the input's size.")
  @Default.String("keep")
  String getInferenceSize();

  void setInferenceSize(String value);

  @Description("Test-time augmentation: also run each image mirrored and average.")
  @Default.Boolean(false)
  Boolean getTtaFlip();

  void setTtaFlip(Boolean value);

  @Description("Test-time augmentation: scales to run each image at, averaged, e.g. 0.75,1,1.25.")
  @Default.String("1")
  String getTtaScales();

  void setTtaScales(String value);

  @Description("Largest accepted image in pixels, checked from the header before decoding.")
  @Default.Long(100_000_000L)
  Long getMaxPixels();

  void setMaxPixels(Long value);

  @Description("Rasters (GeoTIFFs): the bands fed to the model's three channels, 1-based as GDAL numbers them, such"
      + " as 4,3,2, or 1,1,1 for a grey band. Default: 1,2,3. Setting it sends every TIFF the raster way (read window"
      + " by window, written as tiled GeoTIFFs with its georeferencing).")
  String getBands();

  void setBands(String value);

  @Description("Rasters with samples wider than 8 bits: the value range mapped linearly onto 0..255, LOW,HIGH for"
      + " every band or three LOW,HIGH pairs (such as 0,3000 for reflectance x 10000). Required for 16-bit and float"
      + " rasters: Maskbeam does not guess a stretch.")
  String getBandRange();

  void setBandRange(String value);

  @Description("Rasters: the sample value meaning 'no data' (a number or nan), overriding the file's GDAL_NODATA."
      + " Pixels whose bands all hold it get label 255 in masks (the masks' nodata) and count in no class.")
  String getNodata();

  void setNodata(String value);

  @Description("Rasters: rows per unit of work, rounded up to whole windows. A raster's stripes are segmented on"
      + " whichever workers the runner picks and reassembled into its GeoTIFFs; its GeoJSON polygons are traced in"
      + " blocks of this size (regions crossing a block border are split there).")
  @Default.Integer(4096)
  Integer getRasterStripeRows();

  void setRasterStripeRows(Integer value);

  @Description("Write color/<name>.png, the mask in class colours.")
  @Default.Boolean(true)
  Boolean getWriteColor();

  void setWriteColor(Boolean value);

  @Description("Write overlays/<name>.jpg, the image blended with the colour mask.")
  @Default.Boolean(true)
  Boolean getWriteOverlays();

  void setWriteOverlays(Boolean value);

  @Description("Write probabilities/<name>.npy, float32 [height, width, classes] (np.load reads it).")
  @Default.Boolean(false)
  Boolean getWriteProbabilities();

  void setWriteProbabilities(Boolean value);

  @Description("Per-image confidence in stats/ (mean top probability, mean normalised entropy, fraction of pixels"
      + " under --confidenceThreshold), from the probabilities the model returns, and uncertain.csv: the least"
      + " confident images first, for labelling.")
  @Default.Boolean(true)
  Boolean getConfidence();

  void setConfidence(Boolean value);

  @Description("Top probability under which a pixel counts as low-confidence.")
  @Default.Double(0.5)
  Double getConfidenceThreshold();

  void setConfidenceThreshold(Double value);

  @Description("Write uncertainty/<name>.png: 255 x (1 - top probability) per pixel (bright: unsure).")
  @Default.Boolean(false)
  Boolean getWriteUncertainty();

  void setWriteUncertainty(Boolean value);

  @Description("Annotation files for labelling tools (comma-separated): coco (annotations.coco.json, one COCO"
      + " dataset for the collection, compressed RLE per class and image; CVAT and Label Studio import it),"
      + " labelme (labelme/<name>.json per image, polygons), geojson (polygons/<name>.geojson: every class's regions"
      + " with their holes, class and area; rasters in their CRS with areas in map units, images in pixel"
      + " coordinates). Background pixels (a class named background) are left out of coco and labelme.")
  @Default.String("")
  String getWriteAnnotations();

  void setWriteAnnotations(String value);

  @Description("coco: write each region as polygons (outer rings and holes) instead of compressed RLE.")
  @Default.Boolean(false)
  Boolean getCocoPolygons();

  void setCocoPolygons(Boolean value);

  @Description("Polygons (labelme, --cocoPolygons) are simplified by Douglas-Peucker with this tolerance in pixels;"
      + " 0 keeps every corner of the pixel outline (exact).")
  @Default.Double(0.5)
  Double getPolygonTolerance();

  void setPolygonTolerance(Double value);

  @Description("How many of the least confident images uncertain.csv lists.")
  @Default.Integer(100)
  Integer getUncertainCount();

  void setUncertainCount(Integer value);

  @Description("Weight of the colour mask in overlays, 0..1.")
  @Default.Double(0.5)
  Double getOverlayAlpha();

  void setOverlayAlpha(Double value);

  @Description("JPEG quality of overlays.")
  @Default.Integer(90)
  Integer getOverlayQuality();

  void setOverlayQuality(Integer value);

  @Description("Threads each model call may use; 0 = every core. On a cluster whose workers share machines (e.g."
      + " Spark executors with one core each), set it to the worker's cores.")
  @Default.Integer(0)
  Integer getInferenceThreads();

  void setInferenceThreads(Integer value);

  @Description("Groups the work is spread over; 0 = 4 per DirectRunner thread, 1024 on distributed runners.")
  @Default.Integer(0)
  Integer getParallelism();

  void setParallelism(Integer value);

  @Description("Accelerator resource hint for the inference step, e.g."
      + " 'type:nvidia-tesla-t4;count:1;install-nvidia-driver' (Dataflow runs that step on a GPU worker pool).")
  String getAcceleratorType();

  void setAcceleratorType(String value);
}
