package io.maskbeam.transforms.evaluate;

import io.maskbeam.models.eval.ConfusionMatrix;
import java.io.Serializable;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;

/** One example's confusion matrix (ignore pixels excluded), from which its own scores come. */
@DefaultCoder(SerializableCoder.class)
public record ImageEvaluation(String id, String source, int width, int height, ConfusionMatrix matrix)
    implements Serializable {
  /** The example's mean IoU over the classes present in its truth or prediction; NaN when nothing was scored. */
  public double meanIou() {
    return matrix.meanIou();
  }

  /** Orders worst first, ties by id, so best and worst picks are deterministic. */
  public static int compareByScore(ImageEvaluation a, ImageEvaluation b) {
    int c = Double.compare(score(a), score(b));
    return c != 0 ? c : a.id().compareTo(b.id());
  }

  private static double score(ImageEvaluation e) {
    double m = e.meanIou();
    return Double.isNaN(m) ? -1 : m;
  }
}
