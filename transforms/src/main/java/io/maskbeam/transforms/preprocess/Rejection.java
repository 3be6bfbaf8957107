package io.maskbeam.transforms.preprocess;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.dataset.RejectReason;
import java.io.Serializable;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;

/**
 * One input that did not become an example: a pair, or a file that found no partner. Written as a JSON line to
 * {@code rejected/}; {@code imageUri} or {@code maskUri} may be null when that side does not exist.
 */
@DefaultCoder(SerializableCoder.class)
public record Rejection(String id, String imageUri, String maskUri, RejectReason reason, String message)
    implements Serializable {
  private static final ObjectMapper JSON = new ObjectMapper();

  public String toJsonLine() {
    ObjectNode node = JSON.createObjectNode();
    node.put("id", id);
    node.put("image", imageUri);
    node.put("mask", maskUri);
    node.put("reason", reason.name());
    node.put("message", message);
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
