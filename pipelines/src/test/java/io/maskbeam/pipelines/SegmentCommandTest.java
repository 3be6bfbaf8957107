package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.dataset.TestImages;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.Resampler;
import io.maskbeam.image.RgbImage;
import io.maskbeam.models.infer.Npy;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code maskbeam segment} end to end on the DirectRunner, with a U-Net trained in the test on CamVid images:
 * real street scenes, every supported and unsupported kind of input, reruns, tiling and the checks that run before
 * a job starts.
 */
class SegmentCommandTest {
  @TempDir static Path work;
  static Path model;
  static final int CLASSES = CamVidModel.CLASSES;

  @BeforeAll
  static void trainOnCamVid() throws IOException {
    model = CamVidModel.get();
  }

  static List<String> camvidNames(String split, int count) throws IOException {
    return CamVidModel.names(split, count);
  }

  static RgbImage camvidImage(int index) throws Exception {
    Path file = TestData.camvid().resolve("val").resolve(camvidNames("val", index + 1).get(index));
    return ImageCodec.toRgb(ImageCodec.decode(Files.readAllBytes(file), Long.MAX_VALUE));
  }

  static BufferedImage read(Path file) throws IOException {
    BufferedImage image = ImageIO.read(new ByteArrayInputStream(Files.readAllBytes(file)));
    assertThat(image).as("%s decodes", file).isNotNull();
    return image;
  }

  static Map<String, JsonNode> statsByKey(Path output) throws IOException {
    Map<String, JsonNode> out = new HashMap<>();
    for (JsonNode line : TestData.jsonLines(output.resolve("stats"))) {
      out.put(line.path("key").asText(), line);
    }
    return out;
  }

  @Test
  void segmentsCamVidAndEveryKindOfInputWithReconciledCounts() throws Exception {
    Path in = Files.createDirectories(work.resolve("inputs/sub"));
    Path root = in.getParent();
    for (String name : camvidNames("val", 3)) {
      Files.copy(TestData.camvid().resolve("val").resolve(name), root.resolve(name));
    }
    RgbImage scene = camvidImage(3);
    // A camera JPEG stored sideways with EXIF orientation 6: the mask must match the upright photo (360 x 480).
    Files.write(root.resolve("rotated.jpg"), TestImages.jpegWithOrientation(scene, 6));
    Files.write(root.resolve("grey.jpg"), TestImages.greyJpeg(96, 64));
    Files.write(root.resolve("palette.png"), TestImages.palettePng(64, 48, 0, 1, 2));
    Files.write(root.resolve("deep16.png"), TestImages.rgb16Png(80, 60));
    Files.write(root.resolve("alpha.png"), TestImages.rgbaPng(64, 64));
    Files.write(root.resolve("print-cmyk.jpg"), TestImages.cmykJpeg(72, 48));
    Files.write(root.resolve("street scene #1.png"), ImageCodec.encodePng(camvidImage(4)));
    // Two files that would both be named sub/x: each keeps its extension in its name.
    Files.write(in.resolve("x.png"), TestImages.rgbPng(50, 40, 1));
    Files.write(in.resolve("x.jpg"), TestImages.rgbJpeg(50, 40, 2));
    // Bad inputs, each with its own reason.
    Files.write(root.resolve("empty.png"), new byte[0]);
    Files.write(root.resolve("truncated.png"), TestImages.truncated(ImageCodec.encodePng(scene)));
    Files.writeString(root.resolve("notes.png"), "this is not an image");
    Files.write(root.resolve("huge.png"), TestImages.pngClaiming(200_000, 200_000));

    Path output = work.resolve("segmented");
    TestData.Run run = TestData.cli("segment", "--model=" + model, "--input=" + root + "/**",
        "--output=" + output, "--writeProbabilities=true", "--maxBatchSize=4");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    assertThat(run.out()).contains("matched 16 = segmented 12 + skipped 0 + failed 4");

    JsonNode summary = TestData.json(output.resolve("summary.json"));
    JsonNode counts = summary.path("run");
    assertThat(counts.path("matched").asLong()).isEqualTo(counts.path("segmented").asLong()
        + counts.path("skipped").asLong() + counts.path("failed").asLong());
    assertThat(counts.path("failedByReason").toString())
        .isEqualTo("{\"IMAGE_EMPTY\":1,\"IMAGE_TOO_MANY_PIXELS\":1,\"IMAGE_TRUNCATED\":1,\"IMAGE_UNREADABLE\":1}");
    Map<String, String> errorReasons = new HashMap<>();
    for (JsonNode e : TestData.jsonLines(output.resolve("errors"))) {
      errorReasons.put(Path.of(e.path("input").asText()).getFileName().toString(), e.path("reason").asText());
      assertThat(e.path("message").asText()).isNotBlank();
    }
    assertThat(errorReasons).containsEntry("empty.png", "IMAGE_EMPTY")
        .containsEntry("huge.png", "IMAGE_TOO_MANY_PIXELS").containsEntry("truncated.png", "IMAGE_TRUNCATED")
        .containsEntry("notes.png", "IMAGE_UNREADABLE");

    Map<String, JsonNode> stats = statsByKey(output);
    assertThat(stats).hasSize(12).containsKeys("sub/x_png", "sub/x_jpg", "rotated", "print-cmyk", "deep16");
    String oddKey = stats.keySet().stream().filter(k -> k.startsWith("street scene _1-")).findFirst().orElseThrow();
    long[] totals = new long[CLASSES];
    long pixels = 0;
    for (Map.Entry<String, JsonNode> e : stats.entrySet()) {
      String key = e.getKey();
      JsonNode s = e.getValue();
      int w = s.path("width").asInt();
      int h = s.path("height").asInt();
      // The mask is the input's (upright) size, holds only class ids, and its counts are the stats line's.
      LabelImage mask = ImageCodec.decodeLabels(Files.readAllBytes(output.resolve("masks/" + key + ".png")));
      assertThat(mask.width()).as(key).isEqualTo(w);
      assertThat(mask.height()).as(key).isEqualTo(h);
      long[] counted = new long[CLASSES];
      for (byte b : mask.labels()) {
        assertThat(b & 0xFF).as(key).isLessThan(CLASSES);
        counted[b & 0xFF]++;
      }
      long sum = 0;
      int c = 0;
      for (JsonNode count : s.path("classPixels")) {
        assertThat(count.asLong()).as("%s class %d", key, c).isEqualTo(counted[c]);
        totals[c] += count.asLong();
        sum += count.asLong();
        c++;
      }
      assertThat(c).isEqualTo(CLASSES);
      assertThat(sum).as(key).isEqualTo((long) w * h).isEqualTo(s.path("pixels").asLong());
      pixels += sum;
      assertThat(read(output.resolve("overlays/" + key + ".jpg")).getWidth()).isEqualTo(w);
      assertThat(read(output.resolve("color/" + key + ".png")).getHeight()).isEqualTo(h);
      Npy.Float32Array p = Npy.readFloat32(Files.readAllBytes(output.resolve("probabilities/" + key + ".npy")));
      assertThat(p.shape()).containsExactly(h, w, CLASSES);
      for (int i = 0; i < w * h; i += 997) {
        float total = 0;
        int best = 0;
        for (int k = 0; k < CLASSES; k++) {
          total += p.data()[i * CLASSES + k];
          best = p.data()[i * CLASSES + k] > p.data()[i * CLASSES + best] ? k : best;
        }
        assertThat(total).isCloseTo(1f, org.assertj.core.api.Assertions.within(1e-3f));
        assertThat(mask.labels()[i] & 0xFF).as("%s pixel %d is the arg-max", key, i).isEqualTo(best);
      }
    }
    assertThat(stats.get("rotated").path("width").asInt()).isEqualTo(360);
    assertThat(stats.get("rotated").path("height").asInt()).isEqualTo(480);
    assertThat(stats.get("rotated").path("orientation").asInt()).isEqualTo(6);
    assertThat(stats.get(oddKey).path("width").asInt()).isEqualTo(480);
    // The summary is the sum of the per-image statistics.
    assertThat(summary.path("collection").path("images").asLong()).isEqualTo(12);
    assertThat(summary.path("collection").path("pixels").asLong()).isEqualTo(pixels);
    for (int c = 0; c < CLASSES; c++) {
      assertThat(summary.path("classes").path(c).path("pixels").asLong()).as("class %d", c).isEqualTo(totals[c]);
    }
    List<String> csv = Files.readAllLines(output.resolve("summary.csv"));
    assertThat(csv).hasSize(CLASSES + 1);
    assertThat(csv.get(1)).startsWith("0,Sky,").contains("," + totals[0] + ",");

    // A rerun with --skipExisting touches nothing; after deleting one image's outputs it redoes exactly that one,
    // byte for byte, and the summary still covers the whole collection.
    byte[] mask = Files.readAllBytes(output.resolve("masks/rotated.png"));
    byte[] overlay = Files.readAllBytes(output.resolve("overlays/rotated.jpg"));
    byte[] probabilities = Files.readAllBytes(output.resolve("probabilities/rotated.npy"));
    TestData.Run rerun = TestData.cli("segment", "--model=" + model, "--input=" + root + "/**",
        "--output=" + output, "--writeProbabilities=true", "--skipExisting=true");
    assertThat(rerun.exitCode()).as(rerun.err()).isZero();
    assertThat(rerun.out()).contains("matched 16 = segmented 0 + skipped 12 + failed 4");
    Files.delete(output.resolve("masks/rotated.png"));
    Files.delete(output.resolve("overlays/rotated.jpg"));
    TestData.Run again = TestData.cli("segment", "--model=" + model, "--input=" + root + "/**",
        "--output=" + output, "--writeProbabilities=true", "--skipExisting=true", "--maxBatchSize=1");
    assertThat(again.exitCode()).as(again.err()).isZero();
    assertThat(again.out()).contains("matched 16 = segmented 1 + skipped 11 + failed 4");
    assertThat(Files.readAllBytes(output.resolve("masks/rotated.png"))).isEqualTo(mask);
    assertThat(Files.readAllBytes(output.resolve("overlays/rotated.jpg"))).isEqualTo(overlay);
    assertThat(Files.readAllBytes(output.resolve("probabilities/rotated.npy"))).isEqualTo(probabilities);
    JsonNode after = TestData.json(output.resolve("summary.json"));
    assertThat(after.path("collection")).isEqualTo(summary.path("collection"));
    assertThat(after.path("classes")).isEqualTo(summary.path("classes"));
  }

  @Test
  void tiledInferenceAgreesWithWholeImageInferenceAwayFromSeams() throws Exception {
    Path in = Files.createDirectories(work.resolve("large"));
    RgbImage large = Resampler.resize(camvidImage(5), 960, 720);
    Files.write(in.resolve("large.png"), ImageCodec.encodePng(large));
    TestData.Run whole = TestData.cli("segment", "--model=" + model, "--input=" + in + "/*.png",
        "--output=" + work.resolve("whole"), "--tileSize=1024", "--writeColor=false", "--writeOverlays=false");
    assertThat(whole.exitCode()).as(whole.err()).isZero();
    TestData.Run tiled = TestData.cli("segment", "--model=" + model, "--input=" + in + "/*.png",
        "--output=" + work.resolve("tiled"), "--tileSize=256", "--tileOverlap=64", "--writeColor=false",
        "--writeOverlays=false");
    assertThat(tiled.exitCode()).as(tiled.err()).isZero();
    JsonNode tiledSummary = TestData.json(work.resolve("tiled/summary.json"));
    assertThat(tiledSummary.path("run").path("segmented").asInt()).isEqualTo(1);
    LabelImage a = ImageCodec.decodeLabels(Files.readAllBytes(work.resolve("whole/masks/large.png")));
    LabelImage b = ImageCodec.decodeLabels(Files.readAllBytes(work.resolve("tiled/masks/large.png")));
    assertThat(b.width()).isEqualTo(960);
    assertThat(b.height()).isEqualTo(720);
    // Tiles start every 192 pixels (256 - 64). Away from tile borders (more than 32 pixels from any tile edge,
    // where a tile sees the same context as the whole image), the two must agree almost everywhere.
    long interior = 0;
    long agree = 0;
    long all = 0;
    long agreeAll = 0;
    for (int y = 0; y < 720; y++) {
      for (int x = 0; x < 960; x++) {
        boolean same = a.get(x, y) == b.get(x, y);
        all++;
        agreeAll += same ? 1 : 0;
        if (farFromTileEdges(x, 960) && farFromTileEdges(y, 720)) {
          interior++;
          agree += same ? 1 : 0;
        }
      }
    }
    assertThat(interior).isGreaterThan(100_000);
    // The model is retrained in each test JVM (threaded training is not bit-reproducible) and its receptive field
    // reaches past 32 pixels, so agreement varies by model: measured 0.989 to 0.99+ across CI runs. A stitching
    // fault (a band misplaced or overwritten) costs whole tile rows and falls far below this.
    assertThat((double) agree / interior).as("interior agreement").isGreaterThan(0.98);
    assertThat((double) agreeAll / all).as("overall agreement").isGreaterThan(0.97);
  }

  /** Whether a coordinate lies more than 32 pixels inside some 256-pixel tile of the tiling used above. */
  private static boolean farFromTileEdges(int v, int length) {
    for (int start = 0; ; start += 192) {
      int origin = Math.min(start, length - 256);
      boolean firstEdge = origin == 0;
      boolean lastEdge = origin == length - 256;
      boolean insideStart = firstEdge ? v >= 0 : v >= origin + 32;
      boolean insideEnd = lastEdge ? v < length : v < origin + 256 - 32;
      if (insideStart && insideEnd) {
        return true;
      }
      if (origin == length - 256) {
        return false;
      }
    }
  }

  @Test
  void testTimeAugmentationAndTheModelsInferenceSizeKeepMasksAtInputSize() throws Exception {
    Path in = Files.createDirectories(work.resolve("tta"));
    Files.write(in.resolve("wide.png"), ImageCodec.encodePng(camvidImage(6)));
    Files.write(in.resolve("small.png"), TestImages.rgbPng(100, 70, 5));
    Path output = work.resolve("tta-out");
    TestData.Run run = TestData.cli("segment", "--model=" + model, "--input=" + in + "/*.png", "--output=" + output,
        "--ttaFlip=true", "--ttaScales=0.75,1", "--inferenceSize=model", "--writeProbabilities=true");
    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out()).contains("matched 2 = segmented 2 + skipped 0 + failed 0");
    // Both inputs ran at the 64x64 training crop in one batch; masks and probabilities come back at input size.
    LabelImage wide = ImageCodec.decodeLabels(Files.readAllBytes(output.resolve("masks/wide.png")));
    assertThat(wide.width()).isEqualTo(480);
    assertThat(wide.height()).isEqualTo(360);
    assertThat(Npy.readFloat32(Files.readAllBytes(output.resolve("probabilities/small.npy"))).shape())
        .containsExactly(70, 100, CLASSES);
    JsonNode settings = TestData.json(output.resolve("summary.json")).path("run").path("settings");
    assertThat(settings.path("inferenceSize").asText()).isEqualTo("64x64");
    assertThat(settings.path("ttaFlip").asBoolean()).isTrue();
  }

  @Test
  void incrementalRunsSegmentOnlyNewOrChangedImagesAndKeepTheSummaryWhole() throws Exception {
    Path in = Files.createDirectories(work.resolve("incremental-in"));
    for (int i = 0; i < 3; i++) {
      Files.write(in.resolve("day1_" + i + ".png"), TestImages.rgbPng(64, 48, 100 + i));
    }
    Path output = work.resolve("incremental-out");
    TestData.Run first = TestData.cli("segment", "--model=" + model, "--input=" + in + "/*.png",
        "--output=" + output, "--incremental=true");
    assertThat(first.exitCode()).as(first.err()).isZero();
    assertThat(first.out()).contains("matched 3 = segmented 3 + skipped 0 + failed 0");
    java.nio.file.attribute.FileTime untouched = Files.getLastModifiedTime(output.resolve("masks/day1_1.png"));

    // Two new images arrive and one is replaced by a different picture.
    for (int i = 0; i < 2; i++) {
      Files.write(in.resolve("day2_" + i + ".png"), TestImages.rgbPng(64, 48, 200 + i));
    }
    Files.write(in.resolve("day1_2.png"), TestImages.rgbPng(64, 48, 999));
    Files.setLastModifiedTime(in.resolve("day1_2.png"),
        java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5000));
    Thread.sleep(20);
    TestData.Run second = TestData.cli("segment", "--model=" + model, "--input=" + in + "/*.png",
        "--output=" + output, "--incremental=true");
    assertThat(second.exitCode()).as(second.err()).isZero();
    assertThat(second.out()).contains("matched 5 = segmented 3 + skipped 2 + failed 0");
    assertThat(Files.getLastModifiedTime(output.resolve("masks/day1_1.png"))).isEqualTo(untouched);

    Path scratch = work.resolve("incremental-scratch");
    TestData.Run full = TestData.cli("segment", "--model=" + model, "--input=" + in + "/*.png",
        "--output=" + scratch);
    assertThat(full.exitCode()).as(full.err()).isZero();
    JsonNode incremental = TestData.json(output.resolve("summary.json"));
    JsonNode fromScratch = TestData.json(scratch.resolve("summary.json"));
    assertThat(incremental.path("collection")).isEqualTo(fromScratch.path("collection"));
    assertThat(incremental.path("classes")).isEqualTo(fromScratch.path("classes"));
    assertThat(incremental.path("collection").path("images").asInt()).isEqualTo(5);
    assertThat(Files.readAllBytes(output.resolve("masks/day1_2.png")))
        .isEqualTo(Files.readAllBytes(scratch.resolve("masks/day1_2.png")));
  }

  @Test
  void manifestInputsAreAccountedForLineByLine() throws Exception {
    Path dir = Files.createDirectories(work.resolve("manifest"));
    Files.write(dir.resolve("a.png"), TestImages.rgbPng(48, 32, 3));
    Files.write(work.resolve("outside.png"), TestImages.rgbPng(40, 30, 4));
    Files.writeString(dir.resolve("images.jsonl"), String.join("\n",
        "{\"image\": \"a.png\"}",
        "{\"source-ref\": \"" + work.resolve("outside.png") + "\"}",
        "{\"image\": \"a.png\"}",
        "{\"image\": \"gone.png\"}",
        "{broken") + "\n");
    Path output = work.resolve("from-manifest");
    TestData.Run run = TestData.cli("segment", "--model=" + model, "--manifest=" + dir.resolve("images.jsonl"),
        "--output=" + output, "--writeOverlays=false");
    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out()).contains("matched 5 = segmented 2 + skipped 0 + failed 3");
    JsonNode reasons = TestData.json(output.resolve("summary.json")).path("run").path("failedByReason");
    assertThat(reasons.toString()).isEqualTo("{\"DUPLICATE_INPUT\":1,\"INVALID_MANIFEST_LINE\":1,\"NOT_FOUND\":1}");
    assertThat(output.resolve("masks/a.png")).exists();
    // Outside the manifest's folder: named by its whole path, still under the output prefix.
    String outsideKey = work.resolve("outside").toString().substring(1);
    assertThat(output.resolve("masks/" + outsideKey + ".png")).exists();
  }

  @Test
  void refusesBadModelsAndEmptyInputsBeforeStarting() throws Exception {
    Path images = Files.createDirectories(work.resolve("few"));
    Files.write(images.resolve("a.png"), TestImages.rgbPng(32, 32, 1));
    TestData.Run missing = TestData.cli("segment", "--model=" + work.resolve("no-model"), "--input=" + images + "/*",
        "--output=" + work.resolve("o1"));
    assertThat(missing.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(missing.err()).contains("does not exist");

    Path notAModel = Files.createDirectories(work.resolve("not-a-model"));
    Files.writeString(notAModel.resolve("README"), "hello");
    TestData.Run wrong = TestData.cli("segment", "--model=" + notAModel, "--input=" + images + "/*",
        "--output=" + work.resolve("o2"));
    assertThat(wrong.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(wrong.err()).contains("is not a complete model folder written by 'maskbeam train'");

    Path otherSignature = WrongSignatureModel.write(work.resolve("other-signature"));
    TestData.Run signature = TestData.cli("segment", "--model=" + otherSignature, "--input=" + images + "/*",
        "--output=" + work.resolve("o3"));
    assertThat(signature.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(signature.err()).contains("must take 'images'");

    TestData.Run empty = TestData.cli("segment", "--model=" + model, "--input=" + images + "/*.jpg",
        "--output=" + work.resolve("o4"));
    assertThat(empty.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(empty.err()).contains("matched no files");
    TestData.Run none = TestData.cli("segment", "--model=" + model, "--output=" + work.resolve("o5"));
    assertThat(none.err()).contains("give --input (globs) and/or --manifest");
    TestData.Run tile = TestData.cli("segment", "--model=" + model, "--input=" + images + "/*",
        "--output=" + work.resolve("o6"), "--tileSize=64", "--tileOverlap=40");
    assertThat(tile.err()).contains("--tileOverlap must be in [0, tileSize/2)");
    for (String dir : List.of("o1", "o2", "o3", "o4", "o5", "o6")) {
      assertThat(work.resolve(dir)).as("nothing written for %s", dir).doesNotExist();
    }
  }
}
