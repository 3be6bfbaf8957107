package io.maskbeam.models.nn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Gradients;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/** The hand-made adaptive average pooling: PyTorch's definition, computed directly, and finite differences. */
class AdaptivePoolingTest {

  /** out[n][a][b][c] = mean of x over rows [floor(aH/B), ceil((a+1)H/B)) and the same for columns. */
  static float[] reference(float[] x, int n, int h, int w, int c, int bins) {
    float[] out = new float[n * bins * bins * c];
    for (int i = 0; i < n; i++) {
      for (int a = 0; a < bins; a++) {
        int r0 = (int) Math.floor((double) a * h / bins);
        int r1 = (int) Math.ceil((double) (a + 1) * h / bins);
        for (int b = 0; b < bins; b++) {
          int c0 = (int) Math.floor((double) b * w / bins);
          int c1 = (int) Math.ceil((double) (b + 1) * w / bins);
          for (int k = 0; k < c; k++) {
            double sum = 0;
            for (int y = r0; y < r1; y++) {
              for (int z = c0; z < c1; z++) {
                sum += x[((i * h + y) * w + z) * c + k];
              }
            }
            out[((i * bins + a) * bins + b) * c + k] = (float) (sum / ((r1 - r0) * (c1 - c0)));
          }
        }
      }
    }
    return out;
  }

  private static float[] random(int n, long seed) {
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return v;
  }

  @Test
  void matchesTheDefinitionForAnySizeAndBinCount() {
    for (int[] s : new int[][] {{2, 7, 5, 3}, {1, 2, 9, 2}, {1, 13, 13, 1}}) {
      for (int bins : new int[] {1, 2, 3, 6}) {
        float[] x = random(s[0] * s[1] * s[2] * s[3], bins);
        try (Graph g = new Graph()) {
          Ops tf = Ops.create(g);
          Net net = new Net(tf, 1, tf.constant(0.99f));
          Placeholder<TFloat32> in = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, s[3])));
          Operand<TFloat32> pooled = net.adaptiveAvgPool(in, bins);
          try (Session session = new Session(g);
              TFloat32 t = TFloat32.tensorOf(Shape.of(s[0], s[1], s[2], s[3]), DataBuffers.of(x));
              Result r = session.runner().feed(in, t).fetch(pooled).run()) {
            TFloat32 out = (TFloat32) r.get(0);
            assertThat(out.shape().asArray()).containsExactly(s[0], bins, bins, s[3]);
            float[] got = new float[(int) out.shape().size()];
            out.copyTo(DataBuffers.of(got, false, false));
            float[] expected = reference(x, s[0], s[1], s[2], s[3], bins);
            for (int i = 0; i < got.length; i++) {
              assertThat(got[i]).as("shape %s bins %d index %d", java.util.Arrays.toString(s), bins, i)
                  .isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-5f));
            }
          }
        }
      }
    }
  }

  @Test
  void gradientsMatchFiniteDifferences() {
    int h = 5;
    int w = 7;
    int c = 2;
    float[] x = random(h * w * c, 11);
    float[] upstream = random(3 * 3 * c, 12);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Net net = new Net(tf, 1, tf.constant(0.99f));
      Placeholder<TFloat32> in = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(1, h, w, c)));
      Operand<TFloat32> loss = tf.reduceSum(tf.math.mul(net.adaptiveAvgPool(in, 3),
          tf.constant(Shape.of(1, 3, 3, c), DataBuffers.of(upstream))), tf.constant(new int[] {0, 1, 2, 3}));
      Gradients grads = tf.gradients(loss, List.of(in));
      try (Session session = new Session(g)) {
        float[] analytic;
        try (TFloat32 t = TFloat32.tensorOf(Shape.of(1, h, w, c), DataBuffers.of(x));
            Result r = session.runner().feed(in, t).fetch(grads.dy(0)).run()) {
          analytic = new float[x.length];
          ((TFloat32) r.get(0)).copyTo(DataBuffers.of(analytic, false, false));
        }
        double eps = 1e-2;
        for (int i = 0; i < x.length; i++) {
          float[] plus = x.clone();
          float[] minus = x.clone();
          plus[i] += eps;
          minus[i] -= eps;
          double numeric = (eval(session, in, loss, plus, h, w, c) - eval(session, in, loss, minus, h, w, c)) / (2 * eps);
          assertThat(analytic[i]).as("d/dx[%d]", i).isCloseTo((float) numeric, org.assertj.core.data.Offset.offset(1e-3f));
        }
      }
    }
  }

  private static double eval(Session s, Placeholder<TFloat32> in, Operand<TFloat32> loss, float[] x, int h, int w,
      int c) {
    try (TFloat32 t = TFloat32.tensorOf(Shape.of(1, h, w, c), DataBuffers.of(x));
        Result r = s.runner().feed(in, t).fetch(loss).run()) {
      return ((TFloat32) r.get(0)).getFloat();
    }
  }
}
