package io.maskbeam.transforms.segment;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.ImageLoader;
import io.maskbeam.image.InvalidImageException;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.Resampler;
import io.maskbeam.image.RgbImage;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.models.infer.MaskRendering;
import io.maskbeam.models.report.Charts;
import io.maskbeam.transforms.common.HtmlReports;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code report.html} of a segment run, written just before {@code summary.json}: the counts (which reconcile),
 * failures by reason, the class distribution over the collection (plot and table), and galleries of thumbnails
 * (image beside its overlay) of the least confident images and of a sample, under {@code report/}. Images are read
 * back from their inputs and masks, so the report shows what was written.
 */
final class SegmentReport {
  static final String REPORT_HTML = "report.html";
  static final String FOLDER = "report";
  static final String DISTRIBUTION_PNG = "class-distribution.png";
  private static final Logger LOG = LoggerFactory.getLogger(SegmentReport.class);
  private static final int THUMB_WIDTH = 200;

  private SegmentReport() {}

  /**
   * @param summary summary.json's content (counts, settings, classes)
   * @param leastConfident the least confident images, least confident first (empty without confidence)
   * @param sample a deterministic sample of the collection
   */
  static void write(SegmentOutputs outputs, JsonNode summary, List<LabelClass> classes,
      List<ImageStats> leastConfident, List<ImageStats> sample) throws IOException {
    String folder = Storage.join(outputs.output(), FOLDER);
    double[] fractions = new double[classes.size()];
    for (int c = 0; c < fractions.length; c++) {
      fractions[c] = summary.path("classes").path(c).path("pixelFraction").asDouble();
    }
    Path chart = Files.createTempFile("maskbeam-distribution", ".png");
    try {
      Charts.classDistribution(chart, fractions, classes.stream().map(LabelClass::name).toList());
      Storage.write(Storage.join(folder, DISTRIBUTION_PNG), Files.readAllBytes(chart), "image/png");
    } finally {
      Files.deleteIfExists(chart);
    }
    StringBuilder h = new StringBuilder();
    JsonNode run = summary.path("run");
    h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>Maskbeam segmentation ")
        .append(escape(run.path("id").asText())).append("</title>\n<style>\n")
        .append("body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}\n")
        .append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;")
        .append("text-align:right}th{background:#f3f3f3}td.name{text-align:left}\n")
        .append(".swatch{display:inline-block;width:14px;height:14px;border:1px solid #888;vertical-align:middle;")
        .append("margin-right:6px}\nfigure{display:inline-block;margin:0.5em;vertical-align:top}")
        .append("figcaption{font-size:85%;color:#555;max-width:420px;word-break:break-all}\n")
        .append("</style></head>\n<body>\n<h1>Segmentation run ").append(escape(run.path("id").asText()))
        .append("</h1>\n<p>Model ").append(escape(summary.path("model").asText())).append(" (version ")
        .append(escape(summary.path("modelVersion").asText())).append(", ")
        .append(escape(summary.path("modelFormat").asText())).append(")</p>\n");
    h.append("<table id=\"counts\"><tr><th>matched</th><th>segmented</th><th>skipped</th><th>failed</th>")
        .append("<th>images in the collection</th></tr><tr>").append(cell(run.path("matched").asText()))
        .append(cell(run.path("segmented").asText())).append(cell(run.path("skipped").asText()))
        .append(cell(run.path("failed").asText())).append(cell(summary.path("collection").path("images").asText()))
        .append("</tr></table>\n<p>matched ").append(run.path("matched").asLong()).append(" = segmented ")
        .append(run.path("segmented").asLong()).append(" + skipped ").append(run.path("skipped").asLong())
        .append(" + failed ").append(run.path("failed").asLong()).append("</p>\n");
    if (run.path("failed").asLong() > 0) {
      h.append("<h2>Failures by reason</h2>\n<table id=\"failures\"><tr><th>reason</th><th>inputs</th></tr>\n");
      run.path("failedByReason").fields().forEachRemaining(e -> h.append("<tr><td class=\"name\">")
          .append(escape(e.getKey())).append("</td>").append(cell(e.getValue().asText())).append("</tr>\n"));
      h.append("</table>\n<p>Each failed input has a record in errors/.</p>\n");
    }
    h.append("<h2>Class distribution</h2>\n<img src=\"").append(FOLDER).append('/').append(DISTRIBUTION_PNG)
        .append("\" alt=\"class distribution\">\n<table id=\"classes\"><tr><th>class</th><th>pixels</th>")
        .append("<th>share of pixels</th><th>images with the class</th></tr>\n");
    for (JsonNode c : summary.path("classes")) {
      h.append("<tr><td class=\"name\"><span class=\"swatch\" style=\"background:")
          .append(escape(c.path("color").asText())).append("\"></span>").append(escape(c.path("name").asText()))
          .append("</td>").append(cell(c.path("pixels").asText()))
          .append(cell(String.format(Locale.ROOT, "%.4f", c.path("pixelFraction").asDouble())))
          .append(cell(c.path("imagesWithClass").asText())).append("</tr>\n");
    }
    h.append("</table>\n");
    if (!leastConfident.isEmpty()) {
      h.append("<h2>Least confident images</h2>\n<p>Image and overlay; mean top-class probability, lowest first"
          + " (the full ranking is uncertain.csv).</p>\n");
      gallery(h, outputs, classes, leastConfident, "least-confident", folder);
    }
    if (!sample.isEmpty()) {
      h.append("<h2>Sample</h2>\n");
      gallery(h, outputs, classes, sample, "sample", folder);
    }
    h.append(HtmlReports.IMAGE_CHECK).append("</body></html>\n");
    Storage.writeString(Storage.join(outputs.output(), REPORT_HTML), h.toString(), "text/html");
  }

  private static void gallery(StringBuilder h, SegmentOutputs outputs, List<LabelClass> classes,
      List<ImageStats> images, String prefix, String folder) {
    for (int i = 0; i < images.size(); i++) {
      ImageStats s = images.get(i);
      String name = String.format(Locale.ROOT, "%s-%02d.jpg", prefix, i + 1);
      if (s.raster() != null) {
        // A raster is never read whole, not even for a thumbnail: its GeoTIFF mask is for a GIS.
        h.append("<p>").append(escape(s.key())).append(": a raster, ").append(s.width()).append('x')
            .append(s.height()).append(" (").append(escape(s.raster().crs())).append("); open ")
            .append(escape(outputs.rasterMaskUri(s.key()))).append(" in a GIS</p>\n");
        continue;
      }
      try {
        byte[] thumb = thumbnail(s, outputs, classes);
        Storage.write(Storage.join(folder, name), thumb, "image/jpeg");
      } catch (IOException | InvalidImageException | RuntimeException e) {
        // The input may have moved since it was segmented (earlier runs' images); the report says so.
        LOG.warn("no thumbnail for {}: {}", s.input(), e.toString());
        h.append("<p>").append(escape(s.key())).append(": no thumbnail (").append(escape(e.getMessage()))
            .append(")</p>\n");
        continue;
      }
      h.append("<figure><img src=\"").append(FOLDER).append('/').append(name).append("\" alt=\"")
          .append(escape(s.key())).append("\"><figcaption>").append(escape(s.key()));
      if (s.confidence() != null) {
        h.append(String.format(Locale.ROOT, " &mdash; top probability %.3f, low-confidence pixels %.1f%%",
            s.confidence().meanMaxProbability(), 100 * s.confidence().lowConfidenceFraction()));
      }
      h.append("</figcaption></figure>\n");
    }
  }

  /** The image and its overlay side by side, each {@value #THUMB_WIDTH} pixels wide. */
  static byte[] thumbnail(ImageStats s, SegmentOutputs outputs, List<LabelClass> classes)
      throws IOException, InvalidImageException {
    RgbImage image = ImageLoader.defaults().load(Storage.readAll(s.input())).image();
    LabelImage mask = ImageCodec.decodeLabels(Storage.readAll(outputs.maskUri(s.key())));
    if (mask.width() != image.width() || mask.height() != image.height()) {
      throw new IOException("the mask is " + mask.width() + "x" + mask.height() + " but the input now "
          + image.width() + "x" + image.height());
    }
    int w = THUMB_WIDTH;
    int th = Math.max(1, (int) Math.round((double) image.height() * w / image.width()));
    RgbImage small = Resampler.resize(image, w, th);
    RgbImage overlay = MaskRendering.overlay(small, MaskRendering.colorize(Resampler.resizeNearest(mask, w, th),
        classes), outputs.overlayAlpha());
    byte[] both = new byte[2 * w * th * 3];
    for (int y = 0; y < th; y++) {
      System.arraycopy(small.pixels(), y * w * 3, both, y * 2 * w * 3, w * 3);
      System.arraycopy(overlay.pixels(), y * w * 3, both, (y * 2 * w + w) * 3, w * 3);
    }
    return ImageCodec.encodeJpeg(new RgbImage(2 * w, th, both), 85);
  }

  private static String cell(String s) {
    return "<td>" + escape(s) + "</td>";
  }

  static String escape(String s) {
    return HtmlReports.escape(s);
  }
}
