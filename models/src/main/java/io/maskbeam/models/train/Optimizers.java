package io.maskbeam.models.train;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.train.ApplyMomentum;
import org.tensorflow.types.TFloat32;

/**
 * Optimizer updates from TensorFlow's own training kernels (ApplyMomentum, ApplyAdam, ApplyRMSProp, ApplyAdagrad,
 * ApplyGradientDescent), which take the learning rate as a tensor: schedules and warm-up feed it every step.
 * Slot variables are named after their variable, without '/'.
 */
final class Optimizers {
  private Optimizers() {}

  static List<Op> apply(Ops tf, TrainConfig c, List<Variable<TFloat32>> vars, List<Operand<TFloat32>> gradients,
      Operand<TFloat32> lr) {
    List<Op> updates = new ArrayList<>();
    Variable<TFloat32> beta1Power = null;
    Variable<TFloat32> beta2Power = null;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    if (c.optimizer().kind() == TrainConfig.Optimizer.ADAM) {
      beta1Power = tf.withInitScope().withName("adam_beta1_power").variable(tf.withInitScope().constant(beta1));
      beta2Power = tf.withInitScope().withName("adam_beta2_power").variable(tf.withInitScope().constant(beta2));
    }
    // Variables are updated in place, and the backward pass reads them (a layer's input gradient reads its
    // weights): no update may run before every gradient is computed, or the layers below would see weights
    // already moved by this step (and the step would depend on the order the executor happened to pick).
    Ops afterGradients = tf.withControlDependencies(new ArrayList<>(gradients));
    for (int i = 0; i < vars.size(); i++) {
      Variable<TFloat32> v = vars.get(i);
      Operand<TFloat32> g = gradients.get(i);
      String name = v.op().name();
      switch (c.optimizer().kind()) {
        case SGD -> {
          if (c.optimizer().momentum() > 0) {
            Variable<TFloat32> accum = slot(tf, v, name + "_momentum");
            updates.add(afterGradients.train.applyMomentum(v, accum, lr, g, tf.constant(c.optimizer().momentum()),
                ApplyMomentum.useNesterov(c.optimizer().nesterov())));
          } else {
            updates.add(afterGradients.train.applyGradientDescent(v, lr, g));
          }
        }
        case ADAM -> updates.add(afterGradients.train.applyAdam(v, slot(tf, v, name + "_adam_m"),
            slot(tf, v, name + "_adam_v"), beta1Power, beta2Power, lr, tf.constant(beta1), tf.constant(beta2),
            tf.constant(1e-7f), g));
        case RMSPROP -> updates.add(afterGradients.train.applyRmsProp(v, slot(tf, v, name + "_rms"),
            slot(tf, v, name + "_rms_mom"), lr, tf.constant(c.optimizer().rmsDecay()),
            tf.constant(c.optimizer().momentum()), tf.constant(1e-7f), g));
        case ADAGRAD -> updates.add(afterGradients.train.applyAdagrad(v, slot(tf, v, name + "_adagrad", 0.1f), lr, g));
        default -> throw new IllegalStateException("unknown optimizer " + c.optimizer().kind());
      }
    }
    if (beta1Power != null) {
      // Bias correction powers advance after every variable has been updated with the current ones.
      Ops after = tf.withControlDependencies(updates);
      List<Op> powers = List.of(
          after.assign(beta1Power, after.math.mul(beta1Power, after.constant(beta1))),
          after.assign(beta2Power, after.math.mul(beta2Power, after.constant(beta2))));
      updates = new ArrayList<>(updates);
      updates.addAll(powers);
    }
    return updates;
  }

  private static Variable<TFloat32> slot(Ops tf, Variable<TFloat32> v, String name) {
    return slot(tf, v, name, 0f);
  }

  private static Variable<TFloat32> slot(Ops tf, Variable<TFloat32> v, String name, float initial) {
    Ops init = tf.withInitScope();
    return init.withName(name).variable(init.fill(init.constant(v.shape().asArray()), init.constant(initial)));
  }
}
