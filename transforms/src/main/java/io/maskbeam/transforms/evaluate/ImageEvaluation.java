package io.maskbeam.transforms.evaluate;

import io.maskbeam.models.eval.ConfusionMatrix;
import io.maskbeam.transforms.common.CoderFields;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.DefaultCoder;

/**
 * One example's confusion matrix (ignore pixels excluded), from which its own scores come; its slice ("" when not
 * sliced) and, when a baseline model is scored in the same job, the baseline's matrix on the same pixels (else null).
 */
@DefaultCoder(ImageEvaluation.Coder.class)
public record ImageEvaluation(String id, String source, int width, int height, ConfusionMatrix matrix, String slice,
    ConfusionMatrix baseline) {
  public ImageEvaluation(String id, String source, int width, int height, ConfusionMatrix matrix) {
    this(id, source, width, height, matrix, "", null);
  }

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
      CoderFields.putString(out, e.slice());
      out.write(e.baseline() == null ? 0 : 1);
      if (e.baseline() != null) {
        ConfusionMatrixCoder.of().encode(e.baseline(), out);
      }
    }

    @Override
    public ImageEvaluation decode(InputStream in) throws IOException {
      String id = CoderFields.getString(in);
      String source = CoderFields.getString(in);
      int width = CoderFields.getInt(in);
      int height = CoderFields.getInt(in);
      ConfusionMatrix matrix = ConfusionMatrixCoder.of().decode(in);
      String slice = CoderFields.getString(in);
      int hasBaseline = in.read();
      if (hasBaseline < 0) {
        throw new java.io.EOFException("ImageEvaluation ends before its baseline flag");
      }
      return new ImageEvaluation(id, source, width, height, matrix, slice,
          hasBaseline == 1 ? ConfusionMatrixCoder.of().decode(in) : null);
    }
  }
}
