package io.maskbeam.runners.spark;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.LabelImage;
import io.maskbeam.pipelines.Maskbeam;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every Maskbeam pipeline on Beam's Spark runner with a real embedded Spark ({@code local[2]}): the same command
 * lines as on the DirectRunner, with {@code --runner=SparkRunner --sparkMaster=local[2]}.
 */
class SparkRunnerTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String[] SPARK = {"--runner=SparkRunner", "--sparkMaster=local[2]"};
  @TempDir static Path work;
  static Path demo;

  record Run(int exitCode, String out, String err) {}

  static Run cli(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Maskbeam.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  static Run spark(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of(SPARK));
    return cli(all.toArray(String[]::new));
  }

  @BeforeAll
  static void demoDataAndModel() {
    // The demo on the DirectRunner makes synthetic data and a small model; Spark then runs the pipelines on them.
    demo = work.resolve("demo");
    Run run = cli("demo", "--output=" + demo, "--count=24", "--trainEpochs=2", "--width=128", "--height=96",
        "--style=textured");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
  }

  @Test
  void preprocessOnSpark() throws Exception {
    Path out = work.resolve("dataset");
    Run run = spark("preprocess", "--images=" + demo.resolve("synthetic/images"),
        "--masks=" + demo.resolve("synthetic/masks"), "--labelMap=" + demo.resolve("synthetic/labelmap.json"),
        "--output=" + out, "--numShards=2");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    JsonNode counts = JSON.readTree(Files.readString(out.resolve("dataset.json"))).path("counts");
    // 24 pairs, plus the demo's truncated image and unpaired image.
    assertThat(counts.path("inputs").asLong()).isEqualTo(26);
    assertThat(counts.path("written").asLong()).isEqualTo(24);
    assertThat(counts.path("rejected").asLong()).isEqualTo(2);
  }

  @Test
  void trainingTrialsOnSpark() throws Exception {
    Path out = work.resolve("trials");
    Run run = spark("train", "--data=" + demo.resolve("dataset"), "--output=" + out, "--epochs=1",
        "--unetWidth=8", "--unetDepth=3", "--cropSize=64", "--miniBatchSize=4", "--trials=learningRate=0.01,0.001");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    JsonNode trials = JSON.readTree(Files.readString(out.resolve("trials.json")));
    assertThat(trials.path("trials")).hasSize(2);
    assertThat(trials.path("trials").get(1).path("settings").path("learningRate").asText()).isEqualTo("0.001");
    assertThat(out.resolve("trial-0/model/saved_model.pb")).exists();
    assertThat(out.resolve("trial-1/model/maskbeam-model.json")).exists();
  }

  @Test
  void segmentAndEvaluateOnSpark() throws Exception {
    Path model = demo.resolve("training/model");
    Path out = work.resolve("segmented");
    Run run = spark("segment", "--model=" + model, "--input=" + demo.resolve("unseen/images") + "/*.png",
        "--output=" + out);
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    JsonNode summary = JSON.readTree(Files.readString(out.resolve("summary.json")));
    long images;
    try (Stream<Path> s = Files.list(demo.resolve("unseen/images"))) {
      images = s.count();
    }
    assertThat(summary.path("run").path("matched").asLong()).isEqualTo(images);
    assertThat(summary.path("run").path("segmented").asLong()).isEqualTo(images - 1);
    assertThat(summary.path("run").path("failed").asLong()).isEqualTo(1);
    LabelImage mask = ImageCodec.decodeLabels(Files.readAllBytes(out.resolve("masks/shape_0000.png")));
    assertThat(mask.width()).isEqualTo(128);

    // The same masks as the DirectRunner writes.
    Path direct = work.resolve("segmented-direct");
    Run directRun = cli("segment", "--model=" + model, "--input=" + demo.resolve("unseen/images") + "/*.png",
        "--output=" + direct);
    assertThat(directRun.exitCode()).as(directRun.err()).isZero();
    assertThat(Files.readAllBytes(out.resolve("masks/shape_0003.png")))
        .isEqualTo(Files.readAllBytes(direct.resolve("masks/shape_0003.png")));
    assertThat(summary.path("classes")).isEqualTo(
        JSON.readTree(Files.readString(direct.resolve("summary.json"))).path("classes"));

    Path eval = work.resolve("evaluation");
    // Sliced by the last digit of the file number: per-slice matrices are combined on Spark as on the DirectRunner.
    String slices = "--sliceBy=path:shape_\\d{3}(?<last>\\d)";
    Run evaluate = spark("evaluate", "--predictions=" + out.resolve("masks"),
        "--masks=" + demo.resolve("unseen/masks"), "--labelMap=" + demo.resolve("synthetic/labelmap.json"),
        "--output=" + eval, slices);
    assertThat(evaluate.exitCode()).as(evaluate.out() + evaluate.err()).isZero();
    JsonNode metrics = JSON.readTree(Files.readString(eval.resolve("metrics.json")));
    assertThat(metrics.path("examples").asLong()).isEqualTo(images - 1);
    // Spark combines the per-image matrices to exactly what the DirectRunner computes on the same inputs.
    Path directEval = work.resolve("evaluation-direct");
    Run directEvaluate = cli("evaluate", "--predictions=" + out.resolve("masks"),
        "--masks=" + demo.resolve("unseen/masks"), "--labelMap=" + demo.resolve("synthetic/labelmap.json"),
        "--output=" + directEval, slices);
    assertThat(directEvaluate.exitCode()).as(directEvaluate.err()).isZero();
    JsonNode directMetrics = JSON.readTree(Files.readString(directEval.resolve("metrics.json")));
    assertThat(metrics.path("confusionMatrix")).isEqualTo(directMetrics.path("confusionMatrix"));
    assertThat(metrics.path("meanIou").asDouble()).isEqualTo(directMetrics.path("meanIou").asDouble());
    assertThat(metrics.path("slices").size()).isGreaterThan(1);
    assertThat(metrics.path("slices")).isEqualTo(directMetrics.path("slices"));
    long matrixTotal = 0;
    for (JsonNode row : metrics.path("confusionMatrix")) {
      for (JsonNode cell : row) {
        matrixTotal += cell.asLong();
      }
    }
    assertThat(matrixTotal).isEqualTo(metrics.path("pixels").asLong()).isPositive();
  }

  /** A model exported from PyTorch to ONNX runs on Spark's executors as on the DirectRunner, mask for mask. */
  @Test
  void onnxModelSegmentsOnSparkAsOnTheDirectRunner() throws Exception {
    Path model = Path.of("../../models/src/test/resources/onnx/nchw_float.onnx").toAbsolutePath().normalize();
    Path out = work.resolve("onnx-spark");
    Run run = spark("segment", "--model=" + model, "--input=" + demo.resolve("unseen/images") + "/*.png",
        "--output=" + out);
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    Path direct = work.resolve("onnx-direct");
    Run directRun = cli("segment", "--model=" + model, "--input=" + demo.resolve("unseen/images") + "/*.png",
        "--output=" + direct);
    assertThat(directRun.exitCode()).as(directRun.err()).isZero();
    JsonNode summary = JSON.readTree(Files.readString(out.resolve("summary.json")));
    assertThat(summary.path("modelFormat").asText()).isEqualTo("onnx");
    assertThat(summary.path("run").path("segmented").asLong()).isPositive();
    try (Stream<Path> masks = Files.list(direct.resolve("masks"))) {
      for (Path mask : masks.toList()) {
        assertThat(Files.readAllBytes(out.resolve("masks").resolve(mask.getFileName())))
            .as("%s", mask.getFileName()).isEqualTo(Files.readAllBytes(mask));
      }
    }
    assertThat(summary.path("classes")).isEqualTo(
        JSON.readTree(Files.readString(direct.resolve("summary.json"))).path("classes"));
  }

  /**
   * A georeferenced raster cut into stripes that Spark's executors segment separately: its GeoTIFFs are the
   * DirectRunner's, byte for byte.
   */
  @Test
  void rasterChipsWrittenByUnitsOnSparkAreTheDirectRunnersRecords() throws Exception {
    // The demo's scenes and masks as a 4x4 mosaic raster (512x384) and its mask, cut into 128 px chips, one row of
    // chips per unit: the units run on Spark's executors and write their own temporary shard files.
    Path in = Files.createDirectories(work.resolve("chip-rasters/images"));
    Path masks = Files.createDirectories(work.resolve("chip-rasters/masks"));
    byte[][] mosaic = mosaic(true);
    Files.write(in.resolve("mosaic.tif"), new io.maskbeam.raster.GeoTiffWriter(512, 384, 3,
        io.maskbeam.raster.SampleType.UINT8, 64).asRgb().putAll(mosaic[0]).toByteArray());
    Files.write(masks.resolve("mosaic.png"), ImageCodec.encodePng(new LabelImage(512, 384, mosaic[1])));
    String[] args = {"preprocess", "--images=" + in, "--masks=" + masks,
        "--labelMap=" + demo.resolve("synthetic/labelmap.json"), "--chipSize=128", "--rasterStripeRows=128",
        "--numShards=2", "--validationFraction=0"};
    List<String> sparkArgs = new ArrayList<>(List.of(args));
    sparkArgs.add("--output=" + work.resolve("chips-spark"));
    Run run = spark(sparkArgs.toArray(String[]::new));
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    List<String> directArgs = new ArrayList<>(List.of(args));
    directArgs.add("--output=" + work.resolve("chips-direct"));
    Run direct = cli(directArgs.toArray(String[]::new));
    assertThat(direct.exitCode()).as(direct.out() + direct.err()).isZero();
    List<String> records = records(work.resolve("chips-spark"));
    assertThat(records).hasSize(12).isEqualTo(records(work.resolve("chips-direct")));
    JsonNode counts = JSON.readTree(Files.readString(work.resolve("chips-spark/dataset.json"))).path("counts");
    assertThat(counts.path("inputs").asLong()).isEqualTo(1);
    assertThat(counts.path("examples").asLong()).isEqualTo(12);
  }

  /** Every record of a dataset's shards as hex, sorted: the same set whatever the shards. */
  static List<String> records(Path data) throws Exception {
    List<Path> shards;
    try (Stream<Path> s = Files.list(data)) {
      shards = s.filter(f -> f.getFileName().toString().contains(".tfrecord")).toList();
    }
    return io.maskbeam.models.train.TrainingData.readRecords(shards).stream()
        .map(java.util.HexFormat.of()::formatHex).sorted().toList();
  }

  /**
   * A 4x4 mosaic of the demo's 128x96 scenes (512x384 RGB) and, with {@code masks}, of their masks: {rgb, labels}.
   */
  static byte[][] mosaic(boolean masks) throws Exception {
    List<Path> images;
    try (Stream<Path> s = Files.list(demo.resolve("synthetic/images"))) {
      images = s.filter(p -> p.toString().endsWith(".png")).sorted().limit(32).toList();
    }
    int w = 512;
    byte[] rgb = new byte[w * 384 * 3];
    byte[] labels = new byte[w * 384];
    int placed = 0;
    for (Path p : images) {
      io.maskbeam.image.RgbImage img;
      LabelImage mask = null;
      try {
        img = ImageCodec.toRgb(ImageCodec.decode(Files.readAllBytes(p), Long.MAX_VALUE));
        if (masks) {
          mask = ImageCodec.decodeLabels(Files.readAllBytes(demo.resolve("synthetic/masks")
              .resolve(p.getFileName())));
        }
      } catch (io.maskbeam.image.InvalidImageException | java.nio.file.NoSuchFileException e) {
        continue; // the demo's deliberately truncated or unpaired image
      }
      int ox = (placed % 4) * 128;
      int oy = (placed / 4) * 96;
      for (int y = 0; y < 96; y++) {
        System.arraycopy(img.pixels(), y * 128 * 3, rgb, ((oy + y) * w + ox) * 3, 128 * 3);
        if (mask != null) {
          System.arraycopy(mask.labels(), y * 128, labels, (oy + y) * w + ox, 128);
        }
      }
      if (++placed == 16) {
        break;
      }
    }
    return new byte[][] {rgb, labels};
  }

  @Test
  void rasterStripesSpreadOverSparkExecutorsReassembleToTheDirectRunnersGeoTiffs() throws Exception {
    // A 4x4 mosaic of the demo's 128x96 scenes: 512x384, 8-bit RGB, UTM 33N at 1 m.
    int w = 512;
    int h = 384;
    byte[] rgb = mosaic(false)[0];
    Path in = Files.createDirectories(work.resolve("rasters"));
    io.maskbeam.raster.GeoReference utm = new io.maskbeam.raster.GeoReference(new double[] {1, 1, 0},
        new double[] {0, 0, 0, 400000, 5000000, 0}, null,
        new int[] {1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633}, null, null);
    Files.write(in.resolve("mosaic.tif"), new io.maskbeam.raster.GeoTiffWriter(w, h, 3,
        io.maskbeam.raster.SampleType.UINT8, 64).asRgb().withGeoReference(utm).putAll(rgb).toByteArray());
    String[] args = {"segment", "--model=" + demo.resolve("training/model"), "--input=" + in + "/*.tif",
        "--tileSize=128", "--tileOverlap=16", "--rasterStripeRows=256", "--writeAnnotations=geojson"};
    Path out = work.resolve("raster-spark");
    List<String> sparkArgs = new ArrayList<>(List.of(args));
    sparkArgs.add("--output=" + out);
    Run run = spark(sparkArgs.toArray(String[]::new));
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    assertThat(run.out()).contains("matched 1 = segmented 1 + skipped 0 + failed 0");
    Path direct = work.resolve("raster-direct");
    List<String> directArgs = new ArrayList<>(List.of(args));
    directArgs.add("--output=" + direct);
    Run directRun = cli(directArgs.toArray(String[]::new));
    assertThat(directRun.exitCode()).as(directRun.out() + directRun.err()).isZero();
    for (String file : List.of("masks/mosaic.tif", "color/mosaic.tif", "polygons/mosaic.geojson")) {
      assertThat(Files.readAllBytes(out.resolve(file))).as(file).isEqualTo(Files.readAllBytes(direct.resolve(file)));
    }
    JsonNode stats = JSON.readTree(Files.readAllLines(Files.list(out.resolve("stats")).findFirst().orElseThrow())
        .get(0));
    assertThat(stats.path("crs").asText()).isEqualTo("EPSG:32633");
    long counted = 0;
    for (JsonNode n : stats.path("classPixels")) {
      counted += n.asLong();
    }
    assertThat(counted).isEqualTo((long) w * h);
  }
}
