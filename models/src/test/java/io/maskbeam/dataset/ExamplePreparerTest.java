package io.maskbeam.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.maskbeam.core.FailureReason;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.labels.LabelMap;
import io.maskbeam.labels.LabelMaps;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ExamplePreparerTest {
  private static final LabelMap CAMVID = LabelMaps.preset("camvid-11");

  private static ExamplePreparer preparer(LabelMap map, String resize, UnknownLabelPolicy unknown) {
    return new ExamplePreparer(map, ResizePolicy.parse(resize), unknown, ExamplePreparer.DEFAULT_MAX_PIXELS, 95);
  }

  private static FailureReason rejection(ExamplePreparer p, byte[] image, byte[] mask) {
    return catchThrowableOfType(() -> p.prepare("x", image, mask), RejectedInputException.class).reason();
  }

  @Test
  void rgbPngAndGreyMaskBecomeADeepLabExampleWithOriginalImageBytes() throws Exception {
    byte[] image = TestImages.rgbPng(40, 30, 1);
    byte[] mask = TestImages.greyMask(40, 30, 0, 3, 11);
    PreparedExample e = preparer(CAMVID, "keep", UnknownLabelPolicy.IGNORE).prepare("frame_1", image, mask);

    DeepLabExample.Record r = DeepLabExample.parse(e.example());
    assertThat(r.filename()).isEqualTo("frame_1");
    assertThat(r.format()).isEqualTo("png");
    assertThat(r.width()).isEqualTo(40);
    assertThat(r.height()).isEqualTo(30);
    assertThat(r.channels()).isEqualTo(3);
    assertThat(r.labelFormat()).isEqualTo("png");
    assertThat(r.image()).isEqualTo(image);
    assertThat(e.imageReencoded()).isFalse();

    LabelImage labels = ImageCodec.decodeLabels(r.labelPng());
    LabelImage raw = ImageCodec.decodeLabels(mask);
    for (int i = 0; i < raw.labels().length; i++) {
      int expected = (raw.labels()[i] & 0xFF) == 11 ? 255 : raw.labels()[i];
      assertThat(labels.labels()[i] & 0xFF).isEqualTo(expected);
    }
    long void11 = 0;
    for (byte b : raw.labels()) {
      void11 += (b & 0xFF) == 11 ? 1 : 0;
    }
    assertThat(e.ignorePixels()).isEqualTo(void11);
    assertThat(e.classPixels()[0] + e.classPixels()[3] + e.ignorePixels()).isEqualTo(40 * 30);
  }

  @Test
  void paletteMaskUsesIndicesNotColours() throws Exception {
    byte[] mask = TestImages.palettePng(20, 10, 0, 15, 255);
    PreparedExample e = preparer(LabelMaps.preset("voc"), "keep", UnknownLabelPolicy.REJECT)
        .prepare("voc", TestImages.rgbJpeg(20, 10, 2), mask);
    Set<Integer> values = values(e);
    assertThat(values).containsExactlyInAnyOrder(0, 15, 255);
    assertThat(DeepLabExample.parse(e.example()).format()).isEqualTo("jpeg");
  }

  @Test
  void sixteenBitMasksAreRemapped() throws Exception {
    LabelMap map = LabelMaps.parse("{\"values\": {\"1000\": 0, \"2000\": 1}}", "deep");
    PreparedExample e = preparer(map, "keep", UnknownLabelPolicy.REJECT)
        .prepare("d", TestImages.rgbPng(12, 12, 3), TestImages.grey16Png(12, 12, 1000, 2000));
    assertThat(values(e)).containsExactlyInAnyOrder(0, 1);
  }

  @Test
  void colourCodedMaskIsConvertedThroughTheColourTable() throws Exception {
    byte[] mask = TestImages.colourMask(30, 20, 0x804080, 0x400080, 0x000000); // road, car, void
    PreparedExample e = preparer(CAMVID, "keep", UnknownLabelPolicy.REJECT).prepare("c", TestImages.rgbPng(30, 20, 4), mask);
    assertThat(values(e)).containsExactlyInAnyOrder(3, 8, 255);
  }

  @Test
  void rgbMaskWithoutColourTableIsRejectedUnlessItIsGrey() throws Exception {
    LabelMap plain = LabelMaps.parse("{\"values\": {\"0\": 0, \"1\": 1}}", "plain");
    ExamplePreparer p = preparer(plain, "keep", UnknownLabelPolicy.REJECT);
    assertThat(rejection(p, TestImages.rgbPng(10, 10, 5), TestImages.colourMask(10, 10, 0xff0000, 0x00ff00)))
        .isEqualTo(FailureReason.MASK_NOT_SINGLE_CHANNEL);
    // Grey values saved as RGB are common and unambiguous.
    PreparedExample e = p.prepare("g", TestImages.rgbPng(10, 10, 5), TestImages.colourMask(10, 10, 0x000000, 0x010101));
    assertThat(values(e)).containsExactlyInAnyOrder(0, 1);
  }

  @Test
  void unknownValuesAreIgnoredAndCountedOrRejected() throws Exception {
    byte[] image = TestImages.rgbPng(14, 14, 6);
    byte[] mask = TestImages.greyMask(14, 14, 1, 42);
    PreparedExample e = preparer(CAMVID, "keep", UnknownLabelPolicy.IGNORE).prepare("u", image, mask);
    assertThat(e.unknownPixels()).isGreaterThan(0).isEqualTo(e.ignorePixels());
    RejectedInputException r = catchThrowableOfType(
        () -> preparer(CAMVID, "keep", UnknownLabelPolicy.REJECT).prepare("u", image, mask),
        RejectedInputException.class);
    assertThat(r.reason()).isEqualTo(FailureReason.UNKNOWN_LABEL_VALUES);
    assertThat(r.getMessage()).contains("42 (").contains("camvid-11");
  }

  @Test
  void badInputsAreRejectedWithTheirReason() {
    ExamplePreparer p = preparer(CAMVID, "keep", UnknownLabelPolicy.IGNORE);
    byte[] image = TestImages.rgbPng(32, 24, 7);
    byte[] mask = TestImages.greyMask(32, 24, 1, 2);
    assertThat(rejection(p, TestImages.truncated(image), mask)).isEqualTo(FailureReason.IMAGE_TRUNCATED);
    assertThat(rejection(p, TestImages.truncated(TestImages.rgbJpeg(64, 48, 7)), TestImages.greyMask(64, 48, 1)))
        .isEqualTo(FailureReason.IMAGE_TRUNCATED);
    assertThat(rejection(p, image, TestImages.truncated(mask))).isEqualTo(FailureReason.MASK_TRUNCATED);
    assertThat(rejection(p, new byte[0], mask)).isEqualTo(FailureReason.IMAGE_EMPTY);
    assertThat(rejection(p, image, new byte[0])).isEqualTo(FailureReason.MASK_EMPTY);
    assertThat(rejection(p, "not an image".getBytes(), mask)).isEqualTo(FailureReason.IMAGE_UNREADABLE);
    assertThat(rejection(p, image, "<html>".getBytes())).isEqualTo(FailureReason.MASK_UNREADABLE);
    assertThat(rejection(p, image, TestImages.greyMask(24, 32, 1))).isEqualTo(FailureReason.SIZE_MISMATCH);
  }

  @Test
  void oversizedImagesAreRefusedFromTheHeaderBeforeDecoding() {
    // 50000 x 50000 = 2.5 gigapixels: decoding would need 7.5 GB. The refusal must come from the header.
    byte[] bomb = TestImages.pngClaiming(50_000, 50_000);
    ExamplePreparer p = preparer(CAMVID, "keep", UnknownLabelPolicy.IGNORE);
    RejectedInputException r = catchThrowableOfType(() -> p.prepare("bomb", bomb, TestImages.greyMask(8, 8, 1)),
        RejectedInputException.class);
    assertThat(r.reason()).isEqualTo(FailureReason.IMAGE_TOO_MANY_PIXELS);
    assertThat(r.getMessage()).contains("50000x50000").contains("100.0 megapixels");
    assertThat(rejection(p, TestImages.rgbPng(8, 8, 1), bomb)).isEqualTo(FailureReason.MASK_TOO_MANY_PIXELS);
  }

  @Test
  void resizeResamplesImageAndKeepsMaskLabelsExact() throws Exception {
    PreparedExample e = preparer(CAMVID, "24x16", UnknownLabelPolicy.IGNORE)
        .prepare("r", TestImages.rgbJpeg(48, 32, 8), TestImages.greyMask(48, 32, 2, 5, 9));
    DeepLabExample.Record r = DeepLabExample.parse(e.example());
    assertThat(r.width()).isEqualTo(24);
    assertThat(r.height()).isEqualTo(16);
    assertThat(r.format()).isEqualTo("jpeg");
    assertThat(ImageCodec.probe(r.image()).width()).isEqualTo(24);
    assertThat(values(e)).isSubsetOf(2, 5, 9);
    assertThat(e.sourceWidth()).isEqualTo(48);
    assertThat(e.imageReencoded()).isTrue();
  }

  @Test
  void greyRgbaAndPaletteImagesBecomeThreeChannelImages() throws Exception {
    ExamplePreparer p = preparer(CAMVID, "keep", UnknownLabelPolicy.IGNORE);
    for (byte[] image : new byte[][] {TestImages.greyJpeg(16, 16), TestImages.rgbaPng(16, 16),
        TestImages.palettePng(16, 16, 1, 2)}) {
      PreparedExample e = p.prepare("g", image, TestImages.greyMask(16, 16, 0));
      DeepLabExample.Record r = DeepLabExample.parse(e.example());
      assertThat(e.imageReencoded()).isTrue();
      assertThat(ImageCodec.isPlainRgb8(ImageCodec.decode(r.image(), Long.MAX_VALUE))).isTrue();
    }
  }

  /** A grey mask saved as RGB is read as grey even when the label map has colours (camvid-11 has a table). */
  @Test
  void greyMasksSavedAsRgbAreReadAsGreyUnderAColourTable() throws Exception {
    ExamplePreparer p = preparer(CAMVID, "keep", UnknownLabelPolicy.IGNORE);
    PreparedExample e = p.prepare("g", TestImages.rgbPng(10, 10, 5),
        TestImages.colourMask(10, 10, 0x030303, 0x080808, 0x0b0b0b));
    assertThat(values(e)).containsExactlyInAnyOrder(3, 8, 255);
    assertThat(e.unknownPixels()).isZero();
    // A colour table that knows every grey of the mask keeps its meaning: in camvid's table black is void and
    // 128,128,128 is sky (class 0). Read as grey values instead, raw 128 would be unknown.
    PreparedExample greys = p.prepare("b", TestImages.rgbPng(10, 10, 5), TestImages.colourMask(10, 10, 0x000000,
        0x808080));
    assertThat(values(greys)).containsExactlyInAnyOrder(255, 0);
    assertThat(greys.unknownPixels()).isZero();
  }

  /** A mask none of whose pixels the label map knows would be written all ignore: refused under either policy. */
  @Test
  void aMaskTheLabelMapDoesNotCoverAtAllIsRefused() {
    byte[] unknownColours = TestImages.colourMask(10, 10, 0x123456, 0x654321);
    for (UnknownLabelPolicy policy : UnknownLabelPolicy.values()) {
      RejectedInputException r = catchThrowableOfType(() -> preparer(CAMVID, "keep", policy)
          .prepare("x", TestImages.rgbPng(10, 10, 1), unknownColours), RejectedInputException.class);
      assertThat(r.reason()).isEqualTo(FailureReason.UNKNOWN_LABEL_VALUES);
      assertThat(r.getMessage()).contains("every pixel is unknown").contains("#123456");
    }
  }

  /** A legitimately all-void mask is written, and flagged so dataset.json can count it. */
  @Test
  void anAllIgnoreMaskIsWrittenAndFlagged() throws Exception {
    PreparedExample e = preparer(CAMVID, "keep", UnknownLabelPolicy.REJECT)
        .prepare("void", TestImages.rgbPng(10, 10, 1), TestImages.greyMask(10, 10, 11));
    assertThat(e.allIgnore()).isTrue();
  }

  /**
   * The EXIF rule: the photo is turned upright; a mask of the upright size is used as it is, a mask of the stored
   * size (drawn on the stored pixels) is turned with the photo.
   */
  @Test
  void masksFollowThePhotosExifOrientation() throws Exception {
    io.maskbeam.image.RgbImage stored = TestImages.noise(40, 20, 9);
    byte[] photo = TestImages.jpegWithOrientation(stored, 6); // shown 20 wide, 40 high
    ExamplePreparer p = preparer(LabelMaps.parse("{\"classes\": [\"a\", \"b\"]}", "ab"), "keep",
        UnknownLabelPolicy.REJECT);
    // Drawn on the stored pixels (40x20): left half class 0, right half class 1.
    byte[] storedMask = TestImages.write(halves(40, 20), "png");
    PreparedExample turned = p.prepare("t", photo, storedMask);
    assertThat(turned.width()).isEqualTo(20);
    assertThat(turned.height()).isEqualTo(40);
    assertThat(turned.orientation()).isEqualTo(6);
    LabelImage labels = ImageCodec.decodeLabels(DeepLabExample.parse(turned.example()).labelPng());
    // Rotated 90 degrees clockwise: the stored left half becomes the top half.
    assertThat(labels.get(10, 5)).isZero();
    assertThat(labels.get(10, 35)).isEqualTo(1);
    // Drawn on the upright photo (20x40): used as it is.
    PreparedExample upright = p.prepare("u", photo, TestImages.write(halves(20, 40), "png"));
    LabelImage asIs = ImageCodec.decodeLabels(DeepLabExample.parse(upright.example()).labelPng());
    assertThat(asIs.get(2, 20)).isZero();
    assertThat(asIs.get(18, 20)).isEqualTo(1);
    // Neither size: refused, saying why.
    RejectedInputException r = catchThrowableOfType(() -> p.prepare("n", photo, TestImages.greyMask(30, 30, 0)),
        RejectedInputException.class);
    assertThat(r.reason()).isEqualTo(FailureReason.SIZE_MISMATCH);
    assertThat(r.getMessage()).contains("EXIF orientation 6");
  }

  private static java.awt.image.BufferedImage halves(int w, int h) {
    java.awt.image.BufferedImage m = new java.awt.image.BufferedImage(w, h, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        m.getRaster().setSample(x, y, 0, x < w / 2 ? 0 : 1);
      }
    }
    return m;
  }

  @Test
  void invalidConfigurationFailsFast() {
    assertThatThrownBy(() -> new ExamplePreparer(CAMVID, ResizePolicy.KEEP, UnknownLabelPolicy.IGNORE, 0, 95))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> UnknownLabelPolicy.parse("drop")).hasMessageContaining("'ignore' or 'reject'");
  }

  private static Set<Integer> values(PreparedExample e) throws Exception {
    LabelImage labels = ImageCodec.decodeLabels(DeepLabExample.parse(e.example()).labelPng());
    Set<Integer> out = new HashSet<>();
    for (byte b : labels.labels()) {
      out.add(b & 0xFF);
    }
    return out;
  }
}
