package io.maskbeam.transforms.segment;

import java.io.Serializable;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;

/**
 * One image to segment: where it is, the key its outputs are named by, and what the listing knew of it (size and
 * modification time; -1 when unknown, e.g. for manifest entries).
 */
@DefaultCoder(SerializableCoder.class)
public record SegmentInput(String uri, String key, long sizeBytes, long lastModifiedMillis) implements Serializable {
  public SegmentInput withKey(String newKey) {
    return new SegmentInput(uri, newKey, sizeBytes, lastModifiedMillis);
  }
}
