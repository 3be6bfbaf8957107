package io.maskbeam.transforms.evaluate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;

/** An example that could not be evaluated, with a stable reason code and a message. */
@DefaultCoder(SerializableCoder.class)
public record EvaluationError(String id, String source, String reason, String message) implements Serializable {
  private static final ObjectMapper JSON = new ObjectMapper();

  public String toJsonLine() {
    ObjectNode n = JSON.createObjectNode();
    n.put("id", id);
    n.put("source", source);
    n.put("reason", reason);
    n.put("message", message);
    try {
      return JSON.writeValueAsString(n);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
