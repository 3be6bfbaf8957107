package io.maskbeam.transforms.preprocess;

/** Names of the Beam metrics of {@code maskbeam preprocess}, shared by producers and the progress line. */
public final class PreprocessMetrics {
  public static final String NAMESPACE = "maskbeam.preprocess";
  public static final String PAIRS_MATCHED = "pairs_matched";
  public static final String FILES_UNPAIRED = "files_unpaired";
  public static final String FILES_SKIPPED_NOT_IMAGES = "files_skipped_not_images";
  public static final String FILES_UNLISTABLE = "files_unlistable";
  public static final String EXAMPLES_WRITTEN = "examples_written";
  public static final String EXAMPLES_ALL_IGNORE = "examples_all_ignore";
  public static final String CHIPS_NO_DATA = "raster_chips_no_data";
  public static final String PAIRS_REJECTED = "pairs_rejected";
  public static final String BYTES_READ = "bytes_read";
  public static final String UNKNOWN_LABEL_PIXELS = "unknown_label_pixels";
  public static final String EXAMPLE_BYTES = "example_bytes";
  public static final String SHARDS_WRITTEN = "shards_written";
  public static final String ANNOTATIONS_READ = "annotations_read";
  public static final String SHAPES_SKIPPED = "shapes_skipped_no_area";

  /** The counter of rejections for one reason. */
  public static String rejected(io.maskbeam.core.FailureReason reason) {
    return "rejected_" + reason.name();
  }

  private PreprocessMetrics() {}
}
