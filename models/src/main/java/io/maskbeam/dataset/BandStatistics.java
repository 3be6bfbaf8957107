package io.maskbeam.dataset;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.io.Serializable;
import java.util.Arrays;

/**
 * Mergeable per-band statistics of raw samples (pixels with data only): count, mean, standard deviation, range and
 * percentiles, what {@code train} normalises each band with. Percentiles come from a histogram of bfloat16 buckets
 * (a float's top 16 bits: every integer up to 256 exactly, otherwise within 0.4% of the value), which merges
 * exactly, so a distributed combine gives the single pass's answer; it is kept sparse (sorted buckets and counts),
 * as a band rarely fills more than a few thousand of the 65,536 buckets.
 */
public final class BandStatistics implements Serializable {
  private static final long serialVersionUID = 1L;
  /** The percentiles written to dataset.json. */
  public static final double[] PERCENTILES = {1, 2, 50, 98, 99};

  private final String dtype;
  private final int[] bandNumbers;
  private final long[] count;
  private final double[] sum;
  private final double[] sumSquares;
  private final double[] min;
  private final double[] max;
  /** Per band, the occupied buckets in ascending order of value, and their counts. */
  private int[][] buckets;
  private long[][] counts;

  /**
   * @param dtype the sample type's name ({@code uint16}...)
   * @param bandNumbers the 1-based bands of the source rasters, in example channel order
   */
  public BandStatistics(String dtype, int[] bandNumbers) {
    this.dtype = dtype;
    this.bandNumbers = bandNumbers.clone();
    int bands = bandNumbers.length;
    count = new long[bands];
    sum = new double[bands];
    sumSquares = new double[bands];
    min = new double[bands];
    max = new double[bands];
    Arrays.fill(min, Double.POSITIVE_INFINITY);
    Arrays.fill(max, Double.NEGATIVE_INFINITY);
    buckets = new int[bands][0];
    counts = new long[bands][0];
  }

  public int bands() {
    return count.length;
  }

  public String dtype() {
    return dtype;
  }

  public int[] bandNumbers() {
    return bandNumbers.clone();
  }

  /** "uint16, bands 1,2,3,4": examples of different kinds cannot share a dataset. */
  public String kind() {
    return dtype + ", bands " + Arrays.stream(bandNumbers).mapToObj(Integer::toString)
        .collect(java.util.stream.Collectors.joining(","));
  }

  /** Adds one sample of a band (NaN is not data and is skipped). */
  public void add(int band, double v) {
    float[] one = new float[bands()];
    java.util.Arrays.fill(one, Float.NaN);
    one[band] = (float) v;
    addAll(one, null);
  }

  /**
   * Adds every pixel of interleaved samples whose {@code noData} flag is not set ({@code noData} may be null); NaN
   * samples are skipped. Buckets are counted in a dense table first, then merged into the sparse histogram.
   */
  public void addAll(float[] samples, boolean[] noData) {
    int n = bands();
    long[] dense = new long[1 << 16];
    for (int b = 0; b < n; b++) {
      java.util.Arrays.fill(dense, 0);
      long c = 0;
      double s = 0;
      double ss = 0;
      double lo = min[b];
      double hi = max[b];
      for (int p = 0, i = b; i < samples.length; p++, i += n) {
        float v = samples[i];
        if (Float.isNaN(v) || (noData != null && noData[p])) {
          continue;
        }
        c++;
        s += v;
        ss += (double) v * v;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        dense[bucket(v) + 32768]++;
      }
      if (c == 0) {
        continue;
      }
      count[b] += c;
      sum[b] += s;
      sumSquares[b] += ss;
      min[b] = lo;
      max[b] = hi;
      int occupied = 0;
      for (long d : dense) {
        occupied += d > 0 ? 1 : 0;
      }
      int[] keys = new int[occupied];
      long[] values = new long[occupied];
      for (int k = 0, j = 0; k < dense.length; k++) {
        if (dense[k] > 0) {
          keys[j] = k - 32768;
          values[j++] = dense[k];
        }
      }
      mergeHistogram(b, keys, values);
    }
  }

  /** Merges sorted buckets and counts into band {@code b}'s. */
  private void mergeHistogram(int b, int[] keys, long[] values) {
    int[] ak = buckets[b];
    long[] av = counts[b];
    int[] k = new int[ak.length + keys.length];
    long[] v = new long[k.length];
    int i = 0;
    int j = 0;
    int o = 0;
    while (i < ak.length || j < keys.length) {
      if (j >= keys.length || (i < ak.length && ak[i] < keys[j])) {
        k[o] = ak[i];
        v[o++] = av[i++];
      } else if (i >= ak.length || keys[j] < ak[i]) {
        k[o] = keys[j];
        v[o++] = values[j++];
      } else {
        k[o] = ak[i];
        v[o++] = av[i++] + values[j++];
      }
    }
    buckets[b] = java.util.Arrays.copyOf(k, o);
    counts[b] = java.util.Arrays.copyOf(v, o);
  }

  public BandStatistics merge(BandStatistics o) {
    if (!o.kind().equals(kind())) {
      throw new IllegalArgumentException("cannot merge statistics of " + o.kind() + " and " + kind());
    }
    for (int b = 0; b < bands(); b++) {
      count[b] += o.count[b];
      sum[b] += o.sum[b];
      sumSquares[b] += o.sumSquares[b];
      min[b] = Math.min(min[b], o.min[b]);
      max[b] = Math.max(max[b], o.max[b]);
      mergeHistogram(b, o.buckets[b], o.counts[b]);
    }
    return this;
  }

  public long count(int band) {
    return count[band];
  }

  public double mean(int band) {
    return count[band] == 0 ? 0 : sum[band] / count[band];
  }

  /** Population standard deviation. */
  public double std(int band) {
    if (count[band] == 0) {
      return 0;
    }
    double m = mean(band);
    return Math.sqrt(Math.max(0, sumSquares[band] / count[band] - m * m));
  }

  public double min(int band) {
    return min[band];
  }

  public double max(int band) {
    return max[band];
  }

  /**
   * The value below which {@code p} percent of the band's samples lie: the middle of its bucket, to the 4
   * significant digits a bucket resolves (integers up to 256 exactly).
   */
  public double percentile(int band, double p) {
    long total = count[band];
    if (total == 0) {
      return Double.NaN;
    }
    long rank = (long) Math.ceil(p / 100.0 * total);
    long seen = 0;
    for (int i = 0; i < buckets[band].length; i++) {
      seen += counts[band][i];
      if (seen >= Math.max(1, rank)) {
        double v = Math.max(min[band], Math.min(max[band], middle(buckets[band][i])));
        return v == 0 || Double.isInfinite(v) ? v
            : new java.math.BigDecimal(v).round(new java.math.MathContext(4)).doubleValue();
      }
    }
    return max[band];
  }

  /** A float's bucket: its top 16 bits, turned so that buckets sort as their values do. */
  static int bucket(float v) {
    int bits = Float.floatToIntBits(v == 0f ? 0f : v) >> 16; // -0 and +0 share a bucket
    return bits < 0 ? bits ^ 0x7FFF : bits;
  }

  private static double middle(int bucket) {
    int bits = bucket < 0 ? bucket ^ 0x7FFF : bucket;
    float lo = Float.intBitsToFloat(bits << 16);
    float hi = Float.intBitsToFloat((bits << 16) | 0xFFFF);
    return Math.abs(lo) <= 256 && lo == Math.rint(lo) ? lo : (lo + (double) hi) / 2;
  }

  /** One object per band: band number (1-based, as read), count, mean, std, min, max and percentiles. */
  public ArrayNode toJson(ArrayNode out) {
    for (int b = 0; b < bands(); b++) {
      ObjectNode n = out.addObject();
      n.put("band", bandNumbers[b]);
      n.put("count", count[b]);
      n.put("mean", mean(b));
      n.put("std", std(b));
      n.put("min", count[b] == 0 ? 0 : min[b]);
      n.put("max", count[b] == 0 ? 0 : max[b]);
      ObjectNode pct = n.putObject("percentiles");
      for (double p : PERCENTILES) {
        pct.put("p" + (int) p, percentile(b, p));
      }
    }
    return out;
  }

  public void write(DataOutput out) throws IOException {
    out.writeUTF(dtype);
    out.writeInt(bands());
    for (int b : bandNumbers) {
      out.writeInt(b);
    }
    for (int b = 0; b < bands(); b++) {
      out.writeLong(count[b]);
      out.writeDouble(sum[b]);
      out.writeDouble(sumSquares[b]);
      out.writeDouble(min[b]);
      out.writeDouble(max[b]);
      out.writeInt(buckets[b].length);
      for (int i = 0; i < buckets[b].length; i++) {
        out.writeInt(buckets[b][i]);
        out.writeLong(counts[b][i]);
      }
    }
  }

  public static BandStatistics read(DataInput in) throws IOException {
    String dtype = in.readUTF();
    int[] numbers = new int[in.readInt()];
    for (int b = 0; b < numbers.length; b++) {
      numbers[b] = in.readInt();
    }
    BandStatistics s = new BandStatistics(dtype, numbers);
    for (int b = 0; b < s.bands(); b++) {
      s.count[b] = in.readLong();
      s.sum[b] = in.readDouble();
      s.sumSquares[b] = in.readDouble();
      s.min[b] = in.readDouble();
      s.max[b] = in.readDouble();
      int entries = in.readInt();
      s.buckets[b] = new int[entries];
      s.counts[b] = new long[entries];
      for (int i = 0; i < entries; i++) {
        s.buckets[b][i] = in.readInt();
        s.counts[b][i] = in.readLong();
      }
    }
    return s;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BandStatistics s && s.kind().equals(kind()) && Arrays.equals(count, s.count) && Arrays.equals(sum, s.sum)
        && Arrays.equals(sumSquares, s.sumSquares) && Arrays.equals(min, s.min) && Arrays.equals(max, s.max)
        && Arrays.deepEquals(buckets, s.buckets) && Arrays.deepEquals(counts, s.counts);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(count) * 31 + Arrays.hashCode(sum);
  }
}
