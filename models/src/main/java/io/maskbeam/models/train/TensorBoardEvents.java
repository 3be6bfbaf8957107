package io.maskbeam.models.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.dataset.TfRecordFraming;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.Map;
import org.tensorflow.proto.Event;
import org.tensorflow.proto.Summary;

/**
 * TensorBoard event files of a training run ({@code events.out.tfevents.<seconds>.<host>}): TFRecord-framed
 * {@code Event} protos, the first carrying {@code file_version = "brain.Event:2"}, then scalar summaries:
 * {@code train/loss} and {@code train/learning_rate} every {@code everySteps} steps, and each epoch's validation
 * metrics ({@code val/meanIou}, {@code val/pixelAccuracy}, ..., {@code val/iou/<class>}) and train loss. Scalars are
 * {@code simple_value}s, which TensorBoard reads (it migrates them to its scalar plugin on load). Vertex AI training
 * points {@code AIP_TENSORBOARD_LOG_DIR} at the folder its TensorBoard watches.
 */
public final class TensorBoardEvents implements TrainingListener {
  private final Path file;
  private final int everySteps;

  /** Creates the event file in {@code dir} and writes its version record. */
  public TensorBoardEvents(Path dir, int everySteps) throws IOException {
    Files.createDirectories(dir);
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "localhost";
    }
    this.file = dir.resolve(String.format("events.out.tfevents.%010d.%s", System.currentTimeMillis() / 1000, host));
    this.everySteps = Math.max(1, everySteps);
    append(Event.newBuilder().setWallTime(now()).setFileVersion("brain.Event:2").build());
  }

  public Path file() {
    return file;
  }

  @Override
  public void onStep(long step, float loss, float learningRate) throws IOException {
    // The first step too, so a short run (or one resumed late) still has a loss point at its start.
    if (step == 1 || step % everySteps == 0) {
      scalars(step, Map.of("train/loss", (double) loss, "train/learning_rate", (double) learningRate));
    }
  }

  @Override
  public void onEpoch(int epoch, JsonNode metrics) throws IOException {
    long step = metrics.path("step").asLong(epoch);
    Summary.Builder summary = Summary.newBuilder();
    add(summary, "epoch/train_loss", metrics.path("trainLoss"));
    add(summary, "epoch/images_per_second", metrics.path("imagesPerSecond"));
    add(summary, "val/meanIou", metrics.path("valMeanIou"));
    add(summary, "val/pixelAccuracy", metrics.path("valPixelAccuracy"));
    add(summary, "val/meanAccuracy", metrics.path("valMeanAccuracy"));
    add(summary, "val/frequencyWeightedIou", metrics.path("valFrequencyWeightedIou"));
    for (Iterator<Map.Entry<String, JsonNode>> it = metrics.path("valClassIou").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      add(summary, "val/iou/" + e.getKey(), e.getValue());
    }
    append(Event.newBuilder().setWallTime(now()).setStep(step).setSummary(summary).build());
  }

  /** Writes scalars at a step. */
  private void scalars(long step, Map<String, Double> values) throws IOException {
    Summary.Builder summary = Summary.newBuilder();
    values.forEach((tag, v) -> summary.addValue(Summary.Value.newBuilder().setTag(tag).setSimpleValue(
        v.floatValue())));
    append(Event.newBuilder().setWallTime(now()).setStep(step).setSummary(summary).build());
  }

  private static void add(Summary.Builder summary, String tag, JsonNode value) {
    if (value.isNumber() && Double.isFinite(value.asDouble())) {
      summary.addValue(Summary.Value.newBuilder().setTag(tag).setSimpleValue((float) value.asDouble()));
    }
  }

  private synchronized void append(Event event) throws IOException {
    try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
      TfRecordFraming.write(out, event.toByteArray());
    }
  }

  private static double now() {
    return System.currentTimeMillis() / 1000.0;
  }
}
