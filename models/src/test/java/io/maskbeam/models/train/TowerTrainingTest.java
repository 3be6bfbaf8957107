package io.maskbeam.models.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.maskbeam.dataset.SyntheticShapes;
import io.maskbeam.models.infer.Precision;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel towers on TensorFlow's logical CPU devices: N towers on B/N images each must step as one device on
 * B images (synchronised batch norm), and unsynchronised batch norm must change exactly what it should.
 */
class TowerTrainingTest {
  @TempDir Path dir;

  private static final TrainingDevices TWO_SYNCED = new TrainingDevices("CPU", 2, true);
  private static final TrainingDevices TWO_PER_TOWER = new TrainingDevices("CPU", 2, false);

  static TrainConfig config(TrainConfig.Loss loss, float[] classWeights, float weightDecay) {
    return new TrainConfig(new TrainConfig.UNetSpec(2, 4, true), SyntheticShapes.NUM_CLASSES, 255,
        new TrainConfig.LossSpec(loss, classWeights, 2f),
        new TrainConfig.OptimizerSpec(TrainConfig.Optimizer.SGD, 0.9f, false, weightDecay), 5);
  }

  /**
   * Four 32x32 synthetic images; with {@code uneven}, the first two (the first tower's slice) have a third of their
   * pixels ignored and the others one in fifty, so a loss averaged per tower would differ from the batch's.
   */
  static SegmentationGraphTest.Batch batch(boolean uneven) {
    SegmentationGraphTest.Batch b = SegmentationGraphTest.Batch.of(4, 32, 3);
    int[] labels = b.labels().clone();
    int perImage = 32 * 32;
    for (int p = 0; p < labels.length; p++) {
      boolean firstSlice = p < 2 * perImage;
      labels[p] = (uneven && firstSlice ? p % 3 == 0 : p % 50 == 0) ? 255 : labels[p];
    }
    return new SegmentationGraphTest.Batch(b.images(), labels, 4, 32);
  }

  private static float step(SegmentationGraph g, SegmentationGraphTest.Batch b) {
    return g.trainStep(b.images(), b.labels(), b.n(), b.size(), b.size(), 0.05f);
  }

  private static double maxDifference(Map<String, float[]> a, Map<String, float[]> b) {
    assertThat(a.keySet()).containsExactlyElementsOf(b.keySet());
    double max = 0;
    for (String name : a.keySet()) {
      float[] x = a.get(name);
      float[] y = b.get(name);
      for (int i = 0; i < x.length; i++) {
        max = Math.max(max, Math.abs(x[i] - y[i]));
      }
    }
    return max;
  }

  @Test
  void synchronisedTowersStepAsOneDeviceOnTheWholeBatch() {
    SegmentationGraphTest.Batch b = batch(true);
    float[] weights = {1f, 2f, 0.5f, 3f};
    for (TrainConfig config : new TrainConfig[] {config(TrainConfig.Loss.CROSS_ENTROPY, weights, 1e-3f),
        config(TrainConfig.Loss.DICE, null, 0f)}) {
      String loss = config.loss().kind().name();
      try (SegmentationGraph one = new SegmentationGraph(config, Precision.FP32, TrainingDevices.SINGLE);
          SegmentationGraph towers = new SegmentationGraph(config, Precision.FP32, TWO_SYNCED)) {
        Map<String, float[]> initial = one.readAll();
        assertThat(maxDifference(towers.readAll(), initial)).as(loss + ": same initial weights").isZero();
        for (int s = 0; s < 3; s++) {
          float expected = step(one, b);
          assertThat(step(towers, b)).as(loss + " step %d", s).isCloseTo(expected, within(1e-5f + 1e-5f * expected));
        }
        Map<String, float[]> after = one.readAll();
        // The steps moved the weights (and the batch-norm statistics) by far more than the tolerance...
        assertThat(maxDifference(after, initial)).as(loss).isGreaterThan(1e-2);
        // ...and both graphs moved them alike.
        assertThat(maxDifference(towers.readAll(), after)).as(loss).isLessThan(1e-4);
        assertThat(towers.predict(b.images(), 4, 32, 32)).isEqualTo(one.predict(b.images(), 4, 32, 32));
      }
    }
  }

  @Test
  void perTowerBatchNormNormalisesEachSliceOnItsOwn() {
    SegmentationGraphTest.Batch b = batch(false);
    int half = 2 * 32 * 32;
    SegmentationGraphTest.Batch first = new SegmentationGraphTest.Batch(java.util.Arrays.copyOfRange(b.images(), 0,
        half * 3), java.util.Arrays.copyOfRange(b.labels(), 0, half), 2, 32);
    SegmentationGraphTest.Batch second = new SegmentationGraphTest.Batch(java.util.Arrays.copyOfRange(b.images(),
        half * 3, 2 * half * 3), java.util.Arrays.copyOfRange(b.labels(), half, 2 * half), 2, 32);
    TrainConfig config = config(TrainConfig.Loss.CROSS_ENTROPY, null, 0f);
    try (SegmentationGraph whole = new SegmentationGraph(config);
        SegmentationGraph a = new SegmentationGraph(config);
        SegmentationGraph c = new SegmentationGraph(config);
        SegmentationGraph towers = new SegmentationGraph(config, Precision.FP32, TWO_PER_TOWER)) {
      // The batch's loss is the slices' losses weighted by their valid pixels.
      long validFirst = java.util.Arrays.stream(first.labels()).filter(l -> l != 255).count();
      long validSecond = java.util.Arrays.stream(second.labels()).filter(l -> l != 255).count();
      float perSlice = (step(a, first) * validFirst + step(c, second) * validSecond) / (validFirst + validSecond);
      float batchStatistics = step(whole, b);
      float towered = step(towers, b);
      // The first step's loss is computed before the update: each tower's slice normalised with its own statistics.
      assertThat(towered).isCloseTo(perSlice, within(1e-5f * perSlice));
      assertThat(Math.abs(towered - batchStatistics)).as("per-tower statistics differ from the batch's")
          .isGreaterThan(1e-3f * batchStatistics);
      // The moving means follow the mean of the slices' means, which for equal slices is the batch's mean: exactly
      // so for the first batch norm, whose input (the first convolution of the same images) both graphs share.
      String firstMean = "enc0_c1_bn_mean";
      float[] x = towers.readAll().get(firstMean);
      float[] y = whole.readAll().get(firstMean);
      for (int i = 0; i < x.length; i++) {
        assertThat(x[i]).as(firstMean).isCloseTo(y[i], within(1e-5f + 1e-4f * Math.abs(y[i])));
      }
    }
  }

  @Test
  void eachTowersBackwardPassIsPlacedOnItsDeviceAndTheExportServesAnywhere() throws Exception {
    TrainConfig config = config(TrainConfig.Loss.CROSS_ENTROPY, null, 0f);
    try (SegmentationGraph towers = new SegmentationGraph(config, Precision.FP32, TWO_SYNCED)) {
      Map<String, Integer> perDevice = towers.opsPerDevice();
      int first = perDevice.getOrDefault("/device:CPU:0", 0);
      int second = perDevice.getOrDefault("/device:CPU:1", 0);
      // Forward, loss sums and backward of each tower: the two towers hold about the same number of ops.
      assertThat(second).isGreaterThan(200);
      assertThat((double) second / first).isBetween(0.8, 1.25);
      long backward = towers.graphDef().getNodeList().stream().filter(n -> n.getDevice().equals("/device:CPU:1")
          && n.getName().startsWith(SegmentationGraph.TOWER_SCOPE + "1/Gradients")).count();
      assertThat(backward).isGreaterThan(100);

      SegmentationGraphTest.Batch b = batch(true);
      step(towers, b);
      int three = 3 * 32 * 32;
      assertThatThrownBy(() -> towers.trainStep(java.util.Arrays.copyOf(b.images(), three * 3),
          java.util.Arrays.copyOf(b.labels(), three), 3, 32, 32, 0.05f))
          .hasMessageContaining("a batch of 3 images cannot be split evenly over 2 towers");
      Path model = dir.resolve("model");
      towers.export(model);
      org.tensorflow.proto.GraphDef exported;
      try (org.tensorflow.SavedModelBundle bundle = org.tensorflow.SavedModelBundle.load(model.toString(), "serve")) {
        exported = bundle.graph().toGraphDef();
      }
      assertThat(exported.getNodeList()).noneMatch(n -> n.getDevice().contains("CPU:1"))
          .noneMatch(n -> n.getName().startsWith(SegmentationGraph.TOWER_SCOPE));
      try (SegmentationGraph reloaded = new SegmentationGraph(config)) {
        reloaded.assign(reloaded.readFrom(model));
        assertThat(maxDifference(reloaded.readAll(), towers.readAll())).isZero();
      }
    }
  }

  @Test
  void devicesThatCannotBeUsedAreRefusedBeforeTraining() {
    assertThat(TrainingDevices.choose(0, true, 8)).isEqualTo(new TrainingDevices("CPU", 1, false));
    assertThat(TrainingDevices.choose(2, true, 8)).isEqualTo(TWO_SYNCED);
    assertThatThrownBy(() -> TrainingDevices.choose(2, false, 5))
        .hasMessageContaining("--miniBatchSize=5 cannot be split evenly over 2 devices");
    int cores = Runtime.getRuntime().availableProcessors();
    assertThatThrownBy(() -> TrainingDevices.choose(cores + 1, false, 8 * (cores + 1)))
        .hasMessageContaining("--devices=" + (cores + 1)).hasMessageContaining("no visible GPU");
    assertThatThrownBy(() -> TrainingDevices.choose(-1, false, 8)).hasMessageContaining("--devices");
  }
}
