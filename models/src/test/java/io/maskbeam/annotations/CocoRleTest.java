package io.maskbeam.annotations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** COCO RLE against the reference implementation: cases made by pycocotools (make_coco_rle.py beside the JSON). */
class CocoRleTest {
  record Case(String name, int height, int width, byte[] mask, String counts, long area, double[] bbox) {}

  static List<Case> reference() throws Exception {
    try (InputStream in = CocoRleTest.class.getResourceAsStream("/annotations/coco_rle_reference.json")) {
      JsonNode root = new ObjectMapper().readTree(in);
      assertThat(root.get("generator").asText()).startsWith("pycocotools");
      List<Case> cases = new ArrayList<>();
      for (JsonNode c : root.get("cases")) {
        int h = c.get("height").asInt();
        int w = c.get("width").asInt();
        byte[] mask = new byte[h * w];
        for (int y = 0; y < h; y++) {
          String row = c.get("rows").get(y).asText();
          for (int x = 0; x < w; x++) {
            mask[y * w + x] = (byte) (row.charAt(x) - '0');
          }
        }
        double[] bbox = new double[4];
        for (int i = 0; i < 4; i++) {
          bbox[i] = c.get("bbox").get(i).asDouble();
        }
        cases.add(new Case(c.get("name").asText(), h, w, mask, c.get("counts").asText(), c.get("area").asLong(), bbox));
      }
      return cases;
    }
  }

  @Test
  void encodingMatchesPycocotoolsBitForBit() throws Exception {
    List<Case> cases = reference();
    assertThat(cases).hasSizeGreaterThanOrEqualTo(10);
    for (Case c : cases) {
      CocoRle rle = CocoRle.encode(c.mask(), c.width(), c.height());
      assertThat(rle.toCompressedString()).as(c.name()).isEqualTo(c.counts());
      assertThat(rle.area()).as(c.name()).isEqualTo(c.area());
      assertThat(rle.bbox()).as(c.name()).containsExactly(c.bbox());
    }
  }

  @Test
  void decodingPycocotoolsStringsGivesTheMasksBack() throws Exception {
    for (Case c : reference()) {
      CocoRle rle = CocoRle.fromCompressedString(c.counts(), c.height(), c.width());
      assertThat(rle.decode()).as(c.name()).isEqualTo(c.mask());
      assertThat(CocoRle.encode(rle.decode(), c.width(), c.height())).as(c.name()).isEqualTo(rle);
    }
  }

  @Test
  void countsRunDownColumnsStartingWithZeros() {
    // The COCO format's own example shape: a 4x5 mask (h x w) with a 2x3 block at rows 1-2, columns 1-3.
    byte[] mask = new byte[20];
    for (int y = 1; y <= 2; y++) {
      for (int x = 1; x <= 3; x++) {
        mask[y * 5 + x] = 1;
      }
    }
    CocoRle rle = CocoRle.encode(mask, 5, 4);
    assertThat(rle.counts()).containsExactly(5, 2, 2, 2, 2, 2, 5);
    assertThat(rle.toCompressedString()).isEqualTo("5220003");
    // A mask starting with its first pixel set opens with an empty run of zeros.
    byte[] first = new byte[4];
    first[0] = 1;
    assertThat(CocoRle.encode(first, 2, 2).counts()).containsExactly(0, 1, 3);
  }

  @Test
  void malformedRleIsRefusedWithTheReason() {
    assertThatThrownBy(() -> new CocoRle(4, 5, new long[] {5, 2}))
        .hasMessageContaining("sum to 7").hasMessageContaining("20 pixels");
    assertThatThrownBy(() -> CocoRle.fromCompressedString("5220003", 5, 5)).hasMessageContaining("25 pixels");
    assertThatThrownBy(() -> CocoRle.fromCompressedString("52~", 4, 5)).hasMessageContaining("alphabet");
    assertThatThrownBy(() -> CocoRle.fromCompressedString("5R", 4, 5)).hasMessageContaining("ends inside");
  }
}
