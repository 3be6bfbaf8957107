package io.maskbeam.transforms.evaluate;

import io.maskbeam.models.eval.ConfusionMatrix;
import io.maskbeam.transforms.common.CoderFields;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.DefaultCoder;

/** One example's confusion matrix (ignore pixels excluded), from which its own scores come. */
@DefaultCoder(ImageEvaluation.Coder.class)
public record ImageEvaluation(String id, String source, int width, int height, ConfusionMatrix matrix) {
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

  /** The explicit coder of {@link ImageEvaluation}. */
  public static final class Coder extends AtomicCoder<ImageEvaluation> {
    private static final Coder INSTANCE = new Coder();

    public static Coder of() {
      return INSTANCE;
    }

    /** How {@code @DefaultCoder} finds this coder. */
    public static org.apache.beam.sdk.coders.CoderProvider getCoderProvider() {
      return org.apache.beam.sdk.coders.CoderProviders.forCoder(
          org.apache.beam.sdk.values.TypeDescriptor.of(ImageEvaluation.class), INSTANCE);
    }

    @Override
    public void encode(ImageEvaluation e, OutputStream out) throws IOException {
      CoderFields.putString(out, e.id());
      CoderFields.putString(out, e.source());
      CoderFields.putInt(out, e.width());
      CoderFields.putInt(out, e.height());
      ConfusionMatrixCoder.of().encode(e.matrix(), out);
    }

    @Override
    public ImageEvaluation decode(InputStream in) throws IOException {
      return new ImageEvaluation(CoderFields.getString(in), CoderFields.getString(in), CoderFields.getInt(in),
          CoderFields.getInt(in), ConfusionMatrixCoder.of().decode(in));
    }
  }
}
