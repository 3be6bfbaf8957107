package io.maskbeam.dataset;

import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;
import io.maskbeam.labels.LabelMaps;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;

/** Image bytes for tests, made in memory. */
public final class TestImages {
  private TestImages() {}

  public static RgbImage noise(int w, int h, long seed) {
    byte[] px = new byte[w * h * 3];
    new Random(seed).nextBytes(px);
    return new RgbImage(w, h, px);
  }

  public static byte[] rgbPng(int w, int h, long seed) {
    return ImageCodec.encodePng(noise(w, h, seed));
  }

  public static byte[] rgbJpeg(int w, int h, long seed) {
    return ImageCodec.encodeJpeg(noise(w, h, seed), 90);
  }

  /** An 8-bit grey mask whose pixel values cycle through {@code values}. */
  public static byte[] greyMask(int w, int h, int... values) {
    byte[] labels = new byte[w * h];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = (byte) values[(i / 7) % values.length];
    }
    return ImageCodec.encodePng(new LabelImage(w, h, labels));
  }

  /** A palette PNG (like VOC's SegmentationClass) whose indices cycle through {@code indices}. */
  public static byte[] palettePng(int w, int h, int... indices) {
    byte[] r = new byte[256];
    byte[] g = new byte[256];
    byte[] b = new byte[256];
    for (int i = 0; i < 256; i++) {
      int rgb = LabelMaps.vocColor(i);
      r[i] = (byte) (rgb >> 16);
      g[i] = (byte) (rgb >> 8);
      b[i] = (byte) rgb;
    }
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(8, 256, r, g, b));
    WritableRaster raster = img.getRaster();
    for (int i = 0; i < w * h; i++) {
      raster.setSample(i % w, i / w, 0, indices[(i / 5) % indices.length]);
    }
    return write(img, "png");
  }

  public static byte[] grey16Png(int w, int h, int... values) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_USHORT_GRAY);
    for (int i = 0; i < w * h; i++) {
      img.getRaster().setSample(i % w, i / w, 0, values[(i / 3) % values.length]);
    }
    return write(img, "png");
  }

  /** A colour-coded RGB mask cycling through packed 0xRRGGBB {@code colours}. */
  public static byte[] colourMask(int w, int h, int... colours) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int i = 0; i < w * h; i++) {
      img.setRGB(i % w, i / w, colours[(i / 9) % colours.length]);
    }
    return write(img, "png");
  }

  public static byte[] greyJpeg(int w, int h) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
    for (int i = 0; i < w * h; i++) {
      img.getRaster().setSample(i % w, i / w, 0, (i * 7) % 256);
    }
    return write(img, "jpeg");
  }

  public static byte[] rgbaPng(int w, int h) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
    for (int i = 0; i < w * h; i++) {
      img.setRGB(i % w, i / w, 0x80ff0000 | i);
    }
    return write(img, "png");
  }

  public static byte[] truncated(byte[] bytes) {
    return Arrays.copyOf(bytes, bytes.length / 2);
  }

  /**
   * A syntactically valid PNG whose header claims {@code w x h} but whose data is a few bytes: decoding it would
   * allocate gigabytes, so only a header check can refuse it safely.
   */
  public static byte[] pngClaiming(int w, int h) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
      ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
      DataOutputStream d = new DataOutputStream(ihdr);
      d.writeInt(w);
      d.writeInt(h);
      d.write(new byte[] {8, 0, 0, 0, 0}); // 8-bit grey, deflate, no filter, no interlace
      chunk(out, "IHDR", ihdr.toByteArray());
      chunk(out, "IDAT", new byte[] {0x78, (byte) 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
      chunk(out, "IEND", new byte[0]);
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void chunk(DataOutputStream out, String type, byte[] data) throws IOException {
    out.writeInt(data.length);
    byte[] t = type.getBytes(StandardCharsets.US_ASCII);
    out.write(t);
    out.write(data);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    out.writeInt((int) crc.getValue());
  }

  public static byte[] write(BufferedImage img, String format) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      if (!ImageIO.write(img, format, out)) {
        throw new IllegalStateException("no writer for " + format);
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
