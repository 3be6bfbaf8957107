package io.maskbeam.transforms.evaluate;

import io.maskbeam.transforms.common.CoderFields;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.HashMap;
import java.util.Map;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.DefaultCoder;

/**
 * One example to evaluate: either a preprocessed TFRecord (image and ground truth inside), or files: a ground-truth
 * mask with an image to segment or an existing prediction (label PNG of class ids). Ground truth drawn from
 * annotations (COCO, LabelMe) travels as {@code annotation} ({@code ImageAnnotation} JSON), with {@code maskUri}
 * naming the annotation file.
 */
@DefaultCoder(EvalItem.Coder.class)
public record EvalItem(String id, String imageUri, String maskUri, String predictionUri, byte[] record,
    String annotation) {
  public EvalItem(String id, String imageUri, String maskUri, String predictionUri, byte[] record) {
    this(id, imageUri, maskUri, predictionUri, record, null);
  }

  public static EvalItem ofRecord(String id, byte[] record) {
    return new EvalItem(id, null, null, null, record);
  }

  /** What a person can look up: the record's id or the mask's URI. */
  public String source() {
    return record != null ? "record " + id : maskUri;
  }

  /** The example's files by role, for failure records. */
  public Map<String, String> files() {
    Map<String, String> m = new HashMap<>();
    if (imageUri != null) {
      m.put("image", imageUri);
    }
    if (maskUri != null) {
      m.put("groundTruth", maskUri);
    }
    if (predictionUri != null) {
      m.put("prediction", predictionUri);
    }
    return m;
  }

  /** The explicit coder of {@link EvalItem}: a record's bytes travel as they are. */
  public static final class Coder extends AtomicCoder<EvalItem> {
    private static final Coder INSTANCE = new Coder();

    public static Coder of() {
      return INSTANCE;
    }

    /** How {@code @DefaultCoder} finds this coder. */
    public static org.apache.beam.sdk.coders.CoderProvider getCoderProvider() {
      return org.apache.beam.sdk.coders.CoderProviders.forCoder(
          org.apache.beam.sdk.values.TypeDescriptor.of(EvalItem.class), INSTANCE);
    }

    @Override
    public void encode(EvalItem e, OutputStream out) throws IOException {
      CoderFields.putString(out, e.id());
      CoderFields.putString(out, e.imageUri());
      CoderFields.putString(out, e.maskUri());
      CoderFields.putString(out, e.predictionUri());
      CoderFields.putBytes(out, e.record());
      CoderFields.putString(out, e.annotation());
    }

    @Override
    public EvalItem decode(InputStream in) throws IOException {
      return new EvalItem(CoderFields.getString(in), CoderFields.getString(in), CoderFields.getString(in),
          CoderFields.getString(in), CoderFields.getBytes(in), CoderFields.getString(in));
    }

  }
}
