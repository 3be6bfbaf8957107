package io.maskbeam.models.train;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Segmentation losses over logits [N, H, W, C] and labels [N, H, W]. Pixels labelled with the ignore value (or any
 * value outside 0..C-1) contribute nothing. Built from ops whose gradients TensorFlow Java has (softmax
 * cross-entropy with dense labels rather than the sparse op, which has no registered gradient).
 *
 * <p>Each loss is built in two steps: {@link #partialSums} over one part of a batch, then {@link #combine} over the
 * parts. One device has one part; data-parallel towers have one each, and the combined loss is exactly the loss of
 * the whole batch (normalised by the valid pixels of all parts, not averaged per part).
 */
final class Losses {
  private Losses() {}

  /** The loss of one batch. */
  static Operand<TFloat32> segmentationLoss(Ops tf, Operand<TFloat32> logits, Operand<TInt32> labels, TrainConfig c) {
    return combine(tf, List.of(partialSums(tf, logits, labels, c)), c);
  }

  /**
   * What one part of a batch contributes. Cross-entropy and focal: the weighted sum of pixel losses and the sum of
   * weights. Dice: per class, the soft intersection and the summed sizes of prediction and truth.
   */
  static List<Operand<TFloat32>> partialSums(Ops tf, Operand<TFloat32> logits, Operand<TInt32> labels,
      TrainConfig c) {
    int n = c.numClasses();
    Operand<TFloat32> flatLogits = tf.reshape(logits, tf.constant(new int[] {-1, n}));
    Operand<TInt32> flatLabels = tf.reshape(labels, tf.constant(new int[] {-1}));
    Operand<TBool> valid = tf.math.logicalAnd(
        tf.math.greaterEqual(flatLabels, tf.constant(0)), tf.math.less(flatLabels, tf.constant(n)));
    Operand<TInt32> safe = tf.select(valid, flatLabels, tf.zerosLike(flatLabels));
    Operand<TFloat32> oneHot = tf.oneHot(safe, tf.constant(n), tf.constant(1f), tf.constant(0f));
    Operand<TFloat32> validF = tf.dtypes.cast(valid, TFloat32.class);
    Operand<TFloat32> weights = c.loss().classWeights() == null
        ? validF
        : tf.math.mul(validF, tf.gather(tf.constant(c.loss().classWeights()), safe, tf.constant(0)));
    Operand<TFloat32> weightSum = tf.reduceSum(weights, tf.constant(0));
    switch (c.loss().kind()) {
      case CROSS_ENTROPY -> {
        Operand<TFloat32> ce = tf.nn.softmaxCrossEntropyWithLogits(flatLogits, oneHot).loss();
        return List.of(tf.reduceSum(tf.math.mul(ce, weights), tf.constant(0)), weightSum);
      }
      case FOCAL -> {
        Operand<TFloat32> ce = tf.nn.softmaxCrossEntropyWithLogits(flatLogits, oneHot).loss();
        Operand<TFloat32> pt = tf.reduceSum(tf.math.mul(tf.nn.softmax(flatLogits), oneHot), tf.constant(1));
        Operand<TFloat32> modulator = tf.math.pow(tf.math.sub(tf.constant(1f), pt), tf.constant(c.loss().focalGamma()));
        return List.of(tf.reduceSum(tf.math.mul(tf.math.mul(ce, modulator), weights), tf.constant(0)), weightSum);
      }
      case DICE -> {
        Operand<TFloat32> p = tf.math.mul(tf.nn.softmax(flatLogits), tf.expandDims(validF, tf.constant(1)));
        Operand<TFloat32> g = tf.math.mul(oneHot, tf.expandDims(validF, tf.constant(1)));
        Operand<TFloat32> intersection = tf.reduceSum(tf.math.mul(p, g), tf.constant(0));
        Operand<TFloat32> sizes = tf.math.add(tf.reduceSum(p, tf.constant(0)), tf.reduceSum(g, tf.constant(0)));
        return List.of(intersection, sizes);
      }
      default -> throw new IllegalStateException("unknown loss " + c.loss().kind());
    }
  }

  /** The loss of a batch from the {@link #partialSums} of its parts. */
  static Operand<TFloat32> combine(Ops tf, List<List<Operand<TFloat32>>> parts, TrainConfig c) {
    Operand<TFloat32> first = sum(tf, parts, 0);
    Operand<TFloat32> second = sum(tf, parts, 1);
    if (c.loss().kind() == TrainConfig.Loss.DICE) {
      // Soft Dice per class over the batch, averaged over classes.
      Operand<TFloat32> dice = tf.math.div(tf.math.add(tf.math.mul(first, tf.constant(2f)), tf.constant(1f)),
          tf.math.add(second, tf.constant(1f)));
      return tf.math.sub(tf.constant(1f), tf.math.mean(dice, tf.constant(0)));
    }
    return tf.math.div(first, tf.math.maximum(second, tf.constant(1e-6f)));
  }

  private static Operand<TFloat32> sum(Ops tf, List<List<Operand<TFloat32>>> parts, int index) {
    if (parts.size() == 1) {
      return parts.get(0).get(index);
    }
    List<Operand<TFloat32>> all = new ArrayList<>();
    for (List<Operand<TFloat32>> p : parts) {
      all.add(p.get(index));
    }
    return tf.math.addN(all);
  }
}
