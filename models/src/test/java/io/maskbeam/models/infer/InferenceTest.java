package io.maskbeam.models.infer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.maskbeam.dataset.SyntheticShapes;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.models.train.TrainerTest;
import io.maskbeam.models.train.Trainer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InferenceTest {
  @TempDir Path dir;

  /** A model without spatial context: class = red channel / 64. Tiling must not change its answer anywhere. */
  static final class PointwiseModel implements ProbabilityModel {
    int calls;
    int maxPixelsPerCall;

    @Override
    public int numClasses() {
      return 4;
    }

    @Override
    public float[] probabilities(byte[] rgb, int n, int h, int w) {
      calls++;
      maxPixelsPerCall = Math.max(maxPixelsPerCall, n * h * w);
      float[] p = new float[n * h * w * 4];
      for (int i = 0; i < n * h * w; i++) {
        int cls = (rgb[i * 3] & 0xFF) / 64;
        for (int k = 0; k < 4; k++) {
          p[i * 4 + k] = k == cls ? 0.7f : 0.1f;
        }
      }
      return p;
    }

    @Override
    public LabelImage segment(RgbImage image) {
      float[] p = probabilities(image.pixels(), 1, image.height(), image.width());
      byte[] out = new byte[image.width() * image.height()];
      for (int i = 0; i < out.length; i++) {
        int best = 0;
        for (int k = 1; k < 4; k++) {
          best = p[i * 4 + k] > p[i * 4 + best] ? k : best;
        }
        out[i] = (byte) best;
      }
      return new LabelImage(image.width(), image.height(), out);
    }
  }

  private static RgbImage noise(int w, int h, long seed) {
    byte[] px = new byte[w * h * 3];
    new Random(seed).nextBytes(px);
    return new RgbImage(w, h, px);
  }

  /** The left half of {@code image}, mirrored onto the right half. */
  private static RgbImage mirrorSymmetric(RgbImage image) {
    int w = image.width();
    byte[] px = image.pixels().clone();
    for (int y = 0; y < image.height(); y++) {
      for (int x = 0; x < w / 2; x++) {
        System.arraycopy(px, (y * w + x) * 3, px, (y * w + (w - 1 - x)) * 3, 3);
      }
    }
    return new RgbImage(w, image.height(), px);
  }

  @Test
  void tilingStitchesExactlyForAnySizeAndOverlap() {
    for (int[] s : new int[][] {{200, 150, 64, 16}, {97, 301, 48, 0}, {64, 64, 64, 8}, {130, 65, 32, 15}}) {
      RgbImage image = noise(s[0], s[1], s[0] * 7L + s[1]);
      PointwiseModel model = new PointwiseModel();
      LabelImage whole = model.segment(image);
      LabelImage tiled = new TiledSegmenter(model, s[2], s[3]).segment(image);
      assertThat(tiled.labels()).as("size %dx%d tile %d overlap %d", s[0], s[1], s[2], s[3])
          .isEqualTo(whole.labels());
    }
  }

  @Test
  void tileOriginsCoverTheImageAndEndFlush() {
    assertThat(TiledSegmenter.origins(200, 64, 16)).containsExactly(0, 48, 96, 136);
    assertThat(TiledSegmenter.origins(64, 64, 16)).containsExactly(0);
    assertThat(TiledSegmenter.origins(30, 64, 16)).containsExactly(0);
    assertThatThrownBy(() -> new TiledSegmenter(new PointwiseModel(), 64, 32)).hasMessageContaining("overlap");
  }

  @Test
  void renderingColoursOverlaysAndCounts() {
    LabelImage labels = new LabelImage(2, 2, new byte[] {0, 1, 1, (byte) 255});
    List<LabelClass> classes = List.of(new LabelClass(0, "bg", 0x000000), new LabelClass(1, "cat", 0xff0000));
    RgbImage colour = MaskRendering.colorize(labels, classes);
    assertThat(colour.pixels()).containsExactly(0, 0, 0, -1, 0, 0, -1, 0, 0, 0, 0, 0);
    RgbImage white = new RgbImage(2, 2, new byte[] {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1});
    RgbImage blended = MaskRendering.overlay(white, colour, 0.5f);
    assertThat(blended.pixels()[3] & 0xFF).isEqualTo(255);
    assertThat(blended.pixels()[4] & 0xFF).isEqualTo(128);
    assertThat(MaskRendering.classPixels(labels, 2)).containsExactly(1, 2);
  }

  @Test
  void loadsAnExportedModelAndRefusesOtherFolders() throws Exception {
    assertThatThrownBy(() -> SegmentationModel.load(dir.resolve("missing"))).hasMessageContaining("does not exist");
    Files.createDirectories(dir.resolve("empty"));
    assertThatThrownBy(() -> SegmentationModel.load(dir.resolve("empty"))).hasMessageContaining("is not a complete model folder written by 'maskbeam train'");

    List<byte[]> train = TrainerTest.records(8, 48, 500);
    Path run = dir.resolve("run");
    new Trainer(TrainerTest.config(SyntheticShapes.NUM_CLASSES), new TrainerTest().settings(run, 1, false, null, false),
        TrainerTest.datasetInfo(), new PrintStream(new ByteArrayOutputStream())).run(train, train);
    try (SegmentationModel model = SegmentationModel.load(run.resolve("model"))) {
      assertThat(model.numClasses()).isEqualTo(4);
      assertThat(model.classes().get(2).name()).isEqualTo("rectangle");
      assertThat(model.classes().get(2).hexColor()).isEqualTo("#3cb44b");
      RgbImage image = noise(131, 97, 1);
      LabelImage whole = model.segment(image);
      assertThat(whole.width()).isEqualTo(131);
      LabelImage tiled = new TiledSegmenter(model, 64, 16).segment(image);
      assertThat(tiled.width()).isEqualTo(131);
      assertThat(tiled.height()).isEqualTo(97);
      for (byte b : tiled.labels()) {
        assertThat(b & 0xFF).isLessThan(4);
      }
      // Reruns must write identical masks whatever batch an image lands in: a batch of three equals three runs.
      Segmenter segmenter = new Segmenter(model, 256, 32, 4, io.maskbeam.image.ResizePolicy.KEEP);
      List<RgbImage> three = List.of(noise(96, 64, 11), noise(96, 64, 12), noise(96, 64, 13));
      List<Segmenter.Result> batched = segmenter.segmentWhole(three, true);
      for (int i = 0; i < 3; i++) {
        Segmenter.Result alone = segmenter.segmentWhole(List.of(three.get(i)), true).get(0);
        assertThat(batched.get(i).labels().labels()).as("image %d", i).isEqualTo(alone.labels().labels());
        assertThat(batched.get(i).probabilities()).as("image %d", i).isEqualTo(alone.probabilities());
      }
      // On the real graph: one scale without flipping is the model itself, bit for bit ...
      float[] plain = model.probabilities(image.pixels(), 1, 97, 131);
      assertThat(new TestTimeAugmentation(model, false, new double[] {1.0}).probabilities(image.pixels(), 1, 97, 131))
          .isEqualTo(plain);
      // ... and flip averaging makes the prediction for a mirror-symmetric image mirror-symmetric, which the model
      // alone (a convolution net with asymmetric kernels) is not.
      RgbImage mirrored = mirrorSymmetric(noise(131, 97, 5));
      int c = model.numClasses();
      float[] averaged = new TestTimeAugmentation(model, true, new double[] {0.75, 1.0})
          .probabilities(mirrored.pixels(), 1, 97, 131);
      float[] alone = model.probabilities(mirrored.pixels(), 1, 97, 131);
      double asymmetryAlone = 0;
      for (int y = 0; y < 97; y++) {
        for (int x = 0; x < 131; x++) {
          for (int k = 0; k < c; k++) {
            int here = (y * 131 + x) * c + k;
            int there = (y * 131 + (130 - x)) * c + k;
            assertThat(averaged[here]).as("(%d, %d) class %d", x, y, k)
                .isCloseTo(averaged[there], org.assertj.core.api.Assertions.within(1e-5f));
            asymmetryAlone = Math.max(asymmetryAlone, Math.abs(alone[here] - alone[there]));
          }
        }
      }
      assertThat(asymmetryAlone).as("the model alone is not mirror-symmetric").isGreaterThan(1e-3);
    }
  }
}
