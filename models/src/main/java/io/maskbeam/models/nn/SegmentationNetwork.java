package io.maskbeam.models.nn;

import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/** A network from normalised images [N, H, W, 3] to class logits [N, H, W, C]. */
public interface SegmentationNetwork {
  /**
   * Builds the network into {@code net}'s graph. Called twice per model: once with {@code training} (batch
   * statistics) and once without; variables are shared by name.
   */
  Operand<TFloat32> logits(Net net, Operand<TFloat32> images, boolean training);

  /** Input height and width must be multiples of this (the exported model pads to it). */
  int stride();

  int numClasses();

  /** A short description for logs and metadata. */
  String describe();
}
