package io.maskbeam.models.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The rule that decides whether a model is promoted (TFX's "blessing"): thresholds on evaluate's metrics, overall,
 * per class and per slice, on the values themselves or on their difference from a baseline model scored in the same
 * job. Rules are separated by {@code ;}:
 *
 * <pre>
 * meanIou&gt;=0.55                      overall value
 * meanIou.delta&gt;=-0.01               candidate minus baseline
 * class.Pedestrian.iou&gt;=0.3          a class's value (iou, dice, accuracy, precision)
 * slice.city=berlin.meanIou&gt;=0.5     one slice
 * slice.*.meanIou.delta&gt;=-0.03       every slice
 * </pre>
 *
 * A rule whose value does not exist (a class absent from the data, a slice with no pixels) fails: a gate must not
 * pass on what it could not see.
 */
public final class QualityGate implements Serializable {
  private static final long serialVersionUID = 1L;
  public static final Set<String> OVERALL = Set.of("meanIou", "pixelAccuracy", "meanAccuracy",
      "frequencyWeightedIou", "meanDice");
  public static final Set<String> PER_CLASS = Set.of("iou", "dice", "accuracy", "precision");
  private static final Pattern RULE = Pattern.compile("^(?:slice\\.(?<slice>\\*|[^.]+)\\.)?"
      + "(?:class\\.(?<cls>[^.]+)\\.)?(?<metric>[A-Za-z]+)(?<delta>\\.delta)?\\s*(?<op>>=|<=|==|>|<)\\s*"
      + "(?<value>[-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)$");

  /** One rule as written. */
  public record Rule(String text, String slice, String className, String metric, boolean delta, String op,
      double threshold) implements Serializable {
    boolean holds(double v) {
      return switch (op) {
        case ">=" -> v >= threshold;
        case "<=" -> v <= threshold;
        case ">" -> v > threshold;
        case "<" -> v < threshold;
        default -> v == threshold;
      };
    }
  }

  /** No rules: nothing judged, no blessing written. */
  public static final QualityGate NONE = new QualityGate(List.of());

  private final List<Rule> rules;

  private QualityGate(List<Rule> rules) {
    this.rules = List.copyOf(rules);
  }

  public List<Rule> rules() {
    return rules;
  }

  public boolean isEmpty() {
    return rules.isEmpty();
  }

  /**
   * Parses {@code --thresholds}, checking names against the classes and whether a baseline is scored.
   *
   * @throws IllegalArgumentException naming the rule that cannot be read
   */
  public static QualityGate parse(String spec, List<String> classNames, boolean withBaseline) {
    List<Rule> rules = new ArrayList<>();
    if (spec == null || spec.isBlank()) {
      return new QualityGate(rules);
    }
    for (String raw : spec.split(";")) {
      String text = raw.trim();
      if (text.isEmpty()) {
        continue;
      }
      Matcher m = RULE.matcher(text);
      if (!m.matches()) {
        throw new IllegalArgumentException("--thresholds: cannot read '" + text + "'; rules look like"
            + " meanIou>=0.55, meanIou.delta>=-0.01, class.NAME.iou>=0.3, slice.NAME.meanIou>=0.5 or"
            + " slice.*.meanIou.delta>=-0.03");
      }
      String cls = m.group("cls");
      String metric = m.group("metric");
      if (cls == null && !OVERALL.contains(metric)) {
        throw new IllegalArgumentException("--thresholds '" + text + "': '" + metric + "' is not an overall metric ("
            + String.join(", ", new java.util.TreeSet<>(OVERALL)) + ")");
      }
      if (cls != null && !PER_CLASS.contains(metric)) {
        throw new IllegalArgumentException("--thresholds '" + text + "': '" + metric + "' is not a per-class metric ("
            + String.join(", ", new java.util.TreeSet<>(PER_CLASS)) + ")");
      }
      if (cls != null && !classNames.contains(cls)) {
        throw new IllegalArgumentException("--thresholds '" + text + "': no class '" + cls + "'; the classes are "
            + classNames);
      }
      boolean delta = m.group("delta") != null;
      if (delta && !withBaseline) {
        throw new IllegalArgumentException("--thresholds '" + text + "' compares with a baseline: give"
            + " --baselineModel");
      }
      rules.add(new Rule(text, m.group("slice"), cls, metric, delta, m.group("op"),
          Double.parseDouble(m.group("value"))));
    }
    return new QualityGate(rules);
  }

  /**
   * Judges metrics as evaluate writes them (root: overall values, {@code classes}, {@code baseline.delta};
   * {@code slices[]}: the same per slice). Returns the blessing document.
   */
  public ObjectNode judge(JsonNode metrics) {
    ObjectMapper json = new ObjectMapper();
    ObjectNode out = json.createObjectNode();
    out.put("format", "maskbeam-blessing/1");
    ArrayNode results = json.createArrayNode();
    boolean all = true;
    for (Rule r : rules) {
      List<JsonNode> scopes = new ArrayList<>();
      List<String> names = new ArrayList<>();
      if (r.slice() == null) {
        scopes.add(metrics);
        names.add(null);
      } else {
        for (JsonNode s : metrics.path("slices")) {
          if (r.slice().equals("*") || r.slice().equals(s.path("slice").asText())) {
            scopes.add(s);
            names.add(s.path("slice").asText());
          }
        }
      }
      if (scopes.isEmpty()) {
        all = false;
        ObjectNode n = results.addObject().put("rule", r.text()).put("passed", false);
        n.putNull("value");
        n.put("note", r.slice().equals("*") ? "no slices were evaluated (give --sliceBy)"
            : "no slice named '" + r.slice() + "'");
        continue;
      }
      for (int i = 0; i < scopes.size(); i++) {
        JsonNode value = valueOf(scopes.get(i), r);
        boolean passed = value != null && value.isNumber() && r.holds(value.asDouble());
        all &= passed;
        ObjectNode n = results.addObject().put("rule", r.text());
        if (names.get(i) != null) {
          n.put("slice", names.get(i));
        }
        if (value != null && value.isNumber()) {
          n.put("value", value.asDouble());
        } else {
          n.putNull("value");
          n.put("note", "no value (the class or slice had no pixels to score)");
        }
        n.put("threshold", r.threshold()).put("op", r.op()).put("passed", passed);
      }
    }
    out.put("blessed", all);
    out.set("rules", results);
    return out;
  }

  private static JsonNode valueOf(JsonNode scope, Rule r) {
    JsonNode base = r.delta() ? scope.path("baseline").path("delta") : scope;
    if (r.className() == null) {
      JsonNode v = base.path(r.metric());
      return v.isMissingNode() ? null : v;
    }
    JsonNode classes = r.delta() ? base.path("classes") : scope.path("classes");
    for (JsonNode c : classes) {
      if (r.className().equals(c.path("name").asText())) {
        JsonNode v = c.path(r.metric());
        return v.isMissingNode() ? null : v;
      }
    }
    return null;
  }

  @Override
  public String toString() {
    return String.join(";", rules.stream().map(Rule::text).toList());
  }
}
