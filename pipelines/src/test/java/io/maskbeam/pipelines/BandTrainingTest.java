package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.LabelImage;
import io.maskbeam.raster.GeoTiffWriter;
import io.maskbeam.raster.SampleType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rasters from preprocess to segment through the shipped command line: 4-band uint16 GeoTIFFs whose class shows
 * only in band 4 (bands 1-3 are the same noise for both classes) become raw-band examples with per-band statistics;
 * a small U-Net trained on all four bands separates the classes, one trained on bands 1-3 cannot; the 4-band model
 * segments a raster it has not seen, and refuses what does not fit it.
 */
class BandTrainingTest {
  @TempDir static Path work;
  static Path dataset;
  static final int SIZE = 96;

  /** Class 1 inside a few random discs, 0 elsewhere; the top-left 16x16 of every raster holds no data (0). */
  static LabelImage classes(Random rnd) {
    byte[] labels = new byte[SIZE * SIZE];
    for (int disc = 0; disc < 3; disc++) {
      int cx = rnd.nextInt(SIZE);
      int cy = rnd.nextInt(SIZE);
      int r = 10 + rnd.nextInt(14);
      for (int y = 0; y < SIZE; y++) {
        for (int x = 0; x < SIZE; x++) {
          if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) {
            labels[y * SIZE + x] = 1;
          }
        }
      }
    }
    return new LabelImage(SIZE, SIZE, labels);
  }

  /** Bands 1-3: noise in 1000..3000 whatever the class; band 4: about 1200 for class 0, 2400 for class 1. */
  static byte[] raster(LabelImage classes, Random rnd) {
    ByteBuffer b = ByteBuffer.allocate(SIZE * SIZE * 4 * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (int y = 0; y < SIZE; y++) {
      for (int x = 0; x < SIZE; x++) {
        boolean empty = x < 16 && y < 16;
        for (int band = 0; band < 3; band++) {
          b.putShort((short) (empty ? 0 : 1000 + rnd.nextInt(2000)));
        }
        int c = classes.labels()[y * SIZE + x];
        b.putShort((short) (empty ? 0 : (c == 1 ? 2400 : 1200) + rnd.nextInt(400) - 200));
      }
    }
    return new GeoTiffWriter(SIZE, SIZE, 4, SampleType.UINT16, 32).withGeoReference(RasterSegmentTest.UTM33)
        .withNoData("0").putAll(b.array()).toByteArray();
  }

  @BeforeAll
  static void writeRasters() throws Exception {
    Path images = Files.createDirectories(work.resolve("data/images"));
    Path masks = Files.createDirectories(work.resolve("data/masks"));
    Random rnd = new Random(42);
    for (int i = 0; i < 10; i++) {
      LabelImage c = classes(rnd);
      Files.write(images.resolve("tile" + i + ".tif"), raster(c, rnd));
      Files.write(masks.resolve("tile" + i + ".png"), ImageCodec.encodePng(c));
    }
    LabelImage test = classes(new Random(7));
    Files.write(Files.createDirectories(work.resolve("unseen")).resolve("scene.tif"), raster(test, new Random(8)));
    Files.write(work.resolve("unseen-truth.png"), ImageCodec.encodePng(test));
    dataset = work.resolve("dataset");
    TestData.Run run = preprocess(dataset, "--chipSize=64", "--chipOverlap=32");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
  }

  static TestData.Run preprocess(Path output, String... extra) {
    String[] args = {"preprocess", "--images=" + work.resolve("data/images"), "--masks=" + work.resolve("data/masks"),
        "--labelMap={\"values\": {\"0\": 0, \"1\": 1}}", "--output=" + output, "--validationFraction=0.3",
        "--numShards=1"};
    String[] all = java.util.Arrays.copyOf(args, args.length + extra.length);
    System.arraycopy(extra, 0, all, args.length, extra.length);
    return TestData.cli(all);
  }

  static double trainedMeanIou(Path data, Path out) throws Exception {
    TestData.Run run = TestData.cli("train", "--data=" + data, "--output=" + out, "--epochs=6", "--unetWidth=8",
        "--unetDepth=2", "--cropSize=64", "--miniBatchSize=4", "--optimizer=adam", "--learningRate=0.01",
        "--jitter=0", "--minScale=1", "--maxScale=1", "--seed=3");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    return TestData.json(out.resolve("model/maskbeam-model.json")).path("validation").path("valMeanIou").asDouble();
  }

  @Test
  void examplesKeepTheRawBandsAndTheDatasetDescribesThem() throws Exception {
    JsonNode d = TestData.json(dataset.resolve("dataset.json"));
    JsonNode bands = d.path("bands");
    assertThat(bands.path("format").asText()).isEqualTo("raw");
    assertThat(bands.path("dtype").asText()).isEqualTo("uint16");
    assertThat(bands.path("channels").asInt()).isEqualTo(4);
    assertThat(bands.path("statistics")).hasSize(4);
    JsonNode band4 = bands.path("statistics").get(3);
    assertThat(band4.path("band").asInt()).isEqualTo(4);
    // Nodata (0) is not counted: band 4 lies in 1000..2600.
    assertThat(band4.path("min").asDouble()).isBetween(1000.0, 1100.0);
    assertThat(band4.path("max").asDouble()).isBetween(2500.0, 2600.0);
    assertThat(band4.path("percentiles").path("p50").asDouble()).isBetween(1000.0, 2600.0);
    JsonNode band1 = bands.path("statistics").get(0);
    assertThat(band1.path("mean").asDouble()).isBetween(1900.0, 2100.0); // uniform 1000..3000
    assertThat(band1.path("std").asDouble()).isBetween(540.0, 620.0); // 2000 / sqrt(12) = 577
    // Ten rasters of 96 px, chips of 64 every 32 px: 2 x 2 chips each; none is all nodata.
    assertThat(d.path("counts").path("inputs").asInt()).isEqualTo(10);
    assertThat(d.path("counts").path("written").asInt()).isEqualTo(10);
    assertThat(d.path("counts").path("examples").asInt()).isEqualTo(40);
    assertThat(d.path("counts").path("noDataChipsDropped").asInt()).isZero();
  }

  @Test
  void rastersSpreadOverUnitsOfChipRowsGiveTheSameDataset() throws Exception {
    Path units = work.resolve("dataset-units");
    TestData.Run run = preprocess(units, "--chipSize=64", "--chipOverlap=32", "--rasterStripeRows=32");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    assertThat(records(units)).isEqualTo(records(dataset));
    JsonNode one = TestData.json(dataset.resolve("dataset.json"));
    JsonNode many = TestData.json(units.resolve("dataset.json"));
    assertThat(many.path("counts")).isEqualTo(one.path("counts"));
    assertThat(many.path("splits")).isEqualTo(one.path("splits"));
    for (int b = 0; b < 4; b++) {
      JsonNode x = one.path("bands").path("statistics").get(b);
      JsonNode y = many.path("bands").path("statistics").get(b);
      assertThat(y.path("percentiles")).isEqualTo(x.path("percentiles"));
      assertThat(y.path("count")).isEqualTo(x.path("count"));
      assertThat(y.path("mean").asDouble()).isCloseTo(x.path("mean").asDouble(), org.assertj.core.api.Assertions
          .within(1e-6));
    }
  }

  /** Every record of a dataset's shards, as hex, sorted: the same set whatever the shards' order. */
  static java.util.List<String> records(Path data) throws Exception {
    java.util.List<Path> shards;
    try (java.util.stream.Stream<Path> s = Files.list(data)) {
      shards = s.filter(f -> f.getFileName().toString().contains(".tfrecord")).toList();
    }
    return io.maskbeam.models.train.TrainingData.readRecords(shards).stream()
        .map(java.util.HexFormat.of()::formatHex).sorted().toList();
  }

  @Test
  void aModelOfAllFourBandsSeparatesWhatAnRgbModelCannot() throws Exception {
    Path rgbData = work.resolve("dataset-123");
    TestData.Run run = preprocess(rgbData, "--chipSize=64", "--chipOverlap=32", "--bands=1,2,3");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    double four = trainedMeanIou(dataset, work.resolve("train-4"));
    double three = trainedMeanIou(rgbData, work.resolve("train-3"));
    assertThat(four).as("mIoU on 4 bands").isGreaterThanOrEqualTo(0.9);
    assertThat(three).as("mIoU on bands 1-3").isLessThan(0.6);

    // The 3-band model starts a 4-band run: its first convolution is inflated, the rest restored.
    TestData.Run init = TestData.cli("train", "--data=" + dataset, "--output=" + work.resolve("train-init"),
        "--epochs=1", "--unetWidth=8", "--unetDepth=2", "--cropSize=64", "--miniBatchSize=4",
        "--initModel=" + work.resolve("train-3/model"));
    assertThat(init.exitCode()).as(init.out() + init.err()).isZero();
    assertThat(init.out()).contains("first convolution adapted from 3 to 4 input channels");
    // The same channels, another optimizer than the model was trained with (adam): its weights, fresh SGD state.
    TestData.Run again = TestData.cli("train", "--data=" + dataset, "--output=" + work.resolve("train-again"),
        "--epochs=1", "--unetWidth=8", "--unetDepth=2", "--cropSize=64", "--miniBatchSize=4", "--optimizer=sgd",
        "--initModel=" + work.resolve("train-4/model"));
    assertThat(again.exitCode()).as(again.out() + again.err()).isZero();
    assertThat(again.out()).contains("initialised from").doesNotContain("adapted");

    JsonNode meta = TestData.json(work.resolve("train-4/model/maskbeam-model.json"));
    assertThat(meta.path("training").path("config").path("input").path("channels").asInt()).isEqualTo(4);
    assertThat(meta.path("normalization").path("mean")).hasSize(4);

    // The 4-band model on an unseen raster: its mask agrees with the truth, nodata where there is none.
    Path out = work.resolve("segment-4");
    TestData.Run seg = TestData.cli("segment", "--model=" + work.resolve("train-4/model"),
        "--input=" + work.resolve("unseen") + "/*.tif", "--output=" + out);
    assertThat(seg.exitCode()).as(seg.out() + seg.err()).isZero();
    assertThat(seg.out()).contains("matched 1 = segmented 1 + skipped 0 + failed 0");
    byte[] mask = GeoTiffJs.read(out.resolve("masks/scene.tif"), work).pixels();
    byte[] truth = ImageCodec.decodeLabels(Files.readAllBytes(work.resolve("unseen-truth.png"))).labels();
    int agree = 0;
    int counted = 0;
    for (int y = 0; y < SIZE; y++) {
      for (int x = 0; x < SIZE; x++) {
        int p = y * SIZE + x;
        if (x < 16 && y < 16) {
          assertThat(mask[p] & 0xff).isEqualTo(255);
        } else {
          counted++;
          agree += mask[p] == truth[p] ? 1 : 0;
        }
      }
    }
    assertThat((double) agree / counted).isGreaterThan(0.95);

    // What does not fit the model is dead-lettered with the reason: a 2-band raster and a PNG.
    Path bad = Files.createDirectories(work.resolve("bad"));
    Files.write(bad.resolve("two.tif"), new GeoTiffWriter(32, 32, 2, SampleType.UINT16, 32)
        .putAll(new byte[32 * 32 * 2 * 2]).toByteArray());
    Files.write(bad.resolve("photo.png"), ImageCodec.encodePng(new LabelImage(8, 8, new byte[64])));
    TestData.Run refused = TestData.cli("segment", "--model=" + work.resolve("train-4/model"),
        "--input=" + bad + "/*", "--output=" + work.resolve("segment-bad"));
    assertThat(refused.out()).contains("matched 2 = segmented 0 + skipped 0 + failed 2");
    java.util.Map<String, JsonNode> errors = new java.util.HashMap<>();
    for (JsonNode e : TestData.jsonLines(work.resolve("segment-bad/errors"))) {
      errors.put(Path.of(e.path("input").asText()).getFileName().toString(), e);
    }
    assertThat(errors).containsOnlyKeys("two.tif", "photo.png");
    assertThat(errors.get("two.tif").path("reason").asText()).isEqualTo("BAND_MISMATCH");
    assertThat(errors.get("two.tif").path("message").asText()).contains("trained on 4 bands ([1, 2, 3, 4]), the raster has 2");
    assertThat(errors.get("photo.png").path("reason").asText()).isEqualTo("BAND_MISMATCH");
    assertThat(errors.get("photo.png").path("message").asText()).contains("not a TIFF raster");

    // evaluate and serve feed RGB images: they refuse the model at launch, saying why.
    TestData.Run evaluate = TestData.cli("evaluate", "--model=" + work.resolve("train-4/model"),
        "--data=" + dataset, "--output=" + work.resolve("evaluate-4"));
    assertThat(evaluate.exitCode()).isNotZero();
    assertThat(evaluate.err()).contains("trained on 4 raw uint16 raster bands").doesNotContain("Exception");
  }

  @Test
  void rastersOfTwoSampleTypesCannotMakeOneDataset() throws Exception {
    Path images = Files.createDirectories(work.resolve("mixed/images"));
    Path masks = Files.createDirectories(work.resolve("mixed/masks"));
    Files.copy(work.resolve("data/images/tile0.tif"), images.resolve("a.tif"));
    Files.copy(work.resolve("data/masks/tile0.png"), masks.resolve("a.png"));
    ByteBuffer floats = ByteBuffer.allocate(SIZE * SIZE * 4 * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < SIZE * SIZE * 4; i++) {
      floats.putFloat(0.25f);
    }
    Files.write(images.resolve("b.tif"), new GeoTiffWriter(SIZE, SIZE, 4, SampleType.FLOAT32, 32)
        .putAll(floats.array()).toByteArray());
    Files.copy(work.resolve("data/masks/tile1.png"), masks.resolve("b.png"));
    TestData.Run run = TestData.cli("preprocess", "--images=" + images, "--masks=" + masks,
        "--labelMap={\"values\": {\"0\": 0, \"1\": 1}}", "--output=" + work.resolve("mixed/out"));
    assertThat(run.exitCode()).isNotZero();
    assertThat(run.err()).contains("2 kinds", "float32, bands 1,2,3,4: 1 example", "uint16, bands 1,2,3,4: 1 example")
        .doesNotContain("Exception", "caused by");
  }

  @Test
  void inputChannelsMustAgreeWithTheData() {
    TestData.Run run = TestData.cli("train", "--data=" + dataset, "--output=" + work.resolve("wrong"),
        "--inputChannels=3", "--epochs=1");
    assertThat(run.exitCode()).isNotZero();
    assertThat(run.err()).contains("--inputChannels=3", "4 raw bands").doesNotContain("Exception");
  }
}
