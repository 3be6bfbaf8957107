package io.maskbeam.models.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.maskbeam.dataset.SyntheticShapes;
import org.junit.jupiter.api.Test;

/** DeepLab v3+ and FCN on ResNet backbones: sizes as published, any input size served, a tiny batch overfitted. */
class ResNetNetworksTest {

  static TrainConfig config(String algorithm, String backbone, int outputStride) {
    return new TrainConfig(TrainConfig.network(algorithm, backbone, outputStride, 4, 8, true),
        SyntheticShapes.NUM_CLASSES, 255, TrainConfig.LossSpec.crossEntropy(),
        new TrainConfig.OptimizerSpec(TrainConfig.Optimizer.ADAM, 0.9f, false, 0f), 13);
  }

  /** Trains one tiny batch until the loss falls below {@code fraction} of its start (at most 150 steps). */
  private static float[] overfit(SegmentationGraph g, int size, long seed, float fraction) {
    return SegmentationGraphTest.trainUntil(g, SegmentationGraphTest.Batch.of(2, size, seed), 1e-3f, fraction,
        Float.MAX_VALUE, 150);
  }

  @Test
  void deeplabOverfitsATinyBatchAndServesOddSizes() {
    try (SegmentationGraph g = new SegmentationGraph(config("deeplabv3plus", "resnet-50", 16))) {
      // ResNet-50 has 23.5 M parameters without its classifier; ASPP and the decoder add about 16 M here.
      assertThat(g.parameterCount()).isBetween(35_000_000L, 45_000_000L);
      float[] loss = overfit(g, 64, 21, 0.2f);
      assertThat(loss[1]).isLessThan(loss[0] * 0.2f);
      assertThat(g.predict(new byte[97 * 131 * 3], 1, 97, 131)).hasSize(97 * 131);
    }
  }

  @Test
  void fcnAtOutputStride8OverfitsATinyBatch() {
    try (SegmentationGraph g = new SegmentationGraph(config("fcn", "resnet-50", 8))) {
      float[] loss = overfit(g, 48, 31, 0.3f);
      assertThat(loss[1]).isLessThan(loss[0] * 0.3f);
      assertThat(g.predict(new byte[33 * 50 * 3], 1, 33, 50)).hasSize(33 * 50);
    }
  }

  @Test
  void pspOverfitsATinyBatchAndServesOddSizes() {
    try (SegmentationGraph g = new SegmentationGraph(config("psp", "resnet-50", 16))) {
      float[] loss = overfit(g, 48, 41, 0.3f);
      assertThat(loss[1]).isLessThan(loss[0] * 0.3f);
      assertThat(g.predict(new byte[37 * 61 * 3], 1, 37, 61)).hasSize(37 * 61);
    }
  }

  @Test
  void resnet101HasItsPublishedSize() {
    try (SegmentationGraph g = new SegmentationGraph(config("fcn", "resnet-101", 16))) {
      // ResNet-101 without classifier: 42.5 M; the FCN head (3x3, 2048 -> 512) adds 9.4 M.
      assertThat(g.parameterCount()).isBetween(50_000_000L, 54_000_000L);
    }
  }
}
