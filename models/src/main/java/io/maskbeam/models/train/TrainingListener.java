package io.maskbeam.models.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;

/**
 * Hears what training does, for the platforms that watch it: SageMaker's metric lines, TensorBoard event files.
 * Called on the training thread; a listener that fails stops training (its output is part of the contract).
 */
public interface TrainingListener {
  /** After an optimizer step. */
  default void onStep(long step, float loss, float learningRate) throws IOException {}

  /**
   * After an epoch: its validation, the line written to {@code metrics.jsonl} (given here), the model export when
   * it improved, and the epoch's checkpoint.
   */
  default void onEpoch(int epoch, JsonNode metrics) throws IOException {}
}
