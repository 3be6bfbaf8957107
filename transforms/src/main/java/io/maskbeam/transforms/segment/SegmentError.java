package io.maskbeam.transforms.segment;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;

/**
 * An input that was not segmented, written as a JSON line under {@code errors/}. {@code reason} is a stable code
 * to group by (NOT_FOUND, READ_FAILED, EMPTY, UNREADABLE, TRUNCATED, TOO_MANY_PIXELS, INFERENCE_FAILED,
 * WRITE_FAILED, BAD_MANIFEST_LINE); {@code message} says what happened in words.
 */
@DefaultCoder(SerializableCoder.class)
public record SegmentError(String input, String key, String reason, String message) implements Serializable {
  private static final ObjectMapper JSON = new ObjectMapper();

  public String toJsonLine() {
    ObjectNode node = JSON.createObjectNode();
    node.put("input", input);
    node.put("key", key);
    node.put("reason", reason);
    node.put("message", message);
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
