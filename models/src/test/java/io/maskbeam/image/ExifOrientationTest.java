package io.maskbeam.image;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ExifOrientationTest {
  /** 3x2 image whose pixel (x, y) has red = 10 * (y * 3 + x) + 1, so every stored position is recognisable. */
  private static RgbImage numbered() {
    byte[] px = new byte[3 * 2 * 3];
    for (int i = 0; i < 6; i++) {
      px[i * 3] = (byte) (10 * i + 1);
    }
    return new RgbImage(3, 2, px);
  }

  private static int red(RgbImage image, int x, int y) {
    return image.pixels()[(y * image.width() + x) * 3] & 0xFF;
  }

  /** Stored (x, y) to its red value. */
  private static int stored(int x, int y) {
    return 10 * (y * 3 + x) + 1;
  }

  @Test
  void eachOrientationShowsTheStoredPixelsAsAViewerWould() {
    RgbImage image = numbered();
    // Display top-left corner for each orientation, from the EXIF specification's corner diagrams.
    assertThat(red(ExifOrientation.apply(image, 1), 0, 0)).isEqualTo(stored(0, 0));
    assertThat(red(ExifOrientation.apply(image, 2), 0, 0)).isEqualTo(stored(2, 0));
    assertThat(red(ExifOrientation.apply(image, 3), 0, 0)).isEqualTo(stored(2, 1));
    assertThat(red(ExifOrientation.apply(image, 4), 0, 0)).isEqualTo(stored(0, 1));
    assertThat(red(ExifOrientation.apply(image, 5), 0, 0)).isEqualTo(stored(0, 0));
    assertThat(red(ExifOrientation.apply(image, 6), 0, 0)).isEqualTo(stored(0, 1));
    assertThat(red(ExifOrientation.apply(image, 7), 0, 0)).isEqualTo(stored(2, 1));
    assertThat(red(ExifOrientation.apply(image, 8), 0, 0)).isEqualTo(stored(2, 0));
    // Rotating 90 degrees clockwise puts the stored top row down the right-hand column.
    RgbImage r90 = ExifOrientation.apply(image, 6);
    assertThat(r90.width()).isEqualTo(2);
    assertThat(r90.height()).isEqualTo(3);
    assertThat(new int[] {red(r90, 1, 0), red(r90, 1, 1), red(r90, 1, 2)})
        .containsExactly(stored(0, 0), stored(1, 0), stored(2, 0));
    // 6 then 8 (90 and 270 degrees) and every mirror twice are the identity.
    assertThat(ExifOrientation.apply(ExifOrientation.apply(image, 6), 8).pixels()).isEqualTo(image.pixels());
    for (int o : new int[] {2, 3, 4, 5, 7}) {
      assertThat(ExifOrientation.apply(ExifOrientation.apply(image, o), o).pixels()).as("orientation %d", o)
          .isEqualTo(image.pixels());
    }
  }

  @Test
  void readsTheOrientationTagFromJpegExif() {
    RgbImage image = new RgbImage(16, 8, new byte[16 * 8 * 3]);
    for (int o = 1; o <= 8; o++) {
      assertThat(ExifOrientation.read(io.maskbeam.dataset.TestImages.jpegWithOrientation(image, o))).isEqualTo(o);
    }
    assertThat(ExifOrientation.read(ImageCodec.encodeJpeg(image, 90))).isEqualTo(1);
    assertThat(ExifOrientation.read(ImageCodec.encodePng(image))).isEqualTo(1);
    assertThat(ExifOrientation.read(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE1, 0, 9})).isEqualTo(1);
  }

  @Test
  void decodesCmykAnd16BitImagesToRgb() throws Exception {
    RgbImage cmyk = ImageCodec.toRgb(ImageCodec.decode(io.maskbeam.dataset.TestImages.cmykJpeg(40, 30), 1 << 20));
    assertThat(cmyk.width()).isEqualTo(40);
    assertThat(cmyk.height()).isEqualTo(30);
    RgbImage deep = ImageCodec.toRgb(ImageCodec.decode(io.maskbeam.dataset.TestImages.rgb16Png(40, 30), 1 << 20));
    // 16-bit samples scale to 8 bits: the blue channel 30000/65535 becomes about 117.
    assertThat(deep.pixels()[2] & 0xFF).isBetween(115, 119);
  }
}
