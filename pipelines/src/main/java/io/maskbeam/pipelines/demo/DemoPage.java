package io.maskbeam.pipelines.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.maskbeam.transforms.common.HtmlReports;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The demo's {@code index.html}: the best validation mIoU and per-class IoU, the training curves, and each unseen
 * image beside its overlay (or the reason it failed), linking to the segment run's own report. Paths are relative,
 * so the folder can be moved or zipped.
 */
final class DemoPage {
  static final String FILE = "index.html";

  private DemoPage() {}

  static Path write(Path root, Path training, Path unseenImages, Path segmented) throws IOException {
    ObjectMapper json = new ObjectMapper();
    JsonNode best = null;
    int epochs = 0;
    double seconds = 0;
    for (String line : Files.readAllLines(training.resolve("metrics.jsonl"), StandardCharsets.UTF_8)) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode m = json.readTree(line);
      epochs++;
      seconds += m.path("seconds").asDouble();
      if (m.has("valMeanIou") && (best == null || m.path("valMeanIou").asDouble() > best.path("valMeanIou")
          .asDouble())) {
        best = m;
      }
    }
    StringBuilder h = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
        .append("<title>Maskbeam demo</title>\n<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222;")
        .append("max-width:1400px}img.px{image-rendering:pixelated;width:256px}figure{display:inline-block;")
        .append("margin:0.5em;vertical-align:top}figcaption{font-size:85%;color:#555}table{border-collapse:")
        .append("collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}</style></head>\n<body>\n")
        .append("<h1>Maskbeam demo</h1>\n");
    if (best != null) {
      h.append(String.format(Locale.ROOT, "<p id=\"headline\">A U-Net trained for %d epochs (%.0f s of training)"
          + " reaches <b>val mIoU %.3f</b> (pixel accuracy %.3f) at epoch %d on synthetic shapes it never saw.</p>\n",
          epochs, seconds, best.path("valMeanIou").asDouble(), best.path("valPixelAccuracy").asDouble(),
          best.path("epoch").asInt()));
      h.append("<table><tr><th>class</th><th>IoU</th></tr>\n");
      best.path("valClassIou").fields().forEachRemaining(e -> h.append("<tr><td>")
          .append(HtmlReports.escape(e.getKey())).append(String.format(Locale.ROOT, "</td><td>%.3f</td></tr>%n",
              e.getValue().asDouble())));
      h.append("</table>\n");
    }
    h.append("<h2>Training</h2>\n<img src=\"").append(rel(root, training.resolve("training-curves.png")))
        .append("\" alt=\"training curves\" width=\"640\">\n");
    if (Files.exists(training.resolve("class-iou.png"))) {
      h.append("<img src=\"").append(rel(root, training.resolve("class-iou.png")))
          .append("\" alt=\"class IoU\" width=\"480\">\n");
    }
    h.append("<h2>Unseen images and their segmentation</h2>\n<p>Each input beside its overlay (the class colours"
        + " over the image). The full run: <a href=\"").append(rel(root, segmented.resolve("report.html")))
        .append("\">the segment report</a>, <code>segmented/masks/</code>, <code>segmented/summary.json</code>.</p>\n");
    List<Path> images;
    try (Stream<Path> files = Files.list(unseenImages)) {
      images = files.filter(p -> p.toString().endsWith(".png")).sorted().toList();
    }
    for (Path image : images) {
      String stem = image.getFileName().toString().replaceFirst("\\.png$", "");
      Path overlay = segmented.resolve("overlays/" + stem + ".jpg");
      h.append("<figure><img class=\"px\" src=\"").append(rel(root, image)).append("\" alt=\"").append(stem)
          .append("\">");
      if (Files.exists(overlay)) {
        h.append("<img class=\"px\" src=\"").append(rel(root, overlay)).append("\" alt=\"overlay of ").append(stem)
            .append("\"><figcaption>").append(HtmlReports.escape(stem)).append("</figcaption>");
      } else {
        h.append("<figcaption>").append(HtmlReports.escape(stem))
            .append(": not segmented (its reason is in segmented/errors/)</figcaption>");
      }
      h.append("</figure>\n");
    }
    h.append(HtmlReports.IMAGE_CHECK).append("</body></html>\n");
    Path page = root.resolve(FILE);
    Files.writeString(page, h.toString(), StandardCharsets.UTF_8);
    return page;
  }

  private static String rel(Path root, Path file) {
    return HtmlReports.escape(root.relativize(file).toString().replace('\\', '/'));
  }
}
