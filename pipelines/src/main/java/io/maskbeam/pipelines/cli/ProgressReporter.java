package io.maskbeam.pipelines.cli;

import java.io.PrintStream;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.joda.time.Duration;

/**
 * Waits for a pipeline while printing its counters: on a terminal one line rewritten in place, otherwise a line
 * every {@code logEvery} seconds (so CI logs stay short).
 */
public final class ProgressReporter {
  private final PrintStream out;
  private final String namespace;
  private final String[][] shown;
  private final String rateCounter;

  /**
   * @param shown pairs of {counter name, label} to print, in order
   * @param rateCounter the counter whose rate (per second) is shown
   */
  public ProgressReporter(PrintStream out, String namespace, String[][] shown, String rateCounter) {
    this.out = out;
    this.namespace = namespace;
    this.shown = shown;
    this.rateCounter = rateCounter;
  }

  public PipelineResult.State waitFor(PipelineResult result) {
    boolean tty = System.console() != null;
    long start = System.nanoTime();
    long lastLog = start;
    PipelineResult.State state = result.getState();
    while (state == null || !state.isTerminal()) {
      state = result.waitUntilFinish(Duration.millis(tty ? 500 : 2000));
      long now = System.nanoTime();
      if (tty) {
        out.print("\r" + line(result, now - start) + "   ");
        out.flush();
      } else if (now - lastLog > 10_000_000_000L) {
        out.println(line(result, now - start));
        lastLog = now;
      }
    }
    if (tty) {
      out.println();
    } else {
      out.println(line(result, System.nanoTime() - start));
    }
    return state;
  }

  private String line(PipelineResult result, long elapsedNanos) {
    Map<String, Long> counters = counters(result);
    StringBuilder sb = new StringBuilder();
    double seconds = elapsedNanos / 1e9;
    sb.append(String.format(Locale.ROOT, "[%5.1fs]", seconds));
    for (String[] s : shown) {
      sb.append(' ').append(s[1]).append(' ').append(counters.getOrDefault(s[0], 0L));
    }
    long done = counters.getOrDefault(rateCounter, 0L);
    if (seconds > 0 && done > 0) {
      sb.append(String.format(Locale.ROOT, " (%.1f/s)", done / seconds));
    }
    return sb.toString();
  }

  /** Attempted counter values; empty when the runner cannot report metrics while running. */
  public Map<String, Long> counters(PipelineResult result) {
    Map<String, Long> values = new HashMap<>();
    try {
      MetricQueryResults metrics = result.metrics().queryMetrics(
          MetricsFilter.builder().addNameFilter(MetricNameFilter.inNamespace(namespace)).build());
      for (MetricResult<Long> c : metrics.getCounters()) {
        Long v = c.getAttempted();
        values.merge(c.getName().getName(), v == null ? 0L : v, Long::sum);
      }
    } catch (RuntimeException e) {
      // Some runners report no metrics before the job ends; progress then shows zeros.
    }
    return values;
  }
}
