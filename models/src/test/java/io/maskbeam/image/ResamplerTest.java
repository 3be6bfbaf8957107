package io.maskbeam.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ResamplerTest {

  @Test
  void nearestNeverInventsLabels() {
    Random rnd = new Random(1);
    byte[] labels = new byte[97 * 61];
    Set<Integer> present = new HashSet<>();
    for (int i = 0; i < labels.length; i++) {
      int v = new int[] {0, 3, 7, 255}[rnd.nextInt(4)];
      labels[i] = (byte) v;
      present.add(v);
    }
    for (int[] size : new int[][] {{40, 25}, {200, 131}, {97, 61}, {1, 1}}) {
      LabelImage out = Resampler.resizeNearest(new LabelImage(97, 61, labels), size[0], size[1]);
      assertThat(out.width()).isEqualTo(size[0]);
      assertThat(out.height()).isEqualTo(size[1]);
      for (byte b : out.labels()) {
        assertThat(present).contains(b & 0xFF);
      }
    }
  }

  @Test
  void nearestUpscaleByTwoRepeatsEachPixel() {
    LabelImage src = new LabelImage(2, 1, new byte[] {1, 2});
    LabelImage out = Resampler.resizeNearest(src, 4, 2);
    assertThat(out.labels()).containsExactly(1, 1, 2, 2, 1, 1, 2, 2);
  }

  @Test
  void downscaleAveragesInsteadOfAliasing() {
    // A one-pixel checkerboard: a point-sampling resize returns all black or all white; an antialiased one grey.
    int w = 64;
    byte[] px = new byte[w * w * 3];
    for (int y = 0; y < w; y++) {
      for (int x = 0; x < w; x++) {
        byte v = (byte) (((x + y) & 1) == 0 ? 0 : 255);
        int o = (y * w + x) * 3;
        px[o] = v;
        px[o + 1] = v;
        px[o + 2] = v;
      }
    }
    RgbImage out = Resampler.resize(new RgbImage(w, w, px), 16, 16);
    for (int i = 0; i < out.pixels().length; i++) {
      assertThat(out.pixels()[i] & 0xFF).isBetween(112, 143);
    }
  }

  @Test
  void constantImageStaysConstantAtAnySize() {
    byte[] px = new byte[31 * 17 * 3];
    for (int i = 0; i < px.length; i += 3) {
      px[i] = 10;
      px[i + 1] = (byte) 200;
      px[i + 2] = 77;
    }
    for (int[] size : new int[][] {{5, 3}, {62, 34}, {100, 7}}) {
      RgbImage out = Resampler.resize(new RgbImage(31, 17, px), size[0], size[1]);
      for (int i = 0; i < out.pixels().length; i += 3) {
        assertThat(new int[] {out.pixels()[i], out.pixels()[i + 1] & 0xFF, out.pixels()[i + 2]})
            .containsExactly(10, 200, 77);
      }
    }
  }

  @Test
  void resizePolicies() {
    assertThat(ResizePolicy.parse("keep").targetSize(480, 360)).containsExactly(480, 360);
    assertThat(ResizePolicy.parse("512x256").targetSize(480, 360)).containsExactly(512, 256);
    assertThat(ResizePolicy.parse("shorter:180").targetSize(480, 360)).containsExactly(240, 180);
    assertThat(ResizePolicy.parse("longer:240").targetSize(480, 360)).containsExactly(240, 180);
    assertThat(ResizePolicy.parse("shorter:180").toString()).isEqualTo("shorter:180");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> ResizePolicy.parse("big"))
        .hasMessageContaining("WIDTHxHEIGHT");
  }
}
