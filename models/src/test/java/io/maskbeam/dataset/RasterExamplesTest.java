package io.maskbeam.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.within;

import io.maskbeam.core.FailureReason;
import io.maskbeam.image.BandImage;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.labels.LabelMaps;
import io.maskbeam.models.train.TrainingData;
import io.maskbeam.raster.BandMapping;
import io.maskbeam.raster.GeoTiffWriter;
import io.maskbeam.raster.RasterSource;
import io.maskbeam.raster.SampleType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rasters as training examples: raw samples kept, bands chosen, chips cut, nodata ignored, statistics merged. */
class RasterExamplesTest {
  @TempDir Path dir;

  static final ExamplePreparer PREPARER = new ExamplePreparer(LabelMaps.parse("{\"values\": {\"0\": 0, \"1\": 1}}",
      "ab"), ResizePolicy.parse("keep"), UnknownLabelPolicy.REJECT, ExamplePreparer.DEFAULT_MAX_PIXELS, 95);

  /** Sample (x, y, band) = band * 1000 + y * 10 + x, except the left 8 columns: nodata 0 in every band. */
  static int sample(int x, int y, int band) {
    return x < 8 ? 0 : band * 1000 + y * 10 + x;
  }

  RasterSource raster(int w, int h, int bands) throws Exception {
    ByteBuffer b = ByteBuffer.allocate(w * h * bands * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        for (int band = 1; band <= bands; band++) {
          b.putShort((short) sample(x, y, band));
        }
      }
    }
    Path file = dir.resolve("r.tif");
    Files.write(file, new GeoTiffWriter(w, h, bands, SampleType.UINT16, 16).withNoData("0").putAll(b.array())
        .toByteArray());
    return RasterSource.open(Files.newByteChannel(file, StandardOpenOption.READ), "r.tif");
  }

  static byte[] mask(int w, int h) {
    byte[] labels = new byte[w * h];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = (byte) (i % w >= w / 2 ? 1 : 0);
    }
    return ImageCodec.encodePng(new LabelImage(w, h, labels));
  }

  @Test
  void chipsKeepTheChosenBandsRawAndDropChipsWithoutData() throws Exception {
    try (RasterSource r = raster(40, 24, 4)) {
      ExamplePreparer.RasterExamples out = PREPARER.prepareRaster("r", r, mask(40, 24),
          BandMapping.parse("4,1", null, null), new ExamplePreparer.Chips(8, 0));
      // 5 x 3 chips of 8; the first column's 3 chips are all nodata.
      assertThat(out.noDataChips()).isEqualTo(3);
      List<PreparedExample> examples = out.examples();
      assertThat(examples).hasSize(12);
      PreparedExample chip = examples.stream().filter(e -> e.id().equals("r_y8_x16")).findFirst().orElseThrow();
      TrainingData.Example decoded = TrainingData.decode(chip.example(), 2, 255);
      BandImage bands = (BandImage) decoded.image();
      assertThat(bands.channels()).isEqualTo(2);
      assertThat(bands.width()).isEqualTo(8);
      // Pixel (3, 2) of the chip is (19, 10) of the raster: band 4 first, then band 1, values as stored.
      int p = (2 * 8 + 3) * 2;
      assertThat(bands.samples()[p]).isEqualTo(sample(19, 10, 4));
      assertThat(bands.samples()[p + 1]).isEqualTo(sample(19, 10, 1));
      assertThat(decoded.labels().labels()[2 * 8 + 3]).isEqualTo((byte) 0);
      assertThat(decoded.labels().labels()[2 * 8 + 7]).isEqualTo((byte) 1); // x = 23 >= 20
      assertThat(chip.bands().kind()).isEqualTo("uint16, bands 4,1");
      assertThat(DeepLabExample.parse(chip.example()).dtype()).isEqualTo("uint16");
      // Only the first example counts the mask's unknown pixels (none here) and statistics cover data only.
      BandStatistics all = new BandStatistics("uint16", new int[] {4, 1});
      examples.forEach(e -> all.merge(e.bands()));
      assertThat(all.min(0)).isEqualTo(sample(8, 0, 4));
      assertThat(all.max(1)).isEqualTo(sample(39, 23, 1));
    }
  }

  @Test
  void partlyEmptyRasterIgnoresItsNodataAndWholeRasterIsOneExample() throws Exception {
    try (RasterSource r = raster(20, 10, 3)) {
      ExamplePreparer.RasterExamples out = PREPARER.prepareRaster("r", r, mask(20, 10), BandMapping.DEFAULT,
          ExamplePreparer.Chips.WHOLE);
      assertThat(out.examples()).hasSize(1);
      PreparedExample e = out.examples().get(0);
      assertThat(e.ignorePixels()).isEqualTo(8 * 10);
      assertThat(e.classPixels()).containsExactly(2 * 10, 10 * 10);
      TrainingData.Example decoded = TrainingData.decode(e.example(), 2, 255);
      assertThat(decoded.labels().labels()[0] & 0xff).isEqualTo(255);
      assertThat(((BandImage) decoded.image()).channels()).isEqualTo(3);
    }
  }

  @Test
  void bandsTheRasterLacksAndMasksOfAnotherSizeAreRefused() throws Exception {
    try (RasterSource r = raster(20, 10, 3)) {
      RejectedInputException band = catchThrowableOfType(() -> PREPARER.prepareRaster("r", r, mask(20, 10),
          BandMapping.parse("1,5", null, null), ExamplePreparer.Chips.WHOLE), RejectedInputException.class);
      assertThat(band.reason()).isEqualTo(FailureReason.BAND_MISMATCH);
      assertThat(band.getMessage()).contains("band 5 of a 3-band raster");
      RejectedInputException size = catchThrowableOfType(() -> PREPARER.prepareRaster("r", r, mask(10, 10),
          BandMapping.DEFAULT, ExamplePreparer.Chips.WHOLE), RejectedInputException.class);
      assertThat(size.reason()).isEqualTo(FailureReason.SIZE_MISMATCH);
    }
  }

  @Test
  void chipOriginsCoverTheRasterWithTheLastFlushWithItsEnd() {
    ExamplePreparer.Chips chips = new ExamplePreparer.Chips(64, 16);
    assertThat(chips.origins(200)).containsExactly(0, 48, 96, 136);
    assertThat(chips.origins(50)).containsExactly(0);
    assertThat(ExamplePreparer.Chips.WHOLE.origins(1000)).containsExactly(0);
  }

  @Test
  void bandStatisticsMergeAsOnePassAndSurviveTheirEncoding() throws Exception {
    BandStatistics a = new BandStatistics("float32", new int[] {1});
    BandStatistics b = new BandStatistics("float32", new int[] {1});
    BandStatistics one = new BandStatistics("float32", new int[] {1});
    for (int v = 1; v <= 1000; v++) {
      (v % 3 == 0 ? a : b).add(0, v);
      one.add(0, v);
    }
    a.add(0, Double.NaN); // not data
    BandStatistics merged = new BandStatistics("float32", new int[] {1}).merge(a).merge(b);
    assertThat(merged.count(0)).isEqualTo(1000);
    assertThat(merged.mean(0)).isCloseTo(500.5, within(1e-9));
    assertThat(merged.std(0)).isCloseTo(Math.sqrt((1000.0 * 1000 - 1) / 12), within(1e-6));
    assertThat(merged.percentile(0, 50)).isCloseTo(500, within(500 * 0.004));
    assertThat(merged.percentile(0, 1)).isEqualTo(10);
    assertThat(merged.percentile(0, 99)).isCloseTo(990, within(990 * 0.004));
    assertThat(merged.percentile(0, 50)).isEqualTo(one.percentile(0, 50));
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    merged.write(new java.io.DataOutputStream(bytes));
    BandStatistics back = BandStatistics.read(new java.io.DataInputStream(
        new java.io.ByteArrayInputStream(bytes.toByteArray())));
    assertThat(back).isEqualTo(merged);
    BandStatistics negative = new BandStatistics("float32", new int[] {1});
    for (double v : new double[] {-5, -1.5, 0, 2, 7}) {
      negative.add(0, v);
    }
    assertThat(negative.percentile(0, 20)).isEqualTo(-5);
    assertThat(negative.percentile(0, 60)).isEqualTo(0);
  }

  @Test
  void aTiffMaskReadWindowByWindowGivesTheSameExamplesAsTheWholeMask() throws Exception {
    byte[] classes = new byte[40 * 24];
    for (int i = 0; i < classes.length; i++) {
      classes[i] = (byte) (i % 40 >= 20 ? 1 : 0);
    }
    Path maskFile = dir.resolve("m.tif");
    Files.write(maskFile, new GeoTiffWriter(40, 24, 1, SampleType.UINT8, 16).putAll(classes).toByteArray());
    try (RasterSource r = raster(40, 24, 4);
        RasterSource m = RasterSource.open(Files.newByteChannel(maskFile, StandardOpenOption.READ), "m.tif")) {
      ExamplePreparer.Chips chips = new ExamplePreparer.Chips(16, 4);
      List<PreparedExample> windowed = PREPARER.prepareRaster("r", r, m, BandMapping.DEFAULT, chips).examples();
      List<PreparedExample> whole = PREPARER.prepareRaster("r", r, mask(40, 24), BandMapping.DEFAULT, chips)
          .examples();
      assertThat(windowed).hasSameSizeAs(whole).isNotEmpty();
      for (int i = 0; i < whole.size(); i++) {
        assertThat(windowed.get(i).example()).isEqualTo(whole.get(i).example());
      }
    }
    // Values the label map lacks refuse the raster under the reject policy, naming the window.
    byte[] unknown = classes.clone();
    unknown[40 * 20 + 30] = 7;
    Files.write(maskFile, new GeoTiffWriter(40, 24, 1, SampleType.UINT8, 16).putAll(unknown).toByteArray());
    try (RasterSource r = raster(40, 24, 4);
        RasterSource m = RasterSource.open(Files.newByteChannel(maskFile, StandardOpenOption.READ), "m.tif")) {
      RejectedInputException e = catchThrowableOfType(() -> PREPARER.prepareRaster("r", r, m, BandMapping.DEFAULT,
          new ExamplePreparer.Chips(16, 0)), RejectedInputException.class);
      assertThat(e.reason()).isEqualTo(FailureReason.UNKNOWN_LABEL_VALUES);
      assertThat(e.getMessage()).contains("at (16, 8)", "7 (1 px)");
    }
  }

  @Test
  void aRasterOverThePixelLimitIsCutIntoChipsNotWrittenWhole() throws Exception {
    ExamplePreparer small = new ExamplePreparer(PREPARER.labelMap(), ResizePolicy.parse("keep"),
        UnknownLabelPolicy.REJECT, 500, 95);
    try (RasterSource r = raster(40, 24, 2)) {
      RejectedInputException e = catchThrowableOfType(() -> small.prepareRaster("r", r, mask(40, 24),
          BandMapping.DEFAULT, ExamplePreparer.Chips.WHOLE), RejectedInputException.class);
      assertThat(e.reason()).isEqualTo(FailureReason.IMAGE_TOO_MANY_PIXELS);
      assertThat(e.getMessage()).contains("--chipSize");
    }
  }
}
