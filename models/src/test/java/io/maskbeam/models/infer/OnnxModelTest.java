package io.maskbeam.models.infer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX models exported from PyTorch by {@code src/test/resources/onnx/make_fixtures.py}, with PyTorch's own answers
 * stored beside them: Maskbeam's masks must equal PyTorch's arg-max for each convention (layout, dtype,
 * normalisation, output resolution, output kind), and unusable models must be refused with the reason.
 */
class OnnxModelTest {
  @TempDir Path dir;

  static Path fixture(String name) {
    try {
      return Path.of(Objects.requireNonNull(OnnxModelTest.class.getResource("/onnx/" + name), name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static RgbImage image(String name) throws IOException {
    BufferedImage b = ImageIO.read(fixture("images/" + name + ".png").toFile());
    byte[] px = new byte[b.getWidth() * b.getHeight() * 3];
    for (int y = 0; y < b.getHeight(); y++) {
      for (int x = 0; x < b.getWidth(); x++) {
        int rgb = b.getRGB(x, y);
        int i = (y * b.getWidth() + x) * 3;
        px[i] = (byte) (rgb >> 16);
        px[i + 1] = (byte) (rgb >> 8);
        px[i + 2] = (byte) rgb;
      }
    }
    return new RgbImage(b.getWidth(), b.getHeight(), px);
  }

  static byte[] expected(String model, String image) throws IOException {
    BufferedImage b = ImageIO.read(fixture("expected/" + model + "." + image + ".png").toFile());
    byte[] labels = new byte[b.getWidth() * b.getHeight()];
    b.getRaster().getDataElements(0, 0, b.getWidth(), b.getHeight(), labels);
    return labels;
  }

  static double agreement(byte[] a, byte[] b) {
    assertThat(a).hasSameSizeAs(b);
    int same = 0;
    for (int i = 0; i < a.length; i++) {
      same += a[i] == b[i] ? 1 : 0;
    }
    return (double) same / a.length;
  }

  @Test
  void nchwFloatModelWithDefaultConventionsMatchesPyTorch() throws IOException {
    try (SegmentationModel model = SegmentationModel.load(fixture("nchw_float.onnx"), 1)) {
      assertThat(model.backend()).isEqualTo("onnxruntime");
      assertThat(model.numClasses()).isEqualTo(4);
      assertThat(model.metadata().format()).isEqualTo("onnx");
      assertThat(model.metadata().onnx().path("layout").asText()).isEqualTo("NCHW");
      RgbImage a = image("a");
      RgbImage b = image("b");
      assertThat(model.segment(a).labels()).isEqualTo(expected("nchw_float", "a"));
      // Two images in one batch give what each gives alone.
      byte[] both = new byte[a.pixels().length * 2];
      System.arraycopy(a.pixels(), 0, both, 0, a.pixels().length);
      System.arraycopy(b.pixels(), 0, both, a.pixels().length, b.pixels().length);
      byte[] labels = model.labels(both, 2, a.height(), a.width());
      byte[] second = Arrays.copyOfRange(labels, a.width() * a.height(), labels.length);
      assertThat(second).isEqualTo(expected("nchw_float", "b"));

      float[] probabilities = model.probabilities(a.pixels(), 1, a.height(), a.width());
      Npy.Float32Array torch = Npy.readFloat32(Files.readAllBytes(fixture("expected/nchw_float.a.npy")));
      assertThat(torch.shape()).containsExactly(a.height(), a.width(), 4);
      for (int i = 0; i < probabilities.length; i++) {
        assertThat(probabilities[i]).as("probability %d", i).isCloseTo(torch.data()[i], within(2e-5f));
      }
    }
  }

  /**
   * Worker threads share one session: concurrent calls are admitted one at a time when each uses every core (as
   * many as the cores hold when each uses one), and each caller still gets its own images' answers.
   */
  @Test
  void concurrentCallersShareOneSessionThroughItsGate() throws Exception {
    int cores = Runtime.getRuntime().availableProcessors();
    try (OnnxModel everyCore = OnnxModel.load(fixture("nchw_float.onnx"), 0);
        OnnxModel oneCore = OnnxModel.load(fixture("nchw_float.onnx"), 1)) {
      assertThat(everyCore.admittedCalls()).isEqualTo(1);
      assertThat(oneCore.admittedCalls()).isEqualTo(cores);
      RgbImage[] images = {image("a"), image("b")};
      byte[][] answers = {expected("nchw_float", "a"), expected("nchw_float", "b")};
      ExecutorService callers = Executors.newFixedThreadPool(4);
      try {
        List<Future<Boolean>> calls = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
          int which = i % 2;
          OnnxModel model = i % 4 < 2 ? everyCore : oneCore;
          calls.add(callers.submit(() -> Arrays.equals(model.segment(images[which]).labels(),
              answers[which])));
        }
        for (Future<Boolean> call : calls) {
          assertThat(call.get(60, TimeUnit.SECONDS)).isTrue();
        }
      } finally {
        callers.shutdownNow();
      }
    }
  }

  /** Logits laid out [N, H, W, C]: the layout is inferred from the graph, answers are the NCHW network's. */
  @Test
  void nhwcLogitsGiveTheSameLabelsAndProbabilitiesAsTheirNchwNetwork() throws IOException {
    try (SegmentationModel model = SegmentationModel.load(fixture("nhwc_logits.onnx"), 1)) {
      assertThat(model.numClasses()).isEqualTo(4);
      assertThat(model.metadata().onnx().path("outputLayout").asText()).isEqualTo("NHWC");
      RgbImage a = image("a");
      RgbImage b = image("b");
      byte[] both = new byte[a.pixels().length * 2];
      System.arraycopy(a.pixels(), 0, both, 0, a.pixels().length);
      System.arraycopy(b.pixels(), 0, both, a.pixels().length, b.pixels().length);
      byte[] labels = model.labels(both, 2, a.height(), a.width());
      int n = a.width() * a.height();
      assertThat(Arrays.copyOfRange(labels, 0, n)).isEqualTo(expected("nchw_float", "a"));
      assertThat(Arrays.copyOfRange(labels, n, 2 * n)).isEqualTo(expected("nchw_float", "b"));
      float[] probabilities = model.probabilities(a.pixels(), 1, a.height(), a.width());
      Npy.Float32Array torch = Npy.readFloat32(Files.readAllBytes(fixture("expected/nchw_float.a.npy")));
      for (int i = 0; i < probabilities.length; i++) {
        assertThat(probabilities[i]).as("probability %d", i).isCloseTo(torch.data()[i], within(2e-5f));
      }
    }
  }

  @Test
  void nhwcUint8FixedSizeModelMatchesPyTorchAndIsResizedOrTiled() throws IOException {
    try (SegmentationModel model = SegmentationModel.load(fixture("nhwc_uint8"), 1)) {
      assertThat(model.classes().get(1).name()).isEqualTo("disc");
      assertThat(model.trainingCropSize()).isEqualTo(32);
      RgbImage c = image("c");
      RgbImage d = image("d");
      assertThat(model.segment(c).labels()).isEqualTo(expected("nhwc_uint8", "c"));
      assertThat(model.segment(d).labels()).isEqualTo(expected("nhwc_uint8", "d"));

      // A 64x32 image made of c and d side by side, tiled at the model's size, is exactly the two answers.
      RgbImage pair = sideBySide(c, d);
      LabelImage tiled = new TiledSegmenter(model, 32, 0).segment(pair);
      assertThat(tiled.labels()).isEqualTo(sideBySide(expected("nhwc_uint8", "c"), expected("nhwc_uint8", "d"), 32,
          32));

      // Run whole, the same image is resized to 32x32 and its answer resized back: the right size, and on the
      // left half mostly the answer of c squeezed to half its width.
      byte[] whole = model.segment(pair).labels();
      assertThat(whole).hasSize(64 * 32);
      byte[] left = new byte[32 * 32];
      byte[] c32 = expected("nhwc_uint8", "c");
      for (int y = 0; y < 32; y++) {
        for (int x = 0; x < 32; x++) {
          left[y * 32 + x] = whole[y * 64 + x];
        }
      }
      int agree = 0;
      for (int y = 0; y < 32; y++) {
        for (int x = 0; x < 32; x++) {
          agree += left[y * 32 + x] == c32[y * 32 + x] ? 1 : 0;
        }
      }
      // Not equal (the squeeze changes the input), but a swapped axis or a wrong offset scores near chance.
      assertThat(agree).isGreaterThan(32 * 32 / 2);
    }
  }

  @Test
  void downsampledLogitsAreUpsampledAsProbabilitiesBeforeTheArgMax() throws IOException {
    try (SegmentationModel model = SegmentationModel.load(fixture("downsampled.onnx"), 1)) {
      for (String name : new String[] {"a", "b"}) {
        RgbImage img = image(name);
        byte[] labels = model.segment(img).labels();
        assertThat(agreement(labels, expected("downsampled", name))).as(name).isGreaterThanOrEqualTo(0.999);
      }
    }
  }

  /**
   * Labels with confidence computed in one pass from logits (planar, channels-last, downsampled, class ids) equal
   * the arg-max and the confidence of the probabilities, image by image in a batch of two.
   */
  @Test
  void confidenceFromLogitsEqualsConfidenceOfTheProbabilities() throws IOException {
    Path classes = Files.createDirectories(dir.resolve("classes-confidence"));
    Files.copy(fixture("classes.onnx"), classes.resolve("model.onnx"));
    Files.writeString(classes.resolve(ModelMetadata.FILE_NAME), "{\"numClasses\": 4}");
    RgbImage a = image("a");
    RgbImage b = image("b");
    byte[] both = new byte[a.pixels().length * 2];
    System.arraycopy(a.pixels(), 0, both, 0, a.pixels().length);
    System.arraycopy(b.pixels(), 0, both, a.pixels().length, b.pixels().length);
    int pixels = a.width() * a.height();
    for (Path path : new Path[] {fixture("nchw_float.onnx"), fixture("nhwc_logits.onnx"), fixture("downsampled.onnx"),
        classes}) {
      try (SegmentationModel model = SegmentationModel.load(path, 1)) {
        List<Confidence.Accumulator> fused = List.of(new Confidence.Accumulator(4, 0.9f, pixels),
            new Confidence.Accumulator(4, 0.9f, pixels));
        byte[] labels = model.labelsWithConfidenceOf(both, 2, a.height(), a.width(), fused);
        float[] probabilities = model.probabilities(both, 2, a.height(), a.width());
        assertThat(labels).as("%s labels", path).isEqualTo(model.labels(both, 2, a.height(), a.width()));
        for (int i = 0; i < 2; i++) {
          Confidence.Accumulator reference = new Confidence.Accumulator(4, 0.9f, pixels);
          reference.accept(probabilities, i * pixels * 4, pixels * 4);
          Confidence want = reference.result();
          Confidence got = fused.get(i).result();
          String what = path.getFileName() + " image " + i;
          // Soft scores (so the comparison below means something); a model of class ids is certain everywhere.
          if (path == classes) {
            assertThat(got.meanMaxProbability()).as(what).isEqualTo(1.0);
            assertThat(got.meanEntropy()).as(what).isEqualTo(0.0);
          } else {
            assertThat(want.meanEntropy()).as(what).isGreaterThan(0.01);
          }
          assertThat(got.meanMaxProbability()).as(what).isCloseTo(want.meanMaxProbability(), within(1e-6));
          assertThat(got.meanEntropy()).as(what).isCloseTo(want.meanEntropy(), within(1e-5));
          assertThat(got.lowConfidenceFraction()).as(what).isCloseTo(want.lowConfidenceFraction(), within(1e-3));
          int differ = 0;
          for (int p = 0; p < pixels; p++) {
            differ += Math.abs(fused.get(i).uncertainty()[p] - reference.uncertainty()[p]) > 1 ? 1 : 0;
          }
          assertThat(differ).as(what).isZero();
        }
      }
    }
  }

  @Test
  void classIdOutputNeedsTheClassCountFromASidecar() throws IOException {
    assertThatThrownBy(() -> SegmentationModel.load(fixture("classes.onnx"), 1))
        .hasMessageContaining("number of classes cannot be read").hasMessageContaining("numClasses");
    Path folder = Files.createDirectories(dir.resolve("classes"));
    Files.copy(fixture("classes.onnx"), folder.resolve("model.onnx"));
    Files.writeString(folder.resolve(ModelMetadata.FILE_NAME), "{\"numClasses\": 4}");
    try (SegmentationModel model = SegmentationModel.load(folder, 1)) {
      assertThat(model.metadata().onnx().path("outputKind").asText()).isEqualTo("classes");
      assertThat(model.segment(image("a")).labels()).isEqualTo(expected("nchw_float", "a"));
      float[] p = model.probabilities(image("a").pixels(), 1, 40, 56);
      assertThat(ProbabilityMaps.argMax(p, 0, 40 * 56, 4)).isEqualTo(expected("nchw_float", "a"));
    }
  }

  @Test
  void conventionsFromTheSidecarChangeWhatTheModelSees() throws IOException {
    // The same network told its input is BGR sees other colours and labels differently.
    Path folder = Files.createDirectories(dir.resolve("bgr"));
    Files.copy(fixture("nchw_float.onnx"), folder.resolve("model.onnx"));
    Files.writeString(folder.resolve(ModelMetadata.FILE_NAME), "{\"onnx\": {\"channelOrder\": \"BGR\"}}");
    try (SegmentationModel model = SegmentationModel.load(folder, 1)) {
      assertThat(agreement(model.segment(image("a")).labels(), expected("nchw_float", "a"))).isLessThan(0.95);
      // Swapping the image's channels back gives PyTorch's answer again.
      RgbImage a = image("a");
      byte[] swapped = a.pixels().clone();
      for (int i = 0; i < swapped.length; i += 3) {
        swapped[i] = a.pixels()[i + 2];
        swapped[i + 2] = a.pixels()[i];
      }
      assertThat(model.segment(new RgbImage(a.width(), a.height(), swapped)).labels())
          .isEqualTo(expected("nchw_float", "a"));
    }
  }

  @Test
  void unusableModelsAreRefusedWithTheReason() throws IOException {
    Path text = Files.writeString(dir.resolve("notes.onnx"), "this is not a model");
    assertThatThrownBy(() -> SegmentationModel.load(text, 1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not an ONNX model");
    assertThatThrownBy(() -> SegmentationModel.load(fixture("rank2.onnx"), 1))
        .hasMessageContaining("has rank 2").hasMessageContaining("[N, C, H, W]");
    assertThatThrownBy(() -> SegmentationModel.load(fixture("opset99.onnx"), 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("opset");
    assertThatThrownBy(() -> SegmentationModel.load(dir.resolve("absent.onnx"), 1))
        .hasMessageContaining("does not exist");

    Path folder = Files.createDirectories(dir.resolve("bad-sidecar"));
    Files.copy(fixture("nchw_float.onnx"), folder.resolve("model.onnx"));
    Files.writeString(folder.resolve(ModelMetadata.FILE_NAME), "{\"numClasses\": 7}");
    assertThatThrownBy(() -> SegmentationModel.load(folder, 1))
        .hasMessageContaining("declares 7 classes but output 'logits' has 4");
    Files.writeString(folder.resolve(ModelMetadata.FILE_NAME), "{\"onnx\": {\"layout\": \"NHWC\"}}");
    assertThatThrownBy(() -> SegmentationModel.load(folder, 1)).hasMessageContaining("Maskbeam feeds RGB (3)");
    Files.writeString(folder.resolve(ModelMetadata.FILE_NAME), "{\"onnx\": {\"dtype\": \"uint8\"}}");
    assertThatThrownBy(() -> SegmentationModel.load(folder, 1))
        .hasMessageContaining("onnx.dtype says uint8 but input 'images' is float32");
    Files.writeString(folder.resolve(ModelMetadata.FILE_NAME), "{\"onnx\": {\"mean\": [1, 2]}}");
    assertThatThrownBy(() -> SegmentationModel.load(folder, 1)).hasMessageContaining("onnx.mean must list 3");
    Files.writeString(folder.resolve(ModelMetadata.FILE_NAME), "{not json");
    assertThatThrownBy(() -> SegmentationModel.load(folder, 1)).hasMessageContaining("is not JSON");
  }

  @Test
  void theCompletedMetadataReopensTheModelWithoutInference() throws IOException {
    try (OnnxModel first = OnnxModel.load(fixture("downsampled.onnx"), 1);
        OnnxModel again = OnnxModel.open(fixture("downsampled.onnx"), first.metadata().json(), "completed", 1)) {
      assertThat(again.conventions().toJson()).isEqualTo(first.conventions().toJson());
      assertThat(again.metadata().toTree()).isEqualTo(first.metadata().toTree());
    }
  }

  static RgbImage sideBySide(RgbImage left, RgbImage right) {
    byte[] px = new byte[(left.width() + right.width()) * left.height() * 3];
    int w = left.width() + right.width();
    for (int y = 0; y < left.height(); y++) {
      System.arraycopy(left.pixels(), y * left.width() * 3, px, y * w * 3, left.width() * 3);
      System.arraycopy(right.pixels(), y * right.width() * 3, px, (y * w + left.width()) * 3, right.width() * 3);
    }
    return new RgbImage(w, left.height(), px);
  }

  static byte[] sideBySide(byte[] left, byte[] right, int lw, int h) {
    byte[] out = new byte[left.length + right.length];
    int rw = right.length / h;
    for (int y = 0; y < h; y++) {
      System.arraycopy(left, y * lw, out, y * (lw + rw), lw);
      System.arraycopy(right, y * rw, out, y * (lw + rw) + lw, rw);
    }
    return out;
  }
}
