package io.maskbeam.models.infer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.maskbeam.image.LabelImage;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.image.RgbImage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class InferenceBuildingBlocksTest {
  private static RgbImage noise(int w, int h, long seed) {
    byte[] px = new byte[w * h * 3];
    new Random(seed).nextBytes(px);
    return new RgbImage(w, h, px);
  }

  @Test
  void npyHeaderMatchesNumpyAndRoundTrips() throws Exception {
    byte[] header = Npy.float32Header(2, 3, 4);
    // What numpy 1.x/2.x writes for np.zeros((2, 3, 4), np.float32): version 1.0, 118-byte header, 128 in all.
    assertThat(header).hasSize(128);
    assertThat(header[8] & 0xFF).isEqualTo(118);
    String text = new String(header, 10, 118, StandardCharsets.US_ASCII);
    assertThat(text).startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }").endsWith(" \n");
    assertThat(new String(Npy.float32Header(5), StandardCharsets.US_ASCII)).contains("'shape': (5,)");

    float[] data = new float[24];
    for (int i = 0; i < data.length; i++) {
      data[i] = i * 0.5f - 3;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(header);
    Npy.writeFloats(out, data, 0, 10);
    Npy.writeFloats(out, data, 10, 14);
    Npy.Float32Array read = Npy.readFloat32(out.toByteArray());
    assertThat(read.shape()).containsExactly(2, 3, 4);
    assertThat(read.data()).containsExactly(data);
    assertThatThrownBy(() -> Npy.readFloat32(new byte[] {1, 2, 3})).hasMessageContaining("not an .npy");
  }

  @Test
  void bilinearResizeUsesHalfPixelCentres() {
    // 1x2 map, one class: [0, 1]. Upsampled to 1x4 with half-pixel centres: 0, 0.25, 0.75, 1.
    float[] up = ProbabilityMaps.resize(new float[] {0, 1}, 1, 2, 1, 1, 4);
    assertThat(up).containsExactly(new float[] {0f, 0.25f, 0.75f, 1f}, within(1e-6f));
    // Back down to 1x2 samples between each pair.
    float[] down = ProbabilityMaps.resize(up, 1, 4, 1, 1, 2);
    assertThat(down).containsExactly(new float[] {0.125f, 0.875f}, within(1e-6f));
    float[] same = {1, 2, 3};
    assertThat(ProbabilityMaps.resize(same, 1, 1, 3, 1, 1)).isSameAs(same);
    float[] row = {1, 10, 2, 20, 3, 30};
    ProbabilityMaps.flipHorizontally(row, 0, 1, 3, 2);
    assertThat(row).containsExactly(3, 30, 2, 20, 1, 10);
    assertThat(ProbabilityMaps.argMax(new float[] {0.2f, 0.8f, 0.5f, 0.5f}, 0, 2, 2)).containsExactly(1, 0);
  }

  @Test
  void tiledProbabilitiesStreamInRowOrderNormalised() {
    RgbImage image = noise(150, 170, 3);
    InferenceTest.PointwiseModel model = new InferenceTest.PointwiseModel();
    float[] expected = model.probabilities(image.pixels(), 1, 170, 150);
    float[] streamed = new float[expected.length];
    int[] filled = {0};
    TiledSegmenter tiler = new TiledSegmenter(model, 64, 12, 3);
    LabelImage labels = tiler.segment(image, (data, offset, count) -> {
      System.arraycopy(data, offset, streamed, filled[0], count);
      filled[0] += count;
    });
    assertThat(filled[0]).isEqualTo(expected.length);
    for (int i = 0; i < expected.length; i++) {
      assertThat(streamed[i]).as("float %d", i).isCloseTo(expected[i], within(1e-5f));
    }
    assertThat(labels.labels()).isEqualTo(model.segment(image).labels());
  }

  @Test
  void tileBuffersDoNotGrowWithImageHeight() {
    InferenceTest.PointwiseModel model = new InferenceTest.PointwiseModel();
    TiledSegmenter tiler = new TiledSegmenter(model, 64, 16, 2);
    tiler.segment(noise(256, 300, 1));
    long shortImage = tiler.peakWorkingFloats();
    tiler.segment(noise(256, 4000, 2));
    long tallImage = tiler.peakWorkingFloats();
    // Bounded by one band (64 rows x 256 columns x 4 classes), the rows carried into the next band (at most
    // 64 - 16) and one call's output (2 tiles): a bound set by the width, not the height, and far below the whole
    // tall image's 256 x 4000 x 4 floats. The two runs differ only in how much the last band carries.
    long bound = 256L * 64 * 4 + 256L * 48 * 4 + 2L * 64 * 64 * 4;
    assertThat(shortImage).isPositive().isLessThanOrEqualTo(bound);
    assertThat(tallImage).isLessThanOrEqualTo(bound).isLessThan(256L * 4000 * 4 / 20);
    assertThat(model.maxPixelsPerCall).isEqualTo(2 * 64 * 64);
  }

  @Test
  void flipAugmentationOfAPointwiseModelChangesNothingAndScalesComeBackToSize() {
    RgbImage image = noise(40, 30, 9);
    InferenceTest.PointwiseModel model = new InferenceTest.PointwiseModel();
    TestTimeAugmentation flip = new TestTimeAugmentation(model, true, new double[] {1.0});
    assertThat(flip.passes()).isEqualTo(2);
    float[] direct = model.probabilities(image.pixels(), 1, 30, 40);
    float[] augmented = flip.probabilities(image.pixels(), 1, 30, 40);
    assertThat(augmented).containsExactly(direct, within(1e-6f));

    TestTimeAugmentation scales = new TestTimeAugmentation(model, true, new double[] {0.5, 1.0, 1.5});
    assertThat(scales.passes()).isEqualTo(6);
    LabelImage labels = scales.segment(image);
    assertThat(labels.width()).isEqualTo(40);
    assertThat(labels.height()).isEqualTo(30);
    // A flat image is the same class at every scale.
    byte[] flat = new byte[40 * 30 * 3];
    java.util.Arrays.fill(flat, (byte) 200);
    for (byte b : scales.segment(new RgbImage(40, 30, flat)).labels()) {
      assertThat(b).isEqualTo((byte) 3);
    }
    assertThatThrownBy(() -> new TestTimeAugmentation(model, false, new double[] {8})).hasMessageContaining("between 0.25 and 4.0, got 8.0");
    assertThat(TestTimeAugmentation.isIdentity(false, new double[] {1.0})).isTrue();
  }

  @Test
  void segmenterBatchesAtTheInferenceSizeAndReturnsInputSizedMasks() {
    InferenceTest.PointwiseModel model = new InferenceTest.PointwiseModel();
    Segmenter resized = new Segmenter(model, 64, 8, 4, ResizePolicy.parse("32x32"));
    List<RgbImage> images = new ArrayList<>();
    images.add(noise(40, 30, 1));
    images.add(noise(100, 20, 2));
    assertThat(resized.runsWhole(1000, 1000)).isTrue();
    List<Segmenter.Result> results = resized.segmentWhole(images, true);
    assertThat(model.calls).isEqualTo(1);
    assertThat(results.get(1).labels().width()).isEqualTo(100);
    assertThat(results.get(1).labels().height()).isEqualTo(20);
    assertThat(results.get(1).probabilities()).hasSize(100 * 20 * 4);

    Segmenter native_ = new Segmenter(model, 64, 8, 4, ResizePolicy.KEEP);
    assertThat(native_.runsWhole(64, 64)).isTrue();
    assertThat(native_.runsWhole(65, 10)).isFalse();
    RgbImage big = noise(130, 70, 4);
    assertThat(native_.segmentTiled(big, null).labels().labels()).isEqualTo(model.segment(big).labels());
    assertThatThrownBy(() -> native_.segmentWhole(List.of(noise(10, 10, 1), noise(12, 10, 1)), false))
        .hasMessageContaining("one inference size");
  }
}
