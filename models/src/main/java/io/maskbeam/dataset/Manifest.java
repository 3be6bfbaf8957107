package io.maskbeam.dataset;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/**
 * JSON Lines manifests, read the same way by every stage. A line names an image ({@code "image"}, or SageMaker's
 * augmented manifest {@code "source-ref"}), optionally its mask ({@code "mask"}, or the first {@code "<label>-ref"}
 * attribute), an {@code "id"} and a {@code "split"}. Relative URIs resolve against the manifest's folder; local paths
 * become absolute and normalised, as file listings give them.
 */
public final class Manifest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int EXCERPT = 200;

  private Manifest() {}

  /**
   * One usable line.
   *
   * @param mask null when the line names none
   * @param id null when the line gives none (callers derive one from the image)
   * @param split as written (preprocess normalises it); null when the line gives none
   */
  public record Entry(String image, String mask, String id, String split) implements Serializable {}

  /** A line that cannot be used, with what is wrong in words. */
  public static final class InvalidLineException extends Exception {
    private static final long serialVersionUID = 1L;

    InvalidLineException(String message) {
      super(message);
    }
  }

  /**
   * Parses one line; blank lines are not entries (returns null).
   *
   * @param manifestUri where the manifest is, for resolving relative URIs
   */
  public static Entry parse(String line, String manifestUri) throws InvalidLineException {
    if (line == null || line.isBlank()) {
      return null;
    }
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (JsonProcessingException e) {
      throw invalid(line, "not JSON (" + e.getOriginalMessage().lines().findFirst().orElse("") + ")");
    }
    if (node == null || !node.isObject()) {
      throw invalid(line, "not a JSON object");
    }
    String image = text(node, "image");
    if (image == null) {
      image = text(node, "source-ref");
    }
    if (image == null) {
      throw invalid(line, "no \"image\" or \"source-ref\" field");
    }
    String mask = text(node, "mask");
    if (mask == null) {
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getKey().equals("source-ref") && e.getKey().endsWith("-ref") && e.getValue().isTextual()
            && !e.getValue().asText().isBlank()) {
          mask = e.getValue().asText().trim();
          break;
        }
      }
    }
    // The split stays as written: only preprocess reads it, and an unknown one is that stage's UNKNOWN_SPLIT
    // failure, not an unusable line (segment and evaluate ignore splits).
    return new Entry(resolve(image, manifestUri), mask == null ? null : resolve(mask, manifestUri),
        text(node, "id"), text(node, "split"));
  }

  private static InvalidLineException invalid(String line, String why) {
    return new InvalidLineException(why + "; line: " + excerpt(line));
  }

  /** The start of a line, for messages. */
  public static String excerpt(String line) {
    return line.length() > EXCERPT ? line.substring(0, EXCERPT) + "..." : line;
  }

  private static String text(JsonNode node, String key) {
    JsonNode v = node.get(key);
    return v != null && v.isTextual() && !v.asText().isBlank() ? v.asText().trim() : null;
  }

  /**
   * A URI from a manifest: with a scheme or absolute it stays (local paths normalised); relative, it is taken
   * relative to the manifest's folder.
   */
  public static String resolve(String uri, String manifestUri) {
    if (uri.startsWith("file://")) {
      uri = uri.substring("file://".length());
    }
    if (uri.contains("://")) {
      return uri;
    }
    if (uri.startsWith("/")) {
      return Path.of(uri).normalize().toString();
    }
    String manifest = manifestUri.startsWith("file://") ? manifestUri.substring("file://".length()) : manifestUri;
    if (manifest.contains("://")) {
      int slash = manifest.lastIndexOf('/');
      String dir = manifest.substring(0, slash + 1);
      return normaliseRemote(dir + uri);
    }
    Path base = Path.of(manifest).toAbsolutePath().getParent();
    return base.resolve(uri).normalize().toString();
  }

  /** Removes "." and "x/.." segments after the bucket of a remote URI. */
  static String normaliseRemote(String uri) {
    int scheme = uri.indexOf("://");
    int bucketEnd = uri.indexOf('/', scheme + 3);
    if (bucketEnd < 0) {
      return uri;
    }
    java.util.Deque<String> parts = new java.util.ArrayDeque<>();
    for (String p : uri.substring(bucketEnd + 1).split("/", -1)) {
      if (p.equals(".")) {
        continue;
      }
      if (p.equals("..")) {
        if (!parts.isEmpty()) {
          parts.removeLast();
        }
        continue;
      }
      parts.addLast(p);
    }
    return uri.substring(0, bucketEnd + 1) + String.join("/", parts);
  }
}
