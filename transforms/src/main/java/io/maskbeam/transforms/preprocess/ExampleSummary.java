package io.maskbeam.transforms.preprocess;

import io.maskbeam.transforms.common.CoderFields;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.DefaultCoder;

/**
 * What statistics need of one written example, without its bytes.
 *
 * @param bands the raw band statistics of a raster example, null for RGB examples
 * @param firstOfSource whether this example counts its input (false for a raster's second and later chips)
 * @param noDataChips the input's chips dropped for holding no data (on its first example)
 */
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
    long exampleBytes,
    io.maskbeam.dataset.BandStatistics bands,
    boolean firstOfSource,
    int noDataChips) {

  /** An RGB example's summary. */
  public ExampleSummary(String split, int sourceWidth, int sourceHeight, int width, int height, long[] classPixels,
      long ignorePixels, long unknownPixels, boolean reencoded, long exampleBytes) {
    this(split, sourceWidth, sourceHeight, width, height, classPixels, ignorePixels, unknownPixels, reencoded,
        exampleBytes, null, true, 0);
  }

  /**
   * A summary of no example: it counts an input ({@code firstOfSource}) or a unit's dropped chips in dataset.json
   * ({@link #isSourceOnly}).
   */
  public static ExampleSummary sourceOnly(String split, int numClasses, boolean firstOfSource, int noDataChips) {
    return new ExampleSummary(split, 0, 0, 0, 0, new long[numClasses], 0, 0, false, 0, null, firstOfSource,
        noDataChips);
  }

  /** Whether this summary counts an input or dropped chips only (see {@link #sourceOnly}). */
  public boolean isSourceOnly() {
    return width == 0 && height == 0;
  }

  /** This summary with the raster fields {@link Coder#encode} writes last, read from {@code in}. */
  private ExampleSummary withRaster(InputStream in) throws IOException {
    boolean first = CoderFields.getBoolean(in);
    int dropped = CoderFields.getInt(in);
    io.maskbeam.dataset.BandStatistics b = CoderFields.getBoolean(in)
        ? io.maskbeam.dataset.BandStatistics.read(new java.io.DataInputStream(in)) : null;
    return new ExampleSummary(split, sourceWidth, sourceHeight, width, height, classPixels, ignorePixels,
        unknownPixels, reencoded, exampleBytes, b, first, dropped);
  }

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
      CoderFields.putBoolean(out, s.firstOfSource());
      CoderFields.putInt(out, s.noDataChips());
      CoderFields.putBoolean(out, s.bands() != null);
      if (s.bands() != null) {
        s.bands().write(new java.io.DataOutputStream(out));
      }
    }

    @Override
    public ExampleSummary decode(InputStream in) throws IOException {
      return new ExampleSummary(CoderFields.getString(in), CoderFields.getInt(in), CoderFields.getInt(in),
          CoderFields.getInt(in), CoderFields.getInt(in), CoderFields.getLongs(in), CoderFields.getLong(in),
          CoderFields.getLong(in), CoderFields.getBoolean(in), CoderFields.getLong(in), null, true, 0)
          .withRaster(in);
    }

  }
}
