package io.maskbeam.dataset;

/** Why an input did not become a training example. Written to {@code rejected/} and counted in dataset.json. */
public enum RejectReason {
  IMAGE_UNREADABLE("image is not a readable image"),
  IMAGE_TRUNCATED("image file is truncated"),
  IMAGE_EMPTY("image file is empty"),
  IMAGE_TOO_MANY_PIXELS("image exceeds the pixel limit"),
  MASK_UNREADABLE("mask is not a readable image"),
  MASK_TRUNCATED("mask file is truncated"),
  MASK_EMPTY("mask file is empty"),
  MASK_TOO_MANY_PIXELS("mask exceeds the pixel limit"),
  MASK_NOT_SINGLE_CHANNEL("mask has several channels and no colour table converts it"),
  SIZE_MISMATCH("image and mask sizes differ"),
  UNKNOWN_LABEL_VALUES("mask holds values the label map does not cover"),
  MISSING_MASK("image without a mask"),
  MISSING_IMAGE("mask without an image"),
  DUPLICATE_ID("several inputs share one example id"),
  INVALID_MANIFEST_LINE("manifest line is not a valid {\"image\", \"mask\"} object"),
  READ_FAILED("input could not be read from storage");

  private final String summary;

  RejectReason(String summary) {
    this.summary = summary;
  }

  public String summary() {
    return summary;
  }
}
