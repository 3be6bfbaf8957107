package io.maskbeam.transforms.segment;

import io.maskbeam.transforms.common.CoderFields;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.DefaultCoder;

/**
 * One image to segment: where it is, the key its outputs are named by, and what the listing knew of it (size and
 * modification time; -1 when unknown, e.g. for manifest entries).
 */
@DefaultCoder(SegmentInput.Coder.class)
public record SegmentInput(String uri, String key, long sizeBytes, long lastModifiedMillis) {
  public SegmentInput withKey(String newKey) {
    return new SegmentInput(uri, newKey, sizeBytes, lastModifiedMillis);
  }

  /** The explicit coder of {@link SegmentInput}. */
  public static final class Coder extends AtomicCoder<SegmentInput> {
    private static final Coder INSTANCE = new Coder();

    public static Coder of() {
      return INSTANCE;
    }

    /** How {@code @DefaultCoder} finds this coder. */
    public static org.apache.beam.sdk.coders.CoderProvider getCoderProvider() {
      return org.apache.beam.sdk.coders.CoderProviders.forCoder(
          org.apache.beam.sdk.values.TypeDescriptor.of(SegmentInput.class), INSTANCE);
    }

    @Override
    public void encode(SegmentInput in, OutputStream out) throws IOException {
      CoderFields.putString(out, in.uri());
      CoderFields.putString(out, in.key());
      CoderFields.putLong(out, in.sizeBytes());
      CoderFields.putLong(out, in.lastModifiedMillis());
    }

    @Override
    public SegmentInput decode(InputStream in) throws IOException {
      return new SegmentInput(CoderFields.getString(in), CoderFields.getString(in), CoderFields.getLong(in),
          CoderFields.getLong(in));
    }

  }
}
