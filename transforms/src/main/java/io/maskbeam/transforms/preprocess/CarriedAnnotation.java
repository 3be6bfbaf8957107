package io.maskbeam.transforms.preprocess;

import io.maskbeam.annotations.CityscapesFormat;
import io.maskbeam.annotations.ImageAnnotation;
import io.maskbeam.annotations.InvalidAnnotationException;
import io.maskbeam.core.FailureReason;
import io.maskbeam.dataset.ExamplePreparer;
import io.maskbeam.dataset.RejectedInputException;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;

/**
 * The regions an example carries ({@link SampleRef#annotation}) made ready to draw, for every stage that reads
 * annotations (preprocess, evaluate): parsed from the carried JSON, or read now from the example's annotation file
 * ({@link SampleRef#READ_CITYSCAPES_POLYGONS}), with a colour-coded mask file's regions added (Vertex AI).
 */
public final class CarriedAnnotation {
  private CarriedAnnotation() {}

  /**
   * @param carried the example's annotation value
   * @param fileUri the example's annotation or mask file ({@link SampleRef#maskUri})
   * @param preparer decodes mask files as the stage does
   * @param missing the reason when that file is not there
   */
  public static ImageAnnotation resolve(String carried, String fileUri, ExamplePreparer preparer,
      FailureReason missing) throws RejectedInputException {
    ImageAnnotation annotation;
    if (carried.equals(SampleRef.READ_CITYSCAPES_POLYGONS)) {
      try {
        annotation = CityscapesFormat.read(read(fileUri, missing, "annotations"));
      } catch (InvalidAnnotationException e) {
        throw new RejectedInputException(FailureReason.INVALID_ANNOTATION, e.getMessage());
      }
    } else {
      annotation = ImageAnnotation.fromJson(carried);
    }
    return annotation.needsMask() ? preparer.withMask(annotation, read(fileUri, missing, "mask")) : annotation;
  }

  private static byte[] read(String uri, FailureReason missing, String what) throws RejectedInputException {
    try {
      return Storage.readAll(uri);
    } catch (IOException e) {
      throw new RejectedInputException(Storage.reasonFor(e, missing), what + ": " + e.getMessage(), e);
    }
  }
}
