package io.maskbeam.image;

import com.twelvemonkeys.imageio.metadata.Directory;
import com.twelvemonkeys.imageio.metadata.Entry;
import com.twelvemonkeys.imageio.metadata.jpeg.JPEG;
import com.twelvemonkeys.imageio.metadata.jpeg.JPEGSegment;
import com.twelvemonkeys.imageio.metadata.jpeg.JPEGSegmentUtil;
import com.twelvemonkeys.imageio.metadata.tiff.TIFF;
import com.twelvemonkeys.imageio.metadata.tiff.TIFFReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * EXIF orientation of JPEG files (tag 0x0112), read with TwelveMonkeys' metadata readers, and its application to
 * decoded pixels. Cameras store pixels as the sensor saw them and record the rotation a viewer must apply; a
 * segmentation that ignores it comes out sideways next to the photo the user sees.
 */
public final class ExifOrientation {
  /** The identity orientation. */
  public static final int NORMAL = 1;

  private ExifOrientation() {}

  /** The orientation (1..8) recorded in a JPEG's EXIF block; {@link #NORMAL} for other formats or no EXIF. */
  public static int read(byte[] bytes) {
    if (bytes.length < 4 || (bytes[0] & 0xFF) != 0xFF || (bytes[1] & 0xFF) != 0xD8) {
      return NORMAL;
    }
    try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
      List<JPEGSegment> exif = JPEGSegmentUtil.readSegments(in, JPEG.APP1, "Exif");
      if (exif.isEmpty()) {
        return NORMAL;
      }
      byte[] data;
      try (InputStream s = exif.get(0).data()) {
        data = s.readAllBytes();
      }
      // The identifier is "Exif\0" followed by a pad byte; the TIFF structure starts at its byte-order mark.
      int start = 0;
      while (start < data.length && data[start] == 0) {
        start++;
      }
      try (ImageInputStream tiff = new MemoryCacheImageInputStream(
          new ByteArrayInputStream(data, start, data.length - start))) {
        Directory directory = new TIFFReader().read(tiff);
        Entry entry = directory.getEntryById(TIFF.TAG_ORIENTATION);
        if (entry == null || !(entry.getValue() instanceof Number n)) {
          return NORMAL;
        }
        int value = n.intValue();
        return value >= 1 && value <= 8 ? value : NORMAL;
      }
    } catch (IOException | RuntimeException e) {
      // Broken EXIF is common (editors truncate it); the pixels are still good, shown as stored.
      return NORMAL;
    }
  }

  /** Whether an orientation swaps width and height (the 90 and 270 degree cases). */
  public static boolean swapsSides(int orientation) {
    return orientation >= 5 && orientation <= 8;
  }

  /**
   * The pixels as a viewer displays them. Orientation values follow the EXIF specification: 2 mirror, 3 rotate
   * 180, 4 flip vertically, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 270 clockwise.
   */
  public static RgbImage apply(RgbImage image, int orientation) {
    if (orientation <= NORMAL || orientation > 8) {
      return image;
    }
    boolean swap = swapsSides(orientation);
    byte[] out = apply(image.pixels(), image.width(), image.height(), 3, orientation);
    return new RgbImage(swap ? image.height() : image.width(), swap ? image.width() : image.height(), out);
  }

  /** A label map turned like its photo (for masks drawn on the stored pixels of a photo with an orientation). */
  public static LabelImage apply(LabelImage labels, int orientation) {
    if (orientation <= NORMAL || orientation > 8) {
      return labels;
    }
    boolean swap = swapsSides(orientation);
    byte[] out = apply(labels.labels(), labels.width(), labels.height(), 1, orientation);
    return new LabelImage(swap ? labels.height() : labels.width(), swap ? labels.width() : labels.height(), out);
  }

  /** Interleaved pixels of {@code channels} bytes each, reoriented. */
  static byte[] apply(byte[] src, int w, int h, int channels, int orientation) {
    boolean swap = swapsSides(orientation);
    int ow = swap ? h : w;
    int oh = swap ? w : h;
    byte[] dst = new byte[src.length];
    for (int y = 0; y < oh; y++) {
      for (int x = 0; x < ow; x++) {
        // (sx, sy): the stored pixel shown at display position (x, y).
        int sx;
        int sy;
        switch (orientation) {
          case 2 -> { sx = w - 1 - x; sy = y; }
          case 3 -> { sx = w - 1 - x; sy = h - 1 - y; }
          case 4 -> { sx = x; sy = h - 1 - y; }
          case 5 -> { sx = y; sy = x; }
          case 6 -> { sx = y; sy = h - 1 - x; }
          case 7 -> { sx = w - 1 - y; sy = h - 1 - x; }
          default -> { sx = w - 1 - y; sy = x; } // 8
        }
        System.arraycopy(src, (sy * w + sx) * channels, dst, (y * ow + x) * channels, channels);
      }
    }
    return dst;
  }
}
