package io.maskbeam.raster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import org.junit.jupiter.api.Test;

class BandMappingTest {
  @Test
  void flagsAreCheckedWithTheFixInTheMessage() {
    // Two bands may feed a model trained on two raw bands, but not an RGB model, and never through a range.
    RasterInfo four = new RasterInfo(8, 8, 4, SampleType.UINT8, 0, 8, 1, GeoReference.NONE, null);
    assertThat(BandMapping.parse("4,3", null, null).mismatch(four)).contains("--bands names 2 bands", "3 RGB");
    assertThat(BandMapping.parse("4,3", null, null).bandMismatch(four, 2, SampleType.UINT8)).isNull();
    assertThat(BandMapping.parse("4,3", null, null).bandMismatch(four, 2, SampleType.UINT16)).contains(
        "trained on uint16 samples");
    assertThatThrownBy(() -> BandMapping.parse("4,3", "0,100", null)).hasMessageContaining("takes 3 bands");
    assertThatThrownBy(() -> BandMapping.parse("0,1,2", null, null)).hasMessageContaining("numbers bands from 1");
    assertThatThrownBy(() -> BandMapping.parse("a,b,c", null, null)).hasMessageContaining("1-based band numbers");
    assertThatThrownBy(() -> BandMapping.parse(null, "0,100,5", null)).hasMessageContaining("LOW,HIGH");
    assertThatThrownBy(() -> BandMapping.parse(null, "100,100", null)).hasMessageContaining("HIGH > LOW");
    assertThat(BandMapping.parse("", " ", null).isDefault()).isTrue();
    assertThat(BandMapping.parse(null, null, "0").isDefault()).isFalse();
  }

  /** A 3x1 raster of float32 bands. */
  private static WritableRaster floats(int bands) {
    return Raster.createWritableRaster(new java.awt.image.BandedSampleModel(DataBuffer.TYPE_FLOAT, 3, 1, bands),
        null);
  }

  @Test
  void floatBandsAreStretchedPerChannelAndNanNodataIsFound() {
    WritableRaster r = floats(3);
    // Pixel 0: 0.1, 0.2, 2000 in bands 1, 2, 3; pixel 1: all NaN; pixel 2: out of range both ways.
    r.setPixel(0, 0, new float[] {0.1f, 0.2f, 2000f});
    r.setPixel(1, 0, new float[] {Float.NaN, Float.NaN, Float.NaN});
    r.setPixel(2, 0, new float[] {-1f, 5f, 0f});
    RasterInfo info = new RasterInfo(3, 1, 2, SampleType.FLOAT32, 0, 1, 1, GeoReference.NONE, "nan");
    // Channels: band 3 (0..4000), band 1 (0..0.4), band 2 (0..0.4).
    BandMapping.Window w = BandMapping.parse("2,1,1", "0,0.4", null).toRgb(r, info);
    assertThat(w.noDataPixels()).isEqualTo(1);
    assertThat(w.noData()).containsExactly(false, true, false);
    assertThat(w.image().pixels()[0] & 0xff).isEqualTo(128); // 0.2 / 0.4
    assertThat(w.image().pixels()[1] & 0xff).isEqualTo(64); // 0.1 / 0.4, rounded
    assertThat(w.image().pixels()[6] & 0xff).isEqualTo(255); // 5 clamps
    assertThat(w.image().pixels()[7] & 0xff).isZero(); // -1 clamps
    BandMapping three = BandMapping.parse("3,1,2", "0,4000,0,0.4,0,0.4", null);
    RasterInfo threeBands = new RasterInfo(3, 1, 3, SampleType.FLOAT32, 0, 1, 1, GeoReference.NONE, null);
    WritableRaster r3 = floats(3);
    r3.setPixel(0, 0, new float[] {0.1f, 0.2f, 2000f});
    BandMapping.Window w3 = three.toRgb(r3, threeBands);
    assertThat(w3.noData()).isNull();
    assertThat(w3.image().pixels()[0] & 0xff).isEqualTo(128); // 2000 / 4000
    assertThat(w3.image().pixels()[1] & 0xff).isEqualTo(64);
    assertThat(w3.image().pixels()[2] & 0xff).isEqualTo(128);
  }
}
