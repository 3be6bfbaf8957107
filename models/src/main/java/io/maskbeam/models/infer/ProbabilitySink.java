package io.maskbeam.models.infer;

/**
 * Receives an image's class probabilities [h, w, C] in row order, a run of whole rows at a time, so a large map can
 * be streamed to storage instead of held in memory. Implementations wrap I/O failures in UncheckedIOException.
 */
@FunctionalInterface
public interface ProbabilitySink {
  void accept(float[] data, int offset, int count);
}
