package io.maskbeam.transforms.evaluate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.models.eval.ConfusionMatrix;
import io.maskbeam.models.eval.QualityGate;
import io.maskbeam.models.report.Charts;
import io.maskbeam.transforms.common.HtmlReports;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;

/**
 * Writes the evaluation's results from the combined confusion matrix: {@code metrics.json},
 * {@code confusion-matrix.png}, {@code class-iou.png} and {@code report.html}, which shows the tables, the plots
 * and the best and worst examples. {@code metrics.json} is written last.
 */
public final class WriteEvaluationReport extends PTransform<PCollection<ConfusionMatrix>, PCollection<String>> {
  public static final String METRICS_JSON = "metrics.json";
  public static final String REPORT_HTML = "report.html";
  public static final String CONFUSION_PNG = "confusion-matrix.png";
  public static final String CLASS_IOU_PNG = "class-iou.png";
  public static final String BLESSING_JSON = "blessing.json";

  /**
   * How the candidate is compared and judged: the baseline model's URI (null: none), the quality gate, and the
   * paired bootstrap of the mIoU difference (resamples, seed, interval level).
   */
  public record Judgement(String baselineModel, QualityGate gate, int bootstrapSamples, long bootstrapSeed)
      implements java.io.Serializable {
    public static final Judgement NONE = new Judgement(null, QualityGate.NONE, 1000, 7);
  }

  private final String output;
  private final List<LabelClass> classes;
  private final String describeJson;
  private final PCollectionView<Long> evaluated;
  private final PCollectionView<Map<String, Long>> failedByReason;
  private final PCollectionView<List<ExampleRender>> renders;
  private final PCollectionView<List<ImageEvaluation>> perImage;
  private final Judgement judgement;

  /**
   * @param describeJson what was evaluated (model or predictions, data, settings) as a JSON object
   * @param perImage every image's evaluation, for slices and the baseline (null when neither is asked for)
   */
  WriteEvaluationReport(String output, List<LabelClass> classes, String describeJson,
      PCollectionView<Long> evaluated, PCollectionView<Map<String, Long>> failedByReason,
      PCollectionView<List<ExampleRender>> renders, PCollectionView<List<ImageEvaluation>> perImage,
      Judgement judgement) {
    this.perImage = perImage;
    this.judgement = judgement;
    this.output = output;
    this.classes = List.copyOf(classes);
    this.describeJson = describeJson;
    this.evaluated = evaluated;
    this.failedByReason = failedByReason;
    this.renders = renders;
  }

  /** Returns the URI of metrics.json once written. */
  @Override
  public PCollection<String> expand(PCollection<ConfusionMatrix> matrix) {
    List<PCollectionView<?>> sides = new ArrayList<>(List.of(evaluated, failedByReason, renders));
    if (perImage != null) {
      sides.add(perImage);
    }
    return matrix.apply("WriteReport", ParDo.of(new ReportFn(this)).withSideInputs(sides));
  }

  static final class ReportFn extends DoFn<ConfusionMatrix, String> {
    private final WriteEvaluationReport spec;

    ReportFn(WriteEvaluationReport spec) {
      this.spec = spec;
    }

    @ProcessElement
    public void process(@Element ConfusionMatrix m, ProcessContext context) throws IOException {
      long count = context.sideInput(spec.evaluated);
      Map<String, Long> failures = new TreeMap<>(context.sideInput(spec.failedByReason));
      List<ExampleRender> examples = new ArrayList<>(context.sideInput(spec.renders));
      examples.sort(Comparator.comparing(ExampleRender::label));
      List<String> names = spec.classes.stream().map(LabelClass::name).toList();

      Path charts = Files.createTempDirectory("maskbeam-eval");
      try {
        Charts.confusionMatrix(charts.resolve(CONFUSION_PNG), m, names);
        Charts.classIou(charts.resolve(CLASS_IOU_PNG), m.iou(), names);
        for (String chart : List.of(CONFUSION_PNG, CLASS_IOU_PNG)) {
          Storage.write(Storage.join(spec.output, chart), Files.readAllBytes(charts.resolve(chart)), "image/png");
        }
      } finally {
        for (String chart : List.of(CONFUSION_PNG, CLASS_IOU_PNG)) {
          Files.deleteIfExists(charts.resolve(chart));
        }
        Files.deleteIfExists(charts);
      }
      ObjectNode metrics = metricsJson(m, spec.classes, count, failures, spec.describeJson);
      if (spec.perImage != null) {
        addSlicesAndBaseline(metrics, context.sideInput(spec.perImage), spec.classes, spec.judgement);
      }
      if (!spec.judgement.gate().isEmpty()) {
        ObjectNode blessing = spec.judgement.gate().judge(metrics);
        metrics.set("blessing", blessing);
        Storage.writeString(Storage.join(spec.output, BLESSING_JSON),
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(blessing) + "\n",
            "application/json");
      }
      Storage.writeString(Storage.join(spec.output, REPORT_HTML), html(metrics, examples), "text/html");
      String metricsUri = Storage.join(spec.output, METRICS_JSON);
      Storage.writeString(metricsUri,
          new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(metrics) + "\n",
          "application/json");
      context.output(metricsUri);
    }
  }

  /** Every metric of the matrix, per class and overall, with the matrix itself. NaN (class absent) becomes null. */
  public static ObjectNode metricsJson(ConfusionMatrix m, List<LabelClass> classes, long examples,
      Map<String, Long> failures, String describeJson) throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = json.createObjectNode();
    root.put("format", "maskbeam-evaluation/1");
    root.set("evaluated", json.readTree(describeJson));
    root.put("examples", examples);
    long failed = failures.values().stream().mapToLong(Long::longValue).sum();
    root.put("failed", failed);
    ObjectNode reasons = root.putObject("failedByReason");
    failures.forEach(reasons::put);
    scores(root, m, classes);
    return root;
  }

  /** A matrix's metrics, overall and per class, and the matrix itself, into a node (root, slice or baseline). */
  static void scores(ObjectNode root, ConfusionMatrix m, List<LabelClass> classes) {
    root.put("pixels", m.total());
    put(root, "meanIou", m.meanIou());
    put(root, "pixelAccuracy", m.pixelAccuracy());
    put(root, "meanAccuracy", m.meanAccuracy());
    put(root, "frequencyWeightedIou", m.frequencyWeightedIou());
    put(root, "meanDice", m.meanDice());
    double[] iou = m.iou();
    double[] dice = m.dice();
    ArrayNode perClass = root.putArray("classes");
    int n = m.numClasses();
    for (int c = 0; c < n; c++) {
      long truth = 0;
      long predicted = 0;
      for (int k = 0; k < n; k++) {
        truth += m.get(c, k);
        predicted += m.get(k, c);
      }
      ObjectNode node = perClass.addObject();
      node.put("id", c);
      node.put("name", classes.get(c).name());
      node.put("color", classes.get(c).hexColor());
      put(node, "iou", iou[c]);
      put(node, "dice", dice[c]);
      put(node, "accuracy", truth == 0 ? Double.NaN : (double) m.get(c, c) / truth);
      put(node, "precision", predicted == 0 ? Double.NaN : (double) m.get(c, c) / predicted);
      node.put("truthPixels", truth);
      node.put("predictedPixels", predicted);
    }
    ArrayNode rows = root.putArray("confusionMatrix");
    for (int t = 0; t < n; t++) {
      ArrayNode row = rows.addArray();
      for (int p = 0; p < n; p++) {
        row.add(m.get(t, p));
      }
    }
  }

  /**
   * {@code slices}: each slice's metrics from the exact sum of its images' matrices (so the slices add up to the
   * overall matrix); {@code baseline}: the baseline's metrics, the candidate-minus-baseline deltas overall and per
   * class, and the paired bootstrap interval of the mIoU difference; each slice gets its baseline deltas too.
   */
  static void addSlicesAndBaseline(ObjectNode root, List<ImageEvaluation> images, List<LabelClass> classes,
      Judgement judgement) {
    int n = classes.size();
    boolean withBaseline = judgement.baselineModel() != null;
    java.util.TreeMap<String, ConfusionMatrix[]> bySlice = new java.util.TreeMap<>();
    java.util.TreeMap<String, Long> counts = new java.util.TreeMap<>();
    ConfusionMatrix baseline = new ConfusionMatrix(n);
    List<io.maskbeam.models.eval.PairedBootstrap.Pair> pairs = new ArrayList<>();
    // A side input's order is the runner's; sorted by id, the bootstrap draws the same images for the same seed.
    List<ImageEvaluation> sorted = new ArrayList<>(images);
    sorted.sort(Comparator.comparing(ImageEvaluation::id));
    for (ImageEvaluation e : sorted) {
      ConfusionMatrix[] sums = bySlice.computeIfAbsent(e.slice(), k -> new ConfusionMatrix[] {new ConfusionMatrix(n),
          new ConfusionMatrix(n)});
      sums[0].merge(e.matrix());
      counts.merge(e.slice(), 1L, Long::sum);
      if (withBaseline && e.baseline() != null) {
        sums[1].merge(e.baseline());
        baseline.merge(e.baseline());
        pairs.add(new io.maskbeam.models.eval.PairedBootstrap.Pair(e.matrix(), e.baseline()));
      }
    }
    if (withBaseline) {
      ObjectNode b = root.putObject("baseline");
      b.put("model", judgement.baselineModel());
      scores(b, baseline, classes);
      b.set("delta", delta(root, b));
      if (!pairs.isEmpty()) {
        var interval = io.maskbeam.models.eval.PairedBootstrap.meanIouDifference(pairs, judgement.bootstrapSamples(),
            0.95, judgement.bootstrapSeed());
        ObjectNode boot = b.putObject("bootstrap");
        put(boot, "meanIouDifference", interval.difference());
        put(boot, "low", interval.low());
        put(boot, "high", interval.high());
        boot.put("level", interval.level()).put("samples", interval.samples()).put("seed", judgement.bootstrapSeed())
            .put("images", pairs.size());
      }
    }
    boolean sliced = !(bySlice.size() == 1 && bySlice.containsKey(""));
    if (sliced) {
      ArrayNode slices = root.putArray("slices");
      bySlice.forEach((name, sums) -> {
        ObjectNode s = slices.addObject();
        s.put("slice", name);
        s.put("examples", counts.get(name));
        scores(s, sums[0], classes);
        if (withBaseline) {
          ObjectNode b = s.putObject("baseline");
          scores(b, sums[1], classes);
          b.set("delta", delta(s, b));
        }
      });
    }
  }

  /** Candidate minus baseline for every overall and per-class metric (null where either is missing). */
  static ObjectNode delta(ObjectNode candidate, ObjectNode baseline) {
    ObjectNode d = new ObjectMapper().createObjectNode();
    for (String k : List.of("meanIou", "pixelAccuracy", "meanAccuracy", "frequencyWeightedIou", "meanDice")) {
      put(d, k, difference(candidate.path(k), baseline.path(k)));
    }
    ArrayNode classes = d.putArray("classes");
    for (int c = 0; c < candidate.path("classes").size(); c++) {
      JsonNode a = candidate.path("classes").get(c);
      JsonNode b = baseline.path("classes").get(c);
      ObjectNode node = classes.addObject().put("name", a.path("name").asText());
      for (String k : List.of("iou", "dice", "accuracy", "precision")) {
        put(node, k, difference(a.path(k), b.path(k)));
      }
    }
    return d;
  }

  private static double difference(JsonNode a, JsonNode b) {
    return a.isNumber() && b.isNumber() ? a.asDouble() - b.asDouble() : Double.NaN;
  }

  private static void put(ObjectNode node, String key, double value) {
    if (Double.isNaN(value)) {
      node.putNull(key);
    } else {
      node.put(key, value);
    }
  }

  static String html(ObjectNode metrics, List<ExampleRender> examples) {
    StringBuilder h = new StringBuilder();
    h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
        .append("<title>Maskbeam evaluation</title>\n<style>\n")
        .append("body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}\n")
        .append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;")
        .append("text-align:right}th{background:#f3f3f3}td.name{text-align:left}\n")
        .append(".swatch{display:inline-block;width:14px;height:14px;border:1px solid #888;vertical-align:middle;")
        .append("margin-right:6px}\nfigure{margin:1em 0}img{max-width:100%}figcaption{font-size:90%;color:#555}\n")
        .append(".plots img{max-height:520px;margin-right:1em}\n</style></head>\n<body>\n")
        .append("<h1>Segmentation evaluation</h1>\n");
    JsonNode blessing = metrics.path("blessing");
    if (blessing.isObject()) {
      boolean blessed = blessing.path("blessed").asBoolean();
      h.append("<div id=\"blessing\" data-blessed=\"").append(blessed).append("\" style=\"padding:0.8em 1em;")
          .append("border:2px solid ").append(blessed ? "#2a8a2a;background:#e8f6e8" : "#b22;background:#fbe9e9")
          .append("\"><strong>").append(blessed ? "Blessed" : "Not blessed").append("</strong>: ");
      List<String> lines = new ArrayList<>();
      for (JsonNode r : blessing.path("rules")) {
        lines.add((r.path("passed").asBoolean() ? "&#10003; " : "&#10007; ") + escape(r.path("rule").asText())
            + (r.has("slice") ? " [" + escape(r.path("slice").asText()) + "]" : "") + " = "
            + escape(number(r.path("value"))));
      }
      h.append(String.join("; ", lines)).append("</div>\n");
    }
    h.append("<p>").append(escape(metrics.path("evaluated").toString())).append("</p>\n");
    h.append("<table><tr><th>examples</th><th>failed</th><th>pixels scored</th><th>mIoU</th><th>pixel accuracy</th>")
        .append("<th>mean accuracy</th><th>frequency-weighted IoU</th><th>mean Dice</th></tr><tr>")
        .append(cell(metrics.path("examples").asText())).append(cell(metrics.path("failed").asText()))
        .append(cell(metrics.path("pixels").asText()));
    for (String k : List.of("meanIou", "pixelAccuracy", "meanAccuracy", "frequencyWeightedIou", "meanDice")) {
      h.append(cell(number(metrics.path(k))));
    }
    h.append("</tr></table>\n");
    if (metrics.path("failed").asLong() > 0) {
      h.append("<p>Failed examples by reason: ").append(escape(metrics.path("failedByReason").toString()))
          .append(" (see errors/).</p>\n");
    }
    h.append("<h2>Per class</h2>\n<table><tr><th>class</th><th>IoU</th><th>Dice</th><th>accuracy (recall)</th>")
        .append("<th>precision</th><th>truth pixels</th><th>predicted pixels</th></tr>\n");
    for (var c : metrics.path("classes")) {
      h.append("<tr><td class=\"name\"><span class=\"swatch\" style=\"background:")
          .append(escape(c.path("color").asText())).append("\"></span>").append(escape(c.path("name").asText()))
          .append("</td>").append(cell(number(c.path("iou")))).append(cell(number(c.path("dice"))))
          .append(cell(number(c.path("accuracy")))).append(cell(number(c.path("precision"))))
          .append(cell(c.path("truthPixels").asText())).append(cell(c.path("predictedPixels").asText()))
          .append("</tr>\n");
    }
    h.append("</table>\n");
    JsonNode baseline = metrics.path("baseline");
    if (baseline.isObject()) {
      h.append("<h2>Against the baseline</h2>\n<p>Baseline: ").append(escape(baseline.path("model").asText()))
          .append("</p>\n<table id=\"baseline\"><tr><th>metric</th><th>candidate</th><th>baseline</th>")
          .append("<th>difference</th></tr>\n");
      for (String k : List.of("meanIou", "pixelAccuracy", "meanAccuracy", "frequencyWeightedIou", "meanDice")) {
        h.append("<tr><td class=\"name\">").append(k).append("</td>").append(cell(number(metrics.path(k))))
            .append(cell(number(baseline.path(k)))).append(cell(number(baseline.path("delta").path(k))))
            .append("</tr>\n");
      }
      h.append("</table>\n");
      JsonNode boot = baseline.path("bootstrap");
      if (boot.isObject()) {
        h.append(String.format(Locale.ROOT, "<p>mIoU difference %s, %.0f%% paired bootstrap interval [%s, %s] over"
            + " %d images (%d resamples, seed %d).</p>\n", number(boot.path("meanIouDifference")),
            100 * boot.path("level").asDouble(), number(boot.path("low")), number(boot.path("high")),
            boot.path("images").asLong(), boot.path("samples").asInt(), boot.path("seed").asLong()));
      }
    }
    if (metrics.path("slices").isArray()) {
      boolean deltas = baseline.isObject();
      h.append("<h2>Per slice</h2>\n<table id=\"slices\"><tr><th>slice</th><th>examples</th><th>pixels</th>")
          .append("<th>mIoU</th><th>pixel accuracy</th>").append(deltas ? "<th>mIoU difference</th>" : "")
          .append("</tr>\n");
      for (JsonNode s : metrics.path("slices")) {
        h.append("<tr><td class=\"name\">").append(escape(s.path("slice").asText())).append("</td>")
            .append(cell(s.path("examples").asText())).append(cell(s.path("pixels").asText()))
            .append(cell(number(s.path("meanIou")))).append(cell(number(s.path("pixelAccuracy"))));
        if (deltas) {
          h.append(cell(number(s.path("baseline").path("delta").path("meanIou"))));
        }
        h.append("</tr>\n");
      }
      h.append("</table>\n");
    }
    h.append("<div class=\"plots\"><img src=\"").append(CONFUSION_PNG)
        .append("\" alt=\"confusion matrix\"><img src=\"").append(CLASS_IOU_PNG)
        .append("\" alt=\"IoU per class\"></div>\n");
    for (String kind : List.of("best", "worst")) {
      h.append("<h2>").append(kind.equals("best") ? "Best" : "Worst").append(" examples</h2>\n")
          .append("<p>Each row: image, ground truth, prediction, errors (red: wrong, grey: ignored).</p>\n");
      for (ExampleRender e : examples) {
        if (e.label().startsWith(kind + "-")) {
          h.append("<figure><img src=\"").append(escape(e.file())).append("\" alt=\"").append(escape(e.id()))
              .append("\"><figcaption>").append(escape(e.id())).append(String.format(Locale.ROOT,
                  " &mdash; mIoU %.3f, pixel accuracy %.3f", e.meanIou(), e.pixelAccuracy()))
              .append("</figcaption></figure>\n");
        }
      }
    }
    h.append(HtmlReports.IMAGE_CHECK).append("</body></html>\n");
    return h.toString();
  }

  private static String cell(String s) {
    return "<td>" + escape(s) + "</td>";
  }

  private static String number(com.fasterxml.jackson.databind.JsonNode n) {
    return n.isNull() || n.isMissingNode() ? "n/a" : String.format(Locale.ROOT, "%.4f", n.asDouble());
  }

  static String escape(String s) {
    return HtmlReports.escape(s);
  }
}
