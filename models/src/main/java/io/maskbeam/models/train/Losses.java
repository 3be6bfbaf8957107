package io.maskbeam.models.train;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Segmentation losses over logits [N, H, W, C] and labels [N, H, W]. Pixels labelled with the ignore value (or any
 * value outside 0..C-1) contribute nothing. Built from ops whose gradients TensorFlow Java has (softmax
 * cross-entropy with dense labels rather than the sparse op, which has no registered gradient).
 */
final class Losses {
  private Losses() {}

  static Operand<TFloat32> segmentationLoss(Ops tf, Operand<TFloat32> logits, Operand<TInt32> labels, TrainConfig c) {
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
    Operand<TFloat32> weightSum = tf.math.maximum(tf.reduceSum(weights, tf.constant(0)), tf.constant(1e-6f));
    switch (c.loss().kind()) {
      case CROSS_ENTROPY -> {
        Operand<TFloat32> ce = tf.nn.softmaxCrossEntropyWithLogits(flatLogits, oneHot).loss();
        return tf.math.div(tf.reduceSum(tf.math.mul(ce, weights), tf.constant(0)), weightSum);
      }
      case FOCAL -> {
        Operand<TFloat32> ce = tf.nn.softmaxCrossEntropyWithLogits(flatLogits, oneHot).loss();
        Operand<TFloat32> pt = tf.reduceSum(tf.math.mul(tf.nn.softmax(flatLogits), oneHot), tf.constant(1));
        Operand<TFloat32> modulator = tf.math.pow(tf.math.sub(tf.constant(1f), pt), tf.constant(c.loss().focalGamma()));
        return tf.math.div(tf.reduceSum(tf.math.mul(tf.math.mul(ce, modulator), weights), tf.constant(0)), weightSum);
      }
      case DICE -> {
        // Soft Dice per class over the batch, averaged over classes present in prediction or truth.
        Operand<TFloat32> p = tf.math.mul(tf.nn.softmax(flatLogits), tf.expandDims(validF, tf.constant(1)));
        Operand<TFloat32> g = tf.math.mul(oneHot, tf.expandDims(validF, tf.constant(1)));
        Operand<TFloat32> intersection = tf.reduceSum(tf.math.mul(p, g), tf.constant(0));
        Operand<TFloat32> sizes = tf.math.add(tf.reduceSum(p, tf.constant(0)), tf.reduceSum(g, tf.constant(0)));
        Operand<TFloat32> dice = tf.math.div(tf.math.add(tf.math.mul(intersection, tf.constant(2f)), tf.constant(1f)),
            tf.math.add(sizes, tf.constant(1f)));
        return tf.math.sub(tf.constant(1f), tf.math.mean(dice, tf.constant(0)));
      }
      default -> throw new IllegalStateException("unknown loss " + c.loss().kind());
    }
  }
}
