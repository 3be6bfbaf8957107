package io.maskbeam.models.train;

import io.maskbeam.image.BandImage;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.Pixels;
import io.maskbeam.image.Resampler;
import io.maskbeam.image.RgbImage;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Random;

/**
 * Training augmentation: random scale, random crop to a square (padding with the mean colour and the ignore
 * value where the scaled image is smaller), horizontal flip and photometric jitter. Masks follow every geometric
 * step by nearest neighbour; photometric steps touch the image only. Raw bands get the geometric steps only
 * (brightness, contrast and saturation are notions of RGB photos) and are padded with NaN, which the graph reads as
 * "no data" (the band's mean).
 */
public record Augmenter(int cropSize, float minScale, float maxScale, boolean flip, float brightness, float contrast,
    float saturation, int ignoreValue) implements Serializable {

  /** ImageNet's mean colour: zero after normalisation. */
  private static final int[] MEAN_RGB = {124, 116, 104};

  public Augmenter {
    if (cropSize < 1) {
      throw new IllegalArgumentException("crop size must be positive");
    }
    if (minScale <= 0 || maxScale < minScale) {
      throw new IllegalArgumentException("scale range must satisfy 0 < min <= max, got " + minScale + ".." + maxScale);
    }
  }

  /**
   * A crop: {@code image} is cropSize x cropSize x 3 for RGB, {@code bands} cropSize x cropSize x C for raw bands
   * (the other null), {@code labels} cropSize x cropSize.
   */
  public record Crop(byte[] image, float[] bands, int[] labels) {}

  public Crop apply(TrainingData.Example e, Random rnd) {
    Pixels image = e.image();
    LabelImage labels = e.labels();
    float scale = minScale + rnd.nextFloat() * (maxScale - minScale);
    if (Math.abs(scale - 1f) > 1e-3) {
      int w = Math.max(1, Math.round(image.width() * scale));
      int h = Math.max(1, Math.round(image.height() * scale));
      image = Resampler.resize(image, w, h);
      labels = Resampler.resizeNearest(labels, w, h);
    }
    int w = image.width();
    int h = image.height();
    int s = cropSize;
    int x0 = w > s ? rnd.nextInt(w - s + 1) : -rnd.nextInt(s - w + 1);
    int y0 = h > s ? rnd.nextInt(h - s + 1) : -rnd.nextInt(s - h + 1);
    boolean mirror = flip && rnd.nextBoolean();
    int c = image.channels();
    // Padding: the mean colour for RGB (zero once normalised), NaN for bands (read as no data, their mean).
    Object out;
    if (image instanceof BandImage) {
      float[] f = new float[s * s * c];
      Arrays.fill(f, Float.NaN);
      out = f;
    } else {
      byte[] b = new byte[s * s * 3];
      for (int i = 0; i < s * s; i++) {
        for (int k = 0; k < 3; k++) {
          b[i * 3 + k] = (byte) MEAN_RGB[k];
        }
      }
      out = b;
    }
    int[] outLabels = new int[s * s];
    Arrays.fill(outLabels, ignoreValue);
    Object src = image.samples();
    byte[] srcLabels = labels.labels();
    for (int y = 0; y < s; y++) {
      int sy = y + y0;
      if (sy < 0 || sy >= h) {
        continue;
      }
      for (int x = 0; x < s; x++) {
        int sx = x + x0;
        if (sx < 0 || sx >= w) {
          continue;
        }
        int o = y * s + (mirror ? s - 1 - x : x);
        int p = sy * w + sx;
        System.arraycopy(src, p * c, out, o * c, c);
        outLabels[o] = srcLabels[p] & 0xFF;
      }
    }
    if (out instanceof float[] bands) {
      return new Crop(null, bands, outLabels);
    }
    jitter((byte[]) out, rnd);
    return new Crop((byte[]) out, null, outLabels);
  }

  private void jitter(byte[] rgb, Random rnd) {
    if (brightness <= 0 && contrast <= 0 && saturation <= 0) {
      return;
    }
    float delta = (rnd.nextFloat() * 2 - 1) * brightness * 255f;
    float c = 1 + (rnd.nextFloat() * 2 - 1) * contrast;
    float sat = 1 + (rnd.nextFloat() * 2 - 1) * saturation;
    double sum = 0;
    for (byte b : rgb) {
      sum += b & 0xFF;
    }
    float mean = (float) (sum / rgb.length);
    for (int i = 0; i < rgb.length; i += 3) {
      float r = rgb[i] & 0xFF;
      float g = rgb[i + 1] & 0xFF;
      float b = rgb[i + 2] & 0xFF;
      float grey = 0.299f * r + 0.587f * g + 0.114f * b;
      r = grey + (r - grey) * sat;
      g = grey + (g - grey) * sat;
      b = grey + (b - grey) * sat;
      rgb[i] = clamp((r - mean) * c + mean + delta);
      rgb[i + 1] = clamp((g - mean) * c + mean + delta);
      rgb[i + 2] = clamp((b - mean) * c + mean + delta);
    }
  }

  private static byte clamp(float v) {
    int i = Math.round(v);
    return (byte) (i < 0 ? 0 : Math.min(255, i));
  }
}
