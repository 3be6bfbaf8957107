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
  private final String totalCounter;
  private final String[] doneCounters;

  /** A third element of a {@code shown} entry: print the counter only once it is above zero. */
  public static final String WHEN_NONZERO = "when-nonzero";

  /**
   * @param shown pairs of {counter name, label} to print, in order (a third element {@link #WHEN_NONZERO} hides a
   *     counter while it is zero)
   * @param rateCounter the counter whose rate (per second) is shown
   */
  public ProgressReporter(PrintStream out, String namespace, String[][] shown, String rateCounter) {
    this(out, namespace, shown, rateCounter, null);
  }

  /**
   * @param totalCounter the counter holding how many items there are (null: no ETA)
   * @param doneCounters counters whose sum is how many items are finished, for the ETA
   */
  public ProgressReporter(PrintStream out, String namespace, String[][] shown, String rateCounter,
      String totalCounter, String... doneCounters) {
    this.out = out;
    this.namespace = namespace;
    this.shown = shown;
    this.rateCounter = rateCounter;
    this.totalCounter = totalCounter;
    this.doneCounters = doneCounters;
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
      long value = counters.getOrDefault(s[0], 0L);
      if (value > 0 || s.length < 3 || !WHEN_NONZERO.equals(s[2])) {
        sb.append(' ').append(s[1]).append(' ').append(value);
      }
    }
    long done = counters.getOrDefault(rateCounter, 0L);
    if (seconds > 0 && done > 0) {
      double rate = done / seconds;
      sb.append(String.format(Locale.ROOT, " (%.1f/s)", rate));
      if (totalCounter != null) {
        long finished = 0;
        for (String c : doneCounters) {
          finished += counters.getOrDefault(c, 0L);
        }
        long left = counters.getOrDefault(totalCounter, 0L) - finished;
        if (left > 0) {
          long eta = Math.round(left / rate);
          sb.append(String.format(Locale.ROOT, " ETA %d:%02d", eta / 60, eta % 60));
        }
      }
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
