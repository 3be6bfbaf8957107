package io.maskbeam.transforms.evaluate;

import io.maskbeam.dataset.DeepLabExample;
import io.maskbeam.dataset.ExamplePreparer;
import io.maskbeam.dataset.RejectedInputException;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.InvalidImageException;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.image.RgbImage;
import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.models.infer.Segmenter;
import io.maskbeam.transforms.io.Storage;
import io.maskbeam.transforms.segment.SharedModels;
import java.io.IOException;
import java.io.Serializable;

/**
 * Turns an {@link EvalItem} into what evaluation compares: the ground truth (class ids, ignore value where ignored),
 * the prediction (from the model, or read from a prediction PNG) and, when there is one, the image. The model is
 * the JVM's shared instance; call {@link #open} before use and {@link #close} after.
 */
public final class Observer implements Serializable {
  private final String model;
  private final ExamplePreparer groundTruthReader;
  private final int numClasses;
  private final int ignoreValue;
  private final int tileSize;
  private final int tileOverlap;
  private transient SegmentationModel loaded;
  private transient Segmenter segmenter;

  /** What evaluation compares for one example. */
  public record Observation(RgbImage image, LabelImage truth, LabelImage prediction) {}

  /** Thrown with a stable reason code when an example cannot be evaluated. */
  public static final class Unusable extends Exception {
    private static final long serialVersionUID = 1L;
    private final String reason;

    Unusable(String reason, String message) {
      super(message);
      this.reason = reason;
    }

    public String reason() {
      return reason;
    }
  }

  /**
   * @param model model URI, or null when predictions are read from files
   * @param groundTruthReader reads ground-truth mask files with the label map (null for records)
   */
  public Observer(String model, ExamplePreparer groundTruthReader, int numClasses, int ignoreValue, int tileSize,
      int tileOverlap) {
    this.model = model;
    this.groundTruthReader = groundTruthReader;
    this.numClasses = numClasses;
    this.ignoreValue = ignoreValue;
    this.tileSize = tileSize;
    this.tileOverlap = tileOverlap;
  }

  public int numClasses() {
    return numClasses;
  }

  public int ignoreValue() {
    return ignoreValue;
  }

  public void open() {
    if (model != null && loaded == null) {
      loaded = SharedModels.acquire(model).model();
      segmenter = new Segmenter(loaded, tileSize, tileOverlap, 1, ResizePolicy.KEEP);
    }
  }

  public void close() {
    if (loaded != null) {
      loaded = null;
      segmenter = null;
      SharedModels.release(model);
    }
  }

  public Observation observe(EvalItem item) throws Unusable {
    RgbImage image = null;
    LabelImage truth;
    try {
      if (item.record() != null) {
        DeepLabExample.Record r = DeepLabExample.parse(item.record());
        image = ImageCodec.toRgb(ImageCodec.decode(r.image(), Long.MAX_VALUE));
        truth = ImageCodec.decodeLabels(r.labelPng());
      } else {
        truth = groundTruthReader.groundTruth(read(item.maskUri()));
        if (item.imageUri() != null) {
          image = ImageCodec.toRgb(ImageCodec.decode(read(item.imageUri()), ExamplePreparer.DEFAULT_MAX_PIXELS));
        }
      }
    } catch (RejectedInputException e) {
      throw new Unusable(e.reason().name(), e.getMessage());
    } catch (InvalidImageException e) {
      throw new Unusable("IMAGE_" + e.kind().name(), e.getMessage());
    } catch (IllegalArgumentException e) {
      throw new Unusable("BAD_RECORD", e.getMessage());
    }
    for (byte b : truth.labels()) {
      int v = b & 0xFF;
      if (v >= numClasses && v != ignoreValue) {
        throw new Unusable("BAD_LABEL", "ground truth has class " + v + " but there are " + numClasses
            + " classes and ignore value " + ignoreValue);
      }
    }
    LabelImage prediction;
    if (item.predictionUri() != null) {
      try {
        prediction = ImageCodec.decodeLabels(read(item.predictionUri()));
      } catch (InvalidImageException e) {
        throw new Unusable("PREDICTION_" + e.kind().name(), "prediction: " + e.getMessage());
      }
      for (byte b : prediction.labels()) {
        if ((b & 0xFF) >= numClasses) {
          throw new Unusable("BAD_PREDICTION", "prediction has class " + (b & 0xFF) + " but there are "
              + numClasses + " classes");
        }
      }
    } else {
      if (image == null) {
        throw new Unusable("NO_IMAGE", "no image to segment and no prediction for " + item.source());
      }
      if (image.width() != truth.width() || image.height() != truth.height()) {
        throw new Unusable("SIZE_MISMATCH", "image is " + image.width() + "x" + image.height() + " but ground truth "
            + truth.width() + "x" + truth.height());
      }
      prediction = segmenter.segment(image, false, null).labels();
    }
    if (prediction.width() != truth.width() || prediction.height() != truth.height()) {
      throw new Unusable("SIZE_MISMATCH", "prediction is " + prediction.width() + "x" + prediction.height()
          + " but ground truth " + truth.width() + "x" + truth.height());
    }
    return new Observation(image, truth, prediction);
  }

  private static byte[] read(String uri) throws Unusable {
    try {
      return Storage.readAll(uri);
    } catch (Storage.NotFoundException e) {
      throw new Unusable("NOT_FOUND", "not found: " + uri);
    } catch (IOException e) {
      throw new Unusable("READ_FAILED", e.getMessage());
    }
  }
}
