package io.maskbeam.models.eval;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A paired bootstrap over images of the difference in mean IoU between a candidate and a baseline scored on the same
 * images: each resample draws images with replacement, sums both models' confusion matrices over the drawn images
 * (mIoU is a ratio of pixel sums, not a mean of per-image scores) and takes the difference. The interval is the
 * percentile interval of the resampled differences; a fixed seed makes it reproducible.
 */
public final class PairedBootstrap {
  /** The observed difference, its percentile interval, and how many resamples made it. */
  public record Interval(double difference, double low, double high, double level, int samples) {}

  /** One image's matrices: the candidate's and the baseline's, on the same pixels. */
  public record Pair(ConfusionMatrix candidate, ConfusionMatrix baseline) {}

  private PairedBootstrap() {}

  /**
   * @param level the interval's coverage, e.g. 0.95
   * @throws IllegalArgumentException for no pairs or fewer than 2 samples
   */
  public static Interval meanIouDifference(List<Pair> pairs, int samples, double level, long seed) {
    if (pairs.isEmpty()) {
      throw new IllegalArgumentException("no images to resample");
    }
    if (samples < 2) {
      throw new IllegalArgumentException("bootstrap needs at least 2 samples, got " + samples);
    }
    int n = pairs.size();
    int c = pairs.get(0).candidate().numClasses();
    long[][] a = new long[n][];
    long[][] b = new long[n][];
    long[] sumA = new long[c * c];
    long[] sumB = new long[c * c];
    for (int i = 0; i < n; i++) {
      a[i] = pairs.get(i).candidate().counts();
      b[i] = pairs.get(i).baseline().counts();
      for (int k = 0; k < c * c; k++) {
        sumA[k] += a[i][k];
        sumB[k] += b[i][k];
      }
    }
    double observed = ConfusionMatrix.of(c, sumA).meanIou() - ConfusionMatrix.of(c, sumB).meanIou();
    SplittableRandom random = new SplittableRandom(seed);
    double[] diffs = new double[samples];
    long[] ra = new long[c * c];
    long[] rb = new long[c * c];
    int[] draws = new int[n];
    for (int s = 0; s < samples; s++) {
      Arrays.fill(draws, 0);
      for (int i = 0; i < n; i++) {
        draws[random.nextInt(n)]++;
      }
      Arrays.fill(ra, 0);
      Arrays.fill(rb, 0);
      for (int i = 0; i < n; i++) {
        int w = draws[i];
        if (w == 0) {
          continue;
        }
        long[] ai = a[i];
        long[] bi = b[i];
        for (int k = 0; k < ra.length; k++) {
          ra[k] += w * ai[k];
          rb[k] += w * bi[k];
        }
      }
      diffs[s] = ConfusionMatrix.of(c, ra).meanIou() - ConfusionMatrix.of(c, rb).meanIou();
    }
    Arrays.sort(diffs);
    double tail = (1 - level) / 2;
    return new Interval(observed, quantile(diffs, tail), quantile(diffs, 1 - tail), level, samples);
  }

  /** Linear interpolation between order statistics (NaNs, from empty resamples, sort last and are skipped). */
  static double quantile(double[] sorted, double q) {
    int valid = sorted.length;
    while (valid > 0 && Double.isNaN(sorted[valid - 1])) {
      valid--;
    }
    if (valid == 0) {
      return Double.NaN;
    }
    double pos = q * (valid - 1);
    int lo = (int) Math.floor(pos);
    int hi = Math.min(valid - 1, lo + 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  }
}
