package io.maskbeam.transforms.segment;

import io.maskbeam.transforms.common.CoderFields;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.transforms.Combine;

/** Totals over a collection's per-image statistics: the content of {@code summary.json} and {@code summary.csv}. */
@DefaultCoder(CollectionSummary.Coder.class)
public final class CollectionSummary implements java.io.Serializable {
  // Serializable besides its coder: Combine.globally keeps the empty summary (its default output) in a DoFn.
  private static final long serialVersionUID = 1L;

  long images;
  long pixels;
  final long[] classPixels;
  /** Images in which the class covers at least one pixel. */
  final long[] imagesWithClass;
  /**
   * Sum over images of the class's share of each image, in billionths. Fixed point keeps the sum exact, so the
   * summary does not depend on the order in which workers combine (floating-point sums do).
   */
  final long[] fractionSumNanos;

  public CollectionSummary(int numClasses) {
    classPixels = new long[numClasses];
    imagesWithClass = new long[numClasses];
    fractionSumNanos = new long[numClasses];
  }

  public void add(ImageStats s) {
    images++;
    pixels += s.validPixels(); // a raster's nodata pixels are in no class
    for (int c = 0; c < classPixels.length; c++) {
      long n = c < s.classPixels().length ? s.classPixels()[c] : 0;
      classPixels[c] += n;
      if (n > 0) {
        imagesWithClass[c]++;
      }
      fractionSumNanos[c] += s.validPixels() == 0 ? 0 : Math.round(n * 1e9 / s.validPixels());
    }
  }

  public void merge(CollectionSummary other) {
    images += other.images;
    pixels += other.pixels;
    for (int c = 0; c < classPixels.length; c++) {
      classPixels[c] += other.classPixels[c];
      imagesWithClass[c] += other.imagesWithClass[c];
      fractionSumNanos[c] += other.fractionSumNanos[c];
    }
  }

  public long images() {
    return images;
  }

  public long pixels() {
    return pixels;
  }

  public long classPixels(int c) {
    return classPixels[c];
  }

  public long imagesWithClass(int c) {
    return imagesWithClass[c];
  }

  public double meanImageFraction(int c) {
    return images == 0 ? 0 : fractionSumNanos[c] / 1e9 / images;
  }

  public int numClasses() {
    return classPixels.length;
  }

  /** Beam combine over ImageStats: associative and commutative, so it runs partially on every worker. */
  public static final class CombineFn extends Combine.CombineFn<ImageStats, CollectionSummary, CollectionSummary> {
    private final int numClasses;

    public CombineFn(int numClasses) {
      this.numClasses = numClasses;
    }

    @Override
    public CollectionSummary createAccumulator() {
      return new CollectionSummary(numClasses);
    }

    @Override
    public CollectionSummary addInput(CollectionSummary acc, ImageStats input) {
      acc.add(input);
      return acc;
    }

    @Override
    public CollectionSummary mergeAccumulators(Iterable<CollectionSummary> accs) {
      CollectionSummary out = new CollectionSummary(numClasses);
      for (CollectionSummary a : accs) {
        out.merge(a);
      }
      return out;
    }

    @Override
    public CollectionSummary extractOutput(CollectionSummary acc) {
      return acc;
    }

    @Override
    public org.apache.beam.sdk.coders.Coder<CollectionSummary> getAccumulatorCoder(CoderRegistry registry,
        org.apache.beam.sdk.coders.Coder<ImageStats> inputCoder) {
      return Coder.of();
    }
  }

  /** The explicit coder of summaries (the combine's accumulator and its output). */
  public static final class Coder extends AtomicCoder<CollectionSummary> {
    private static final Coder INSTANCE = new Coder();

    public static Coder of() {
      return INSTANCE;
    }

    /** How {@code @DefaultCoder} finds this coder. */
    public static org.apache.beam.sdk.coders.CoderProvider getCoderProvider() {
      return org.apache.beam.sdk.coders.CoderProviders.forCoder(
          org.apache.beam.sdk.values.TypeDescriptor.of(CollectionSummary.class), INSTANCE);
    }

    @Override
    public void encode(CollectionSummary s, OutputStream out) throws IOException {
      CoderFields.putLong(out, s.images);
      CoderFields.putLong(out, s.pixels);
      CoderFields.putLongs(out, s.classPixels);
      CoderFields.putLongs(out, s.imagesWithClass);
      CoderFields.putLongs(out, s.fractionSumNanos);
    }

    @Override
    public CollectionSummary decode(InputStream in) throws IOException {
      long images = CoderFields.getLong(in);
      long pixels = CoderFields.getLong(in);
      long[] classPixels = CoderFields.getLongs(in);
      CollectionSummary s = new CollectionSummary(classPixels.length);
      s.images = images;
      s.pixels = pixels;
      System.arraycopy(classPixels, 0, s.classPixels, 0, classPixels.length);
      long[] with = CoderFields.getLongs(in);
      System.arraycopy(with, 0, s.imagesWithClass, 0, with.length);
      long[] fractions = CoderFields.getLongs(in);
      System.arraycopy(fractions, 0, s.fractionSumNanos, 0, fractions.length);
      return s;
    }
  }
}
