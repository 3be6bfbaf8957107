package io.maskbeam.core;

import io.maskbeam.image.InvalidImageException;

/**
 * Why an input did not become an output, in every stage. One vocabulary, so dead letters from preprocess, segment
 * and evaluate group by the same codes, and a reason means the same thing wherever it appears.
 */
public enum FailureReason {
  // Listing and pairing.
  INVALID_MANIFEST_LINE("a manifest line is not usable (not JSON, not an object, no image)"),
  INVALID_ANNOTATION("an annotation file or shape is malformed (not JSON, a polygon of fewer than 3 points, a bad RLE)"),
  UNKNOWN_SPLIT("the example's split is neither train nor val, so no stage would read it"),
  DUPLICATE_ID("several inputs share one example id"),
  DUPLICATE_INPUT("the same file was listed more than once; it is processed once"),
  LINK_LOOP("a symbolic link leads back into a folder already listed"),
  BROKEN_LINK("a symbolic link whose target does not exist"),
  MISSING_MASK("an image without a mask"),
  MISSING_IMAGE("a mask or annotation without an image"),
  MISSING_GROUND_TRUTH("a prediction without ground truth"),
  MISSING_PREDICTION("ground truth without a prediction"),
  // Reading.
  NOT_FOUND("the input does not exist (deleted after listing?)"),
  ACCESS_DENIED("the input exists but cannot be read (permissions)"),
  READ_FAILED("the input could not be read from storage after retries"),
  // Decoding.
  IMAGE_EMPTY("the image file is empty"),
  IMAGE_UNREADABLE("the image is not a readable image"),
  IMAGE_TRUNCATED("the image file is truncated"),
  IMAGE_TOO_MANY_PIXELS("the image exceeds the pixel limit"),
  MASK_EMPTY("the mask file is empty"),
  MASK_UNREADABLE("the mask is not a readable image"),
  MASK_TRUNCATED("the mask file is truncated"),
  MASK_TOO_MANY_PIXELS("the mask exceeds the pixel limit"),
  MASK_NOT_SINGLE_CHANNEL("the mask has several channels and no colour table converts it"),
  PREDICTION_EMPTY("the prediction file is empty"),
  PREDICTION_UNREADABLE("the prediction is not a readable label image"),
  PREDICTION_TRUNCATED("the prediction file is truncated"),
  PREDICTION_TOO_MANY_PIXELS("the prediction exceeds the pixel limit"),
  // Content.
  SIZE_MISMATCH("image, mask or prediction sizes differ"),
  UNKNOWN_LABEL_VALUES("the mask holds values or colours the label map does not cover"),
  BAD_LABEL("the ground truth holds a class id outside the classes"),
  BAD_PREDICTION("the prediction holds a class id outside the classes"),
  BAD_RECORD("a record is not a DeepLab tf.train.Example"),
  NO_DATA("every pixel of the raster is nodata: nothing to learn from"),
  BAND_MISMATCH("a raster's bands or sample type do not fit the model input (--bands, --bandRange)"),
  // Work.
  INFERENCE_FAILED("the model call failed for this input"),
  WRITE_FAILED("an output could not be written");

  private final String summary;

  FailureReason(String summary) {
    this.summary = summary;
  }

  /** One sentence on what the reason means, for documentation and reports. */
  public String summary() {
    return summary;
  }

  /** Which file of an example a decoding failure is about. */
  public enum Part { IMAGE, MASK, PREDICTION }

  /** The reason for an image that could not be decoded, by which file it was. */
  public static FailureReason of(InvalidImageException.Kind kind, Part part) {
    return switch (part) {
      case IMAGE -> switch (kind) {
        case EMPTY -> IMAGE_EMPTY;
        case UNREADABLE -> IMAGE_UNREADABLE;
        case TRUNCATED -> IMAGE_TRUNCATED;
        case TOO_MANY_PIXELS -> IMAGE_TOO_MANY_PIXELS;
      };
      case MASK -> switch (kind) {
        case EMPTY -> MASK_EMPTY;
        case UNREADABLE -> MASK_UNREADABLE;
        case TRUNCATED -> MASK_TRUNCATED;
        case TOO_MANY_PIXELS -> MASK_TOO_MANY_PIXELS;
      };
      case PREDICTION -> switch (kind) {
        case EMPTY -> PREDICTION_EMPTY;
        case UNREADABLE -> PREDICTION_UNREADABLE;
        case TRUNCATED -> PREDICTION_TRUNCATED;
        case TOO_MANY_PIXELS -> PREDICTION_TOO_MANY_PIXELS;
      };
    };
  }
}
