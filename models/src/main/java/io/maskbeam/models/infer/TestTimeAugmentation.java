package io.maskbeam.models.infer;

import io.maskbeam.image.LabelImage;
import io.maskbeam.image.Resampler;
import io.maskbeam.image.Pixels;
import io.maskbeam.image.RgbImage;
import java.util.Arrays;

/**
 * Test-time augmentation as a model: the image is run at each scale, and mirrored when {@code flip} is set; the
 * probabilities are brought back to the input's size and orientation and averaged. Because it is itself a
 * {@link ProbabilityModel}, tiling and batching compose with it unchanged (each tile is augmented).
 */
public final class TestTimeAugmentation implements ProbabilityModel {
  private final ProbabilityModel model;
  private final boolean flip;
  private final double[] scales;

  public TestTimeAugmentation(ProbabilityModel model, boolean flip, double[] scales) {
    if (scales.length == 0) {
      throw new IllegalArgumentException("test-time augmentation needs at least one scale");
    }
    for (double s : scales) {
      checkScale(s, "test-time scales");
    }
    this.model = model;
    this.flip = flip;
    this.scales = scales.clone();
  }

  /** The scales a model is run at, relative to the image: smaller loses the objects, larger the memory. */
  public static final double MIN_SCALE = 0.25;
  public static final double MAX_SCALE = 4;

  /** Refuses a scale outside [{@link #MIN_SCALE}, {@link #MAX_SCALE}], naming what it is ({@code what}). */
  public static void checkScale(double scale, String what) {
    if (!(scale >= MIN_SCALE && scale <= MAX_SCALE)) {
      throw new IllegalArgumentException(what + " must be between " + MIN_SCALE + " and " + MAX_SCALE + ", got "
          + scale);
    }
  }

  /** Whether these settings change anything; without, callers use the model directly. */
  public static boolean isIdentity(boolean flip, double[] scales) {
    return !flip && scales.length == 1 && scales[0] == 1.0;
  }

  @Override
  public int numClasses() {
    return model.numClasses();
  }

  /** Model passes per input image. */
  public int passes() {
    return scales.length * (flip ? 2 : 1);
  }

  @Override
  public int inputBands() {
    return model.inputBands();
  }

  @Override
  public float[] probabilities(byte[] rgb, int n, int h, int w) {
    return augmented(rgb, n, h, w, 3);
  }

  @Override
  public float[] probabilities(float[] bands, int n, int h, int w) {
    return augmented(bands, n, h, w, model.inputBands());
  }

  /** {@code images}: byte[] RGB or float[] raw bands, {@code ch} samples per pixel. */
  private float[] augmented(Object images, int n, int h, int w, int ch) {
    int c = model.numClasses();
    int frame = h * w * c;
    float[] sum = new float[n * frame];
    int copies = flip ? 2 : 1;
    for (double scale : scales) {
      int sh = Math.max(1, (int) Math.round(h * scale));
      int sw = Math.max(1, (int) Math.round(w * scale));
      Object batch = images instanceof float[] ? new float[copies * n * sh * sw * ch]
          : new byte[copies * n * sh * sw * ch];
      for (int i = 0; i < n; i++) {
        Object one = images instanceof float[] f ? Arrays.copyOfRange(f, i * h * w * ch, (i + 1) * h * w * ch)
            : Arrays.copyOfRange((byte[]) images, i * h * w * ch, (i + 1) * h * w * ch);
        Object scaled = sh == h && sw == w ? one : Resampler.resize(Pixels.of(one, w, h, ch), sw, sh).samples();
        System.arraycopy(scaled, 0, batch, i * sh * sw * ch, sh * sw * ch);
        if (flip) {
          int base = (n + i) * sh * sw * ch;
          for (int y = 0; y < sh; y++) {
            for (int x = 0; x < sw; x++) {
              System.arraycopy(scaled, (y * sw + (sw - 1 - x)) * ch, batch, base + (y * sw + x) * ch, ch);
            }
          }
        }
      }
      float[] p = model.probabilitiesOf(batch, copies * n, sh, sw);
      for (int j = 0; j < copies * n; j++) {
        if (j >= n) {
          ProbabilityMaps.flipHorizontally(p, j * sh * sw * c, sh, sw, c);
        }
        float[] one = Arrays.copyOfRange(p, j * sh * sw * c, (j + 1) * sh * sw * c);
        float[] back = ProbabilityMaps.resize(one, sh, sw, c, h, w);
        int o = (j % n) * frame;
        for (int k = 0; k < frame; k++) {
          sum[o + k] += back[k];
        }
      }
    }
    float inv = 1f / passes();
    for (int k = 0; k < sum.length; k++) {
      sum[k] *= inv;
    }
    return sum;
  }

  @Override
  public LabelImage segment(RgbImage image) {
    float[] p = probabilities(image.pixels(), 1, image.height(), image.width());
    return new LabelImage(image.width(), image.height(),
        ProbabilityMaps.argMax(p, 0, image.width() * image.height(), model.numClasses()));
  }
}
