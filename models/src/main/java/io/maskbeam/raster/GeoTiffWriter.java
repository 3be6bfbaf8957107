package io.maskbeam.raster;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;

/**
 * Writes a tiled, Deflate-compressed (Geo)TIFF whose tiles arrive one by one, in any order, from any thread: only
 * compressed tiles are held, never the raster, so a mask of 20,000 x 20,000 pixels costs what it compresses to
 * (label masks compress 50-500x). {@link #writeTo} lays the file out cloud-optimised: header and IFD first, tag
 * values, then the tiles row by row, so readers of {@code gs://} or {@code s3://} objects need one range request for
 * the directory. Georeferencing tags are written verbatim from the input's {@link GeoReference}.
 *
 * <p>Hand-written because no library on Maven Central writes tiled GeoTIFF from Java without native code (GDAL) or
 * a non-Central repository (GeoTools); TwelveMonkeys' TIFF writer writes strips of a whole in-memory image. The
 * format written is baseline TIFF 6.0 with the tile extension, little-endian, classic (not BigTIFF): a file over
 * 4 GiB compressed is refused with that reason.
 */
public final class GeoTiffWriter {
  private static final int SHORT = 3;
  private static final int LONG = 4;
  private static final int DOUBLE = 12;
  private static final int ASCII = 2;

  private final int width;
  private final int height;
  private final int bands;
  private final SampleType type;
  private final int tileSize;
  private final int columns;
  private final int rows;
  private final byte[][] tiles;
  private GeoReference geo = GeoReference.NONE;
  private String noData;
  private int[] palette;
  private boolean rgb;
  private int level = 6;

  /**
   * @param tileSize tile width and height, a multiple of 16 (TIFF's rule)
   */
  public GeoTiffWriter(int width, int height, int bands, SampleType type, int tileSize) {
    if (width < 1 || height < 1 || bands < 1) {
      throw new IllegalArgumentException("a raster of " + width + "x" + height + "x" + bands);
    }
    if (tileSize < 16 || tileSize % 16 != 0) {
      throw new IllegalArgumentException("TIFF tiles are multiples of 16 pixels, got " + tileSize);
    }
    this.width = width;
    this.height = height;
    this.bands = bands;
    this.type = type;
    this.tileSize = tileSize;
    this.columns = (width + tileSize - 1) / tileSize;
    this.rows = (height + tileSize - 1) / tileSize;
    this.tiles = new byte[columns * rows][];
  }

  /** Georeferencing tags to carry (the input's). */
  public GeoTiffWriter withGeoReference(GeoReference reference) {
    this.geo = reference == null ? GeoReference.NONE : reference;
    return this;
  }

  /** GDAL_NODATA: the value of pixels that hold no data, as text ("255", "-9999", "nan"). */
  public GeoTiffWriter withNoData(String value) {
    this.noData = value;
    return this;
  }

  /**
   * A colour table for a single-band 8-bit raster (photometric palette): class ids stay the pixel values while
   * viewers show each class in its colour. {@code colours[i]} is 0xRRGGBB for value i; missing entries are black.
   */
  public GeoTiffWriter withPalette(int[] colours) {
    if (bands != 1 || type != SampleType.UINT8) {
      throw new IllegalArgumentException("a palette needs one 8-bit band");
    }
    this.palette = colours.clone();
    return this;
  }

  /** Marks three 8-bit bands as RGB (photometric 2) rather than three bands of data. */
  public GeoTiffWriter asRgb() {
    if (bands != 3 || type != SampleType.UINT8) {
      throw new IllegalArgumentException("RGB needs three 8-bit bands");
    }
    this.rgb = true;
    return this;
  }

  /** Deflate level, 1 (fast) to 9 (small); 6 by default. */
  public GeoTiffWriter withCompressionLevel(int value) {
    this.level = value;
    return this;
  }

  public int tileSize() {
    return tileSize;
  }

  public int tileColumns() {
    return columns;
  }

  public int tileRows() {
    return rows;
  }

  /** Bytes of one uncompressed tile: tileSize^2 pixels, bands interleaved, samples little-endian. */
  public int tileBytes() {
    return tileSize * tileSize * bands * type.bytes();
  }

  /**
   * Compresses and keeps one tile. Edge tiles are full size too (TIFF's rule); what lies outside the raster is
   * padding that readers ignore.
   *
   * @param pixels {@link #tileBytes()} bytes: rows of tileSize pixels, bands interleaved, little-endian samples
   */
  public void putTile(int column, int row, byte[] pixels) {
    if (column < 0 || column >= columns || row < 0 || row >= rows) {
      throw new IllegalArgumentException("tile (" + column + ", " + row + ") outside " + columns + "x" + rows);
    }
    if (pixels.length != tileBytes()) {
      throw new IllegalArgumentException(pixels.length + " bytes for a tile of " + tileBytes());
    }
    byte[] compressed = deflate(pixels, level);
    synchronized (tiles) {
      tiles[row * columns + column] = compressed;
    }
  }

  /**
   * Cuts the tile at (column, row) out of a region of the raster held as interleaved bytes and keeps it; pixels of
   * the tile outside the region are zero.
   *
   * @param region bytes of a region of {@code regionWidth x regionHeight} pixels whose top-left pixel is at raster
   *     position (regionX, regionY), in this raster's pixel layout
   */
  public void putTileFrom(int column, int row, byte[] region, int regionX, int regionY, int regionWidth,
      int regionHeight) {
    int pixelBytes = bands * type.bytes();
    byte[] tile = new byte[tileBytes()];
    int x0 = column * tileSize;
    int y0 = row * tileSize;
    int fromX = Math.max(x0, regionX);
    int toX = Math.min(x0 + tileSize, Math.min(width, regionX + regionWidth));
    if (toX > fromX) {
      for (int y = Math.max(y0, regionY); y < Math.min(y0 + tileSize, Math.min(height, regionY + regionHeight));
          y++) {
        System.arraycopy(region, ((y - regionY) * regionWidth + fromX - regionX) * pixelBytes, tile,
            ((y - y0) * tileSize + fromX - x0) * pixelBytes, (toX - fromX) * pixelBytes);
      }
    }
    putTile(column, row, tile);
  }

  /**
   * Keeps a tile compressed elsewhere, by {@link #compressedTile} of a writer of the same raster and layout (another
   * worker's share of a raster).
   */
  public void putCompressedTile(int column, int row, byte[] deflated) {
    if (column < 0 || column >= columns || row < 0 || row >= rows) {
      throw new IllegalArgumentException("tile (" + column + ", " + row + ") outside " + columns + "x" + rows);
    }
    synchronized (tiles) {
      tiles[row * columns + column] = deflated;
    }
  }

  /** A tile as kept (Deflate-compressed), or null when it has not been put. */
  public byte[] compressedTile(int column, int row) {
    synchronized (tiles) {
      return tiles[row * columns + column];
    }
  }

  /** Puts every tile from the whole raster held as bytes in this raster's layout (small rasters, tests). */
  public GeoTiffWriter putAll(byte[] pixels) {
    if (pixels.length != (long) width * height * bands * type.bytes()) {
      throw new IllegalArgumentException(pixels.length + " bytes for a raster of " + width + "x" + height + "x"
          + bands + " " + type.label());
    }
    for (int row = 0; row < rows; row++) {
      for (int column = 0; column < columns; column++) {
        putTileFrom(column, row, pixels, 0, 0, width, height);
      }
    }
    return this;
  }

  /** The file as bytes (small rasters, tests). */
  public byte[] toByteArray() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      writeTo(out);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Whether every tile has arrived. */
  public boolean complete() {
    synchronized (tiles) {
      for (byte[] t : tiles) {
        if (t == null) {
          return false;
        }
      }
      return true;
    }
  }

  /** Writes the file. Every tile must have been put. */
  public void writeTo(OutputStream out) throws IOException {
    byte[][] data;
    synchronized (tiles) {
      data = tiles.clone();
    }
    for (int i = 0; i < data.length; i++) {
      if (data[i] == null) {
        throw new IllegalStateException("tile (" + i % columns + ", " + i / columns + ") was never written");
      }
    }
    List<Entry> entries = new ArrayList<>();
    entries.add(Entry.longs(256, width));
    entries.add(Entry.longs(257, height));
    entries.add(Entry.shorts(258, repeat(type.bits(), bands)));
    entries.add(Entry.shorts(259, 8)); // Adobe Deflate (zlib)
    entries.add(Entry.shorts(262, palette != null ? 3 : rgb ? 2 : 1));
    entries.add(Entry.shorts(277, bands));
    entries.add(Entry.shorts(284, 1)); // chunky: bands interleaved
    if (palette != null) {
      int[] map = new int[3 * 256];
      for (int i = 0; i < 256; i++) {
        int c = i < palette.length ? palette[i] : 0;
        map[i] = ((c >> 16) & 0xff) * 257;
        map[256 + i] = ((c >> 8) & 0xff) * 257;
        map[512 + i] = (c & 0xff) * 257;
      }
      entries.add(Entry.shorts(320, map));
    }
    entries.add(Entry.shorts(322, tileSize));
    entries.add(Entry.shorts(323, tileSize));
    entries.add(Entry.longs(324, new long[data.length])); // offsets, filled in below
    long[] counts = new long[data.length];
    for (int i = 0; i < data.length; i++) {
      counts[i] = data[i].length;
    }
    entries.add(Entry.longs(325, counts));
    int extra = bands - (rgb ? 3 : 1);
    if (extra > 0) {
      entries.add(Entry.shorts(338, new int[extra])); // unspecified extra bands
    }
    entries.add(Entry.shorts(339, repeat(type.sampleFormat(), bands)));
    if (geo.pixelScale() != null) {
      entries.add(Entry.doubles(GeoReference.TAG_PIXEL_SCALE, geo.pixelScale()));
    }
    if (geo.tiePoints() != null) {
      entries.add(Entry.doubles(GeoReference.TAG_TIEPOINT, geo.tiePoints()));
    }
    if (geo.transformation() != null) {
      entries.add(Entry.doubles(GeoReference.TAG_TRANSFORMATION, geo.transformation()));
    }
    if (geo.geoKeys() != null) {
      entries.add(Entry.shorts(GeoReference.TAG_GEO_KEYS, geo.geoKeys()));
    }
    if (geo.doubleParams() != null) {
      entries.add(Entry.doubles(GeoReference.TAG_DOUBLE_PARAMS, geo.doubleParams()));
    }
    if (geo.asciiParams() != null) {
      entries.add(Entry.ascii(GeoReference.TAG_ASCII_PARAMS, geo.asciiParams()));
    }
    if (noData != null) {
      entries.add(Entry.ascii(GeoReference.TAG_GDAL_NODATA, noData));
    }

    long ifdSize = 2 + 12L * entries.size() + 4;
    long cursor = 8 + ifdSize;
    for (Entry e : entries) {
      if (e.value.length > 4) {
        cursor += cursor & 1; // values start on a word boundary
        e.offset = cursor;
        cursor += e.value.length;
      }
    }
    long[] offsets = new long[data.length];
    for (int i = 0; i < data.length; i++) {
      offsets[i] = cursor;
      cursor += data[i].length;
    }
    if (cursor > 0xFFFF_FFFFL) {
      throw new IllegalStateException("the compressed raster needs " + cursor + " bytes; classic TIFF ends at 4 GiB"
          + " (use smaller rasters or tiles of them)");
    }
    Entry offsetsEntry = entries.stream().filter(e -> e.tag == 324).findFirst().orElseThrow();
    offsetsEntry.value = Entry.longs(324, offsets).value;

    ByteBuffer head = ByteBuffer.allocate((int) (8 + ifdSize)).order(ByteOrder.LITTLE_ENDIAN);
    head.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8);
    head.putShort((short) entries.size());
    for (Entry e : entries) {
      head.putShort((short) e.tag).putShort((short) e.type).putInt(e.count);
      if (e.value.length <= 4) {
        byte[] inline = new byte[4];
        System.arraycopy(e.value, 0, inline, 0, e.value.length);
        head.put(inline);
      } else {
        head.putInt((int) e.offset);
      }
    }
    head.putInt(0); // no further IFD
    out.write(head.array());
    long written = head.capacity();
    for (Entry e : entries) {
      if (e.value.length > 4) {
        if (written < e.offset) {
          out.write(0);
          written++;
        }
        out.write(e.value);
        written += e.value.length;
      }
    }
    for (byte[] tile : data) {
      out.write(tile);
    }
  }

  private static int[] repeat(int value, int n) {
    int[] out = new int[n];
    java.util.Arrays.fill(out, value);
    return out;
  }

  static byte[] deflate(byte[] raw, int level) {
    Deflater deflater = new Deflater(level);
    try {
      deflater.setInput(raw);
      deflater.finish();
      ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, raw.length / 16));
      byte[] buffer = new byte[64 << 10];
      while (!deflater.finished()) {
        out.write(buffer, 0, deflater.deflate(buffer));
      }
      return out.toByteArray();
    } finally {
      deflater.end();
    }
  }

  /** One IFD entry with its value already encoded little-endian. */
  private static final class Entry {
    final int tag;
    final int type;
    final int count;
    byte[] value;
    long offset;

    private Entry(int tag, int type, int count, byte[] value) {
      this.tag = tag;
      this.type = type;
      this.count = count;
      this.value = value;
    }

    static Entry shorts(int tag, int... values) {
      ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
      for (int v : values) {
        b.putShort((short) v);
      }
      return new Entry(tag, SHORT, values.length, b.array());
    }

    static Entry longs(int tag, long... values) {
      ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
      for (long v : values) {
        b.putInt((int) v);
      }
      return new Entry(tag, LONG, values.length, b.array());
    }

    static Entry doubles(int tag, double... values) {
      ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
      for (double v : values) {
        b.putDouble(v);
      }
      return new Entry(tag, DOUBLE, values.length, b.array());
    }

    static Entry ascii(int tag, String value) {
      byte[] text = (value + "\0").getBytes(StandardCharsets.US_ASCII);
      return new Entry(tag, ASCII, text.length, text);
    }
  }
}
