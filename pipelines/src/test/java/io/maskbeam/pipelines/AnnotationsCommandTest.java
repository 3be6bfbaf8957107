package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.dataset.TestImages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code preprocess --layout=coco|labelme} end to end through the command line: annotations drawn into masks, every
 * malformed input rejected with its reason, counts reconciled.
 */
class AnnotationsCommandTest {
  static final String LABEL_MAP = "{\"classes\": [\"background\", \"cat\", \"dog\"]}";

  @TempDir Path dir;

  private void put(String relative, String text) throws IOException {
    put(relative, text.getBytes(StandardCharsets.UTF_8));
  }

  private void put(String relative, byte[] bytes) throws IOException {
    Path p = dir.resolve(relative);
    Files.createDirectories(p.getParent());
    Files.write(p, bytes);
  }

  private static Map<String, String> reasons(Path out) throws IOException {
    Map<String, String> reasonById = new HashMap<>();
    for (JsonNode r : TestData.jsonLines(out.resolve("rejected"))) {
      assertThat(r.path("message").asText()).isNotBlank();
      reasonById.put(r.path("id").asText(), r.path("reason").asText() + ": " + r.path("message").asText());
    }
    return reasonById;
  }

  private static Map<String, int[]> classHistograms(Path out) throws IOException {
    Map<String, int[]> byId = new HashMap<>();
    List<TfRecordSpecReader.DeepLab> examples = TestData.readShards(out, "train");
    examples.addAll(TestData.readShards(out, "val"));
    for (TfRecordSpecReader.DeepLab e : examples) {
      int[] h = new int[256];
      for (int v : TestData.rawValues(e.label())) {
        h[v]++;
      }
      byId.put(e.filename(), h);
    }
    return byId;
  }

  @Test
  void cocoPolygonsAndRleBecomeMasksAndEveryBadEntryIsRejectedWithItsReason() throws IOException {
    for (String name : new String[] {"a", "b", "c", "d", "f"}) {
      put("images/" + name + ".png", TestImages.rgbPng(32, 24, name.charAt(0)));
    }
    // a: a cat square (polygon, 10x10 px) on a dog (compressed RLE of the left 16 columns): smaller on top.
    String coco = """
        {"info": {"description": "test"},
         "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "Dog"}, {"id": 42, "name": "zebra"}],
         "images": [
           {"id": 1, "file_name": "a.png", "width": 32, "height": 24},
           {"id": 2, "file_name": "b.png", "width": 32, "height": 24},
           {"id": 3, "file_name": "c.png", "width": 32, "height": 24},
           {"id": 4, "file_name": "d.png", "width": 32, "height": 24},
           {"id": 5, "file_name": "e.png", "width": 32, "height": 24},
           {"id": 6, "file_name": "f.png", "width": 32, "height": 24}],
         "annotations": [
           {"id": 10, "image_id": 1, "category_id": 2, "iscrowd": 1,
            "segmentation": {"size": [24, 32], "counts": [0, 384, 384]}},
           {"id": 11, "image_id": 1, "category_id": 1, "segmentation": [[2, 2, 12, 2, 12, 12, 2, 12]]},
           {"id": 12, "image_id": 3, "category_id": 1, "segmentation": [[2, 2, 12, 2]]},
           {"id": 13, "image_id": 4, "category_id": 1, "segmentation": {"size": [10, 10], "counts": [0, 100]}},
           {"id": 14, "image_id": 6, "category_id": 42, "segmentation": [[0, 0, 4, 0, 4, 4]]},
           {"id": 15, "image_id": 99, "category_id": 1, "segmentation": [[0, 0, 4, 0, 4, 4]]}]}
        """;
    put("coco/instances.json", coco);
    Path out = dir.resolve("out");
    TestData.Run run = TestData.cli("preprocess", "--layout=coco", "--annotations=" + dir.resolve("coco/instances.json"),
        "--images=" + dir.resolve("images"), "--labelMap=" + LABEL_MAP, "--unknownLabels=reject", "--output=" + out);
    assertThat(run.exitCode()).as(run.err()).isZero();

    Map<String, String> reasons = reasons(out);
    assertThat(reasons).hasSize(5);
    assertThat(reasons.get("c")).startsWith("INVALID_ANNOTATION").contains("annotation 12").contains("3 points");
    assertThat(reasons.get("d")).startsWith("SIZE_MISMATCH").contains("RLE of 10x10 on an image of 32x24");
    assertThat(reasons.get("e")).startsWith("MISSING_IMAGE");
    assertThat(reasons.get("f")).startsWith("UNKNOWN_LABEL_VALUES").contains("'zebra'");
    assertThat(reasons.get("image_id 99")).startsWith("MISSING_IMAGE").contains("image id 99");

    Map<String, int[]> histograms = classHistograms(out);
    assertThat(histograms).containsOnlyKeys("a", "b");
    int[] a = histograms.get("a");
    assertThat(a[1]).isEqualTo(100);
    assertThat(a[2]).isEqualTo(384 - 100);
    assertThat(a[0]).isEqualTo(32 * 24 - 384);
    assertThat(histograms.get("b")[0]).as("an image without annotations is background").isEqualTo(32 * 24);

    JsonNode counts = TestData.json(out.resolve("dataset.json")).path("counts");
    assertThat(counts.path("written").asLong()).isEqualTo(2);
    assertThat(counts.path("rejected").asLong()).isEqualTo(5);
    assertThat(run.out()).contains("inputs 7 = written 2 + rejected 5");

    // A file cut off part-way: no image goes on with only some of its annotations.
    put("coco/cut.json", coco.substring(0, coco.indexOf("{\"id\": 14")));
    Path cutOut = dir.resolve("out-cut");
    TestData.Run cut = TestData.cli("preprocess", "--layout=coco", "--annotations=" + dir.resolve("coco/cut.json"),
        "--images=" + dir.resolve("images"), "--labelMap=" + LABEL_MAP, "--output=" + cutOut);
    assertThat(reasons(cutOut)).hasSize(1);
    assertThat(reasons(cutOut).get("cut")).startsWith("INVALID_ANNOTATION").contains("not valid JSON at line")
        .contains("no image of the file is read");
    assertThat(cut.out() + cut.err()).contains("written 0");
  }

  @Test
  void labelMeFilesBecomeMasksAndMalformedOnesAreRejected() throws IOException {
    put("images/one.png", TestImages.rgbPng(20, 10, 1));
    put("images/two.png", TestImages.rgbPng(20, 10, 2));
    put("labelme/one.json", """
        {"version": "5.4.1", "flags": {}, "imagePath": "../images/one.png", "imageData": null,
         "imageWidth": 20, "imageHeight": 10,
         "shapes": [
          {"label": "dog", "points": [[0, 0], [10, 0], [10, 10], [0, 10]], "shape_type": "polygon"},
          {"label": "cat", "points": [[2, 2], [6, 7]], "shape_type": "rectangle"},
          {"label": "cat", "points": [[0, 0], [9, 9]], "shape_type": "line"}]}
        """);
    put("labelme/two.json", """
        {"imagePath": "../images/two.png", "shapes": [{"label": "cat", "points": [[1, 1], [5, 5]]}]}
        """);
    put("labelme/broken.json", "{\"imagePath\": \"x.png\", \"shapes\": [");
    put("labelme/lost.json", "{\"imagePath\": \"../images/lost.png\", \"shapes\": []}");
    put("labelme/notes.txt", "not an annotation");
    Path out = dir.resolve("out");
    TestData.Run run = TestData.cli("preprocess", "--layout=labelme", "--annotations=" + dir.resolve("labelme"),
        "--labelMap=" + LABEL_MAP, "--output=" + out);
    assertThat(run.exitCode()).as(run.err()).isZero();

    Map<String, String> reasons = reasons(out);
    assertThat(reasons).hasSize(3);
    assertThat(reasons.get("two")).startsWith("INVALID_ANNOTATION").contains("shape 0 ('cat')");
    assertThat(reasons.get("broken")).startsWith("INVALID_ANNOTATION").contains("not JSON");
    assertThat(reasons.get("lost")).startsWith("MISSING_IMAGE");
    int[] one = classHistograms(out).get("one");
    assertThat(one[1]).isEqualTo(4 * 5);
    assertThat(one[2]).isEqualTo(100 - 20);
    assertThat(one[0]).isEqualTo(100);
    assertThat(run.out()).contains("inputs 4 = written 1 + rejected 3");
  }

  @Test
  void cvatCityscapesPolygonsAndVertexLayouts() throws IOException {
    // CVAT: images/ beside the XML, as CVAT exports them; one good image, one with a bad shape, one whose file is
    // missing.
    put("cvat/images/one.png", TestImages.rgbPng(20, 10, 1));
    put("cvat/images/bad.png", TestImages.rgbPng(20, 10, 2));
    put("cvat/annotations.xml", """
        <?xml version="1.0" encoding="utf-8"?>
        <annotations><version>1.1</version>
          <image id="0" name="one.png" width="20" height="10">
            <polygon label="dog" points="0,0;10,0;10,10;0,10" z_order="0"/>
            <mask label="cat" rle="0, 4, 2" left="0" top="0" width="2" height="3" z_order="1"/>
          </image>
          <image id="1" name="bad.png" width="20" height="10"><box label="cat" xtl="a" ytl="0" xbr="1" ybr="1"/></image>
          <image id="2" name="gone.png" width="20" height="10"/>
        </annotations>
        """);
    Path cvatOut = dir.resolve("out-cvat");
    TestData.Run cvat = TestData.cli("preprocess", "--layout=cvat", "--annotations=" + dir.resolve(
        "cvat/annotations.xml"), "--labelMap=" + LABEL_MAP, "--output=" + cvatOut);
    assertThat(cvat.exitCode()).as(cvat.err()).isZero();
    Map<String, String> cvatReasons = reasons(cvatOut);
    assertThat(cvatReasons).containsOnlyKeys("bad", "gone");
    assertThat(cvatReasons.get("bad")).startsWith("INVALID_ANNOTATION").contains("\"xtl\" is not a number");
    assertThat(cvatReasons.get("gone")).startsWith("MISSING_IMAGE");
    int[] one = classHistograms(cvatOut).get("one");
    assertThat(one[1]).isEqualTo(4);
    assertThat(one[2]).isEqualTo(100 - 4);
    assertThat(cvat.out()).contains("inputs 3 = written 1 + rejected 2");

    // Cityscapes polygons: splits from the folders, polygon files read with the images.
    put("cs/leftImg8bit/train/ulm/ulm_000000_000019_leftImg8bit.png", TestImages.rgbPng(16, 8, 3));
    put("cs/gtFine/train/ulm/ulm_000000_000019_gtFine_polygons.json", """
        {"imgHeight": 8, "imgWidth": 16, "objects": [{"label": "cargroup", "polygon": [[0, 0], [8, 0], [8, 8], [0, 8]]}]}
        """);
    put("cs/leftImg8bit/val/ulm/ulm_000001_000019_leftImg8bit.png", TestImages.rgbPng(16, 8, 4));
    put("cs/gtFine/val/ulm/ulm_000001_000019_gtFine_polygons.json", "{\"objects\": [{\"label\": \"car\"}]}");
    Path csOut = dir.resolve("out-cs");
    TestData.Run cs = TestData.cli("preprocess", "--layout=cityscapes-polygons", "--root=" + dir.resolve("cs"),
        "--labelMap={\"classes\": [\"background\", \"cat\", \"dog\", \"car\"]}", "--output=" + csOut);
    assertThat(cs.exitCode()).as(cs.err()).isZero();
    assertThat(reasons(csOut).get("ulm_000001_000019")).startsWith("INVALID_ANNOTATION").contains("object 0 ('car')");
    assertThat(TestData.readShards(csOut, "train")).hasSize(1);
    assertThat(classHistograms(csOut).get("ulm_000000_000019")[3]).isEqualTo(64);

    // Vertex AI: a colour-coded mask and normalised polygons; a test-split line and a broken line are rejected.
    put("vertex/img/m.png", TestImages.rgbPng(8, 4, 5));
    put("vertex/img/p.png", TestImages.rgbPng(8, 4, 6));
    put("vertex/img/t.png", TestImages.rgbPng(8, 4, 7));
    put("vertex/masks/m.png", TestImages.colourMask(8, 4, 0xff0000, 0x000000));
    put("vertex/import.jsonl", String.join("\n",
        "{\"imageGcsUri\": \"img/m.png\", \"segmentationAnnotation\": {\"maskGcsUri\": \"masks/m.png\","
            + " \"annotationSpecColors\": [{\"color\": {\"red\": 1.0}, \"displayName\": \"cat\"}]},"
            + " \"dataItemResourceLabels\": {\"aiplatform.googleapis.com/ml_use\": \"training\"}}",
        "{\"imageGcsUri\": \"img/p.png\", \"polygonAnnotations\": [{\"displayName\": \"dog\", \"vertexes\":"
            + " [{\"x\": 0, \"y\": 0}, {\"x\": 0.5, \"y\": 0}, {\"x\": 0.5, \"y\": 1}, {\"x\": 0, \"y\": 1}]}]}",
        "{\"imageGcsUri\": \"img/t.png\", \"polygonAnnotation\": {\"displayName\": \"dog\", \"vertexes\":"
            + " [{\"x\": 0, \"y\": 0}, {\"x\": 1, \"y\": 0}, {\"x\": 1, \"y\": 1}]},"
            + " \"dataItemResourceLabels\": {\"aiplatform.googleapis.com/ml_use\": \"test\"}}",
        "{\"imageGcsUri\": ", ""));
    Path vertexOut = dir.resolve("out-vertex");
    TestData.Run vertex = TestData.cli("preprocess", "--layout=vertex", "--annotations=" + dir.resolve(
        "vertex/import.jsonl"), "--labelMap=" + LABEL_MAP, "--output=" + vertexOut);
    assertThat(vertex.exitCode()).as(vertex.err()).isZero();
    List<String> vertexReasons = TestData.jsonLines(vertexOut.resolve("rejected")).stream()
        .map(r -> r.path("reason").asText()).sorted().toList();
    assertThat(vertexReasons).containsExactly("INVALID_ANNOTATION", "UNKNOWN_SPLIT");
    Map<String, int[]> vertexClasses = classHistograms(vertexOut);
    int[] fromMask = vertexClasses.get("m");
    long red = java.util.stream.IntStream.range(0, 32).filter(i -> (i / 9) % 2 == 0).count(); // colourMask's cycle
    assertThat(fromMask[1]).isEqualTo(red);
    assertThat(fromMask[0]).isEqualTo(32 - red);
    assertThat(vertexClasses.get("p")[2]).isEqualTo(16);
    assertThat(vertex.out()).contains("inputs 4 = written 2 + rejected 2");
  }

  @Test
  void segmentWritesAnnotationsThatPreprocessReadsBackToTheSameMasks() throws IOException {
    Path model = CamVidModel.get();
    Path in = Files.createDirectories(dir.resolve("in"));
    for (String name : CamVidModel.names("val", 3)) {
      Files.copy(TestData.camvid().resolve("val").resolve(name), in.resolve(name));
    }
    Path out = dir.resolve("segmented");
    TestData.Run run = TestData.cli("segment", "--model=" + model, "--input=" + in + "/*.png", "--output=" + out,
        "--writeAnnotations=coco,labelme", "--polygonTolerance=0", "--writeOverlays=false");
    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out()).contains("annotations.coco.json").contains("labelme:");

    JsonNode coco = TestData.json(out.resolve("annotations.coco.json"));
    assertThat(coco.path("images")).hasSize(3);
    assertThat(coco.path("categories")).hasSize(CamVidModel.CLASSES);
    assertThat(coco.path("annotations").size()).as("several classes per image").isGreaterThan(2 * 3);
    java.util.Set<Long> imageIds = new java.util.HashSet<>();
    coco.path("images").forEach(i -> imageIds.add(i.path("id").asLong()));
    java.util.Set<Long> annotationIds = new java.util.HashSet<>();
    for (JsonNode a : coco.path("annotations")) {
      assertThat(imageIds).contains(a.path("image_id").asLong());
      assertThat(annotationIds.add(a.path("id").asLong())).as("annotation ids are unique").isTrue();
      assertThat(a.path("segmentation").path("counts").isTextual()).isTrue();
      assertThat(a.path("area").asLong()).isPositive();
    }

    // The labelling loop closes: what segment wrote, preprocess reads back as the very same class masks.
    Path fromCoco = dir.resolve("from-coco");
    TestData.Run cocoBack = TestData.cli("preprocess", "--layout=coco", "--annotations=" + out.resolve(
        "annotations.coco.json"), "--labelMap=camvid-11", "--output=" + fromCoco);
    assertThat(cocoBack.exitCode()).as(cocoBack.err()).isZero();
    Path fromLabelMe = dir.resolve("from-labelme");
    TestData.Run labelMeBack = TestData.cli("preprocess", "--layout=labelme", "--annotations=" + out.resolve("labelme"),
        "--labelMap=camvid-11", "--output=" + fromLabelMe);
    assertThat(labelMeBack.exitCode()).as(labelMeBack.err()).isZero();
    for (Path back : List.of(fromCoco, fromLabelMe)) {
      List<TfRecordSpecReader.DeepLab> examples = TestData.readShards(back, "train");
      examples.addAll(TestData.readShards(back, "val"));
      assertThat(examples).as(back.toString()).hasSize(3);
      for (TfRecordSpecReader.DeepLab e : examples) {
        int[] predicted = TestData.rawValues(Files.readAllBytes(out.resolve("masks/" + e.filename() + ".png")));
        assertThat(TestData.rawValues(e.label())).as(back + " " + e.filename()).isEqualTo(predicted);
      }
    }
  

    // evaluate reads the same annotations as ground truth: the model scored on its own predictions agrees with them
    // (up to the rare pixel where evaluate's one-image batches and segment's batches round differently).
    Path evaluated = dir.resolve("evaluated");
    TestData.Run eval = TestData.cli("evaluate", "--model=" + model,
        "--annotations=" + out.resolve("annotations.coco.json"), "--output=" + evaluated, "--examples=1");
    assertThat(eval.exitCode()).as(eval.out() + eval.err()).isZero();
    JsonNode metrics = TestData.json(evaluated.resolve("metrics.json"));
    assertThat(metrics.path("pixelAccuracy").asDouble()).isGreaterThan(0.999);
    assertThat(eval.out()).contains("evaluated 3");
    TestData.Run both = TestData.cli("evaluate", "--model=" + model, "--masks=" + in, "--annotations=" + out.resolve(
        "annotations.coco.json"), "--output=" + dir.resolve("nope"));
    assertThat(both.exitCode()).isEqualTo(2);
    assertThat(both.err()).contains("exactly one of --data");
  }
}
