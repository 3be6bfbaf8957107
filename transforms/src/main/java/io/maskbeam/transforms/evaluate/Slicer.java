package io.maskbeam.transforms.evaluate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which slice an example belongs to, for {@code evaluate --sliceBy}:
 *
 * <ul>
 *   <li>{@code path:REGEX}: a regular expression found in the example's path (the image's URI, else the ground
 *       truth's, else the record id); its named groups make the slice ({@code city=berlin,cam=2}); without named
 *       groups, the first group or the whole match.
 *   <li>{@code field:NAME}: a field of a per-image metadata file ({@code --sliceMetadata}, JSON Lines with
 *       {@code "id"} or {@code "image"}/{@code "source-ref"} per line: a manifest works as it is), matched by id,
 *       image URI or file stem.
 * </ul>
 *
 * An example that matches nothing is in slice {@value #NONE}, so slices always partition the examples and their
 * confusion matrices sum to the overall one.
 */
public final class Slicer implements Serializable {
  private static final long serialVersionUID = 1L;
  public static final String NONE = "(none)";
  private static final Pattern GROUP_NAME = Pattern.compile("\\(\\?<([a-zA-Z][a-zA-Z0-9]*)>");

  private final String regex;
  private final List<String> groups;
  private final String field;
  private final Map<String, String> values;
  private transient Pattern pattern;

  private Slicer(String regex, List<String> groups, String field, Map<String, String> values) {
    this.regex = regex;
    this.groups = List.copyOf(groups);
    this.field = field;
    this.values = values;
  }

  /**
   * Reads {@code --sliceBy} (and for {@code field:} the metadata file), or returns null when there is no slicing.
   *
   * @throws IllegalArgumentException for a spec that cannot be used, saying why
   */
  public static Slicer parse(String sliceBy, String metadataUri) throws IOException {
    if (sliceBy == null || sliceBy.isBlank()) {
      if (metadataUri != null && !metadataUri.isBlank()) {
        throw new IllegalArgumentException("--sliceMetadata needs --sliceBy=field:NAME");
      }
      return null;
    }
    String spec = sliceBy.trim();
    if (spec.startsWith("path:")) {
      String regex = spec.substring("path:".length());
      try {
        Pattern.compile(regex);
      } catch (PatternSyntaxException e) {
        throw new IllegalArgumentException("--sliceBy=path: '" + regex + "' is not a regular expression: "
            + e.getDescription());
      }
      List<String> names = new ArrayList<>();
      Matcher m = GROUP_NAME.matcher(regex);
      while (m.find()) {
        names.add(m.group(1));
      }
      return new Slicer(regex, names, null, null);
    }
    if (spec.startsWith("field:")) {
      String field = spec.substring("field:".length()).trim();
      if (field.isEmpty() || metadataUri == null || metadataUri.isBlank()) {
        throw new IllegalArgumentException("--sliceBy=field:NAME needs a field name and --sliceMetadata, a JSON"
            + " Lines file with the field per image");
      }
      return new Slicer(null, List.of(), field, readValues(metadataUri, field));
    }
    throw new IllegalArgumentException("--sliceBy must be path:REGEX or field:NAME, got '" + spec + "'");
  }

  private static Map<String, String> readValues(String uri, String field) throws IOException {
    ObjectMapper json = new ObjectMapper();
    Map<String, String> values = new HashMap<>();
    String text = new String(Storage.readAll(uri), StandardCharsets.UTF_8);
    int line = 0;
    for (String l : text.split("\\R")) {
      line++;
      if (l.isBlank()) {
        continue;
      }
      JsonNode n;
      try {
        n = json.readTree(l);
      } catch (IOException e) {
        throw new IllegalArgumentException("--sliceMetadata " + uri + " line " + line + " is not JSON");
      }
      JsonNode v = n.path(field);
      if (v.isMissingNode() || v.isNull()) {
        continue;
      }
      String value = field + "=" + (v.isTextual() ? v.asText() : v.toString());
      for (String key : List.of("id", "image", "source-ref")) {
        String k = n.path(key).asText("");
        if (!k.isEmpty()) {
          values.put(k, value);
          values.putIfAbsent(stem(k), value);
        }
      }
    }
    if (values.isEmpty()) {
      throw new IllegalArgumentException("--sliceMetadata " + uri + " has no line with both an id (or image) and '"
          + field + "'");
    }
    return values;
  }

  static String stem(String uri) {
    String name = uri.substring(uri.lastIndexOf('/') + 1);
    int dot = name.lastIndexOf('.');
    return dot > 0 ? name.substring(0, dot) : name;
  }

  /** The slice of an example. */
  public String sliceOf(EvalItem item) {
    String path = item.imageUri() != null ? item.imageUri() : item.maskUri() != null ? item.maskUri() : item.id();
    if (field != null) {
      for (String k : new String[] {item.id(), item.imageUri(), item.maskUri(), path == null ? null : stem(path)}) {
        if (k != null && values.containsKey(k)) {
          return values.get(k);
        }
      }
      return NONE;
    }
    if (pattern == null) {
      pattern = Pattern.compile(regex);
    }
    Matcher m = pattern.matcher(path);
    if (!m.find()) {
      return NONE;
    }
    if (!groups.isEmpty()) {
      List<String> parts = new ArrayList<>();
      for (String g : groups) {
        parts.add(g + "=" + (m.group(g) == null ? "" : m.group(g)));
      }
      return String.join(",", parts);
    }
    return m.groupCount() > 0 && m.group(1) != null ? m.group(1) : m.group();
  }
}
