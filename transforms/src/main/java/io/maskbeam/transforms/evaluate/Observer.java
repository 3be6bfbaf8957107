package io.maskbeam.transforms.evaluate;

import io.maskbeam.transforms.preprocess.CarriedAnnotation;
import io.maskbeam.core.FailureReason;
import io.maskbeam.dataset.DeepLabExample;
import io.maskbeam.dataset.ExamplePreparer;
import io.maskbeam.dataset.RejectedInputException;
import io.maskbeam.image.ImageLoader;
import io.maskbeam.image.InvalidImageException;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;
import io.maskbeam.models.infer.InferenceSettings;
import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.models.infer.Segmenter;
import io.maskbeam.transforms.io.Storage;
import io.maskbeam.transforms.model.ModelReference;
import io.maskbeam.transforms.model.SharedModels;
import java.io.IOException;
import java.io.Serializable;

/**
 * Turns an {@link EvalItem} into what evaluation compares: the ground truth (class ids, ignore value where ignored),
 * the prediction (from the model, or read from a prediction PNG) and, when there is one, the image. Images are read
 * by the shared {@link ImageLoader} (EXIF orientation applied, so a photo is scored as {@code segment} sees it) and
 * masks are aligned with them by the preprocessing rule. The model is the JVM's shared instance of the pinned
 * {@link ModelReference}; call {@link #open} before use and {@link #close} after.
 */
public final class Observer implements Serializable {
  private final ModelReference model;
  private final InferenceSettings inference;
  private final ExamplePreparer groundTruthReader;
  private final int numClasses;
  private final int ignoreValue;
  private final ModelReference baseline;
  private transient SegmentationModel loaded;
  private transient Segmenter segmenter;
  private transient SegmentationModel loadedBaseline;
  private transient Segmenter baselineSegmenter;

  /**
   * What evaluation compares for one example; {@code baselinePrediction} is the baseline model's on the same image,
   * or null.
   */
  public record Observation(RgbImage image, LabelImage truth, LabelImage prediction, LabelImage baselinePrediction) {}

  /** Thrown with a stable reason when an example cannot be evaluated. */
  public static final class Unusable extends Exception {
    private static final long serialVersionUID = 1L;
    private final FailureReason reason;

    Unusable(FailureReason reason, String message) {
      super(message);
      this.reason = reason;
    }

    public FailureReason reason() {
      return reason;
    }
  }

  /**
   * @param model the pinned model, or null when predictions are read from files
   * @param groundTruthReader reads ground-truth mask files with the label map, and images with its loader (null for
   *     records)
   */
  public Observer(ModelReference model, InferenceSettings inference, ExamplePreparer groundTruthReader,
      int numClasses, int ignoreValue) {
    this(model, inference, groundTruthReader, numClasses, ignoreValue, null);
  }

  private Observer(ModelReference model, InferenceSettings inference, ExamplePreparer groundTruthReader,
      int numClasses, int ignoreValue, ModelReference baseline) {
    this.baseline = baseline;
    this.model = model;
    this.inference = inference;
    this.groundTruthReader = groundTruthReader;
    this.numClasses = numClasses;
    this.ignoreValue = ignoreValue;
  }

  public int numClasses() {
    return numClasses;
  }

  public int ignoreValue() {
    return ignoreValue;
  }

  /** Also scores a baseline model on every example (with a model only: both run on the same image). */
  public Observer withBaseline(ModelReference baselineModel) {
    if (baselineModel != null && model == null) {
      throw new IllegalArgumentException("a baseline model is compared with a model, not with prediction files");
    }
    return new Observer(model, inference, groundTruthReader, numClasses, ignoreValue, baselineModel);
  }

  public ModelReference baseline() {
    return baseline;
  }

  /** The model compared, or null when predictions come from files. */
  public ModelReference model() {
    return model;
  }

  public void open() {
    if (model != null && loaded == null) {
      SegmentationModel shared = SharedModels.acquire(model, inference.runtime()).resource();
      try {
        segmenter = inference.withBatching(1, inference.maxBatchBytes()).segmenter(shared);
      } catch (RuntimeException e) {
        SharedModels.release(model, inference.runtime());
        throw e;
      }
      loaded = shared;
    }
    if (baseline != null && loadedBaseline == null) {
      SegmentationModel shared = SharedModels.acquire(baseline, inference.runtime()).resource();
      baselineSegmenter = inference.withBatching(1, inference.maxBatchBytes()).segmenter(shared);
      loadedBaseline = shared;
    }
  }

  public void close() {
    if (loaded != null) {
      loaded = null;
      segmenter = null;
      SharedModels.release(model, inference.runtime());
    }
    if (loadedBaseline != null) {
      loadedBaseline = null;
      baselineSegmenter = null;
      SharedModels.release(baseline, inference.runtime());
    }
  }

  private ImageLoader loader() {
    return groundTruthReader != null ? groundTruthReader.loader()
        : ImageLoader.withPixelLimit(inference.maxPixels());
  }

  public Observation observe(EvalItem item) throws Unusable {
    RgbImage image = null;
    LabelImage truth;
    try {
      if (item.record() != null) {
        DeepLabExample.Record r = DeepLabExample.parse(item.record());
        // Records hold pixels as preprocessing wrote them: upright already.
        image = loader().ignoringOrientation().load(r.image()).image();
        truth = ImageLoader.RECORDS.loadLabels(r.labelPng());
      } else if (item.imageUri() != null) {
        ImageLoader.Photo photo = loader().load(read(item.imageUri(), FailureReason.MISSING_IMAGE));
        image = photo.image();
        truth = item.annotation() != null
            ? groundTruthReader.groundTruthFor(CarriedAnnotation.resolve(item.annotation(), item.maskUri(),
                groundTruthReader, FailureReason.MISSING_GROUND_TRUTH), photo)
            : groundTruthReader.groundTruthFor(read(item.maskUri(), FailureReason.MISSING_GROUND_TRUTH), photo);
      } else {
        truth = groundTruthReader.groundTruth(read(item.maskUri(), FailureReason.MISSING_GROUND_TRUTH));
      }
    } catch (RejectedInputException e) {
      throw new Unusable(e.reason(), e.getMessage());
    } catch (InvalidImageException e) {
      throw new Unusable(FailureReason.of(e.kind(), FailureReason.Part.IMAGE), e.getMessage());
    } catch (IllegalArgumentException e) {
      throw new Unusable(FailureReason.BAD_RECORD, e.getMessage());
    }
    for (byte b : truth.labels()) {
      int v = b & 0xFF;
      if (v >= numClasses && v != ignoreValue) {
        throw new Unusable(FailureReason.BAD_LABEL, "ground truth has class " + v + " but there are " + numClasses
            + " classes and ignore value " + ignoreValue);
      }
    }
    LabelImage prediction;
    LabelImage baselinePrediction = null;
    if (item.predictionUri() != null) {
      try {
        prediction = ImageLoader.withPixelLimit(inference.maxPixels())
            .loadLabels(read(item.predictionUri(), FailureReason.MISSING_PREDICTION));
      } catch (InvalidImageException e) {
        throw new Unusable(FailureReason.of(e.kind(), FailureReason.Part.PREDICTION), "prediction: " + e.getMessage());
      }
      for (byte b : prediction.labels()) {
        if ((b & 0xFF) >= numClasses) {
          throw new Unusable(FailureReason.BAD_PREDICTION, "prediction has class " + (b & 0xFF) + " but there are "
              + numClasses + " classes");
        }
      }
    } else {
      if (image == null) {
        throw new Unusable(FailureReason.MISSING_IMAGE, "no image to segment and no prediction for " + item.source());
      }
      if (image.width() != truth.width() || image.height() != truth.height()) {
        throw new Unusable(FailureReason.SIZE_MISMATCH, "image is " + image.width() + "x" + image.height()
            + " but ground truth " + truth.width() + "x" + truth.height());
      }
      try {
        prediction = segmenter.segment(image, false, null).labels();
      } catch (RuntimeException e) {
        throw new Unusable(FailureReason.INFERENCE_FAILED, "model call failed: " + e.getMessage());
      }
      if (baselineSegmenter != null) {
        try {
          baselinePrediction = baselineSegmenter.segment(image, false, null).labels();
        } catch (RuntimeException e) {
          throw new Unusable(FailureReason.INFERENCE_FAILED, "baseline model call failed: " + e.getMessage());
        }
      }
    }
    if (prediction.width() != truth.width() || prediction.height() != truth.height()) {
      throw new Unusable(FailureReason.SIZE_MISMATCH, "prediction is " + prediction.width() + "x"
          + prediction.height() + " but ground truth " + truth.width() + "x" + truth.height());
    }
    return new Observation(image, truth, prediction, baselinePrediction);
  }

  private static byte[] read(String uri, FailureReason missing) throws Unusable {
    try {
      return Storage.readAll(uri);
    } catch (IOException e) {
      throw new Unusable(Storage.reasonFor(e, missing), e.getMessage());
    }
  }
}
