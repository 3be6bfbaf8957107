package io.maskbeam.transforms.evaluate;

import java.io.Serializable;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;

/**
 * One example to evaluate: either a preprocessed TFRecord (image and ground truth inside), or files: a ground-truth
 * mask with an image to segment or an existing prediction (label PNG of class ids).
 */
@DefaultCoder(SerializableCoder.class)
public record EvalItem(String id, String imageUri, String maskUri, String predictionUri, byte[] record)
    implements Serializable {
  public static EvalItem ofRecord(String id, byte[] record) {
    return new EvalItem(id, null, null, null, record);
  }

  /** What a person can look up: the record's id or the mask's URI. */
  public String source() {
    return record != null ? "record " + id : maskUri;
  }
}
