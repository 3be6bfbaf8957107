package io.maskbeam.transforms.preprocess;

import io.maskbeam.transforms.common.CoderFields;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.DefaultCoder;

/** What statistics need of one written example, without its bytes. */
@DefaultCoder(ExampleSummary.Coder.class)
public record ExampleSummary(
    String split,
    int sourceWidth,
    int sourceHeight,
    int width,
    int height,
    long[] classPixels,
    long ignorePixels,
    long unknownPixels,
    boolean reencoded,
    long exampleBytes) {

  /** The explicit coder of {@link ExampleSummary}. */
  public static final class Coder extends AtomicCoder<ExampleSummary> {
    private static final Coder INSTANCE = new Coder();

    public static Coder of() {
      return INSTANCE;
    }

    /** How {@code @DefaultCoder} finds this coder. */
    public static org.apache.beam.sdk.coders.CoderProvider getCoderProvider() {
      return org.apache.beam.sdk.coders.CoderProviders.forCoder(
          org.apache.beam.sdk.values.TypeDescriptor.of(ExampleSummary.class), INSTANCE);
    }

    @Override
    public void encode(ExampleSummary s, OutputStream out) throws IOException {
      CoderFields.putString(out, s.split());
      CoderFields.putInt(out, s.sourceWidth());
      CoderFields.putInt(out, s.sourceHeight());
      CoderFields.putInt(out, s.width());
      CoderFields.putInt(out, s.height());
      CoderFields.putLongs(out, s.classPixels());
      CoderFields.putLong(out, s.ignorePixels());
      CoderFields.putLong(out, s.unknownPixels());
      CoderFields.putBoolean(out, s.reencoded());
      CoderFields.putLong(out, s.exampleBytes());
    }

    @Override
    public ExampleSummary decode(InputStream in) throws IOException {
      return new ExampleSummary(CoderFields.getString(in), CoderFields.getInt(in), CoderFields.getInt(in),
          CoderFields.getInt(in), CoderFields.getInt(in), CoderFields.getLongs(in), CoderFields.getLong(in),
          CoderFields.getLong(in), CoderFields.getBoolean(in), CoderFields.getLong(in));
    }

  }
}
