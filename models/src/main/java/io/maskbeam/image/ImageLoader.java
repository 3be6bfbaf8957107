package io.maskbeam.image;

import java.awt.image.BufferedImage;
import java.io.Serializable;
import java.util.Locale;

/**
 * The one policy by which every stage (preprocess, train, segment, evaluate, serve) turns stored bytes into pixels:
 *
 * <ul>
 *   <li>the header is read first, and an image over the pixel limit is refused before any pixel memory is spent;
 *   <li>every decoder warning is an error (a truncated JPEG otherwise decodes to grey with only a warning), except
 *       the notice that a CMYK JPEG carries no colour profile, which is converted with the built-in CMYK profile;
 *   <li>grey, palette, 16-bit, alpha and CMYK photos become 8-bit sRGB (alpha composited over black);
 *   <li>a photo's EXIF orientation is applied, so pixels are upright as a viewer shows them.
 * </ul>
 *
 * Label images (masks, predictions) are decoded raw: no colour conversion and no orientation, since their values
 * are class ids, not colours.
 */
public final class ImageLoader implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Default pixel limit: 100 megapixels. */
  public static final long DEFAULT_MAX_PIXELS = 100_000_000L;

  /**
   * For the records preprocessing wrote: their pixels are upright already and were held to its pixel limit, so
   * neither is applied again.
   */
  public static final ImageLoader RECORDS = new ImageLoader(Long.MAX_VALUE, false);

  private final long maxPixels;
  private final boolean applyOrientation;

  private ImageLoader(long maxPixels, boolean applyOrientation) {
    if (maxPixels < 1) {
      throw new IllegalArgumentException("the pixel limit must be positive, got " + maxPixels);
    }
    this.maxPixels = maxPixels;
    this.applyOrientation = applyOrientation;
  }

  /** Images up to {@code maxPixels}, turned upright by their EXIF orientation. */
  /** The largest image, in pixels, this loader decodes. */
  public long maxPixels() {
    return maxPixels;
  }

  public static ImageLoader withPixelLimit(long maxPixels) {
    return new ImageLoader(maxPixels, true);
  }

  public static ImageLoader defaults() {
    return withPixelLimit(DEFAULT_MAX_PIXELS);
  }

  /** The same limit, pixels as stored (for tools that must see what is in the file). */
  public ImageLoader ignoringOrientation() {
    return new ImageLoader(maxPixels, false);
  }

  /**
   * A decoded photo.
   *
   * @param image upright 8-bit RGB pixels
   * @param orientation the EXIF orientation that was applied (1: none)
   * @param format the container format ("png", "jpeg", "tiff", ...)
   * @param storedAsPlainRgb8 whether the file held 8-bit RGB without alpha, so its bytes already are these pixels
   *     (when the orientation is 1)
   */
  public record Photo(RgbImage image, int orientation, String format, boolean storedAsPlainRgb8) {
    /** Width and height of the pixels as stored, before the orientation turned them. */
    public int storedWidth() {
      return ExifOrientation.swapsSides(orientation) ? image.height() : image.width();
    }

    public int storedHeight() {
      return ExifOrientation.swapsSides(orientation) ? image.width() : image.height();
    }
  }

  /** Format and size from the header alone, refused over the pixel limit. */
  public ImageHeader header(byte[] bytes) throws InvalidImageException {
    ImageHeader header = ImageCodec.probe(bytes);
    if (header.pixels() > maxPixels) {
      throw new InvalidImageException(InvalidImageException.Kind.TOO_MANY_PIXELS, String.format(Locale.ROOT,
          "header says %dx%d = %.1f megapixels, over the limit of %.1f megapixels", header.width(), header.height(),
          header.pixels() / 1e6, maxPixels / 1e6));
    }
    return header;
  }

  /** Decodes a photo to upright 8-bit RGB (the decoder refuses it from its header when over the limit). */
  public Photo load(byte[] bytes) throws InvalidImageException {
    ImageCodec.Decoded decoded = ImageCodec.decodeWithFormat(bytes, maxPixels);
    RgbImage rgb = ImageCodec.toRgb(decoded.image());
    int orientation = applyOrientation ? ExifOrientation.read(bytes) : ExifOrientation.NORMAL;
    return new Photo(ExifOrientation.apply(rgb, orientation), orientation, decoded.format(),
        ImageCodec.isPlainRgb8(decoded.image()));
  }

  /** Decodes without colour conversion (label masks: palette indices, 16-bit values, colour codes). */
  public BufferedImage decodeRaw(byte[] bytes) throws InvalidImageException {
    return ImageCodec.decode(bytes, maxPixels);
  }

  /** A single-channel 8-bit label image (predictions, the label PNGs of records). */
  public LabelImage loadLabels(byte[] bytes) throws InvalidImageException {
    BufferedImage image = decodeRaw(bytes);
    if (image.getRaster().getNumBands() != 1) {
      throw new InvalidImageException(InvalidImageException.Kind.UNREADABLE,
          "label image has " + image.getRaster().getNumBands() + " channels, expected 1");
    }
    int[] values = ImageCodec.rawBands(image)[0];
    byte[] labels = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      if (values[i] > 255) {
        throw new InvalidImageException(InvalidImageException.Kind.UNREADABLE,
            "label image holds value " + values[i] + "; class ids are 8-bit");
      }
      labels[i] = (byte) values[i];
    }
    return new LabelImage(image.getWidth(), image.getHeight(), labels);
  }
}
