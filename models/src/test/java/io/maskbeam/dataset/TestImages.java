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

  /** A JPEG with an APP1 EXIF block holding one IFD entry: Orientation (0x0112, SHORT) = {@code orientation}. */
  public static byte[] jpegWithOrientation(io.maskbeam.image.RgbImage image, int orientation) {
    byte[] jpeg = io.maskbeam.image.ImageCodec.encodeJpeg(image, 95);
    java.nio.ByteBuffer tiff = java.nio.ByteBuffer.allocate(8 + 2 + 12 + 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    tiff.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8);
    tiff.putShort((short) 1);
    tiff.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) orientation).putShort((short) 0);
    tiff.putInt(0);
    byte[] header = "Exif\0\0".getBytes(StandardCharsets.ISO_8859_1);
    int length = 2 + header.length + tiff.capacity();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(jpeg, 0, 2); // SOI
    out.write(0xFF);
    out.write(0xE1);
    out.write(length >> 8);
    out.write(length & 0xFF);
    out.writeBytes(header);
    out.writeBytes(tiff.array());
    out.write(jpeg, 2, jpeg.length - 2);
    return out.toByteArray();
  }

  /**
   * A 4-channel (CMYK) JPEG as print workflows write it: the JDK writer stores a 4-band raster without colour
   * conversion, which readers take as CMYK.
   */
  public static byte[] cmykJpeg(int w, int h) {
    java.awt.image.WritableRaster raster = java.awt.image.Raster.createInterleavedRaster(
        java.awt.image.DataBuffer.TYPE_BYTE, w, h, 4, null);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        raster.setPixel(x, y, new int[] {x * 255 / w, y * 255 / h, 40, 10});
      }
    }
    javax.imageio.ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      try (javax.imageio.stream.ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
        writer.setOutput(out);
        writer.write(null, new javax.imageio.IIOImage(raster, null, null), writer.getDefaultWriteParam());
      }
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      writer.dispose();
    }
  }

  /**
   * A CMYK JPEG as Photoshop and print workflows write them: four components and an Adobe APP14 segment (transform
   * 0: CMYK), with no embedded ICC profile.
   */
  public static byte[] adobeCmykJpeg(int w, int h) {
    byte[] plain = cmykJpeg(w, h);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(plain, 0, 2);
    byte[] app14 = {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0};
    out.write(app14, 0, app14.length);
    out.write(plain, 2, plain.length - 2);
    return out.toByteArray();
  }

  /** A 16-bit-per-channel RGB PNG. */
  public static byte[] rgb16Png(int w, int h) {
    java.awt.color.ColorSpace srgb = java.awt.color.ColorSpace.getInstance(java.awt.color.ColorSpace.CS_sRGB);
    java.awt.image.ComponentColorModel cm = new java.awt.image.ComponentColorModel(srgb, false, false,
        java.awt.Transparency.OPAQUE, java.awt.image.DataBuffer.TYPE_USHORT);
    java.awt.image.WritableRaster raster = cm.createCompatibleWritableRaster(w, h);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        raster.setPixel(x, y, new int[] {x * 65535 / w, y * 65535 / h, 30000});
      }
    }
    return write(new BufferedImage(cm, raster, false, null), "png");
  }
}
