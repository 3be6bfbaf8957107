package io.maskbeam.transforms.segment;

/**
 * Names of the Beam metrics of {@code maskbeam segment}, shared by the DoFns that produce them and the progress
 * line and benchmarks that read them.
 */
public final class SegmentMetrics {
  public static final String NAMESPACE = "maskbeam.segment";
  public static final String INPUTS_MATCHED = "inputs_matched";
  public static final String INPUTS_UNDER_OUTPUT_EXCLUDED = "inputs_under_output_excluded";
  public static final String IMAGES_SEGMENTED = "images_segmented";
  public static final String IMAGES_SKIPPED = "images_skipped";
  public static final String IMAGES_FAILED = "images_failed";
  public static final String IMAGES_TILED = "images_tiled";
  public static final String INFERENCES = "inferences";
  /** Rasters segmented window by window (also counted in images_segmented). */
  public static final String RASTERS_SEGMENTED = "rasters_segmented";
  public static final String RASTER_WINDOWS = "raster_windows";
  public static final String BATCHES_RETRIED_SINGLY = "batches_retried_singly";
  public static final String BATCH_SIZE = "batch_size";
  public static final String BATCH_LATENCY_MS = "batch_latency_ms";
  public static final String MODEL_LOAD_MS = "model_load_ms";

  private SegmentMetrics() {}
}
