package io.maskbeam.annotations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.maskbeam.labels.LabelMap;
import io.maskbeam.labels.LabelMaps;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** CVAT XML, Cityscapes polygons and Vertex AI JSON Lines, each read to exact pixel counts or refused. */
class MoreFormatsTest {
  private static final LabelMap MAP = LabelMaps.parse("{\"classes\": [\"background\", \"cat\", \"dog\", \"car\"]}",
      "test");

  private static int[] histogram(ImageAnnotation a, int w, int h) {
    int[] out = new int[256];
    for (byte b : a.rasterize(MAP, w, h).classes()) {
      out[b & 0xFF]++;
    }
    return out;
  }

  private static Map<String, Object> readCvat(String xml) throws InvalidAnnotationException {
    Map<String, Object> out = new LinkedHashMap<>();
    CvatFormat.read(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)), new CvatFormat.Sink() {
      @Override
      public void image(CvatFormat.Image image) {
        out.put(image.name(), image);
      }

      @Override
      public void invalid(String name, String message) {
        out.put(name, message);
      }
    });
    return out;
  }

  @Test
  void cvatShapesOfEveryKindWithZOrderAndMaskRle() throws Exception {
    String xml = """
        <?xml version="1.0" encoding="utf-8"?>
        <annotations>
          <version>1.1</version>
          <meta><task><name>t</name></task></meta>
          <image id="0" name="a.png" width="20" height="10">
            <box label="dog" occluded="0" source="manual" xtl="0" ytl="0" xbr="10" ybr="10" z_order="1"></box>
            <polygon label="cat" source="manual" occluded="0" points="0,0;20,0;20,10;0,10" z_order="0"></polygon>
            <mask label="car" source="manual" occluded="0" rle="2, 3, 1, 3, 6" left="12" top="2" width="3"
                height="5" z_order="2"></mask>
            <polyline label="cat" points="0,0;5,5" z_order="3"></polyline>
          </image>
          <image id="1" name="b.png" width="10" height="10">
            <polygon label="cat" points="0,0;5,5" z_order="0"></polygon>
          </image>
          <image id="2" name="c.png" width="10" height="10">
            <mask label="car" rle="1, 2" left="9" top="0" width="3" height="1"></mask>
          </image>
          <image id="3" name="d.png" width="10" height="10">
            <box label="dog" xtl="2" ytl="2" xbr="6" ybr="4" rotation="90"></box>
          </image>
        </annotations>
        """;
    Map<String, Object> images = readCvat(xml);
    CvatFormat.Image a = (CvatFormat.Image) images.get("a.png");
    assertThat(a.skippedShapes()).isEqualTo(1);
    int[] h = histogram(a.annotation(), 20, 10);
    // The box (z 1) lies over the polygon (z 0) though written first; the mask (z 2) sets 3 + 3 pixels: the runs
    // are 2 off, 3 on, 1 off, 3 on, 6 off in its 3x5 box, row by row.
    assertThat(h[3]).isEqualTo(6);
    assertThat(h[2]).isEqualTo(100);
    assertThat(h[1]).isEqualTo(200 - 100 - 6);
    assertThat((String) images.get("b.png")).contains("polygon 0 ('cat')").contains("at least 3 points");
    assertThat((String) images.get("c.png")).contains("mask box 3x1 at (9, 0) is not inside");
    // A 4x2 box turned a quarter about its centre (4, 3) covers 2x4 pixels: x 3..5, y 1..5.
    int[] d = histogram(((CvatFormat.Image) images.get("d.png")).annotation(), 10, 10);
    assertThat(d[2]).isEqualTo(8);

    assertThatThrownBy(() -> readCvat("<annotations><image name=\"x\" width=\"1\" height=\"1\"></annotations>"))
        .isInstanceOf(InvalidAnnotationException.class).hasMessageContaining("not well-formed XML");
    assertThatThrownBy(() -> readCvat("<dataset/>")).hasMessageContaining("root element is <annotations>");
  }

  @Test
  void cityscapesPolygonsPaintInOrderAndGroupsAreTheirClass() throws Exception {
    String json = """
        {"imgHeight": 10, "imgWidth": 10, "objects": [
          {"label": "dog", "polygon": [[0, 0], [10, 0], [10, 10], [0, 10]]},
          {"label": "cargroup", "polygon": [[0, 0], [4, 0], [4, 5], [0, 5]]},
          {"label": "cat", "polygon": [[5, 5], [9, 5], [9, 9]], "deleted": 1}]}
        """;
    ImageAnnotation a = CityscapesFormat.read(json.getBytes(StandardCharsets.UTF_8));
    assertThat(a.regions()).hasSize(2);
    int[] h = histogram(a, 10, 10);
    assertThat(h[3]).isEqualTo(20);
    assertThat(h[2]).isEqualTo(80);
    assertThatThrownBy(() -> CityscapesFormat.read("{\"objects\": [{\"label\": \"car\", \"polygon\": [[0,0]]}]}"
        .getBytes(StandardCharsets.UTF_8))).hasMessageContaining("object 0 ('car')");
  }

  @Test
  void vertexPolygonsAreFractionsOfTheImageAndMasksAreColourTables() throws Exception {
    ObjectMapper json = new ObjectMapper();
    VertexFormat.Line polygons = VertexFormat.line(json.readTree("""
        {"imageGcsUri": "gs://b/img/a.jpg", "polygonAnnotations": [{"displayName": "cat",
          "vertexes": [{"x": 0, "y": 0}, {"x": 0.5, "y": 0}, {"x": 0.5, "y": 0.5}, {"x": 0, "y": 0.5}]}],
         "dataItemResourceLabels": {"aiplatform.googleapis.com/ml_use": "validation"}}
        """));
    assertThat(polygons.split()).isEqualTo("val");
    assertThat(polygons.maskUri()).isNull();
    ImageAnnotation carried = ImageAnnotation.fromJson(polygons.annotation().toJson());
    assertThat(histogram(carried, 20, 10)[1]).isEqualTo(10 * 5);

    VertexFormat.Line mask = VertexFormat.line(json.readTree("""
        {"imageGcsUri": "a.jpg", "segmentationAnnotation": {"maskGcsUri": "masks/a.png", "annotationSpecColors": [
          {"color": {"red": 1.0}, "displayName": "cat"}, {"color": {"green": 1.0, "blue": 1.0}, "displayName": "dog"}]}}
        """));
    ImageAnnotation colours = ImageAnnotation.fromJson(mask.annotation().toJson());
    assertThat(colours.needsMask()).isTrue();
    int[] rgb = new int[12];
    rgb[0] = 0xff0000;
    rgb[5] = 0x00ffff;
    rgb[6] = 0x00ffff;
    rgb[7] = 0x123456;
    ImageAnnotation drawn = colours.withMask(rgb, 4, 3);
    ImageAnnotation.Rasterized r = drawn.rasterize(MAP, 4, 3);
    List<Integer> classes = new ArrayList<>();
    for (byte b : r.classes()) {
      classes.add(b & 0xFF);
    }
    assertThat(classes).containsExactly(1, 0, 0, 0, 0, 2, 2, 255, 0, 0, 0, 0);
    assertThat(r.unknownSample()).contains("'#123456' (1 px)");

    assertThatThrownBy(() -> VertexFormat.line(json.readTree("{\"imageGcsUri\": \"a.jpg\"}")))
        .hasMessageContaining("polygonAnnotation");
    assertThatThrownBy(() -> VertexFormat.line(json.readTree("{\"imageGcsUri\": \"a.jpg\", \"polygonAnnotation\":"
        + " {\"displayName\": \"cat\", \"vertexes\": [{\"x\": 0}]}}"))).hasMessageContaining("at least 3 points");
  }
}
