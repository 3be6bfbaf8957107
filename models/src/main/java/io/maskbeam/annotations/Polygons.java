package io.maskbeam.annotations;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Polygons on the pixel grid, both ways.
 *
 * <p><b>Coordinates.</b> Pixel (c, r) is the unit square [c, c+1) x [r, r+1); its centre is (c + 0.5, r + 0.5). A ring
 * is a flat array {@code x0, y0, x1, y1, ...}, closed implicitly (the last point joins the first). COCO, LabelMe and
 * CVAT all write points in this frame.
 *
 * <p><b>Rasterisation</b> ({@link #fill}) is exact: a pixel is inside when its centre is inside the polygon under the
 * even-odd rule, over all rings of a region together, so a ring inside another is a hole and self-touching rings
 * behave. A centre exactly on an edge belongs to the pixel when the edge is on its left or above it (the rule that
 * makes two polygons sharing an edge cover each pixel once). Points outside the image are allowed; the polygon is
 * clipped to it.
 *
 * <p><b>Tracing</b> ({@link #trace}) turns a binary mask into rings along pixel edges: outer boundaries clockwise on
 * screen (y down), holes counter-clockwise, diagonal neighbours kept apart (4-connected regions). Filling the traced
 * rings gives back exactly the mask; {@link #simplify} then thins the rings with Douglas-Peucker at a tolerance in
 * pixels.
 */
public final class Polygons {
  private Polygons() {}

  /**
   * Writes {@code value} into the row-major {@code labels} (width x height) at every pixel whose centre the rings
   * enclose (even-odd), and returns how many pixels were set.
   */
  public static long fill(List<double[]> rings, byte[] labels, int width, int height, byte value) {
    return fill(rings, width, height, i -> labels[i] = value);
  }

  /** Receives the row-major index of each pixel a fill covers. */
  public interface PixelSink {
    void set(int rowMajorIndex);
  }

  /** Visits every pixel the rings enclose (even-odd), each once; returns how many. */
  public static long fill(List<double[]> rings, int width, int height, PixelSink sink) {
    double minY = Double.POSITIVE_INFINITY;
    double maxY = Double.NEGATIVE_INFINITY;
    int edges = 0;
    for (double[] ring : rings) {
      checkRing(ring);
      for (int i = 1; i < ring.length; i += 2) {
        minY = Math.min(minY, ring[i]);
        maxY = Math.max(maxY, ring[i]);
      }
      edges += ring.length / 2;
    }
    if (edges == 0) {
      return 0;
    }
    int rowFrom = Math.max(0, (int) Math.floor(minY - 0.5));
    int rowTo = Math.min(height - 1, (int) Math.ceil(maxY - 0.5));
    double[] xs = new double[edges];
    long set = 0;
    for (int r = rowFrom; r <= rowTo; r++) {
      double yc = r + 0.5;
      int n = 0;
      for (double[] ring : rings) {
        int points = ring.length / 2;
        for (int i = 0; i < points; i++) {
          int j = (i + 1) % points;
          double x0 = ring[2 * i];
          double y0 = ring[2 * i + 1];
          double x1 = ring[2 * j];
          double y1 = ring[2 * j + 1];
          // Half-open in y: a vertex exactly on the scan line counts for one of its two edges only.
          if ((y0 <= yc) != (y1 <= yc)) {
            xs[n++] = x0 + (yc - y0) * (x1 - x0) / (y1 - y0);
          }
        }
      }
      Arrays.sort(xs, 0, n);
      for (int k = 0; k + 1 < n; k += 2) {
        // Centres c + 0.5 in [a, b): c from ceil(a - 0.5) to ceil(b - 0.5) - 1.
        int from = Math.max(0, (int) Math.ceil(xs[k] - 0.5));
        int to = Math.min(width, (int) Math.ceil(xs[k + 1] - 0.5));
        int row = r * width;
        for (int c = from; c < to; c++) {
          sink.set(row + c);
        }
        set += Math.max(0, to - from);
      }
    }
    return set;
  }

  private static void checkRing(double[] ring) {
    if (ring.length % 2 != 0) {
      throw new IllegalArgumentException("a ring needs x, y pairs; got " + ring.length + " numbers");
    }
    if (ring.length < 6) {
      throw new IllegalArgumentException("a polygon needs at least 3 points; got " + ring.length / 2);
    }
    for (double v : ring) {
      if (!Double.isFinite(v)) {
        throw new IllegalArgumentException("a polygon point is not a finite number: " + v);
      }
    }
  }

  /** Signed area by the shoelace formula: positive for clockwise rings on screen (y down). */
  public static double signedArea(double[] ring) {
    double a = 0;
    int points = ring.length / 2;
    for (int i = 0; i < points; i++) {
      int j = (i + 1) % points;
      a += ring[2 * i] * ring[2 * j + 1] - ring[2 * j] * ring[2 * i + 1];
    }
    return a / 2;
  }

  private static final int RIGHT = 0;
  private static final int DOWN = 1;
  private static final int LEFT = 2;
  private static final int UP = 3;
  private static final int[] DX = {1, 0, -1, 0};
  private static final int[] DY = {0, 1, 0, -1};

  /**
   * The rings of the pixels a test accepts, along pixel edges, with only their corners kept. Outer boundaries run
   * clockwise on screen ({@link #signedArea} positive), holes counter-clockwise.
   */
  public static List<double[]> trace(CocoRle.PixelTest inside, int width, int height) {
    int stride = width + 1;
    // For each corner, a bit per direction of a boundary edge leaving it, with the region on its right.
    byte[] out = new byte[stride * (height + 1)];
    int edges = 0;
    for (int r = 0; r < height; r++) {
      for (int c = 0; c < width; c++) {
        if (!inside.inside(r * width + c)) {
          continue;
        }
        if (r == 0 || !inside.inside((r - 1) * width + c)) {
          out[r * stride + c] |= 1 << RIGHT;
          edges++;
        }
        if (c == width - 1 || !inside.inside(r * width + c + 1)) {
          out[r * stride + c + 1] |= 1 << DOWN;
          edges++;
        }
        if (r == height - 1 || !inside.inside((r + 1) * width + c)) {
          out[(r + 1) * stride + c + 1] |= 1 << LEFT;
          edges++;
        }
        if (c == 0 || !inside.inside(r * width + c - 1)) {
          out[(r + 1) * stride + c] |= 1 << UP;
          edges++;
        }
      }
    }
    List<double[]> rings = new ArrayList<>();
    // Scan in row-major order: the first corner of every outer ring is its top-left one.
    for (int v = 0; v < out.length && edges > 0; v++) {
      while (out[v] != 0) {
        int startX = v % stride;
        int startY = v / stride;
        int dir = Integer.numberOfTrailingZeros(out[v]);
        List<int[]> corners = new ArrayList<>();
        int x = startX;
        int y = startY;
        int prevDir = -1;
        int firstDir = dir;
        do {
          int at = y * stride + x;
          if (prevDir >= 0) {
            // Right turn first: where two regions touch at a corner, each ring goes round its own pixel.
            int right = (prevDir + 1) & 3;
            int left = (prevDir + 3) & 3;
            dir = (out[at] & (1 << right)) != 0 ? right : (out[at] & (1 << prevDir)) != 0 ? prevDir : left;
          }
          if ((out[at] & (1 << dir)) == 0) {
            throw new IllegalStateException("open boundary at (" + x + ", " + y + ")");
          }
          out[at] &= (byte) ~(1 << dir);
          edges--;
          if (dir != prevDir) {
            corners.add(new int[] {x, y});
          }
          x += DX[dir];
          y += DY[dir];
          prevDir = dir;
        } while (x != startX || y != startY);
        // The start corner is a real corner unless the ring arrives straight through it.
        if (firstDir == prevDir && corners.size() > 1) {
          corners.remove(0);
        }
        double[] ring = new double[corners.size() * 2];
        for (int k = 0; k < corners.size(); k++) {
          ring[2 * k] = corners.get(k)[0];
          ring[2 * k + 1] = corners.get(k)[1];
        }
        rings.add(ring);
      }
    }
    return rings;
  }

  /**
   * Douglas-Peucker on a closed ring: drops points closer than {@code tolerance} pixels to the line their neighbours
   * kept. A ring that would shrink below 3 points is returned as null (it is smaller than the tolerance).
   */
  public static double[] simplify(double[] ring, double tolerance) {
    int n = ring.length / 2;
    if (tolerance <= 0 || n <= 3) {
      return n >= 3 ? ring.clone() : null;
    }
    // Split the closed ring at its first point and the point farthest from it, then simplify both halves.
    int far = 0;
    double best = -1;
    for (int i = 1; i < n; i++) {
      double d = Math.hypot(ring[2 * i] - ring[0], ring[2 * i + 1] - ring[1]);
      if (d > best) {
        best = d;
        far = i;
      }
    }
    boolean[] keep = new boolean[n + 1];
    keep[0] = true;
    keep[far] = true;
    keep[n] = true;
    double[] pts = Arrays.copyOf(ring, 2 * n + 2);
    pts[2 * n] = ring[0];
    pts[2 * n + 1] = ring[1];
    douglasPeucker(pts, 0, far, tolerance, keep);
    douglasPeucker(pts, far, n, tolerance, keep);
    int kept = 0;
    for (int i = 0; i < n; i++) {
      if (keep[i]) {
        kept++;
      }
    }
    if (kept < 3) {
      return null;
    }
    double[] result = new double[kept * 2];
    for (int i = 0, k = 0; i < n; i++) {
      if (keep[i]) {
        result[k++] = pts[2 * i];
        result[k++] = pts[2 * i + 1];
      }
    }
    return result;
  }

  private static void douglasPeucker(double[] pts, int from, int to, double tolerance, boolean[] keep) {
    // Iterative, so rings of millions of points cannot overflow the stack.
    int[] stack = new int[64];
    int top = 0;
    stack[top++] = from;
    stack[top++] = to;
    while (top > 0) {
      int b = stack[--top];
      int a = stack[--top];
      double ax = pts[2 * a];
      double ay = pts[2 * a + 1];
      double bx = pts[2 * b];
      double by = pts[2 * b + 1];
      double len = Math.hypot(bx - ax, by - ay);
      int worst = -1;
      double worstDistance = tolerance;
      for (int i = a + 1; i < b; i++) {
        double px = pts[2 * i];
        double py = pts[2 * i + 1];
        double d = len == 0 ? Math.hypot(px - ax, py - ay)
            : Math.abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / len;
        if (d > worstDistance) {
          worstDistance = d;
          worst = i;
        }
      }
      if (worst >= 0) {
        keep[worst] = true;
        if (top + 4 > stack.length) {
          stack = Arrays.copyOf(stack, stack.length * 2);
        }
        stack[top++] = a;
        stack[top++] = worst;
        stack[top++] = worst;
        stack[top++] = b;
      }
    }
  }
}
