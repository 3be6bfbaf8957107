package io.maskbeam.pipelines.cli;

import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.options.PipelineOptions;

/** How many groups a pipeline spreads its expensive step over. */
public final class Parallelism {
  private Parallelism() {}

  /**
   * {@code explicit} when positive. Otherwise a few groups per DirectRunner thread (it pays per bundle) or 1024 on
   * distributed runners (enough for a large cluster), raised to keep about {@code itemsPerGroup} items per group
   * when the item count is known ({@code items > 0}), so progress counters, published per bundle, move steadily
   * and a retried group redoes little.
   */
  public static int groups(PipelineOptions options, int explicit, long items, int itemsPerGroup) {
    if (explicit > 0) {
      return explicit;
    }
    int bySize = items <= 0 ? 1
        : (int) Math.min(1 << 20, Math.max(1, (items + itemsPerGroup - 1) / itemsPerGroup));
    int base = Runners.isDirect(options)
        ? 4 * options.as(DirectOptions.class).getTargetParallelism()
        : 1024;
    return Math.max(base, bySize);
  }
}
