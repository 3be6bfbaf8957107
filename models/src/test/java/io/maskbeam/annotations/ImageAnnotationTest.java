package io.maskbeam.annotations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.maskbeam.core.FailureReason;
import io.maskbeam.dataset.DeepLabExample;
import io.maskbeam.dataset.ExamplePreparer;
import io.maskbeam.dataset.PreparedExample;
import io.maskbeam.dataset.RejectedInputException;
import io.maskbeam.dataset.TestImages;
import io.maskbeam.dataset.UnknownLabelPolicy;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.labels.LabelMap;
import io.maskbeam.labels.LabelMaps;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ImageAnnotationTest {
  private static final LabelMap PETS = LabelMaps.parse(
      "{\"classes\": [\"background\", \"cat\", \"dog\"]}", "pets");
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Region rect(String label, Integer category, double x0, double y0, double x1, double y1) {
    return Region.polygons(label, category, List.of(new double[] {x0, y0, x1, y0, x1, y1, x0, y1}));
  }

  private static int[] histogram(byte[] classes) {
    int[] h = new int[256];
    for (byte b : classes) {
      h[b & 0xFF]++;
    }
    return h;
  }

  @Test
  void classesResolveByNameThenByIdAndUnknownCategoriesAreCountedAndNamed() {
    LabelMap byId = LabelMaps.parse("{\"values\": {\"0\": 0, \"17\": 1, \"18\": 2}, \"classes\": [\"bg\", \"a\", \"b\"]}",
        "ids");
    ImageAnnotation a = new ImageAnnotation(10, 10, List.of(
        rect("Cat", 17, 0, 0, 5, 5), rect("zebra", 18, 5, 5, 10, 10), rect("unicorn", 99, 5, 0, 10, 2)),
        ImageAnnotation.Overlap.LATER_WINS);
    ImageAnnotation.Rasterized named = a.rasterize(PETS, 10, 10);
    int[] h = histogram(named.classes());
    assertThat(h[1]).isEqualTo(25); // "Cat" is class "cat"
    assertThat(h[255]).isEqualTo(25 + 10); // zebra and unicorn are not in the map by name and it has no ids
    assertThat(named.unknownPixels()).isEqualTo(35);
    assertThat(named.unknownSample()).contains("'zebra' (25 px)").contains("'unicorn' (10 px)");
    assertThat(h[0]).isEqualTo(100 - 60);

    ImageAnnotation.Rasterized ids = a.rasterize(byId, 10, 10);
    int[] hi = histogram(ids.classes());
    assertThat(hi[1]).isEqualTo(25);
    assertThat(hi[2]).isEqualTo(25);
    assertThat(ids.unknownPixels()).isEqualTo(10);
  }

  @Test
  void overlapRules() {
    Region big = rect("dog", null, 0, 0, 10, 10);
    Region small = rect("cat", null, 2, 2, 4, 4);
    int[] smallerOnTop = histogram(new ImageAnnotation(10, 10, List.of(small, big),
        ImageAnnotation.Overlap.SMALLER_ON_TOP).rasterize(PETS, 10, 10).classes());
    assertThat(smallerOnTop[1]).isEqualTo(4);
    assertThat(smallerOnTop[2]).isEqualTo(96);
    int[] laterWins = histogram(new ImageAnnotation(10, 10, List.of(small, big),
        ImageAnnotation.Overlap.LATER_WINS).rasterize(PETS, 10, 10).classes());
    assertThat(laterWins[1]).isZero();
    assertThat(laterWins[2]).isEqualTo(100);
  }

  @Test
  void jsonCarriesPolygonsAndRleExactly() {
    byte[] mask = new byte[12];
    mask[3] = mask[4] = mask[11] = 1;
    ImageAnnotation a = new ImageAnnotation(4, 3, List.of(rect("cat", 3, 0.25, 0.5, 2.75, 2.5),
        Region.mask(null, 18, CocoRle.encode(mask, 4, 3))), ImageAnnotation.Overlap.SMALLER_ON_TOP);
    ImageAnnotation back = ImageAnnotation.fromJson(a.toJson());
    assertThat(back.width()).isEqualTo(4);
    assertThat(back.overlap()).isEqualTo(ImageAnnotation.Overlap.SMALLER_ON_TOP);
    assertThat(back.regions().get(0).rings().get(0)).containsExactly(0.25, 0.5, 2.75, 0.5, 2.75, 2.5, 0.25, 2.5);
    assertThat(back.regions().get(1).rle()).isEqualTo(a.regions().get(1).rle());
    assertThat(back.regions().get(1).label()).isNull();
  }

  @Test
  void cocoAnnotationsOfEveryKind() throws Exception {
    Region poly = CocoFormat.region(JSON.readTree(
        "{\"id\": 1, \"image_id\": 7, \"category_id\": 2, \"segmentation\": [[0,0,4,0,4,4,0,4],[6,6,8,6,8,8]]}"), "dog");
    assertThat(poly.rings()).hasSize(2);
    assertThat(poly.label()).isEqualTo("dog");
    Region raw = CocoFormat.region(JSON.readTree("{\"id\": 2, \"image_id\": 7, \"category_id\": 1, \"iscrowd\": 1,"
        + " \"segmentation\": {\"size\": [4, 5], \"counts\": [5, 2, 2, 2, 2, 2, 5]}}"), "cat");
    Region compressed = CocoFormat.region(JSON.readTree("{\"id\": 3, \"image_id\": 7, \"category_id\": 1,"
        + " \"segmentation\": {\"size\": [4, 5], \"counts\": \"5220003\"}}"), null);
    assertThat(raw.rle()).isEqualTo(compressed.rle());
    assertThat(compressed.category()).isEqualTo(1);

    assertThatThrownBy(() -> CocoFormat.region(JSON.readTree(
        "{\"id\": 4, \"image_id\": 7, \"category_id\": 1, \"segmentation\": [[0,0,4,0]]}"), "cat"))
        .isInstanceOf(InvalidAnnotationException.class).hasMessageContaining("annotation 4")
        .hasMessageContaining("at least 3 points");
    assertThatThrownBy(() -> CocoFormat.region(JSON.readTree(
        "{\"id\": 5, \"image_id\": 7, \"category_id\": 1, \"segmentation\": {\"size\": [4, 5], \"counts\": [5, 2]}}"),
        "cat")).isInstanceOf(InvalidAnnotationException.class).hasMessageContaining("sum to 7");
    assertThatThrownBy(() -> CocoFormat.region(JSON.readTree("{\"id\": 6, \"image_id\": 7, \"segmentation\": []}"),
        null)).hasMessageContaining("category_id");
    assertThatThrownBy(() -> CocoFormat.imageId(JSON.readTree("{\"id\": 6}"))).hasMessageContaining("image_id");
  }

  @Test
  void labelMeShapes() throws Exception {
    String doc = "{\"shapes\": ["
        + "{\"label\": \"dog\", \"points\": [[0,0],[10,0],[10,10],[0,10]], \"shape_type\": \"polygon\"},"
        + "{\"label\": \"cat\", \"points\": [[2,2],[4,5]], \"shape_type\": \"rectangle\"},"
        + "{\"label\": \"cat\", \"points\": [[15,5],[15,8]], \"shape_type\": \"circle\"},"
        + "{\"label\": \"dog\", \"points\": [[0,0],[5,5]], \"shape_type\": \"line\"}],"
        + " \"imagePath\": \"..\\\\images\\\\a.jpg\", \"imageWidth\": 20, \"imageHeight\": 12}";
    LabelMeFormat.Document d = LabelMeFormat.read(doc.getBytes(StandardCharsets.UTF_8));
    assertThat(d.imagePath()).isEqualTo("../images/a.jpg");
    assertThat(d.skippedShapes()).isEqualTo(1);
    assertThat(d.annotation().regions()).hasSize(3);
    int[] h = histogram(d.annotation().rasterize(PETS, 20, 12).classes());
    // The rectangle (2x3 pixels) is drawn after the dog and wins; the circle of radius 3 holds 28 or 29 centres
    // (pi r^2 = 28.3) of which those inside the image count.
    assertThat(h[2]).isEqualTo(100 - 6);
    long circle = 0;
    for (int r = 0; r < 12; r++) {
      for (int c = 0; c < 20; c++) {
        circle += Math.hypot(c + 0.5 - 15, r + 0.5 - 5) < 3 ? 1 : 0;
      }
    }
    assertThat(h[1]).isEqualTo(6 + circle);

    assertThatThrownBy(() -> LabelMeFormat.read("{\"shapes\": [{\"label\": \"cat\", \"points\": [[0,0],[1,1]]}],"
        .concat(" \"imagePath\": \"a.jpg\"}").getBytes(StandardCharsets.UTF_8)))
        .hasMessageContaining("shape 0 ('cat')").hasMessageContaining("at least 3 points");
    assertThatThrownBy(() -> LabelMeFormat.read("{\"shapes\": [], ".getBytes(StandardCharsets.UTF_8)))
        .hasMessageStartingWith("not JSON");
    assertThatThrownBy(() -> LabelMeFormat.read("{\"shapes\": []}".getBytes(StandardCharsets.UTF_8)))
        .hasMessageContaining("imagePath");
  }

  @Test
  void labelMeWrittenThenReadGivesTheSameMask() throws Exception {
    byte[] labels = new byte[30 * 20];
    for (int y = 3; y < 15; y++) {
      for (int x = 4; x < 12 + y / 2; x++) {
        labels[y * 30 + x] = 1;
      }
    }
    List<MaskRegions.ClassRegion> regions = MaskRegions.of(new LabelImage(30, 20, labels), -1, 0);
    List<LabelMeFormat.Shape> shapes = new java.util.ArrayList<>();
    for (MaskRegions.ClassRegion r : regions) {
      if (r.classId() != 0) {
        for (double[] ring : r.outerRings()) {
          shapes.add(new LabelMeFormat.Shape(PETS.classes().get(r.classId()).name(), ring));
        }
      }
    }
    byte[] written = LabelMeFormat.write("a.png", 30, 20, shapes);
    LabelMeFormat.Document d = LabelMeFormat.read(written);
    assertThat(d.annotation().rasterize(PETS, 30, 20).classes()).isEqualTo(labels);
  }

  @Test
  void preparerRasterisesAnnotationsAndRejectsWhatDoesNotFit() throws Exception {
    ExamplePreparer p = new ExamplePreparer(PETS, ResizePolicy.parse("keep"), UnknownLabelPolicy.IGNORE,
        ExamplePreparer.DEFAULT_MAX_PIXELS, 95);
    byte[] image = TestImages.rgbPng(20, 10, 3);
    ImageAnnotation a = new ImageAnnotation(20, 10, List.of(rect("cat", null, 0, 0, 5, 10)),
        ImageAnnotation.Overlap.LATER_WINS);
    PreparedExample e = p.prepareAnnotated("a", image, a);
    LabelImage labels = ImageCodec.decodeLabels(DeepLabExample.parse(e.example()).labelPng());
    assertThat(histogram(labels.labels())[1]).isEqualTo(50);
    assertThat(e.classPixels()).containsExactly(150, 50, 0);

    ImageAnnotation wrongSize = new ImageAnnotation(30, 10, a.regions(), a.overlap());
    assertThat(catchThrowableOfType(() -> p.prepareAnnotated("a", image, wrongSize), RejectedInputException.class)
        .reason()).isEqualTo(FailureReason.SIZE_MISMATCH);
    ImageAnnotation rleOfOtherSize = new ImageAnnotation(0, 0, List.of(Region.mask("cat", null,
        CocoRle.encode(new byte[12], 4, 3))), a.overlap());
    RejectedInputException rle = catchThrowableOfType(() -> p.prepareAnnotated("a", image, rleOfOtherSize),
        RejectedInputException.class);
    assertThat(rle.reason()).isEqualTo(FailureReason.SIZE_MISMATCH);
    assertThat(rle.getMessage()).contains("RLE of 4x3 on an image of 20x10");

    ExamplePreparer strict = new ExamplePreparer(PETS, ResizePolicy.parse("keep"), UnknownLabelPolicy.REJECT,
        ExamplePreparer.DEFAULT_MAX_PIXELS, 95);
    ImageAnnotation zebra = new ImageAnnotation(20, 10, List.of(rect("zebra", null, 0, 0, 2, 2)), a.overlap());
    RejectedInputException unknown = catchThrowableOfType(() -> strict.prepareAnnotated("a", image, zebra),
        RejectedInputException.class);
    assertThat(unknown.reason()).isEqualTo(FailureReason.UNKNOWN_LABEL_VALUES);
    assertThat(unknown.getMessage()).contains("'zebra' (4 px)");
    assertThat(p.prepareAnnotated("a", image, zebra).unknownPixels()).isEqualTo(4);
  }
}
