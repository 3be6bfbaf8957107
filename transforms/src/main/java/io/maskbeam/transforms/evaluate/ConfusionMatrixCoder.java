package io.maskbeam.transforms.evaluate;

import io.maskbeam.models.eval.ConfusionMatrix;
import io.maskbeam.transforms.common.CoderFields;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;

/** The explicit coder of confusion matrices: the class count and the counts as variable-length integers. */
public final class ConfusionMatrixCoder extends AtomicCoder<ConfusionMatrix> {
  private static final ConfusionMatrixCoder INSTANCE = new ConfusionMatrixCoder();

  public static ConfusionMatrixCoder of() {
    return INSTANCE;
  }

  @Override
  public void encode(ConfusionMatrix m, OutputStream out) throws IOException {
    CoderFields.putInt(out, m.numClasses());
    CoderFields.putLongs(out, m.counts());
  }

  @Override
  public ConfusionMatrix decode(InputStream in) throws IOException {
    int n = CoderFields.getInt(in);
    return ConfusionMatrix.of(n, CoderFields.getLongs(in));
  }
}
