package io.maskbeam.transforms.common;

import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.CoderException;

/** The explicit coder of {@link Failure}, registered for the type by {@link MaskbeamCoders}. */
public final class FailureCoder extends AtomicCoder<Failure> {
  private static final FailureCoder INSTANCE = new FailureCoder();

  private FailureCoder() {}

  public static FailureCoder of() {
    return INSTANCE;
  }

  @Override
  public void encode(Failure f, OutputStream out) throws IOException {
    if (f == null) {
      throw new CoderException("cannot encode a null Failure");
    }
    // Enums by name, so adding a stage or a reason never changes what an existing one decodes to.
    CoderFields.putString(out, f.stage().name());
    CoderFields.putString(out, f.id());
    CoderFields.putString(out, f.input());
    CoderFields.putInt(out, f.inputs().size());
    for (Map.Entry<String, String> e : f.inputs().entrySet()) { // sorted by the record
      CoderFields.putString(out, e.getKey());
      CoderFields.putString(out, e.getValue());
    }
    CoderFields.putString(out, f.reason().name());
    CoderFields.putString(out, f.message());
    CoderFields.putString(out, f.exception());
  }

  @Override
  public Failure decode(InputStream in) throws IOException {
    Stage stage = Stage.valueOf(CoderFields.getString(in));
    String id = CoderFields.getString(in);
    String input = CoderFields.getString(in);
    int n = CoderFields.getInt(in);
    Map<String, String> inputs = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      inputs.put(CoderFields.getString(in), CoderFields.getString(in));
    }
    FailureReason reason = FailureReason.valueOf(CoderFields.getString(in));
    return new Failure(stage, id, input, inputs, reason, CoderFields.getString(in), CoderFields.getString(in));
  }
}
