package io.maskbeam.transforms.preprocess;

import io.maskbeam.transforms.common.CoderFields;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.DefaultCoder;

/** A serialized tf.train.Example bound for a split's shards, with its summary for statistics. */
@DefaultCoder(ExampleRecord.Coder.class)
public record ExampleRecord(String id, String split, byte[] example, ExampleSummary summary) {

  /** The explicit coder of {@link ExampleRecord}: the example's bytes as they are, no serialization framing. */
  public static final class Coder extends AtomicCoder<ExampleRecord> {
    private static final Coder INSTANCE = new Coder();

    public static Coder of() {
      return INSTANCE;
    }

    /** How {@code @DefaultCoder} finds this coder. */
    public static org.apache.beam.sdk.coders.CoderProvider getCoderProvider() {
      return org.apache.beam.sdk.coders.CoderProviders.forCoder(
          org.apache.beam.sdk.values.TypeDescriptor.of(ExampleRecord.class), INSTANCE);
    }

    @Override
    public void encode(ExampleRecord r, OutputStream out) throws IOException {
      CoderFields.putString(out, r.id());
      CoderFields.putString(out, r.split());
      CoderFields.putBytes(out, r.example());
      CoderFields.putBoolean(out, r.summary() != null);
      if (r.summary() != null) {
        ExampleSummary.Coder.of().encode(r.summary(), out);
      }
    }

    @Override
    public ExampleRecord decode(InputStream in) throws IOException {
      String id = CoderFields.getString(in);
      String split = CoderFields.getString(in);
      byte[] example = CoderFields.getBytes(in);
      return new ExampleRecord(id, split, example,
          CoderFields.getBoolean(in) ? ExampleSummary.Coder.of().decode(in) : null);
    }

  }
}
