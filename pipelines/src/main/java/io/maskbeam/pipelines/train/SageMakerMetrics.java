package io.maskbeam.pipelines.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.models.train.TrainingListener;
import java.io.PrintStream;
import java.util.Locale;

/**
 * The per-epoch log lines of SageMaker's built-in semantic segmentation algorithm, so that the metric definitions
 * of jobs moving from it work unchanged:
 *
 * <pre>
 * #quality_metric. host: algo-1, epoch: 3, train loss: 0.512 .
 * #quality_metric. host: algo-1, epoch: 3, validation pixel_accuracy: 0.874 .
 * #quality_metric. host: algo-1, epoch: 3, validation mIOU: 0.412 .
 * </pre>
 *
 * A metric definition {@code validation:mIOU} with the regex {@code validation mIOU: ([-+0-9.eE]+)} reads them (and
 * {@code validation:pixel_accuracy}, {@code train:loss} likewise). Epochs count from 0, as SageMaker's do.
 */
final class SageMakerMetrics implements TrainingListener {
  private final PrintStream out;
  private final String host;

  SageMakerMetrics(PrintStream out, String host) {
    this.out = out;
    this.host = host;
  }

  @Override
  public void onEpoch(int epoch, JsonNode metrics) {
    line(epoch - 1, "train loss", metrics.path("trainLoss"));
    line(epoch - 1, "validation pixel_accuracy", metrics.path("valPixelAccuracy"));
    line(epoch - 1, "validation mIOU", metrics.path("valMeanIou"));
    out.flush();
  }

  private void line(int epoch, String what, JsonNode value) {
    if (value.isNumber() && Double.isFinite(value.asDouble())) {
      out.printf(Locale.ROOT, "#quality_metric. host: %s, epoch: %d, %s: %s .%n", host, epoch, what,
          Double.toString(value.asDouble()));
    }
  }
}
