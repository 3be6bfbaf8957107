package io.maskbeam.transforms.preprocess;

import io.maskbeam.annotations.ImageAnnotation;
import io.maskbeam.transforms.common.CoderFields;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.DefaultCoder;

/**
 * An image and its mask, matched by a layout, with the split it belongs to. For annotation layouts (COCO, LabelMe)
 * {@code annotation} carries the image's regions ({@link ImageAnnotation#toJson}) and {@code maskUri} names the
 * file they were read from; otherwise {@code annotation} is null and {@code maskUri} is the mask file.
 */
@DefaultCoder(SampleRef.Coder.class)
public record SampleRef(String id, String imageUri, String maskUri, String split, String annotation) {
  /**
   * {@code annotation} value of an example whose regions are read from {@code maskUri} when the example is prepared
   * (Cityscapes' polygon files: one per image, read in parallel with the images rather than at pairing).
   */
  public static final String READ_CITYSCAPES_POLYGONS = "@cityscapes-polygons";

  public SampleRef(String id, String imageUri, String maskUri, String split) {
    this(id, imageUri, maskUri, split, null);
  }

  /** The same example in another split. */
  public SampleRef withSplit(String s) {
    return new SampleRef(id, imageUri, maskUri, s, annotation);
  }

  /** The example's files by role, for failure records. */
  public Map<String, String> files() {
    if (maskUri == null) {
      return Map.of("image", imageUri);
    }
    return Map.of("image", imageUri, annotation == null ? "mask" : "annotations", maskUri);
  }

  /** The explicit coder of {@link SampleRef}. */
  public static final class Coder extends AtomicCoder<SampleRef> {
    private static final Coder INSTANCE = new Coder();

    public static Coder of() {
      return INSTANCE;
    }

    /** How {@code @DefaultCoder} finds this coder. */
    public static org.apache.beam.sdk.coders.CoderProvider getCoderProvider() {
      return org.apache.beam.sdk.coders.CoderProviders.forCoder(
          org.apache.beam.sdk.values.TypeDescriptor.of(SampleRef.class), INSTANCE);
    }

    @Override
    public void encode(SampleRef r, OutputStream out) throws IOException {
      CoderFields.putString(out, r.id());
      CoderFields.putString(out, r.imageUri());
      CoderFields.putString(out, r.maskUri());
      CoderFields.putString(out, r.split());
      CoderFields.putString(out, r.annotation());
    }

    @Override
    public SampleRef decode(InputStream in) throws IOException {
      return new SampleRef(CoderFields.getString(in), CoderFields.getString(in), CoderFields.getString(in),
          CoderFields.getString(in), CoderFields.getString(in));
    }

  }
}
