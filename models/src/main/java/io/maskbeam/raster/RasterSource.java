package io.maskbeam.raster;

import com.twelvemonkeys.imageio.metadata.CompoundDirectory;
import com.twelvemonkeys.imageio.metadata.Directory;
import com.twelvemonkeys.imageio.metadata.Entry;
import com.twelvemonkeys.imageio.metadata.tiff.TIFFReader;
import io.maskbeam.image.InvalidImageException;
import java.awt.Rectangle;
import java.awt.image.Raster;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.lang.reflect.Array;
import java.nio.channels.SeekableByteChannel;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * A (Geo)TIFF opened for reading window by window: the header and the tags come from TwelveMonkeys' TIFF metadata
 * reader, pixels from the JDK's TIFF image reader with a source region, which decodes only the tiles or strips a
 * window touches (uncompressed, LZW, Deflate, PackBits; 8/16/32-bit integers and 32-bit floats; any number of
 * bands). Not thread-safe: one source per thread.
 */
public final class RasterSource implements Closeable {
  private final ImageInputStream stream;
  private final ImageReader reader;
  private final RasterInfo info;
  private final String name;

  private RasterSource(ImageInputStream stream, ImageReader reader, RasterInfo info, String name) {
    this.stream = stream;
    this.reader = reader;
    this.info = info;
    this.name = name;
  }

  /** Whether a file name is one this class reads (by extension). */
  public static boolean handles(String name) {
    String n = name.toLowerCase(java.util.Locale.ROOT);
    return n.endsWith(".tif") || n.endsWith(".tiff");
  }

  /**
   * Opens a TIFF from a seekable channel (closed with the source, or on failure).
   *
   * @param name the file's name or URI, for messages
   */
  public static RasterSource open(SeekableByteChannel channel, String name) throws InvalidImageException {
    ImageInputStream stream = new ChannelImageInputStream(channel);
    try {
      if (stream.length() == 0) {
        throw new InvalidImageException(InvalidImageException.Kind.EMPTY, name + " is empty");
      }
      RasterInfo info = readInfo(stream, name);
      stream.seek(0);
      ImageReader reader = tiffReader();
      reader.setInput(stream, true, true);
      return new RasterSource(stream, reader, info, name);
    } catch (InvalidImageException e) {
      closeQuietly(stream);
      throw e;
    } catch (EOFException e) {
      closeQuietly(stream);
      throw new InvalidImageException(InvalidImageException.Kind.TRUNCATED, name + " ends inside its TIFF header", e);
    } catch (IOException | RuntimeException e) {
      closeQuietly(stream);
      throw new InvalidImageException(InvalidImageException.Kind.UNREADABLE, name + " is not a readable TIFF: "
          + e.getMessage(), e);
    }
  }

  /**
   * The JDK's own TIFF reader (java.desktop, since Java 9): it decodes a source region tile by tile. TwelveMonkeys'
   * reader, which decodes whole images well, fails on source regions of tiled files (3.12: "Coordinate out of
   * bounds" in readStripTileData), so it serves here for the tags only.
   */
  private static ImageReader tiffReader() throws IOException {
    ImageReader fallback = null;
    for (var it = javax.imageio.ImageIO.getImageReadersByFormatName("tiff"); it.hasNext(); ) {
      ImageReader r = it.next();
      if (r.getClass().getName().startsWith("com.sun.imageio.plugins.tiff.")) {
        return r;
      }
      fallback = fallback == null ? r : fallback;
    }
    if (fallback == null) {
      throw new IOException("no TIFF reader installed");
    }
    return fallback;
  }

  public RasterInfo info() {
    return info;
  }

  /**
   * Reads the pixels of a window, all bands, in the file's sample type. Only the tiles or strips the window touches
   * are read and decoded.
   *
   * @throws InvalidImageException when the data of the window cannot be decoded (a corrupt or missing tile), naming
   *     the window
   */
  public Raster read(int x, int y, int width, int height) throws InvalidImageException {
    if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > info.width() || y + height > info.height()) {
      throw new IllegalArgumentException("window " + width + "x" + height + " at (" + x + ", " + y + ") outside "
          + info.width() + "x" + info.height());
    }
    ImageReadParam param = reader.getDefaultReadParam();
    param.setSourceRegion(new Rectangle(x, y, width, height));
    try {
      Raster r = reader.read(0, param).getRaster();
      if (r.getWidth() != width || r.getHeight() != height || r.getNumBands() != info.bands()) {
        throw new IOException("decoded " + r.getWidth() + "x" + r.getHeight() + "x" + r.getNumBands());
      }
      return r;
    } catch (IOException | RuntimeException e) {
      InvalidImageException.Kind kind = endsEarly(e) ? InvalidImageException.Kind.TRUNCATED
          : InvalidImageException.Kind.UNREADABLE;
      throw new InvalidImageException(kind, name + ": the window " + width + "x" + height + " at (" + x + ", " + y
          + ") cannot be decoded (a corrupt or missing tile?): " + e, e);
    }
  }

  /** Whether a failure, or one of its causes, is the file ending where data was expected. */
  private static boolean endsEarly(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String message = String.valueOf(t.getMessage());
      if (t instanceof EOFException || message.contains("EOF") || message.contains("out of stream")) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void close() throws IOException {
    reader.dispose();
    stream.close();
  }

  private static RasterInfo readInfo(ImageInputStream stream, String name) throws IOException,
      InvalidImageException {
    Directory all = new TIFFReader().read(stream);
    Directory ifd = all instanceof CompoundDirectory c ? c.getDirectory(0) : all;
    int width = intTag(ifd, 256, -1);
    int height = intTag(ifd, 257, -1);
    if (width <= 0 || height <= 0) {
      throw new InvalidImageException(InvalidImageException.Kind.EMPTY, name + " has no width or height");
    }
    int bands = intTag(ifd, 277, 1);
    int[] bits = ints(ifd, 258);
    int[] formats = ints(ifd, 339);
    int bitsPerSample = bits == null ? 1 : bits[0];
    int format = formats == null ? 1 : formats[0];
    if (bits != null) {
      for (int b : bits) {
        if (b != bitsPerSample) {
          throw new InvalidImageException(InvalidImageException.Kind.UNREADABLE, name + " mixes sample sizes across"
              + " bands (" + java.util.Arrays.toString(bits) + " bits); Maskbeam reads rasters whose bands share one"
              + " type");
        }
      }
    }
    SampleType type = SampleType.of(bitsPerSample, format);
    if (type == null) {
      throw new InvalidImageException(InvalidImageException.Kind.UNREADABLE, name + " has " + bitsPerSample
          + "-bit samples of format " + format + "; readable: 8, 16 and 32-bit integers, 32 and 64-bit floats");
    }
    checkDataWithinFile(ifd, stream.length(), name);
    int tileWidth = intTag(ifd, 322, 0);
    int tileHeight = tileWidth > 0 ? intTag(ifd, 323, 0) : intTag(ifd, 278, height);
    GeoReference geo = new GeoReference(doubles(ifd, GeoReference.TAG_PIXEL_SCALE),
        doubles(ifd, GeoReference.TAG_TIEPOINT), doubles(ifd, GeoReference.TAG_TRANSFORMATION),
        ints(ifd, GeoReference.TAG_GEO_KEYS), doubles(ifd, GeoReference.TAG_DOUBLE_PARAMS),
        text(ifd, GeoReference.TAG_ASCII_PARAMS));
    return new RasterInfo(width, height, bands, type, tileWidth, tileHeight, intTag(ifd, 259, 1), geo,
        text(ifd, GeoReference.TAG_GDAL_NODATA));
  }

  /**
   * Refuses, before any window is read, a file whose tiles or strips run past its end (an interrupted copy or
   * upload): otherwise the job would segment the raster's first windows and fail on the last.
   */
  private static void checkDataWithinFile(Directory ifd, long length, String name) throws InvalidImageException {
    if (length < 0) {
      return;
    }
    boolean tiled = value(ifd, 324) != null;
    int[] offsets = ints(ifd, tiled ? 324 : 273);
    int[] counts = ints(ifd, tiled ? 325 : 279);
    if (offsets == null || counts == null) {
      return;
    }
    for (int i = 0; i < Math.min(offsets.length, counts.length); i++) {
      long end = Integer.toUnsignedLong(offsets[i]) + Integer.toUnsignedLong(counts[i]);
      if (end > length) {
        throw new InvalidImageException(InvalidImageException.Kind.TRUNCATED, name + " is truncated: "
            + (tiled ? "tile " : "strip ") + i + " of " + offsets.length + " runs to byte " + end
            + ", the file ends at " + length);
      }
    }
  }

  private static int intTag(Directory ifd, int tag, int fallback) {
    int[] v = ints(ifd, tag);
    return v == null || v.length == 0 ? fallback : v[0];
  }

  /** A tag's values as ints, whatever integer type TIFF stored them in; null when absent. */
  static int[] ints(Directory ifd, int tag) {
    Object v = value(ifd, tag);
    if (v == null) {
      return null;
    }
    if (v instanceof Number n) {
      return new int[] {n.intValue()};
    }
    if (v.getClass().isArray()) {
      int[] out = new int[Array.getLength(v)];
      for (int i = 0; i < out.length; i++) {
        Object e = Array.get(v, i);
        // SHORT values come as Java shorts or ints depending on the reader: keep them unsigned.
        out[i] = e instanceof Short s ? s & 0xffff : ((Number) e).intValue();
      }
      return out;
    }
    return null;
  }

  static double[] doubles(Directory ifd, int tag) {
    Object v = value(ifd, tag);
    if (v == null) {
      return null;
    }
    if (v instanceof Number n) {
      return new double[] {n.doubleValue()};
    }
    if (v.getClass().isArray()) {
      double[] out = new double[Array.getLength(v)];
      for (int i = 0; i < out.length; i++) {
        out[i] = ((Number) Array.get(v, i)).doubleValue();
      }
      return out;
    }
    return null;
  }

  static String text(Directory ifd, int tag) {
    Object v = value(ifd, tag);
    if (v == null) {
      return null;
    }
    String s = v instanceof String[] a ? String.join("|", a) : v.toString();
    int nul = s.indexOf('\0');
    return nul >= 0 ? s.substring(0, nul) : s;
  }

  private static Object value(Directory ifd, int tag) {
    Entry e = ifd.getEntryById(tag);
    return e == null ? null : e.getValue();
  }

  private static void closeQuietly(ImageInputStream stream) {
    try {
      stream.close();
    } catch (IOException ignored) {
      // already failing
    }
  }
}
