package io.maskbeam.models.eval;

import java.io.Serializable;
import java.util.Arrays;

/**
 * A C x C confusion matrix of (truth, prediction) pixel counts, pixels whose truth is not a class (the ignore
 * value) excluded. Mergeable, so a distributed combine and a single pass agree.
 */
public final class ConfusionMatrix implements Serializable {
  private static final long serialVersionUID = 1L;
  private final int numClasses;
  private final long[] counts;

  public ConfusionMatrix(int numClasses) {
    if (numClasses < 1) {
      throw new IllegalArgumentException("need at least one class");
    }
    this.numClasses = numClasses;
    this.counts = new long[numClasses * numClasses];
  }

  public int numClasses() {
    return numClasses;
  }

  /** Adds pixels; truths outside 0..C-1 (the ignore value) are skipped, predictions must be classes. */
  public ConfusionMatrix add(int[] truth, int[] predicted) {
    if (truth.length != predicted.length) {
      throw new IllegalArgumentException("truth has " + truth.length + " pixels, prediction " + predicted.length);
    }
    for (int i = 0; i < truth.length; i++) {
      int t = truth[i];
      if (t < 0 || t >= numClasses) {
        continue;
      }
      int p = predicted[i];
      if (p < 0 || p >= numClasses) {
        throw new IllegalArgumentException("predicted class " + p + " outside 0.." + (numClasses - 1));
      }
      counts[t * numClasses + p]++;
    }
    return this;
  }

  public ConfusionMatrix merge(ConfusionMatrix other) {
    if (other.numClasses != numClasses) {
      throw new IllegalArgumentException("cannot merge " + other.numClasses + " and " + numClasses + " classes");
    }
    for (int i = 0; i < counts.length; i++) {
      counts[i] += other.counts[i];
    }
    return this;
  }

  public long get(int truth, int predicted) {
    return counts[truth * numClasses + predicted];
  }

  public long total() {
    return Arrays.stream(counts).sum();
  }

  private long rowSum(int c) {
    long s = 0;
    for (int p = 0; p < numClasses; p++) {
      s += get(c, p);
    }
    return s;
  }

  private long colSum(int c) {
    long s = 0;
    for (int t = 0; t < numClasses; t++) {
      s += get(t, c);
    }
    return s;
  }

  /** IoU per class; NaN for a class absent from both truth and prediction. */
  public double[] iou() {
    double[] out = new double[numClasses];
    for (int c = 0; c < numClasses; c++) {
      long tp = get(c, c);
      long union = rowSum(c) + colSum(c) - tp;
      out[c] = union == 0 ? Double.NaN : (double) tp / union;
    }
    return out;
  }

  /** Mean IoU over the classes that occur (in truth or prediction). */
  public double meanIou() {
    return nanMean(iou());
  }

  public double pixelAccuracy() {
    long total = total();
    long right = 0;
    for (int c = 0; c < numClasses; c++) {
      right += get(c, c);
    }
    return total == 0 ? Double.NaN : (double) right / total;
  }

  /** Mean over classes present in the truth of per-class recall. */
  public double meanAccuracy() {
    double[] acc = new double[numClasses];
    for (int c = 0; c < numClasses; c++) {
      long row = rowSum(c);
      acc[c] = row == 0 ? Double.NaN : (double) get(c, c) / row;
    }
    return nanMean(acc);
  }

  /** IoU weighted by each class's share of the truth. */
  public double frequencyWeightedIou() {
    double[] iou = iou();
    long total = total();
    double sum = 0;
    for (int c = 0; c < numClasses; c++) {
      if (!Double.isNaN(iou[c])) {
        sum += (double) rowSum(c) / total * iou[c];
      }
    }
    return total == 0 ? Double.NaN : sum;
  }

  /** Dice (F1) per class. */
  public double[] dice() {
    double[] out = new double[numClasses];
    for (int c = 0; c < numClasses; c++) {
      long denominator = rowSum(c) + colSum(c);
      out[c] = denominator == 0 ? Double.NaN : 2.0 * get(c, c) / denominator;
    }
    return out;
  }

  public double meanDice() {
    return nanMean(dice());
  }

  private static double nanMean(double[] values) {
    double sum = 0;
    int n = 0;
    for (double v : values) {
      if (!Double.isNaN(v)) {
        sum += v;
        n++;
      }
    }
    return n == 0 ? Double.NaN : sum / n;
  }

  /** A matrix from row-major counts (as {@link #counts()} gives them). */
  public static ConfusionMatrix of(int numClasses, long[] counts) {
    if (counts.length != numClasses * numClasses) {
      throw new IllegalArgumentException(counts.length + " counts for " + numClasses + " classes");
    }
    ConfusionMatrix m = new ConfusionMatrix(numClasses);
    System.arraycopy(counts, 0, m.counts, 0, counts.length);
    return m;
  }

  /** Row-major copy of the counts. */
  public long[] counts() {
    return counts.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ConfusionMatrix m && m.numClasses == numClasses && Arrays.equals(m.counts, counts);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(counts);
  }
}
