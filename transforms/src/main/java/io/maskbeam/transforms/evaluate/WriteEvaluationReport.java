package io.maskbeam.transforms.evaluate;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.models.eval.ConfusionMatrix;
import io.maskbeam.models.report.Charts;
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

  private final String output;
  private final List<LabelClass> classes;
  private final String describeJson;
  private final PCollectionView<Long> evaluated;
  private final PCollectionView<Map<String, Long>> failedByReason;
  private final PCollectionView<List<ExampleRender>> renders;

  /** @param describeJson what was evaluated (model or predictions, data, settings) as a JSON object */
  WriteEvaluationReport(String output, List<LabelClass> classes, String describeJson,
      PCollectionView<Long> evaluated, PCollectionView<Map<String, Long>> failedByReason,
      PCollectionView<List<ExampleRender>> renders) {
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
    return matrix.apply("WriteReport", ParDo.of(new ReportFn(this))
        .withSideInputs(evaluated, failedByReason, renders));
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
    return root;
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
        .append("<h1>Segmentation evaluation</h1>\n<p>")
        .append(escape(metrics.path("evaluated").toString())).append("</p>\n");
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
    h.append("</table>\n<div class=\"plots\"><img src=\"").append(CONFUSION_PNG)
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
    // Marks images that failed to load, so a broken report is visible at a glance (and checkable by tools).
    h.append("<script>window.addEventListener('load',function(){var b=0;")
        .append("document.querySelectorAll('img').forEach(function(i){if(!i.complete||i.naturalWidth===0){b++;")
        .append("i.style.outline='3px solid red';}});document.body.setAttribute('data-broken-images',b);")
        .append("document.body.setAttribute('data-images',document.querySelectorAll('img').length);});</script>\n")
        .append("</body></html>\n");
    return h.toString();
  }

  private static String cell(String s) {
    return "<td>" + escape(s) + "</td>";
  }

  private static String number(com.fasterxml.jackson.databind.JsonNode n) {
    return n.isNull() || n.isMissingNode() ? "n/a" : String.format(Locale.ROOT, "%.4f", n.asDouble());
  }

  static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
