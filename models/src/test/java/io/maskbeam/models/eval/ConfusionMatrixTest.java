package io.maskbeam.models.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class ConfusionMatrixTest {
  private static final Offset<Double> EPS = Offset.offset(1e-12);

  @Test
  void metricsOfAHandComputedMatrix() {
    // truth:     0 0 0 1 1 2 255
    // predicted: 0 0 1 1 2 2 0      (the ignore pixel never counts)
    ConfusionMatrix m = new ConfusionMatrix(3).add(new int[] {0, 0, 0, 1, 1, 2, 255}, new int[] {0, 0, 1, 1, 2, 2, 0});
    assertThat(m.total()).isEqualTo(6);
    assertThat(m.get(0, 0)).isEqualTo(2);
    assertThat(m.get(0, 1)).isEqualTo(1);
    // IoU: class 0: 2 / (3 + 2 - 2) = 2/3; class 1: 1 / (2 + 2 - 1) = 1/3; class 2: 1 / (1 + 2 - 1) = 1/2
    assertThat(m.iou()[0]).isCloseTo(2.0 / 3, EPS);
    assertThat(m.iou()[1]).isCloseTo(1.0 / 3, EPS);
    assertThat(m.iou()[2]).isCloseTo(1.0 / 2, EPS);
    assertThat(m.meanIou()).isCloseTo((2.0 / 3 + 1.0 / 3 + 0.5) / 3, EPS);
    assertThat(m.pixelAccuracy()).isCloseTo(4.0 / 6, EPS);
    assertThat(m.meanAccuracy()).isCloseTo((2.0 / 3 + 1.0 / 2 + 1.0) / 3, EPS);
    assertThat(m.frequencyWeightedIou()).isCloseTo(3.0 / 6 * 2 / 3 + 2.0 / 6 / 3 + 1.0 / 6 / 2, EPS);
    // Dice: 2TP / (row + column): class 0: 4/5, class 1: 2/4, class 2: 2/3
    assertThat(m.dice()).containsExactly(new double[] {0.8, 0.5, 2.0 / 3}, EPS);
  }

  @Test
  void perfectPredictionHasIouOneAndAbsentClassesAreLeftOut() {
    ConfusionMatrix m = new ConfusionMatrix(4).add(new int[] {0, 1, 1, 255}, new int[] {0, 1, 1, 3});
    assertThat(m.iou()[0]).isEqualTo(1.0);
    assertThat(m.iou()[1]).isEqualTo(1.0);
    assertThat(m.iou()[2]).isNaN();
    assertThat(m.meanIou()).isEqualTo(1.0);
  }

  @Test
  void mergingEqualsASinglePass() {
    int[] truth = {0, 1, 2, 2, 1, 0, 255, 2};
    int[] predicted = {0, 2, 2, 1, 1, 0, 1, 2};
    ConfusionMatrix whole = new ConfusionMatrix(3).add(truth, predicted);
    ConfusionMatrix merged = new ConfusionMatrix(3)
        .add(java.util.Arrays.copyOfRange(truth, 0, 3), java.util.Arrays.copyOfRange(predicted, 0, 3))
        .merge(new ConfusionMatrix(3).add(java.util.Arrays.copyOfRange(truth, 3, 8),
            java.util.Arrays.copyOfRange(predicted, 3, 8)));
    assertThat(merged).isEqualTo(whole);
    assertThatThrownBy(() -> whole.add(new int[] {0}, new int[] {7})).hasMessageContaining("outside 0..2");
  }
}
