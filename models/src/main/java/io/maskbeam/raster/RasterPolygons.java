package io.maskbeam.raster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.annotations.CocoRle;
import io.maskbeam.annotations.Polygons;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * A segmented raster's classes as GeoJSON polygons in the raster's CRS: one feature per connected region of a
 * class, with its holes, traced along pixel edges and simplified by a tolerance in pixels; properties give the class,
 * the area in map units and in pixels.
 *
 * <p>Memory stays bounded: labels arrive window by window (row-major) and are traced in blocks of {@code block}
 * pixels a side, so a region crossing a block border becomes one feature per block (each carries its block's
 * {@code blockColumn}/{@code blockRow}; dissolving by class merges them). A raster no larger than one block is traced
 * whole.
 */
public final class RasterPolygons {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final int width;
  private final int height;
  private final int block;
  private final GeoReference geo;
  private final List<String> classNames;
  private final double tolerance;
  private final int skip;
  private final ArrayNode features = JSON.createArrayNode();
  /** One row of blocks: block rows of labels over the raster's width. */
  private byte[] band;
  private int bandY = -1;

  /**
   * @param block the side of a tracing block, a multiple of the windows' core size
   * @param skip a label that is not a class (the nodata label), or -1
   */
  public RasterPolygons(int width, int height, int block, GeoReference geo, List<String> classNames,
      double tolerance, int skip) {
    this.width = width;
    this.height = height;
    this.block = block;
    this.geo = geo;
    this.classNames = List.copyOf(classNames);
    this.tolerance = tolerance;
    this.skip = skip;
  }

  /** Takes a window's core labels; windows come in row-major order and tile the raster. */
  public void accept(int x, int y, int w, int h, byte[] labels) {
    int top = y / block * block;
    if (top != bandY) {
      flush();
      bandY = top;
      band = new byte[Math.min(block, height - top) * width];
    }
    for (int r = 0; r < h; r++) {
      System.arraycopy(labels, r * w, band, (y - top + r) * width + x, w);
    }
    if (x + w == width && y + h == Math.min(height, top + block)) {
      flush();
    }
  }

  /** Traces the current band of blocks, if any. */
  private void flush() {
    if (band == null) {
      return;
    }
    int rows = band.length / width;
    for (int bx = 0; bx < width; bx += block) {
      int cols = Math.min(block, width - bx);
      byte[] cell = new byte[cols * rows];
      for (int r = 0; r < rows; r++) {
        System.arraycopy(band, r * width + bx, cell, r * cols, cols);
      }
      trace(cell, cols, rows, bx, bandY);
    }
    band = null;
    bandY = -1;
  }

  private void trace(byte[] labels, int w, int h, int ox, int oy) {
    boolean[] present = new boolean[256];
    for (byte b : labels) {
      present[b & 0xff] = true;
    }
    boolean whole = w == width && h == height;
    for (int c = 0; c < 256; c++) {
      if (!present[c] || c == skip) {
        continue;
      }
      byte v = (byte) c;
      CocoRle.PixelTest inside = i -> labels[i] == v;
      List<double[]> outers = new ArrayList<>();
      List<double[]> holes = new ArrayList<>();
      List<double[]> holePoints = new ArrayList<>();
      for (double[] ring : Polygons.trace(inside, w, h)) {
        // A point inside the region next to the ring's first edge (the region lies on the right of each edge).
        double dx = Math.signum(ring[2] - ring[0]);
        double dy = Math.signum(ring[3] - ring[1]);
        double[] probe = {(ring[0] + ring[2]) / 2 - 0.5 * dy, (ring[1] + ring[3]) / 2 + 0.5 * dx};
        double[] simple = Polygons.simplify(ring, tolerance);
        if (Polygons.signedArea(ring) > 0) {
          if (simple != null) {
            outers.add(simple);
          }
        } else if (simple != null) {
          holes.add(simple);
          holePoints.add(probe);
        }
      }
      List<List<double[]>> polygons = new ArrayList<>();
      for (double[] outer : outers) {
        List<double[]> rings = new ArrayList<>();
        rings.add(outer);
        polygons.add(rings);
      }
      for (int k = 0; k < holes.size(); k++) {
        int owner = -1;
        double ownerArea = Double.MAX_VALUE;
        for (int o = 0; o < outers.size(); o++) {
          double area = Polygons.signedArea(outers.get(o));
          if (area < ownerArea && contains(outers.get(o), holePoints.get(k)[0], holePoints.get(k)[1])) {
            owner = o;
            ownerArea = area;
          }
        }
        if (owner >= 0) {
          polygons.get(owner).add(holes.get(k));
        }
      }
      for (List<double[]> rings : polygons) {
        features.add(feature(c, rings, ox, oy, whole));
      }
    }
  }

  private ObjectNode feature(int classId, List<double[]> rings, int ox, int oy, boolean whole) {
    ObjectNode f = JSON.createObjectNode();
    f.put("type", "Feature");
    ObjectNode p = f.putObject("properties");
    p.put("class", classId < classNames.size() ? classNames.get(classId) : "class " + classId);
    p.put("classId", classId);
    double pixels = 0;
    for (double[] r : rings) {
      pixels += Polygons.signedArea(r); // holes are negative
    }
    p.put("pixels", pixels);
    p.put("area", pixels * geo.pixelArea());
    if (!whole) {
      p.put("blockColumn", ox / block);
      p.put("blockRow", oy / block);
    }
    ObjectNode g = f.putObject("geometry");
    g.put("type", "Polygon");
    ArrayNode coordinates = g.putArray("coordinates");
    for (int k = 0; k < rings.size(); k++) {
      double[] r = rings.get(k);
      int n = r.length / 2;
      double[][] points = new double[n + 1][];
      for (int i = 0; i <= n; i++) {
        points[i] = geo.georeferenced() ? geo.toMap(ox + r[2 * (i % n)], oy + r[2 * (i % n) + 1])
            : new double[] {ox + r[2 * (i % n)], oy + r[2 * (i % n) + 1]};
      }
      // RFC 7946: exterior rings counter-clockwise, holes clockwise, in the output coordinates.
      boolean counterClockwise = area(points) > 0;
      if (counterClockwise != (k == 0)) {
        java.util.Collections.reverse(java.util.Arrays.asList(points));
      }
      ArrayNode ring = coordinates.addArray();
      for (double[] pt : points) {
        ring.addArray().add(pt[0]).add(pt[1]);
      }
    }
    return f;
  }

  /** Signed area with y up: positive for counter-clockwise rings. */
  private static double area(double[][] points) {
    double a = 0;
    for (int i = 0; i + 1 < points.length; i++) {
      a += points[i][0] * points[i + 1][1] - points[i + 1][0] * points[i][1];
    }
    return a / 2;
  }

  /** Even-odd point-in-ring test. */
  private static boolean contains(double[] ring, double x, double y) {
    boolean in = false;
    int n = ring.length / 2;
    for (int i = 0, j = n - 1; i < n; j = i++) {
      double xi = ring[2 * i];
      double yi = ring[2 * i + 1];
      double xj = ring[2 * j];
      double yj = ring[2 * j + 1];
      if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) {
        in = !in;
      }
    }
    return in;
  }

  /** How many features so far. */
  public int features() {
    return features.size();
  }

  /** The features so far as a JSON array (one share of a raster, merged by {@link #collection}). */
  public byte[] featuresJson() {
    flush();
    try {
      return JSON.writeValueAsBytes(features);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** One FeatureCollection from the feature arrays of a raster's shares, in order. */
  public static byte[] collection(GeoReference geo, List<byte[]> featureArrays) {
    ArrayNode all = JSON.createArrayNode();
    for (byte[] array : featureArrays) {
      try {
        JSON.readTree(array).forEach(all::add);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return collection(geo, all);
  }

  /**
   * The FeatureCollection, with the legacy {@code crs} member GDAL and QGIS read when the CRS is not WGS 84 (RFC 7946
   * dropped it; without it readers assume longitude/latitude).
   */
  public byte[] toGeoJson() {
    flush();
    return collection(geo, features);
  }

  private static byte[] collection(GeoReference geo, ArrayNode features) {
    ObjectNode fc = JSON.createObjectNode();
    fc.put("type", "FeatureCollection");
    OptionalInt epsg = geo.epsg();
    if (epsg.isPresent()) {
      fc.putObject("crs").put("type", "name").putObject("properties")
          .put("name", "urn:ogc:def:crs:EPSG::" + epsg.getAsInt());
    }
    fc.set("features", features);
    try {
      return JSON.writeValueAsBytes(fc);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
