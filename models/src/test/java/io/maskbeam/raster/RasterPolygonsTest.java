package io.maskbeam.raster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

class RasterPolygonsTest {
  static final ObjectMapper JSON = new ObjectMapper();

  /** 40x30: class 1 a 20x16 square with a 6x6 hole holding a 2x2 island of class 1; class 2 elsewhere; nodata 255. */
  static byte[] scene() {
    byte[] labels = new byte[40 * 30];
    java.util.Arrays.fill(labels, (byte) 2);
    for (int y = 5; y < 21; y++) {
      for (int x = 10; x < 30; x++) {
        boolean hole = x >= 17 && x < 23 && y >= 10 && y < 16;
        boolean island = x >= 19 && x < 21 && y >= 12 && y < 14;
        labels[y * 40 + x] = (byte) (hole && !island ? 0 : 1);
      }
    }
    for (int x = 0; x < 5; x++) {
      labels[29 * 40 + x] = (byte) BandMapping.NO_DATA_LABEL;
    }
    return labels;
  }

  static long count(byte[] labels, int value) {
    long n = 0;
    for (byte b : labels) {
      n += (b & 0xff) == value ? 1 : 0;
    }
    return n;
  }

  @Test
  void regionsBecomePolygonsWithTheirHolesInTheRastersCrsAndAreasInMapUnits() throws Exception {
    byte[] labels = scene();
    RasterPolygons polygons = new RasterPolygons(40, 30, 4096, GeoTiffTest.UTM33, List.of("bare", "water", "crop"), 0,
        BandMapping.NO_DATA_LABEL);
    polygons.accept(0, 0, 40, 30, labels);
    JsonNode fc = JSON.readTree(polygons.toGeoJson());
    assertThat(fc.path("crs").path("properties").path("name").asText()).isEqualTo("urn:ogc:def:crs:EPSG::32633");
    double[] pixels = new double[3];
    int waterFeatures = 0;
    for (JsonNode f : fc.path("features")) {
      int id = f.path("properties").path("classId").asInt();
      pixels[id] += f.path("properties").path("pixels").asDouble();
      assertThat(f.path("properties").path("area").asDouble()).isEqualTo(100 * f.path("properties").path("pixels")
          .asDouble());
      assertThat(f.path("properties").has("blockColumn")).isFalse();
      JsonNode rings = f.path("geometry").path("coordinates");
      if (id == 1 && rings.size() == 2) {
        waterFeatures++;
        // The square: its outer ring in map coordinates (x = 500000 + 10 col, y = 4649776 - 10 row),
        // counter-clockwise as RFC 7946 asks, closed.
        JsonNode outer = rings.get(0);
        assertThat(outer.get(0)).isEqualTo(outer.get(outer.size() - 1));
        assertThat(ringArea(outer)).isCloseTo(20 * 16 * 100.0, within(1e-6));
        assertThat(ringArea(rings.get(1))).isCloseTo(-6 * 6 * 100.0, within(1e-6));
        double minX = Double.MAX_VALUE;
        double maxY = -Double.MAX_VALUE;
        for (JsonNode p : outer) {
          minX = Math.min(minX, p.get(0).asDouble());
          maxY = Math.max(maxY, p.get(1).asDouble());
        }
        assertThat(minX).isEqualTo(500100.0);
        assertThat(maxY).isEqualTo(4649776.0 - 50);
      }
    }
    assertThat(waterFeatures).isEqualTo(1);
    // Exact at tolerance 0: every class's polygons cover exactly its pixels; nodata is no feature.
    for (int c = 0; c < 3; c++) {
      assertThat(pixels[c]).as("class %d", c).isEqualTo(count(labels, c));
    }
    assertThat(fc.path("features")).hasSize(4); // the square with its hole, the island, the hole's bare ring, crop
  }

  @Test
  void blocksSplitRegionsAtTheirBordersButKeepEveryPixelAndSimplifiedAreasStayWithinTheTolerance()
      throws Exception {
    int w = 100;
    int h = 70;
    byte[] labels = new byte[w * h];
    // Blobs: a smooth field thresholded into 3 classes.
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        double v = Math.sin(x / 9.0 + 1) + Math.cos(y / 7.0) + 0.3 * Math.sin((x + y) / 5.0);
        labels[y * w + x] = (byte) (v < -0.5 ? 0 : v < 0.6 ? 1 : 2);
      }
    }
    // Windows of 20 arrive row-major; blocks of 40.
    RasterPolygons exact = new RasterPolygons(w, h, 40, GeoReference.NONE, List.of("a", "b", "c"), 0, -1);
    RasterPolygons simplified = new RasterPolygons(w, h, 40, GeoReference.NONE, List.of("a", "b", "c"), 0.5, -1);
    for (int y = 0; y < h; y += 20) {
      for (int x = 0; x < w; x += 20) {
        int cw = Math.min(20, w - x);
        int ch = Math.min(20, h - y);
        byte[] core = new byte[cw * ch];
        for (int r = 0; r < ch; r++) {
          System.arraycopy(labels, (y + r) * w + x, core, r * cw, cw);
        }
        exact.accept(x, y, cw, ch, core);
        simplified.accept(x, y, cw, ch, core);
      }
    }
    JsonNode a = JSON.readTree(exact.toGeoJson());
    JsonNode b = JSON.readTree(simplified.toGeoJson());
    assertThat(a.has("crs")).isFalse();
    double[] exactPixels = new double[3];
    double[] simplePixels = new double[3];
    double[] perimeter = new double[3];
    java.util.Set<String> blocks = new java.util.HashSet<>();
    for (JsonNode f : a.path("features")) {
      int c = f.path("properties").path("classId").asInt();
      exactPixels[c] += f.path("properties").path("pixels").asDouble();
      blocks.add(f.path("properties").path("blockColumn").asInt() + "," + f.path("properties").path("blockRow").asInt());
      for (JsonNode ring : f.path("geometry").path("coordinates")) {
        for (int i = 0; i + 1 < ring.size(); i++) {
          perimeter[c] += Math.abs(ring.get(i + 1).get(0).asDouble() - ring.get(i).get(0).asDouble())
              + Math.abs(ring.get(i + 1).get(1).asDouble() - ring.get(i).get(1).asDouble());
        }
      }
    }
    for (JsonNode f : b.path("features")) {
      simplePixels[f.path("properties").path("classId").asInt()] += f.path("properties").path("pixels").asDouble();
    }
    assertThat(blocks).hasSize(3 * 2);
    for (int c = 0; c < 3; c++) {
      assertThat(exactPixels[c]).as("class %d", c).isEqualTo(count(labels, c));
      // Each dropped point moves the boundary by at most the tolerance along the ring's length.
      assertThat(Math.abs(simplePixels[c] - count(labels, c))).as("class %d", c).isLessThanOrEqualTo(0.5 * perimeter[c]);
    }
  }

  /** Signed area with y up (positive counter-clockwise) of a closed GeoJSON ring. */
  static double ringArea(JsonNode ring) {
    double s = 0;
    for (int i = 0; i + 1 < ring.size(); i++) {
      s += ring.get(i).get(0).asDouble() * ring.get(i + 1).get(1).asDouble()
          - ring.get(i + 1).get(0).asDouble() * ring.get(i).get(1).asDouble();
    }
    return s / 2;
  }
}
