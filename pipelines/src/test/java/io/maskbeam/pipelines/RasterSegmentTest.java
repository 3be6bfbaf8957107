package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;
import io.maskbeam.raster.GeoReference;
import io.maskbeam.raster.GeoTiffWriter;
import io.maskbeam.raster.SampleType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code maskbeam segment} on GeoTIFF rasters end to end: multi-band 16-bit input read window by window, masks and
 * colour masks written as tiled GeoTIFFs with the input's georeferencing and nodata, checked by an independent
 * reader (geotiff.js from npm, run by Node), areas in map units; bad rasters dead-lettered with their reasons.
 */
class RasterSegmentTest {
  @TempDir static Path work;
  static Path model;

  /** UTM zone 33N (EPSG:32633), 10 m pixels, as GDAL writes it. */
  static final GeoReference UTM33 = new GeoReference(new double[] {10, 10, 0},
      new double[] {0, 0, 0, 500000, 4649776, 0}, null,
      new int[] {1, 1, 0, 4, 1024, 0, 1, 1, 1025, 0, 1, 1, 1026, 34737, 23, 0, 3072, 0, 1, 32633}, null,
      "WGS 84 / UTM zone 33N|");

  @BeforeAll
  static void trainOnCamVid() throws Exception {
    model = CamVidModel.get();
  }

  /**
   * A CamVid scene as a 4-band uint16 raster: bands 1-3 hold blue, green, red scaled by 257 (so 0..65535 maps back
   * to the 8-bit values exactly), band 4 noise; the top-left 40x30 pixels hold 0 in every band, the nodata value.
   */
  static byte[] fourBandRaster(RgbImage image, GeoReference geo) {
    int w = image.width();
    int h = image.height();
    ByteBuffer b = ByteBuffer.allocate(w * h * 4 * 2).order(ByteOrder.LITTLE_ENDIAN);
    Random random = new Random(5);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        boolean empty = x < 40 && y < 30;
        int p = (y * w + x) * 3;
        for (int c = 2; c >= 0; c--) {
          b.putShort((short) (empty ? 0 : (image.pixels()[p + c] & 0xff) * 257));
        }
        b.putShort((short) (empty ? 0 : 1 + random.nextInt(65000)));
      }
    }
    return new GeoTiffWriter(w, h, 4, SampleType.UINT16, 128).withGeoReference(geo).withNoData("0")
        .putAll(b.array()).toByteArray();
  }

  @Test
  void geoTiffsBecomeGeoreferencedMasksThatAnIndependentReaderPlacesOnTheMap() throws Exception {
    RgbImage scene = SegmentCommandTest.camvidImage(0);
    Path rasters = Files.createDirectories(work.resolve("rasters"));
    Files.write(rasters.resolve("scene.tif"), fourBandRaster(scene, UTM33));
    // The reference: the same scene as a PNG, with the nodata corner as the model sees it in the raster (black).
    byte[] blackCorner = scene.pixels().clone();
    for (int y = 0; y < 30; y++) {
      java.util.Arrays.fill(blackCorner, y * 480 * 3, (y * 480 + 40) * 3, (byte) 0);
    }
    Path pngs = Files.createDirectories(work.resolve("pngs"));
    Files.write(pngs.resolve("scene.png"), ImageCodec.encodePng(new RgbImage(480, 360, blackCorner)));

    Path output = work.resolve("raster-out");
    TestData.Run run = TestData.cli("segment", "--model=" + model, "--input=" + rasters + "/*.tif",
        "--output=" + output, "--bands=3,2,1", "--bandRange=0,65535", "--writeAnnotations=geojson",
        "--polygonTolerance=0");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    assertThat(run.out()).contains("matched 1 = segmented 1 + skipped 0 + failed 0");
    Path reference = work.resolve("png-out");
    TestData.Run ref = TestData.cli("segment", "--model=" + model, "--input=" + pngs + "/*.png",
        "--output=" + reference, "--writeOverlays=false", "--writeAnnotations=geojson", "--polygonTolerance=0");
    assertThat(ref.exitCode()).as(ref.out() + ref.err()).isZero();
    // An ordinary image's polygons are in pixel coordinates and cover every pixel.
    JsonNode pixelPolygons = TestData.json(reference.resolve("polygons/scene.geojson"));
    assertThat(pixelPolygons.has("crs")).isFalse();
    double covered = 0;
    for (JsonNode f : pixelPolygons.path("features")) {
      covered += f.path("properties").path("pixels").asDouble();
    }
    assertThat(covered).isEqualTo(480.0 * 360);
    LabelImage expected = ImageCodec.decodeLabels(Files.readAllBytes(reference.resolve("masks/scene.png")));
    RgbImage expectedColour = ImageCodec.toRgb(ImageCodec.decode(
        Files.readAllBytes(reference.resolve("color/scene.png")), Long.MAX_VALUE));

    // The mask, read by geotiff.js: the input's grid on the map, its CRS, nodata 255, a colour table.
    GeoTiffJs.Read mask = GeoTiffJs.read(output.resolve("masks/scene.tif"), work);
    JsonNode tags = mask.tags();
    assertThat(tags.path("width").asInt()).isEqualTo(480);
    assertThat(tags.path("height").asInt()).isEqualTo(360);
    assertThat(tags.path("samplesPerPixel").asInt()).isEqualTo(1);
    assertThat(tags.path("tileWidth").asInt()).isEqualTo(256);
    assertThat(tags.path("origin").get(0).asDouble()).isEqualTo(500000.0);
    assertThat(tags.path("origin").get(1).asDouble()).isEqualTo(4649776.0);
    assertThat(tags.path("resolution").get(0).asDouble()).isEqualTo(10.0);
    assertThat(tags.path("resolution").get(1).asDouble()).isEqualTo(-10.0);
    assertThat(tags.path("boundingBox").toString()).isEqualTo("[500000,4646176,504800,4649776]");
    assertThat(tags.path("projectedCrs").asInt()).isEqualTo(32633);
    assertThat(tags.path("noData").asDouble()).isEqualTo(255.0);
    assertThat(tags.path("photometric").asInt()).isEqualTo(3);
    assertThat(tags.path("colorMapEntries").asInt()).isEqualTo(768);
    // Its pixels: the PNG path's mask of the same scene (one window: 480x360 fits a 1024 tile), 255 where no data.
    byte[] labels = mask.pixels();
    assertThat(labels).hasSize(480 * 360);
    long[] counts = new long[CamVidModel.CLASSES];
    for (int y = 0; y < 360; y++) {
      for (int x = 0; x < 480; x++) {
        int v = labels[y * 480 + x] & 0xff;
        if (x < 40 && y < 30) {
          assertThat(v).as("nodata at (%d, %d)", x, y).isEqualTo(255);
        } else {
          assertThat(v).as("(%d, %d)", x, y).isEqualTo(expected.get(x, y));
          counts[v]++;
        }
      }
    }

    GeoTiffJs.Read colour = GeoTiffJs.read(output.resolve("color/scene.tif"), work);
    assertThat(colour.tags().path("samplesPerPixel").asInt()).isEqualTo(3);
    assertThat(colour.tags().path("photometric").asInt()).isEqualTo(2);
    assertThat(colour.tags().path("projectedCrs").asInt()).isEqualTo(32633);
    byte[] rgb = colour.pixels();
    for (int i = 0; i < 480 * 360; i++) {
      boolean empty = i % 480 < 40 && i / 480 < 30;
      for (int c = 0; c < 3; c++) {
        assertThat(rgb[i * 3 + c]).isEqualTo(empty ? 0 : expectedColour.pixels()[i * 3 + c]);
      }
    }

    // Statistics count classes over pixels with data, with areas in square metres.
    JsonNode stats = TestData.jsonLines(output.resolve("stats")).get(0);
    assertThat(stats.path("noDataPixels").asLong()).isEqualTo(1200);
    assertThat(stats.path("crs").asText()).isEqualTo("EPSG:32633");
    assertThat(stats.path("areaUnit").asText()).isEqualTo("square metre");
    assertThat(stats.path("pixelArea").asDouble()).isEqualTo(100.0);
    int c = 0;
    for (var names = stats.path("classPixels").fieldNames(); names.hasNext(); c++) {
      String name = names.next();
      assertThat(stats.path("classPixels").path(name).asLong()).as(name).isEqualTo(counts[c]);
      assertThat(stats.path("classAreas").path(name).asDouble()).as(name).isCloseTo(100.0 * counts[c],
          within(1e-6));
    }
    // Polygons in the raster's CRS whose areas (exact at tolerance 0) are the stats' class areas.
    JsonNode geoJson = TestData.json(output.resolve("polygons/scene.geojson"));
    assertThat(geoJson.path("crs").path("properties").path("name").asText())
        .isEqualTo("urn:ogc:def:crs:EPSG::32633");
    Map<String, Double> areas = new HashMap<>();
    for (JsonNode f : geoJson.path("features")) {
      areas.merge(f.path("properties").path("class").asText(), f.path("properties").path("area").asDouble(),
          Double::sum);
      for (JsonNode point : f.path("geometry").path("coordinates").get(0)) {
        assertThat(point.get(0).asDouble()).isBetween(500000.0, 504800.0);
        assertThat(point.get(1).asDouble()).isBetween(4646176.0, 4649776.0);
      }
    }
    for (var names = stats.path("classAreas").fieldNames(); names.hasNext(); ) {
      String name = names.next();
      assertThat(areas.getOrDefault(name, 0.0)).as(name)
          .isCloseTo(stats.path("classAreas").path(name).asDouble(), within(1e-6));
    }
    // The report names the raster's GeoTIFF instead of a thumbnail: a raster is never read whole.
    assertThat(Files.readString(output.resolve("report.html"))).contains("scene: a raster, 480x360 (EPSG:32633)")
        .contains("masks/scene.tif");
    JsonNode settings = TestData.json(output.resolve("summary.json")).path("run").path("settings");
    assertThat(settings.path("bands").asText()).isEqualTo("3,2,1");
  }

  /** A raster cut into stripes (units of work) gives the same files as the raster in one piece. */
  @Test
  void stripesReassembleIntoTheSameGeoTiffsAsOneUnitOfWork() throws Exception {
    Path in = Files.createDirectories(work.resolve("striped"));
    Files.write(in.resolve("scene.tif"), fourBandRaster(SegmentCommandTest.camvidImage(2), UTM33));
    String[] common = {"segment", "--model=" + model, "--input=" + in + "/*.tif", "--bands=3,2,1",
        "--bandRange=0,65535", "--tileSize=256", "--tileOverlap=32", "--writeAnnotations=geojson",
        "--polygonTolerance=0"};
    Path whole = work.resolve("one-stripe");
    TestData.Run one = TestData.cli(concat(common, "--output=" + whole, "--rasterStripeRows=100000"));
    assertThat(one.exitCode()).as(one.out() + one.err()).isZero();
    Path striped = work.resolve("two-stripes");
    // 200 rows round up to one window row (256): two stripes.
    TestData.Run two = TestData.cli(concat(common, "--output=" + striped, "--rasterStripeRows=200"));
    assertThat(two.exitCode()).as(two.out() + two.err()).isZero();
    assertThat(two.out()).contains("matched 1 = segmented 1 + skipped 0 + failed 0");
    // Windows of 256 (a 320 window is tiled inside), 2x2 of them; two stripes of 256 rows.
    assertThat(Files.readAllBytes(striped.resolve("masks/scene.tif")))
        .isEqualTo(Files.readAllBytes(whole.resolve("masks/scene.tif")));
    assertThat(Files.readAllBytes(striped.resolve("color/scene.tif")))
        .isEqualTo(Files.readAllBytes(whole.resolve("color/scene.tif")));
    JsonNode a = TestData.jsonLines(whole.resolve("stats")).get(0);
    JsonNode b = TestData.jsonLines(striped.resolve("stats")).get(0);
    assertThat(b.path("classPixels")).isEqualTo(a.path("classPixels"));
    assertThat(b.path("noDataPixels")).isEqualTo(a.path("noDataPixels"));
    // Polygons are traced per stripe (regions crossing row 256 are split there), covering the same pixels.
    assertThat(pixelsByClass(striped)).isEqualTo(pixelsByClass(whole));
    assertThat(TestData.json(striped.resolve("polygons/scene.geojson")).path("features").get(0).path("properties")
        .has("blockRow")).isTrue();
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static Map<String, Double> pixelsByClass(Path output) throws Exception {
    Map<String, Double> pixels = new java.util.TreeMap<>();
    for (JsonNode f : TestData.json(output.resolve("polygons/scene.geojson")).path("features")) {
      pixels.merge(f.path("properties").path("class").asText(), f.path("properties").path("pixels").asDouble(),
          Double::sum);
    }
    return pixels;
  }

  @Test
  void rastersThatDoNotFitTheModelOrHoldACorruptTileAreDeadLetteredWithTheirReasons() throws Exception {
    Path in = Files.createDirectories(work.resolve("bad-rasters"));
    RgbImage scene = SegmentCommandTest.camvidImage(1);
    Files.write(in.resolve("good.tif"), fourBandRaster(scene, UTM33));
    // Two bands where --bands asks for band 3.
    Files.write(in.resolve("two-bands.tif"), new GeoTiffWriter(64, 64, 2, SampleType.UINT16, 32)
        .withGeoReference(UTM33).putAll(new byte[64 * 64 * 2 * 2]).toByteArray());
    // A valid header and directory whose last tile's data is cut short (an interrupted copy).
    byte[] whole = fourBandRaster(scene, UTM33);
    Files.write(in.resolve("corrupt.tif"), java.util.Arrays.copyOf(whole, whole.length - 1500));
    Path output = work.resolve("bad-out");
    TestData.Run run = TestData.cli("segment", "--model=" + model, "--input=" + in + "/*.tif",
        "--output=" + output, "--bands=3,2,1", "--bandRange=0,65535", "--maxFailedFraction=1");
    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    assertThat(run.out()).contains("matched 3 = segmented 1 + skipped 0 + failed 2");
    Map<String, JsonNode> errors = new HashMap<>();
    for (JsonNode e : TestData.jsonLines(output.resolve("errors"))) {
      errors.put(Path.of(e.path("input").asText()).getFileName().toString(), e);
    }
    assertThat(errors).containsOnlyKeys("two-bands.tif", "corrupt.tif");
    assertThat(errors.get("two-bands.tif").path("reason").asText()).isEqualTo("BAND_MISMATCH");
    assertThat(errors.get("two-bands.tif").path("message").asText()).contains("band 3 of a 2-band raster");
    assertThat(errors.get("corrupt.tif").path("reason").asText()).as(errors.get("corrupt.tif").toString())
        .isEqualTo("IMAGE_TRUNCATED");
    assertThat(errors.get("corrupt.tif").path("message").asText()).contains("corrupt.tif is truncated: tile 11 of 12");
    assertThat(Files.exists(output.resolve("masks/corrupt.tif"))).isFalse();
    assertThat(Files.exists(output.resolve("masks/good.tif"))).isTrue();

    // A 16-bit raster without a range is refused, not silently squeezed into 8 bits.
    TestData.Run noRange = TestData.cli("segment", "--model=" + model, "--input=" + in + "/good.tif",
        "--output=" + work.resolve("no-range"), "--maxFailedFraction=1");
    assertThat(noRange.out()).contains("matched 1 = segmented 0 + skipped 0 + failed 1");
    JsonNode refused = TestData.jsonLines(work.resolve("no-range/errors")).get(0);
    assertThat(refused.path("reason").asText()).isEqualTo("BAND_MISMATCH");
    assertThat(refused.path("message").asText()).contains("a uint16 raster needs --bandRange");
  }
}
