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

  /** After an epoch's validation, with the line written to {@code metrics.jsonl}. */
  default void onEpoch(int epoch, JsonNode metrics) throws IOException {}

  /** After training ends (the model is exported). */
  default void onEnd() throws IOException {}
}
