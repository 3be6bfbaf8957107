package io.maskbeam.models.nn;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.IntFunction;
import org.tensorflow.Operand;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.nn.FusedBatchNorm;
import org.tensorflow.types.TFloat32;

/**
 * The towers of one data-parallel training step: {@code count} copies of a network's training branch, each on a
 * slice of the batch, sharing the network's variables. Without synchronisation each tower's batch norm uses its own
 * slice's statistics (a fused kernel, as on one device) and the moving averages follow their mean over towers.
 * Synchronised, every batch-norm layer gathers its input's statistics from all towers (two exchanges: the sums for
 * the mean, then the squared deviations from it for the variance), so each tower normalises exactly as one device
 * would on the whole batch, and gradients flow back through the gathered statistics to every tower.
 *
 * <p>A synchronised layer in tower i needs the same layer's partial sums from every other tower, while networks
 * are built by straight-line code ({@link SegmentationNetwork#logits}). So the towers are built by one thread each,
 * taking turns: a tower builds until its next exchange, leaves its sums and hands the turn on; when the turn comes
 * back, every tower has left its sums for that layer. Only the thread holding the turn touches the graph.
 */
public final class Towers {
  private final int count;
  private final boolean synchronised;
  private final Net owner;
  /** Per batch-norm layer: each tower's batch statistics (mean, variance for the moving averages). */
  private final Map<String, Operand<TFloat32>[][]> moments = new LinkedHashMap<>();
  private final Map<String, Variable<TFloat32>[]> movingStatistics = new LinkedHashMap<>();
  /** Per exchange key: each tower's contribution. */
  private final Map<String, Operand<TFloat32>[][]> exchanges = new LinkedHashMap<>();
  private int turn;
  private RuntimeException failure;

  public Towers(Net owner, int count, boolean synchronised) {
    if (count < 1) {
      throw new IllegalArgumentException("towers: at least one, got " + count);
    }
    this.owner = owner;
    this.count = count;
    this.synchronised = synchronised;
  }

  public int count() {
    return count;
  }

  /**
   * Builds every tower: {@code build.apply(net, i)} with tower i's view of the owner net, whose ops come from
   * {@code opsFor.apply(i)}. Returns what each build returned, in tower order.
   */
  public <T> List<T> build(IntFunction<Ops> opsFor, BiFunction<Net, Integer, T> build) {
    List<T> results = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      results.add(null);
    }
    if (!synchronised) {
      for (int i = 0; i < count; i++) {
        results.set(i, build.apply(owner.tower(opsFor.apply(i), this, i), i));
      }
      return results;
    }
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < count; t++) {
      int i = t;
      Thread thread = new Thread(() -> {
        try {
          awaitTurn(i);
          results.set(i, build.apply(owner.tower(opsFor.apply(i), this, i), i));
          pass(i);
        } catch (RuntimeException | Error e) {
          fail(e instanceof RuntimeException r ? r : new IllegalStateException(e));
        }
      }, "tower-" + i);
      threads.add(thread);
      thread.start();
    }
    for (Thread thread : threads) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        fail(new IllegalStateException("interrupted while building towers", e));
      }
    }
    synchronized (this) {
      if (failure != null) {
        throw failure;
      }
    }
    return results;
  }

  /** Tower {@code index}'s training-mode batch norm of {@code x}. */
  Operand<TFloat32> batchNorm(Ops tf, int index, String name, Operand<TFloat32> x, Operand<TFloat32> gamma,
      Operand<TFloat32> beta, Variable<TFloat32> movingMean, Variable<TFloat32> movingVar) {
    remember(name, movingMean, movingVar);
    if (!synchronised) {
      FusedBatchNorm<TFloat32, TFloat32> bn = tf.nn.fusedBatchNorm(x, gamma, beta, tf.constant(new float[0]),
          tf.constant(new float[0]), FusedBatchNorm.isTraining(true), FusedBatchNorm.epsilon(1e-3f));
      record(name, index, bn.batchMean(), bn.batchVariance());
      return bn.y();
    }
    Operand<org.tensorflow.types.TInt32> axes = tf.constant(new int[] {0, 1, 2});
    // Pixels in this tower's slice; a shape is not differentiable, so the gradient builder must not walk into it.
    Operand<TFloat32> pixels = tf.stopGradient(tf.dtypes.cast(tf.prod(tf.slice(tf.shape(x),
        tf.constant(new int[] {0}), tf.constant(new int[] {3})), tf.constant(0)), TFloat32.class));
    Operand<TFloat32>[] first = exchange(name + "/sum", index, tf.reduceSum(x, axes), pixels);
    Operand<TFloat32> total = tf.math.addN(List.of(first).subList(count, 2 * count));
    Operand<TFloat32> mean = tf.math.div(tf.math.addN(List.of(first).subList(0, count)), total);
    Operand<TFloat32> centred = tf.math.sub(x, mean);
    Operand<TFloat32>[] second = exchange(name + "/deviation", index,
        tf.reduceSum(tf.math.square(centred), axes));
    Operand<TFloat32> variance = tf.math.div(tf.math.addN(List.of(second)), total);
    Operand<TFloat32> y = tf.math.add(tf.math.mul(tf.math.mul(centred, tf.math.rsqrt(
        tf.math.add(variance, tf.constant(1e-3f)))), gamma), beta);
    // The moving variance follows the unbiased estimate, as FusedBatchNorm's batch variance is.
    Operand<TFloat32> unbiased = tf.math.mul(variance, tf.math.div(total,
        tf.math.maximum(tf.math.sub(total, tf.constant(1f)), tf.constant(1f))));
    record(name, index, mean, unbiased);
    return y;
  }

  /**
   * Moving-average updates of every batch-norm layer, from the mean over towers of their batch statistics
   * (synchronised towers all hold the whole batch's), built with {@code tf} once every tower is built.
   */
  public List<Op> batchNormUpdates(Ops tf) {
    List<Op> updates = new ArrayList<>();
    for (Map.Entry<String, Operand<TFloat32>[][]> e : moments.entrySet()) {
      Operand<TFloat32>[][] m = e.getValue();
      Operand<TFloat32> mean;
      Operand<TFloat32> variance;
      if (synchronised) {
        mean = m[0][0];
        variance = m[0][1];
      } else {
        List<Operand<TFloat32>> means = new ArrayList<>();
        List<Operand<TFloat32>> variances = new ArrayList<>();
        for (Operand<TFloat32>[] tower : m) {
          means.add(tower[0]);
          variances.add(tower[1]);
        }
        Operand<TFloat32> n = tf.constant((float) count);
        mean = tf.math.div(tf.math.addN(means), n);
        variance = tf.math.div(tf.math.addN(variances), n);
      }
      Variable<TFloat32>[] moving = movingStatistics.get(e.getKey());
      updates.addAll(Net.movingAverageUpdates(tf, moving[0], moving[1], mean, variance, owner.batchNormMomentum()));
    }
    return updates;
  }

  @SuppressWarnings("unchecked")
  private synchronized void remember(String name, Variable<TFloat32> mean, Variable<TFloat32> var) {
    movingStatistics.putIfAbsent(name, new Variable[] {mean, var});
  }

  @SuppressWarnings("unchecked")
  private synchronized void record(String name, int index, Operand<TFloat32> mean, Operand<TFloat32> variance) {
    Operand<TFloat32>[][] m = moments.computeIfAbsent(name, k -> new Operand[count][]);
    if (m[index] != null) {
      throw new IllegalStateException("batch norm " + name + " built twice in tower " + index);
    }
    m[index] = new Operand[] {mean, variance};
  }

  /**
   * Leaves tower {@code index}'s parts under {@code key}, hands the turn on and waits for it to come back; returns
   * every tower's parts, part-major: {@code [part0 of tower 0, part0 of tower 1, ..., part1 of tower 0, ...]}.
   */
  @SafeVarargs
  @SuppressWarnings("unchecked")
  private synchronized Operand<TFloat32>[] exchange(String key, int index, Operand<TFloat32>... parts) {
    Operand<TFloat32>[][] slot = exchanges.computeIfAbsent(key, k -> new Operand[count][]);
    slot[index] = parts;
    pass(index);
    awaitTurn(index);
    Operand<TFloat32>[] all = new Operand[count * parts.length];
    for (int t = 0; t < count; t++) {
      if (slot[t] == null || slot[t].length != parts.length) {
        throw new IllegalStateException("tower " + t + " did not reach batch norm exchange " + key);
      }
      for (int p = 0; p < parts.length; p++) {
        all[p * count + t] = slot[t][p];
      }
    }
    return all;
  }

  private synchronized void pass(int index) {
    turn = (index + 1) % count;
    notifyAll();
  }

  private synchronized void awaitTurn(int index) {
    while (turn != index && failure == null) {
      try {
        wait();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while building tower " + index, e);
      }
    }
    if (failure != null) {
      throw new IllegalStateException("another tower failed", failure);
    }
  }

  private synchronized void fail(RuntimeException e) {
    if (failure == null) {
      failure = e;
    }
    notifyAll();
  }
}
