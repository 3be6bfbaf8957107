package io.maskbeam.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class DatasetCoreTest {

  @Test
  void splitsAreStableAndProportional() {
    int val = 0;
    for (int i = 0; i < 20_000; i++) {
      String id = "img_" + i;
      String split = SplitAssigner.assign(id, 0.1, "seed");
      assertThat(SplitAssigner.assign(id, 0.1, "seed")).isEqualTo(split);
      val += split.equals(SplitAssigner.VAL) ? 1 : 0;
    }
    assertThat(val / 20_000.0).isBetween(0.09, 0.11);
    // Growing the fraction only moves examples from train to val, never back.
    for (int i = 0; i < 2_000; i++) {
      if (SplitAssigner.assign("img_" + i, 0.1, "seed").equals(SplitAssigner.VAL)) {
        assertThat(SplitAssigner.assign("img_" + i, 0.2, "seed")).isEqualTo(SplitAssigner.VAL);
      }
    }
    assertThat(SplitAssigner.normalise("Validation")).isEqualTo("val");
    assertThat(SplitAssigner.normalise("training")).isEqualTo("train");
    // A split no stage reads would be written where nothing finds it: refused, naming it.
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> SplitAssigner.normalise("test"))
        .hasMessageContaining("split 'test' is neither train nor val");
  }

  @Test
  void medianFrequencyWeightsFollowTheDefinition() {
    DatasetStatistics s = new DatasetStatistics(3);
    // image 1: 100 labelled px, classes 0 (90) and 1 (10); image 2: 100 px, classes 0 (50) and 2 (50)
    s.add("train", 10, 10, 10, 10, new long[] {90, 10, 0}, 0, 0, false);
    s.add("train", 10, 10, 10, 10, new long[] {50, 0, 50}, 0, 0, false);
    // freq0 = 140/200 = 0.7, freq1 = 10/100 = 0.1, freq2 = 50/100 = 0.5; median = 0.5
    double[] w = s.medianFrequencyWeights("train");
    assertThat(w[0]).isCloseTo(0.5 / 0.7, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(w[1]).isCloseTo(5.0, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(w[2]).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Test
  void mergeIsOrderIndependent() {
    DatasetStatistics a = new DatasetStatistics(2);
    DatasetStatistics b = new DatasetStatistics(2);
    DatasetStatistics c = new DatasetStatistics(2);
    a.add("train", 4, 4, 4, 4, new long[] {10, 6}, 0, 0, false);
    b.add("val", 8, 2, 8, 2, new long[] {16, 0}, 0, 0, true);
    c.add("train", 4, 4, 2, 2, new long[] {1, 2}, 1, 1, true);
    // An example whose every pixel is ignore is counted, in its split and overall, through merges.
    c.add("train", 4, 4, 2, 2, new long[] {0, 0}, 4, 0, false);
    DatasetStatistics abc = new DatasetStatistics(2).merge(a).merge(b).merge(c);
    DatasetStatistics cba = new DatasetStatistics(2).merge(c).merge(b).merge(a);
    assertThat(abc).isEqualTo(cba);
    assertThat(abc.totalExamples()).isEqualTo(4);
    assertThat(abc.allIgnoreExamples()).isEqualTo(1);
    assertThat(abc.splits().get("train").allIgnoreExamples()).isEqualTo(1);
    assertThat(abc.splits().get("val").allIgnoreExamples()).isZero();
    assertThat(abc.splits().get("train").classPixels()).containsExactly(11, 8);
    assertThat(abc.sourceSizes()).containsEntry("4x4", 3L).containsEntry("8x2", 1L);
    assertThatThrownBy(() -> a.merge(new DatasetStatistics(3))).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void tfRecordFramingRoundTripsAndDetectsCorruption() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[][] records = {new byte[0], "hello".getBytes(), new byte[70_000]};
    Arrays.fill(records[2], (byte) 7);
    for (byte[] r : records) {
      TfRecordFraming.write(out, r);
    }
    byte[] bytes = out.toByteArray();
    ByteArrayInputStream in = new ByteArrayInputStream(bytes);
    for (byte[] r : records) {
      assertThat(TfRecordFraming.read(in)).isEqualTo(r);
    }
    assertThat(TfRecordFraming.read(in)).isNull();

    bytes[12 + 0 + 4 + 12 + 2] ^= 1; // flip a bit in "hello"
    ByteArrayInputStream corrupt = new ByteArrayInputStream(bytes);
    TfRecordFraming.read(corrupt);
    assertThatThrownBy(() -> TfRecordFraming.read(corrupt)).hasMessageContaining("checksum");
  }

  @Test
  void syntheticShapesAreDeterministicAndLabelled() {
    SyntheticShapes.Sample a = SyntheticShapes.generate(64, 48, 3);
    SyntheticShapes.Sample b = SyntheticShapes.generate(64, 48, 3);
    assertThat(a.image().pixels()).isEqualTo(b.image().pixels());
    assertThat(a.mask().labels()).isEqualTo(b.mask().labels());
    boolean foreground = false;
    for (byte v : a.mask().labels()) {
      assertThat(v & 0xFF).isLessThan(SyntheticShapes.NUM_CLASSES);
      foreground |= v != 0;
    }
    assertThat(foreground).isTrue();
  }
}
