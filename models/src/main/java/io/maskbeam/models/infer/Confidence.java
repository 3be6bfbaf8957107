package io.maskbeam.models.infer;

import java.io.Serializable;

/**
 * How sure a model was about one image, from the class probabilities it already returned (no second call): the mean
 * over pixels of the top probability, the mean entropy normalised by log(classes) (0: certain, 1: uniform), and the
 * fraction of pixels whose top probability is under a threshold. A labelling team ranks images by it.
 */
public record Confidence(double meanMaxProbability, double meanEntropy, double lowConfidenceFraction)
    implements Serializable {

  /** Accumulates pixels of [.., C] probability maps, whole or streamed band by band (as a {@link ProbabilitySink}). */
  public static final class Accumulator implements ProbabilitySink {
    private final int classes;
    private final float threshold;
    private final double logClasses;
    private final byte[] uncertainty;
    private long pixels;
    private double sumMax;
    private double sumEntropy;
    private long low;

    /**
     * @param threshold top probability under which a pixel counts as low-confidence
     * @param uncertaintyPixels when positive, also keeps 255 x (1 - top probability) per pixel, for that many pixels
     */
    public Accumulator(int classes, float threshold, int uncertaintyPixels) {
      if (!(threshold > 0 && threshold <= 1)) {
        throw new IllegalArgumentException("--confidenceThreshold must be in (0, 1], got " + threshold);
      }
      this.classes = classes;
      this.threshold = threshold;
      this.logClasses = Math.log(classes);
      this.uncertainty = uncertaintyPixels > 0 ? new byte[uncertaintyPixels] : null;
    }

    @Override
    public void accept(float[] data, int offset, int count) {
      for (int o = offset; o < offset + count; o += classes) {
        float max = 0;
        double entropy = 0;
        for (int k = 0; k < classes; k++) {
          float p = data[o + k];
          max = Math.max(max, p);
          if (p > 0) {
            entropy -= p * Math.log(p);
          }
        }
        acceptPixel(max, entropy);
      }
    }

    /**
     * One pixel given by its logits {@code l}, through two sums over its classes of {@code d = l - max(l)}:
     * {@code expSum = Σ e^d} and {@code weightedExpSum = Σ d e^d}. Its top probability is {@code 1 / expSum} and its
     * entropy {@code log(expSum) - weightedExpSum / expSum}: one logarithm per pixel instead of one per class, and no
     * probability map. Agrees with {@link #accept} on the softmax of the same logits to float rounding.
     */
    public void acceptLogitSums(double expSum, double weightedExpSum) {
      acceptPixel((float) (1 / expSum), Math.log(expSum) - weightedExpSum / expSum);
    }

    private void acceptPixel(float max, double entropy) {
      if (uncertainty != null && pixels < uncertainty.length) {
        uncertainty[(int) pixels] = (byte) Math.round(255 * Math.min(1f, Math.max(0f, 1 - max)));
      }
      sumMax += max;
      sumEntropy += entropy / logClasses;
      low += max < threshold ? 1 : 0;
      pixels++;
    }

    public Confidence result() {
      if (pixels == 0) {
        return new Confidence(Double.NaN, Double.NaN, Double.NaN);
      }
      return new Confidence(sumMax / pixels, sumEntropy / pixels, (double) low / pixels);
    }

    /** 255 x (1 - top probability) per pixel in row order (bright: uncertain), or null when not kept. */
    public byte[] uncertainty() {
      return uncertainty;
    }
  }

  /** The confidence of one whole [h, w, C] map. */
  public static Confidence of(float[] probabilities, int classes, float threshold) {
    Accumulator a = new Accumulator(classes, threshold, 0);
    a.accept(probabilities, 0, probabilities.length);
    return a.result();
  }
}
