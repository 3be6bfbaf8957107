package io.maskbeam.models.infer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.maskbeam.image.LabelImage;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.image.RgbImage;
import io.maskbeam.raster.BandMapping;
import io.maskbeam.raster.GeoTiffWriter;
import io.maskbeam.raster.RasterSource;
import io.maskbeam.raster.SampleType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RasterSegmenterTest {
  @TempDir
  Path dir;

  /**
   * A model with spatial context: the class of a pixel is the mean red of its 5x5 neighbourhood (clamped at the
   * image's edges) / 64. A window seeing too little context around its core would change its answer there.
   */
  static final class NeighbourhoodModel implements ProbabilityModel {
    @Override
    public int numClasses() {
      return 4;
    }

    @Override
    public float[] probabilities(byte[] rgb, int n, int h, int w) {
      float[] p = new float[n * h * w * 4];
      for (int i = 0; i < n; i++) {
        byte[] labels = segment(new RgbImage(w, h, java.util.Arrays.copyOfRange(rgb, i * h * w * 3,
            (i + 1) * h * w * 3))).labels();
        for (int q = 0; q < h * w; q++) {
          p[(i * h * w + q) * 4 + labels[q]] = 1;
        }
      }
      return p;
    }

    @Override
    public LabelImage segment(RgbImage image) {
      int w = image.width();
      int h = image.height();
      byte[] out = new byte[w * h];
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int sum = 0;
          for (int dy = -2; dy <= 2; dy++) {
            for (int dx = -2; dx <= 2; dx++) {
              int yy = Math.max(0, Math.min(h - 1, y + dy));
              int xx = Math.max(0, Math.min(w - 1, x + dx));
              sum += image.pixels()[(yy * w + xx) * 3] & 0xff;
            }
          }
          out[y * w + x] = (byte) (sum / 25 / 64);
        }
      }
      return new LabelImage(w, h, out);
    }
  }

  @Test
  void windowsWithMarginsGiveTheWholeRastersAnswerAndNodataIsNoClass() throws Exception {
    int w = 700;
    int h = 500;
    // 4 bands of uint16; the model sees band 4 (scaled from 0..4000). A corner of nodata (all bands 0).
    Random random = new Random(11);
    ByteBuffer pixels = ByteBuffer.allocate(w * h * 4 * 2).order(ByteOrder.LITTLE_ENDIAN);
    byte[] expectedRgb = new byte[w * h * 3];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        boolean empty = x < 100 && y < 60;
        int v = empty ? 0 : 1 + (int) (3999 * (0.5 + 0.5 * Math.sin(x / 37.0) * Math.cos(y / 23.0)));
        for (int b = 0; b < 3; b++) {
          pixels.putShort((short) (empty ? 0 : random.nextInt(60000) + 1));
        }
        pixels.putShort((short) v);
        byte g = (byte) Math.round(v * 255.0 / 4000);
        expectedRgb[(y * w + x) * 3] = g;
        expectedRgb[(y * w + x) * 3 + 1] = g;
        expectedRgb[(y * w + x) * 3 + 2] = g;
      }
    }
    Path file = dir.resolve("r.tif");
    Files.write(file, new GeoTiffWriter(w, h, 4, SampleType.UINT16, 128).withNoData("0").putAll(pixels.array())
        .toByteArray());

    NeighbourhoodModel model = new NeighbourhoodModel();
    Segmenter segmenter = new Segmenter(model, 1024, 128, 4, ResizePolicy.parse("keep"));
    byte[] whole = model.segment(new RgbImage(w, h, expectedRgb)).labels();

    RasterSegmenter windows = new RasterSegmenter(segmenter, 256, 8);
    byte[] assembled = new byte[w * h];
    List<int[]> seen = new ArrayList<>();
    RasterSegmenter.Summary summary;
    try (RasterSource source = RasterSource.open(Files.newByteChannel(file, StandardOpenOption.READ), "r.tif")) {
      summary = windows.segment(source, BandMapping.parse("4,4,4", "0,4000", null), (x, y, cw, ch, labels) -> {
        seen.add(new int[] {x, y, cw, ch});
        for (int r = 0; r < ch; r++) {
          System.arraycopy(labels, r * cw, assembled, (y + r) * w + x, cw);
        }
      });
    }
    assertThat(summary.windows()).isEqualTo(6).isEqualTo(seen.size());
    assertThat(seen.get(0)).containsExactly(0, 0, 256, 256);
    assertThat(seen.get(5)).containsExactly(512, 256, 188, 244);
    long noData = 0;
    long[] counts = new long[4];
    for (int i = 0; i < w * h; i++) {
      boolean empty = i % w < 100 && i / w < 60;
      if (empty) {
        assertThat(assembled[i] & 0xff).as("pixel %d", i).isEqualTo(BandMapping.NO_DATA_LABEL);
        noData++;
      } else {
        assertThat(assembled[i]).as("pixel (%d, %d)", i % w, i / w).isEqualTo(whole[i]);
        counts[assembled[i]]++;
      }
    }
    assertThat(summary.noDataPixels()).isEqualTo(noData).isEqualTo(6000);
    assertThat(summary.classPixels()).containsExactly(counts);
  }

  @Test
  void aMappingTheRasterCannotSatisfyIsRefusedBeforeAnyWindow() throws Exception {
    Path file = dir.resolve("two.tif");
    Files.write(file, new GeoTiffWriter(32, 32, 2, SampleType.UINT16, 16).putAll(new byte[32 * 32 * 2 * 2])
        .toByteArray());
    Segmenter segmenter = new Segmenter(new NeighbourhoodModel(), 1024, 128, 4, ResizePolicy.parse("keep"));
    try (RasterSource source = RasterSource.open(Files.newByteChannel(file, StandardOpenOption.READ), "two.tif")) {
      RasterSegmenter windows = new RasterSegmenter(segmenter, 256, 8);
      assertThatThrownBy(() -> windows.segment(source, BandMapping.DEFAULT, (x, y, cw, ch, l) -> { }))
          .hasMessageContaining("a 2-band raster and a 3-channel model");
      assertThatThrownBy(() -> windows.segment(source, BandMapping.parse("1,2,3", "0,100", null),
          (x, y, cw, ch, l) -> { })).hasMessageContaining("band 3 of a 2-band raster");
      assertThatThrownBy(() -> windows.segment(source, BandMapping.parse("1,2,2", null, null),
          (x, y, cw, ch, l) -> { })).hasMessageContaining("a uint16 raster needs --bandRange");
    }
  }

  @Test
  void coresAreWholeOutputTilesThatFitOneInferenceTileWithTheirMargins() {
    assertThat(RasterSegmenter.coreFor(1024, 128, 256)).isEqualTo(768);
    assertThat(RasterSegmenter.coreFor(512, 32, 256)).isEqualTo(256);
    assertThat(RasterSegmenter.coreFor(256, 32, 256)).isEqualTo(256);
  }
}
