package io.maskbeam.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.maskbeam.dataset.TestImages;
import org.junit.jupiter.api.Test;

/** The one image policy of every stage. */
class ImageLoaderTest {
  @Test
  void cmykJpegsWithoutAProfileAreConvertedNotRefused() throws Exception {
    ImageLoader.Photo photo = ImageLoader.defaults().load(TestImages.adobeCmykJpeg(64, 48));
    RgbImage rgb = photo.image();
    assertThat(rgb.width()).isEqualTo(64);
    assertThat(rgb.height()).isEqualTo(48);
    // The pixels are the reader's own CMYK conversion (what ImageIO gives, which only warns about the profile).
    RgbImage reference = ImageCodec.toRgb(javax.imageio.ImageIO.read(
        new java.io.ByteArrayInputStream(TestImages.adobeCmykJpeg(64, 48))));
    assertThat(rgb.pixels()).isEqualTo(reference.pixels());
  }

  @Test
  void photosAreTurnedUprightByTheirExifOrientation() throws Exception {
    RgbImage stored = TestImages.noise(40, 30, 3);
    ImageLoader.Photo photo = ImageLoader.defaults().load(TestImages.jpegWithOrientation(stored, 6));
    assertThat(photo.orientation()).isEqualTo(6);
    assertThat(photo.image().width()).isEqualTo(30);
    assertThat(photo.image().height()).isEqualTo(40);
    assertThat(photo.storedWidth()).isEqualTo(40);
    ImageLoader.Photo asStored = ImageLoader.defaults().ignoringOrientation()
        .load(TestImages.jpegWithOrientation(stored, 6));
    assertThat(asStored.image().width()).isEqualTo(40);
    // The pixels themselves are turned (not only the sides swapped): upright = orientation 6 applied to stored.
    assertThat(photo.image().pixels()).isEqualTo(ExifOrientation.apply(asStored.image(), 6).pixels());
  }

  @Test
  void limitsAndDefectsAreRefusedWithTheirKind() {
    byte[] good = TestImages.rgbPng(20, 10, 1);
    assertThat(catchThrowableOfType(() -> ImageLoader.withPixelLimit(100).load(good), InvalidImageException.class)
        .kind()).isEqualTo(InvalidImageException.Kind.TOO_MANY_PIXELS);
    assertThat(catchThrowableOfType(() -> ImageLoader.defaults().load(TestImages.truncated(good)),
        InvalidImageException.class).kind()).isEqualTo(InvalidImageException.Kind.TRUNCATED);
    assertThat(catchThrowableOfType(() -> ImageLoader.defaults().load(new byte[0]), InvalidImageException.class)
        .kind()).isEqualTo(InvalidImageException.Kind.EMPTY);
    assertThat(catchThrowableOfType(() -> ImageLoader.defaults().loadLabels(good), InvalidImageException.class)
        .getMessage()).contains("3 channels, expected 1");
  }
}
