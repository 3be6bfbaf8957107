package io.maskbeam.image;

import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Decoding and encoding through ImageIO, with the TwelveMonkeys plugins (JPEG with CMYK/YCCK and broken markers,
 * TIFF, WebP, BMP) registered from the classpath.
 *
 * <p>Two rules keep bad input from hurting a worker: the header is read first and oversized images are refused
 * before any pixel memory is allocated, and every decoder warning (a truncated JPEG decodes to grey with only a
 * warning) is treated as an error.
 */
public final class ImageCodec {
  static {
    ImageIO.setUseCache(false);
    ImageIO.scanForPlugins();
  }

  private ImageCodec() {}

  /** Reads format and size from the header only. */
  public static ImageHeader probe(byte[] bytes) throws InvalidImageException {
    if (bytes.length == 0) {
      throw new InvalidImageException(InvalidImageException.Kind.EMPTY, "file is empty (0 bytes)");
    }
    try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
      ImageReader reader = firstReader(in);
      try {
        reader.setInput(in, true, true);
        return new ImageHeader(formatOf(reader), reader.getWidth(0), reader.getHeight(0));
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      throw new InvalidImageException(InvalidImageException.Kind.UNREADABLE, "cannot read image header: " + describe(e), e);
    }
  }

  /**
   * Decodes an image, refusing it first if its header claims more than {@code maxPixels} pixels.
   *
   * @throws InvalidImageException with kind TRUNCATED when the data ends early, UNREADABLE when it is not an image
   */
  public static BufferedImage decode(byte[] bytes, long maxPixels) throws InvalidImageException {
    return decodeWithFormat(bytes, maxPixels).image();
  }

  /** Decoded pixels and the container format ("png", "jpeg", ...) the header named. */
  public record Decoded(BufferedImage image, String format) {}

  /** {@link #decode}, also naming the format, from one read of the header. */
  public static Decoded decodeWithFormat(byte[] bytes, long maxPixels) throws InvalidImageException {
    if (bytes.length == 0) {
      throw new InvalidImageException(InvalidImageException.Kind.EMPTY, "file is empty (0 bytes)");
    }
    ImageInputStream in;
    try {
      in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try (in) {
      ImageReader reader = firstReader(in);
      List<String> warnings = new ArrayList<>();
      try {
        reader.setInput(in, true, true);
        int width = reader.getWidth(0);
        int height = reader.getHeight(0);
        if (width <= 0 || height <= 0) {
          throw new InvalidImageException(InvalidImageException.Kind.EMPTY, "image has size " + width + "x" + height);
        }
        long pixels = (long) width * height;
        if (pixels > maxPixels) {
          throw new InvalidImageException(InvalidImageException.Kind.TOO_MANY_PIXELS, String.format(Locale.ROOT,
              "%dx%d = %.1f megapixels exceeds the limit of %.1f megapixels", width, height, pixels / 1e6, maxPixels / 1e6));
        }
        reader.addIIOReadWarningListener(new IIOReadWarningListener() {
          @Override
          public void warningOccurred(ImageReader source, String warning) {
            warnings.add(warning);
          }
        });
        ImageReadParam param = reader.getDefaultReadParam();
        BufferedImage image = reader.read(0, param);
        // A CMYK JPEG without an embedded profile is converted with the reader's built-in CMYK profile; the
        // pixels are complete, so that notice is not a defect of the file.
        warnings.removeIf(w -> w.contains("No embedded ICC color profile"));
        if (!warnings.isEmpty()) {
          String w = String.join("; ", warnings);
          boolean truncated = w.toLowerCase(Locale.ROOT).contains("premature")
              || w.toLowerCase(Locale.ROOT).contains("end of")
              || w.toLowerCase(Locale.ROOT).contains("truncat");
          throw new InvalidImageException(
              truncated ? InvalidImageException.Kind.TRUNCATED : InvalidImageException.Kind.UNREADABLE,
              (truncated ? "truncated image: " : "corrupt image: ") + w);
        }
        return new Decoded(image, formatOf(reader));
      } finally {
        reader.dispose();
      }
    } catch (InvalidImageException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      if (isEndOfData(e)) {
        throw new InvalidImageException(InvalidImageException.Kind.TRUNCATED, "truncated image: " + describe(e), e);
      }
      throw new InvalidImageException(InvalidImageException.Kind.UNREADABLE, "cannot decode image: " + describe(e), e);
    }
  }

  private static ImageReader firstReader(ImageInputStream in) throws InvalidImageException {
    if (in == null) {
      throw new InvalidImageException(InvalidImageException.Kind.UNREADABLE, "no image input stream");
    }
    Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
    if (!readers.hasNext()) {
      throw new InvalidImageException(InvalidImageException.Kind.UNREADABLE,
          "not a recognised image format (readable: png, jpeg, tiff, webp, bmp, gif)");
    }
    return readers.next();
  }

  private static String formatOf(ImageReader reader) throws IOException {
    String f = reader.getFormatName().toLowerCase(Locale.ROOT);
    return f.equals("jpg") ? "jpeg" : f;
  }

  private static boolean isEndOfData(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof EOFException) {
        return true;
      }
      String m = t.getMessage();
      if (m != null) {
        String lower = m.toLowerCase(Locale.ROOT);
        if (lower.contains("unexpected end") || lower.contains("premature end") || lower.contains("truncated")) {
          return true;
        }
      }
    }
    return false;
  }

  private static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String m = root.getMessage();
    String top = e.getMessage();
    if (root == e || m == null) {
      return top == null ? e.getClass().getSimpleName() : top;
    }
    return (top == null ? e.getClass().getSimpleName() : top) + " (" + m + ")";
  }

  /** Whether the image is 8-bit RGB without alpha, i.e. usable as-is as a 3-channel training image. */
  public static boolean isPlainRgb8(BufferedImage image) {
    return image.getColorModel().getNumComponents() == 3
        && !image.getColorModel().hasAlpha()
        && image.getColorModel().getColorSpace().isCS_sRGB()
        && image.getSampleModel().getNumBands() == 3
        && image.getSampleModel().getSampleSize(0) == 8
        && !(image.getColorModel() instanceof java.awt.image.IndexColorModel);
  }

  /**
   * Any decoded image (grey, palette, 16-bit, alpha, CMYK converted by the reader) as 8-bit sRGB. Alpha is
   * composited over black, the convention of TensorFlow's decode_png(channels=3).
   */
  public static RgbImage toRgb(BufferedImage image) {
    int w = image.getWidth();
    int h = image.getHeight();
    BufferedImage bgr;
    if (image.getType() == BufferedImage.TYPE_3BYTE_BGR) {
      bgr = image;
    } else {
      bgr = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
      Graphics2D g = bgr.createGraphics();
      try {
        g.drawImage(image, 0, 0, null);
      } finally {
        g.dispose();
      }
    }
    byte[] data = ((DataBufferByte) bgr.getRaster().getDataBuffer()).getData();
    byte[] rgb = new byte[w * h * 3];
    for (int i = 0; i < rgb.length; i += 3) {
      rgb[i] = data[i + 2];
      rgb[i + 1] = data[i + 1];
      rgb[i + 2] = data[i];
    }
    return new RgbImage(w, h, rgb);
  }

  /** RGB pixels as a BufferedImage (for encoding). */
  public static BufferedImage toBufferedImage(RgbImage rgb) {
    BufferedImage out = new BufferedImage(rgb.width(), rgb.height(), BufferedImage.TYPE_3BYTE_BGR);
    byte[] data = ((DataBufferByte) out.getRaster().getDataBuffer()).getData();
    byte[] src = rgb.pixels();
    for (int i = 0; i < src.length; i += 3) {
      data[i] = src[i + 2];
      data[i + 1] = src[i + 1];
      data[i + 2] = src[i];
    }
    return out;
  }

  /** Label ids as an 8-bit grey BufferedImage (for encoding). */
  public static BufferedImage toBufferedImage(LabelImage labels) {
    BufferedImage out = new BufferedImage(labels.width(), labels.height(), BufferedImage.TYPE_BYTE_GRAY);
    byte[] data = ((DataBufferByte) out.getRaster().getDataBuffer()).getData();
    System.arraycopy(labels.labels(), 0, data, 0, data.length);
    return out;
  }

  /**
   * Every band of the raw raster, without colour-model conversion: a palette PNG yields its indices, a 16-bit PNG
   * its 16-bit values. Returns [band][pixel].
   */
  public static int[][] rawBands(BufferedImage image) {
    Raster raster = image.getRaster();
    int w = raster.getWidth();
    int h = raster.getHeight();
    int bands = raster.getNumBands();
    int[][] out = new int[bands][];
    for (int b = 0; b < bands; b++) {
      out[b] = raster.getSamples(raster.getMinX(), raster.getMinY(), w, h, b, new int[w * h]);
    }
    return out;
  }

  /** Encodes as PNG. Deflate at a middle level: masks compress well and the default level 9 costs twice the time. */
  public static byte[] encodePng(BufferedImage image) {
    return encode(image, "png", 0.5f);
  }

  public static byte[] encodeJpeg(RgbImage rgb, int quality) {
    return encode(toBufferedImage(rgb), "jpeg", quality / 100f);
  }

  public static byte[] encodePng(LabelImage labels) {
    return encodePng(toBufferedImage(labels));
  }

  public static byte[] encodePng(RgbImage rgb) {
    return encodePng(toBufferedImage(rgb));
  }

  private static byte[] encode(BufferedImage image, String format, float quality) {
    Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName(format);
    if (!writers.hasNext()) {
      throw new IllegalStateException("no ImageIO writer for " + format);
    }
    ImageWriter writer = writers.next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(image.getWidth() * image.getHeight() / 2 + 1024);
    try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      ImageWriteParam param = writer.getDefaultWriteParam();
      if (param.canWriteCompressed()) {
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        if (param.getCompressionTypes() != null && param.getCompressionType() == null) {
          param.setCompressionType(param.getCompressionTypes()[0]);
        }
        param.setCompressionQuality(quality);
      }
      writer.write(null, new IIOImage(image, null, null), param);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }

  /** Decodes a label PNG written by {@link #encodePng(LabelImage)} (or any 8-bit single-channel PNG). */
  public static LabelImage decodeLabels(byte[] png) throws InvalidImageException {
    return ImageLoader.withPixelLimit(Long.MAX_VALUE).loadLabels(png);
  }
}
