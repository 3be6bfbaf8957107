package io.maskbeam.annotations;

import static org.assertj.core.api.Assertions.assertThat;

import io.maskbeam.image.LabelImage;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PolygonsTest {
  private static long count(List<double[]> rings, int w, int h) {
    byte[] labels = new byte[w * h];
    long set = Polygons.fill(rings, labels, w, h, (byte) 1);
    long ones = 0;
    for (byte b : labels) {
      ones += b;
    }
    assertThat(set).isEqualTo(ones);
    return ones;
  }

  @Test
  void axisAlignedRectangleOnPixelEdgesCoversExactlyItsPixels() {
    assertThat(count(List.of(new double[] {2, 3, 7, 3, 7, 8, 2, 8}), 20, 20)).isEqualTo(25);
    // Shifted by a quarter pixel the centres inside are still 5x5; by more than half a pixel, one column fewer.
    assertThat(count(List.of(new double[] {2.25, 3, 7.25, 3, 7.25, 8, 2.25, 8}), 20, 20)).isEqualTo(25);
    assertThat(count(List.of(new double[] {2.6, 3, 7.4, 3, 7.4, 8, 2.6, 8}), 20, 20)).isEqualTo(20);
  }

  @Test
  void holesSubtractUnderEvenOdd() {
    double[] outer = {0, 0, 10, 0, 10, 10, 0, 10};
    double[] hole = {3, 3, 3, 7, 7, 7, 7, 3};
    assertThat(count(List.of(outer, hole), 12, 12)).isEqualTo(100 - 16);
  }

  @Test
  void offImagePolygonsAreClippedAndSharedEdgesCoverEachPixelOnce() {
    assertThat(count(List.of(new double[] {-5, -5, 4, -5, 4, 3, -5, 3}), 10, 10)).isEqualTo(12);
    assertThat(count(List.of(new double[] {20, 20, 30, 20, 30, 30}), 10, 10)).isZero();
    // A triangle split in two along a diagonal: the halves cover every pixel of the whole once.
    double[] left = {0, 0, 8, 8, 0, 8};
    double[] right = {0, 0, 8, 0, 8, 8};
    byte[] labels = new byte[64];
    long a = Polygons.fill(List.of(left), 8, 8, i -> labels[i]++);
    long b = Polygons.fill(List.of(right), 8, 8, i -> labels[i]++);
    assertThat(a + b).isEqualTo(64);
    for (byte v : labels) {
      assertThat(v).isEqualTo((byte) 1);
    }
  }

  @Test
  void selfTouchingPolygonFillsBothLobes() {
    // A bow tie crossing itself at (5, 4); no pixel centre lies on its edges, so the count is exact by brute force.
    double[] bowtie = {0, 0, 10, 8, 10, 0, 0, 8};
    long n = count(List.of(bowtie), 10, 10);
    long brute = 0;
    for (int r = 0; r < 10; r++) {
      for (int c = 0; c < 10; c++) {
        double x = c + 0.5;
        double y = r + 0.5;
        boolean leftLobe = y > 0.8 * x && y < 8 - 0.8 * x;
        boolean rightLobe = y < 0.8 * x && y > 8 - 0.8 * x;
        brute += leftLobe || rightLobe ? 1 : 0;
      }
    }
    assertThat(n).isEqualTo(brute).isPositive();
  }

  @Test
  void tracedRingsFillBackToTheExactMaskIncludingHolesAndDiagonalTouches() {
    Random random = new Random(7);
    for (int trial = 0; trial < 30; trial++) {
      int w = 5 + random.nextInt(30);
      int h = 5 + random.nextInt(30);
      byte[] mask = new byte[w * h];
      for (int i = 0; i < mask.length; i++) {
        mask[i] = (byte) (random.nextDouble() < 0.45 ? 1 : 0);
      }
      List<double[]> rings = Polygons.trace(i -> mask[i] != 0, w, h);
      byte[] back = new byte[w * h];
      Polygons.fill(rings, back, w, h, (byte) 1);
      assertThat(back).as("trial " + trial).isEqualTo(mask);
    }
  }

  @Test
  void traceKeepsOnlyCornersAndOrientsHoles() {
    int w = 10;
    int h = 10;
    byte[] mask = new byte[w * h];
    for (int y = 1; y < 9; y++) {
      for (int x = 1; x < 9; x++) {
        mask[y * w + x] = (byte) (x >= 4 && x < 6 && y >= 4 && y < 6 ? 0 : 1);
      }
    }
    List<double[]> rings = Polygons.trace(i -> mask[i] != 0, w, h);
    assertThat(rings).hasSize(2);
    assertThat(rings.get(0)).containsExactly(1, 1, 9, 1, 9, 9, 1, 9);
    assertThat(Polygons.signedArea(rings.get(0))).isEqualTo(64);
    assertThat(Polygons.signedArea(rings.get(1))).isEqualTo(-4);
  }

  @Test
  void simplifiedRingsKeepIouAbove099PerRegion() {
    int w = 160;
    int h = 120;
    byte[] mask = new byte[w * h];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        double dx = (x + 0.5 - 80) / 60;
        double dy = (y + 0.5 - 60) / 40;
        mask[y * w + x] = (byte) (dx * dx + dy * dy < 1 + 0.15 * Math.sin(6 * Math.atan2(dy, dx)) ? 1 : 0);
      }
    }
    LabelImage labels = new LabelImage(w, h, mask);
    MaskRegions.ClassRegion region = MaskRegions.of(labels, 0, 0.5).get(0);
    assertThat(region.classId()).isEqualTo(1);
    int points = 0;
    for (double[] r : region.rings()) {
      points += r.length / 2;
    }
    List<double[]> exact = Polygons.trace(i -> mask[i] == 1, w, h);
    assertThat(points).as("simplification drops points of " + exact.get(0).length / 2).isLessThan((int) (exact.get(0).length / 2 * 0.85));
    byte[] back = new byte[w * h];
    Polygons.fill(region.rings(), back, w, h, (byte) 1);
    long inter = 0;
    long union = 0;
    for (int i = 0; i < back.length; i++) {
      inter += mask[i] == 1 && back[i] == 1 ? 1 : 0;
      union += mask[i] == 1 || back[i] == 1 ? 1 : 0;
    }
    assertThat((double) inter / union).isGreaterThanOrEqualTo(0.99);
    assertThat(region.rle().area()).isEqualTo(count(exact, w, h));
  }
}
