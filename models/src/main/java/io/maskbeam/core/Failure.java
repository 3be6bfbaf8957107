package io.maskbeam.core;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.util.Map;
import java.util.TreeMap;

/**
 * The one dead-letter record of every stage: an input that did not become an output, and why. Written as one JSON
 * line per input under the stage's failure folder ({@code rejected/} for preprocess, {@code errors/} for segment and
 * evaluate), so every input is either in an output or here.
 *
 * @param stage the stage that refused the input
 * @param id the input's example id or output key (null when none could be derived, e.g. a bad manifest line)
 * @param input what the failure is about: a file URI, or the manifest for a bad line
 * @param inputs every file involved, by role ("image", "mask", "prediction", "manifest"); may be empty
 * @param reason a stable code to group by
 * @param message what happened, in words a person can act on
 * @param exception the class of the exception behind it, when there was one (for debugging); may be null
 */
public record Failure(Stage stage, String id, String input, Map<String, String> inputs, FailureReason reason,
    String message, String exception) implements Serializable {
  private static final ObjectMapper JSON = new ObjectMapper();

  public Failure {
    // Sorted once, so the JSON line and the coder write the roles in one order.
    inputs = inputs == null ? Map.of() : java.util.Collections.unmodifiableSortedMap(new TreeMap<>(inputs));
  }

  /** A failure about one file. */
  public static Failure of(Stage stage, String id, String input, FailureReason reason, String message) {
    return new Failure(stage, id, input, Map.of(), reason, message, null);
  }

  /** The same failure, noting the exception behind it. */
  public Failure withException(Throwable e) {
    return new Failure(stage, id, input, inputs, reason, message, e == null ? null : e.getClass().getName());
  }

  public String toJsonLine() {
    ObjectNode n = JSON.createObjectNode();
    n.put("stage", stage.label());
    n.put("id", id);
    n.put("input", input);
    ObjectNode files = n.putObject("inputs");
    inputs.forEach(files::put);
    n.put("reason", reason.name());
    n.put("message", message);
    if (exception != null) {
      n.put("exception", exception);
    }
    try {
      return JSON.writeValueAsString(n);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
