package io.maskbeam.models.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * The training progress bar: on a terminal one line rewritten in place a few times a second, otherwise a line every
 * 15 seconds (so logs stay short), with images/s and the time left.
 */
final class TrainingProgress {
  private final PrintStream out;
  private final int epochs;
  private final boolean tty = System.console() != null;
  private long lastPrint;

  TrainingProgress(PrintStream out, int epochs) {
    this.out = out;
    this.epochs = epochs;
  }

  void step(int epoch, int batch, int perEpoch, float loss, float rate, long images, long started, long stepsLeft,
      int batchSize) {
    long now = System.nanoTime();
    boolean last = batch == perEpoch;
    if (!last && now - lastPrint < (tty ? 200_000_000L : 15_000_000_000L)) {
      return;
    }
    lastPrint = now;
    double seconds = (now - started) / 1e9;
    double ips = images / Math.max(seconds, 1e-9);
    long eta = (long) (stepsLeft * batchSize / Math.max(ips, 1e-9));
    int width = 24;
    int filled = (int) ((long) width * batch / perEpoch);
    String line = String.format(Locale.ROOT, "epoch %d/%d [%s%s] %d/%d loss %.4f lr %.2e %.1f img/s ETA %s",
        epoch + 1, epochs, "=".repeat(filled), " ".repeat(width - filled), batch, perEpoch, loss, rate, ips,
        duration(eta));
    if (tty) {
      out.print("\r" + line + "   ");
      out.flush();
    } else {
      out.println(line);
    }
  }

  void endLine() {
    if (tty) {
      out.println();
    }
  }

  static String duration(long seconds) {
    return seconds >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", seconds / 3600, seconds / 60 % 60)
        : String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
  }
}
