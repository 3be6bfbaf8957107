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
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.nn.Conv2d;
import org.tensorflow.types.TFloat32;

/**
 * The hand-made atrous convolution: its output equals TensorFlow's dilated Conv2D (whose forward pass is right),
 * and its gradients match finite differences (which the dilated Conv2D's do not, in this TensorFlow).
 */
class AtrousConvolutionTest {

  private static float[] random(int n, long seed) {
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return v;
  }

  @Test
  void forwardEqualsDilatedConvolutionForOddSizes() {
    for (int[] size : new int[][] {{7, 9}, {8, 8}, {5, 13}}) {
      for (int rate : new int[] {2, 3}) {
        try (Graph g = new Graph()) {
          Ops tf = Ops.create(g);
          Net net = new Net(tf, 1, tf.constant(0.99f));
          Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(1, size[0], size[1], 2)));
          Operand<TFloat32> ours = net.atrousConv("a", x, 3, 2, 4, rate, false);
          Variable<TFloat32> w = net.variables().get("a_w");
          Operand<TFloat32> reference = tf.nn.conv2d(x, w, List.of(1L, 1L, 1L, 1L), "SAME",
              Conv2d.dilations(List.of(1L, (long) rate, (long) rate, 1L)));
          try (Session s = new Session(g)) {
            s.initialize();
            float[] input = random(size[0] * size[1] * 2, rate);
            try (TFloat32 in = TFloat32.tensorOf(Shape.of(1, size[0], size[1], 2), DataBuffers.of(input));
                Result r = s.runner().feed(x, in).fetch(ours).fetch(reference).run()) {
              TFloat32 a = (TFloat32) r.get(0);
              TFloat32 b = (TFloat32) r.get(1);
              assertThat(a.shape()).isEqualTo(b.shape());
              float[] av = new float[(int) a.shape().size()];
              float[] bv = new float[av.length];
              a.copyTo(DataBuffers.of(av, false, false));
              b.copyTo(DataBuffers.of(bv, false, false));
              for (int i = 0; i < av.length; i++) {
                assertThat(av[i]).as("size %dx%d rate %d index %d", size[0], size[1], rate, i)
                    .isCloseTo(bv[i], org.assertj.core.data.Offset.offset(1e-4f));
              }
            }
          }
        }
      }
    }
  }

  @Test
  void gradientsMatchFiniteDifferences() {
    int h = 6;
    int w = 7;
    int cin = 2;
    int cout = 3;
    float[] input = random(h * w * cin, 3);
    float[] upstream = random(h * w * cout, 4);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Net net = new Net(tf, 5, tf.constant(0.99f));
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(1, h, w, cin)));
      Operand<TFloat32> y = net.atrousConv("a", x, 3, cin, cout, 2, true);
      // A scalar of the output: sum(y * upstream), so every output element matters.
      Operand<TFloat32> loss = tf.reduceSum(tf.math.mul(y, tf.constant(Shape.of(1, h, w, cout), DataBuffers.of(upstream))),
          tf.constant(new int[] {0, 1, 2, 3}));
      Variable<TFloat32> kernel = net.variables().get("a_w");
      Gradients grads = tf.gradients(loss, List.of(kernel, x));
      try (Session s = new Session(g)) {
        s.initialize();
        try (TFloat32 in = TFloat32.tensorOf(Shape.of(1, h, w, cin), DataBuffers.of(input));
            Result r = s.runner().feed(x, in).fetch(grads.dy(0)).fetch(grads.dy(1)).fetch(kernel).run()) {
          float[] dKernel = values((TFloat32) r.get(0));
          float[] dInput = values((TFloat32) r.get(1));
          float[] k = values((TFloat32) r.get(2));
          double eps = 1e-2;
          // Input gradient: central differences on a sample of input elements.
          for (int i = 0; i < input.length; i += 5) {
            float[] plus = input.clone();
            float[] minus = input.clone();
            plus[i] += eps;
            minus[i] -= eps;
            double numeric = (eval(s, x, loss, plus, h, w, cin) - eval(s, x, loss, minus, h, w, cin)) / (2 * eps);
            assertThat(dInput[i]).as("d loss / d input[%d]", i).isCloseTo((float) numeric,
                org.assertj.core.data.Offset.offset(2e-2f));
          }
          // Kernel gradient: perturb the kernel variable itself.
          for (int i = 0; i < k.length; i += 4) {
            double plus = evalWithKernel(s, tf, kernel, k, i, (float) eps, x, loss, input, h, w, cin);
            double minus = evalWithKernel(s, tf, kernel, k, i, (float) -eps, x, loss, input, h, w, cin);
            assertThat(dKernel[i]).as("d loss / d kernel[%d]", i).isCloseTo((float) ((plus - minus) / (2 * eps)),
                org.assertj.core.data.Offset.offset(5e-2f));
          }
        }
      }
    }
  }

  private static double evalWithKernel(Session s, Ops tf, Variable<TFloat32> kernel, float[] k, int i, float delta,
      Placeholder<TFloat32> x, Operand<TFloat32> loss, float[] input, int h, int w, int cin) {
    float[] changed = k.clone();
    changed[i] += delta;
    try (TFloat32 value = TFloat32.tensorOf(kernel.shape(), DataBuffers.of(changed))) {
      // Feeding a variable's value overrides it for this run only.
      try (TFloat32 in = TFloat32.tensorOf(Shape.of(1, h, w, cin), DataBuffers.of(input));
          Result r = s.runner().feed(kernel, value).feed(x, in).fetch(loss).run()) {
        return ((TFloat32) r.get(0)).getFloat();
      }
    }
  }

  private static double eval(Session s, Placeholder<TFloat32> x, Operand<TFloat32> loss, float[] input, int h, int w,
      int cin) {
    try (TFloat32 in = TFloat32.tensorOf(Shape.of(1, h, w, cin), DataBuffers.of(input));
        Result r = s.runner().feed(x, in).fetch(loss).run()) {
      return ((TFloat32) r.get(0)).getFloat();
    }
  }

  private static float[] values(TFloat32 t) {
    float[] v = new float[(int) t.shape().size()];
    t.copyTo(DataBuffers.of(v, false, false));
    return v;
  }
}
