package io.maskbeam.models.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.maskbeam.models.infer.SegmentationModel;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A network of raw bands: float32 input normalised per band in the graph, NaN as no data, exported and reloaded. */
class BandGraphTest {
  @TempDir Path dir;

  static TrainConfig config() {
    return new TrainConfig(new TrainConfig.UNetSpec(2, 8, true), 2, 255, TrainConfig.LossSpec.crossEntropy(),
        new TrainConfig.OptimizerSpec(TrainConfig.Optimizer.ADAM, 0.9f, false, 0f), 42,
        new TrainConfig.InputSpec(5, "uint16", new int[] {1, 2, 3, 4, 5}, new float[] {2000, 2000, 2000, 2000, 1800},
            new float[] {577, 577, 577, 577, 600}));
  }

  /** Class 1 where band 5 is high; bands 1-4 noise. */
  static float[] bands(int n, int size, int[] labels, Random rnd) {
    float[] x = new float[n * size * size * 5];
    for (int p = 0; p < n * size * size; p++) {
      labels[p] = rnd.nextBoolean() ? 1 : 0;
      for (int b = 0; b < 4; b++) {
        x[p * 5 + b] = 1000 + rnd.nextInt(2000);
      }
      x[p * 5 + 4] = (labels[p] == 1 ? 2400 : 1200) + rnd.nextInt(300);
    }
    return x;
  }

  @Test
  void learnsFromTheFifthBandAndTheExportedModelTakesRawBands() throws Exception {
    Random rnd = new Random(1);
    int size = 16;
    try (SegmentationGraph graph = new SegmentationGraph(config())) {
      assertThat(graph.describeInput()).isEqualTo("5 raw uint16 bands");
      for (int step = 0; step < 60; step++) {
        int[] labels = new int[4 * size * size];
        graph.trainStep(bands(4, size, labels, rnd), labels, 4, size, size, 0.01f);
      }
      int[] truth = new int[size * size];
      float[] test = bands(1, size, truth, rnd);
      int[] predicted = graph.predict(test, 1, size, size);
      int right = 0;
      for (int p = 0; p < truth.length; p++) {
        right += predicted[p] == truth[p] ? 1 : 0;
      }
      assertThat((double) right / truth.length).isGreaterThan(0.95);
      assertThatThrownBy(() -> graph.predict(new byte[size * size * 3], 1, size, size))
          .hasMessageContaining("takes 5 raw uint16 bands");
      // NaN (no data) is read as the band's mean: if it spread through the convolutions every logit would be NaN
      // and the arg-max one class everywhere; instead the pixels with data keep their answers.
      float[] empty = test.clone();
      java.util.Arrays.fill(empty, 0, 5 * size, Float.NaN);
      int[] withHole = graph.predict(empty, 1, size, size);
      int kept = 0;
      for (int p = size; p < truth.length; p++) {
        kept += withHole[p] == predicted[p] ? 1 : 0;
      }
      assertThat((double) kept / (truth.length - size)).isGreaterThan(0.9);

      Path model = dir.resolve("model");
      graph.export(model);
      java.nio.file.Files.writeString(model.resolve("maskbeam-model.json"), "{\"numClasses\": 2, \"training\":"
          + " {\"config\": " + new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(config())
          + "}}");
      try (SegmentationModel loaded = SegmentationModel.load(model)) {
        assertThat(loaded.inputBands()).isEqualTo(5);
        assertThat(loaded.metadata().rawBands().sourceBands()).containsExactly(1, 2, 3, 4, 5);
        byte[] labels = loaded.labelsOf(test, 1, size, size);
        for (int p = 0; p < predicted.length; p++) {
          assertThat(labels[p]).isEqualTo((byte) predicted[p]);
        }
        assertThatThrownBy(() -> loaded.probabilities(new byte[size * size * 3], 1, size, size))
            .hasMessageContaining("trained on 5 raw bands");
      }
    }
  }

  @Test
  void rgbWeightsInflatedToSixBandsGiveTheRgbModelsAnswerOnBandsThatRepeatRgb() {
    TrainConfig rgb = new TrainConfig(new TrainConfig.UNetSpec(2, 8, true), 3, 255, TrainConfig.LossSpec.crossEntropy(),
        new TrainConfig.OptimizerSpec(TrainConfig.Optimizer.ADAM, 0.9f, false, 0f), 42);
    // Bands c and c + 3 hold RGB channel c; their statistics are ImageNet's on the 0..255 scale, so the six-band
    // graph normalises each band exactly as the RGB graph normalises its channel.
    float[] mean = new float[6];
    float[] std = new float[6];
    for (int c = 0; c < 6; c++) {
      mean[c] = 255f * SegmentationGraph.MEAN[c % 3];
      std[c] = 255f * SegmentationGraph.STD[c % 3];
    }
    TrainConfig six = new TrainConfig(rgb.network(), 3, 255, rgb.loss(), rgb.optimizer(), 7,
        new TrainConfig.InputSpec(6, "uint8", new int[] {1, 2, 3, 4, 5, 6}, mean, std));
    Random rnd = new Random(3);
    int size = 16;
    byte[] image = new byte[size * size * 3];
    rnd.nextBytes(image);
    float[] repeated = new float[size * size * 6];
    for (int p = 0; p < size * size; p++) {
      for (int c = 0; c < 6; c++) {
        repeated[p * 6 + c] = image[p * 3 + c % 3] & 0xff;
      }
    }
    try (SegmentationGraph a = new SegmentationGraph(rgb); SegmentationGraph b = new SegmentationGraph(six)) {
      // Train the RGB graph a little so its answer is not a constant.
      int[] labels = new int[size * size];
      for (int p = 0; p < labels.length; p++) {
        labels[p] = (image[p * 3] & 0xff) % 3;
      }
      for (int step = 0; step < 20; step++) {
        a.trainStep(image, labels, 1, size, size, 0.01f);
      }
      java.util.Map<String, float[]> weights = a.readAll();
      String first = b.firstConvolution();
      assertThat(first).isEqualTo("enc0_c1_w");
      b.assignInflating(weights, 3);
      assertThat(b.read(first)).containsExactly(SegmentationGraph.inflate(weights.get(first), 3, 3, 6, 8));
      int[] expected = a.predict(image, 1, size, size);
      int[] inflated = b.predict(repeated, 1, size, size);
      int same = 0;
      for (int p = 0; p < expected.length; p++) {
        same += inflated[p] == expected[p] ? 1 : 0;
      }
      // The same sums in another order: equal up to float rounding, so at most a near-tie may differ.
      assertThat((double) same / expected.length).isGreaterThanOrEqualTo(0.99);
      assertThat(java.util.Arrays.stream(expected).distinct().count()).isGreaterThan(1);
    }
    // One channel takes the sum of the RGB kernels.
    float[] kernel = {1, 2, 3, 4, 5, 6}; // [1, 1, 3, 2]
    assertThat(SegmentationGraph.inflate(kernel, 1, 3, 1, 2)).containsExactly(9, 12);
  }
}
