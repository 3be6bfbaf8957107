package io.maskbeam.annotations;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;

/**
 * COCO's run-length encoding of a binary mask, as {@code pycocotools} defines it: runs in column-major (Fortran)
 * order, starting with a run of zeros (possibly empty), alternating zeros and ones. Compressed into a string by
 * {@code rleToString}: each count (after the third, the difference to the count two before) in 5-bit groups,
 * little end first, bit 0x20 marking "more follows", bit 0x10 of the last group the sign, offset by 48 into
 * printable ASCII.
 */
public record CocoRle(int height, int width, long[] counts) implements Serializable {
  public CocoRle {
    if (height < 0 || width < 0) {
      throw new IllegalArgumentException("RLE size must not be negative, got " + height + "x" + width);
    }
    long total = 0;
    for (long c : counts) {
      if (c < 0) {
        throw new IllegalArgumentException("RLE counts must not be negative, got " + c);
      }
      total += c;
    }
    if (total != (long) height * width) {
      throw new IllegalArgumentException(String.format(Locale.ROOT,
          "RLE counts sum to %d but its size %dx%d (height x width) has %d pixels", total, height, width,
          (long) height * width));
    }
  }

  /** The runs of a row-major mask: pixel {@code i} is in the mask where {@code mask[i] != 0}. */
  public static CocoRle encode(byte[] mask, int width, int height) {
    return encode(i -> mask[i] != 0, width, height);
  }

  /** Pixel test on row-major indices. */
  public interface PixelTest {
    boolean inside(int rowMajorIndex);
  }

  /** The runs of the pixels a test accepts. */
  public static CocoRle encode(PixelTest inside, int width, int height) {
    long[] runs = new long[16];
    int n = 0;
    boolean current = false;
    long run = 0;
    for (int x = 0; x < width; x++) {
      for (int y = 0; y < height; y++) {
        boolean v = inside.inside(y * width + x);
        if (v != current) {
          if (n == runs.length) {
            runs = Arrays.copyOf(runs, n * 2);
          }
          runs[n++] = run;
          run = 0;
          current = v;
        }
        run++;
      }
    }
    if (n == runs.length) {
      runs = Arrays.copyOf(runs, n + 1);
    }
    runs[n++] = run;
    return new CocoRle(height, width, Arrays.copyOf(runs, n));
  }

  /** Visits the row-major index of every pixel in the mask; returns how many. */
  public long visit(Polygons.PixelSink sink) {
    long index = 0;
    for (int k = 0; k < counts.length; k++) {
      long end = index + counts[k];
      if ((k & 1) == 1) {
        for (long i = index; i < end; i++) {
          sink.set((int) (i % height) * width + (int) (i / height));
        }
      }
      index = end;
    }
    return area();
  }

  /** The row-major mask (1 inside, 0 outside). */
  public byte[] decode() {
    byte[] mask = new byte[width * height];
    visit(i -> mask[i] = 1);
    return mask;
  }

  /** Pixels in the mask: COCO's {@code area} of an RLE. */
  public long area() {
    long a = 0;
    for (int k = 1; k < counts.length; k += 2) {
      a += counts[k];
    }
    return a;
  }

  /** COCO's {@code bbox} [x, y, width, height] of the mask's pixels, as {@code pycocotools.mask.toBbox}. */
  public double[] bbox() {
    long index = 0;
    int minX = Integer.MAX_VALUE;
    int minY = Integer.MAX_VALUE;
    int maxX = -1;
    int maxY = -1;
    for (int k = 0; k < counts.length; k++) {
      long end = index + counts[k];
      if ((k & 1) == 1 && counts[k] > 0) {
        int x0 = (int) (index / height);
        int x1 = (int) ((end - 1) / height);
        minX = Math.min(minX, x0);
        maxX = Math.max(maxX, x1);
        // A run spanning columns covers whole column heights between its ends.
        if (x1 > x0) {
          minY = 0;
          maxY = height - 1;
        } else {
          minY = Math.min(minY, (int) (index % height));
          maxY = Math.max(maxY, (int) ((end - 1) % height));
        }
      }
      index = end;
    }
    if (maxX < 0) {
      return new double[] {0, 0, 0, 0};
    }
    return new double[] {minX, minY, maxX - minX + 1, maxY - minY + 1};
  }

  /** The compressed counts string of {@code pycocotools}' {@code rleToString}. */
  public String toCompressedString() {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < counts.length; i++) {
      long x = counts[i];
      if (i > 2) {
        x -= counts[i - 2];
      }
      boolean more = true;
      while (more) {
        int c = (int) (x & 0x1f);
        x >>= 5;
        more = (c & 0x10) != 0 ? x != -1 : x != 0;
        if (more) {
          c |= 0x20;
        }
        s.append((char) (c + 48));
      }
    }
    return s.toString();
  }

  /** Parses a compressed counts string ({@code rleFrString}); a malformed string is an IllegalArgumentException. */
  public static CocoRle fromCompressedString(String s, int height, int width) {
    long[] counts = new long[Math.max(1, s.length())];
    int m = 0;
    int p = 0;
    while (p < s.length()) {
      long x = 0;
      int k = 0;
      boolean more = true;
      while (more) {
        if (p >= s.length()) {
          throw new IllegalArgumentException("RLE string ends inside a count");
        }
        int c = s.charAt(p) - 48;
        if (c < 0 || c > 63) {
          throw new IllegalArgumentException(String.format(Locale.ROOT,
              "RLE string holds '%c' at %d, outside COCO's alphabet '0'..'o'", s.charAt(p), p));
        }
        if (k > 12) {
          throw new IllegalArgumentException("RLE string holds a count too long to be a pixel count");
        }
        x |= (long) (c & 0x1f) << (5 * k);
        more = (c & 0x20) != 0;
        p++;
        k++;
        if (!more && (c & 0x10) != 0) {
          x |= -1L << (5 * k);
        }
      }
      if (m > 2) {
        x += counts[m - 2];
      }
      counts[m++] = x;
    }
    return new CocoRle(height, width, Arrays.copyOf(counts, m));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CocoRle r && r.height == height && r.width == width && Arrays.equals(r.counts, counts);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * height + width) + Arrays.hashCode(counts);
  }

  @Override
  public String toString() {
    return "CocoRle[" + height + "x" + width + ", " + counts.length + " runs]";
  }
}
