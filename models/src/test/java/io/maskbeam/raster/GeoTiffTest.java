package io.maskbeam.raster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.maskbeam.image.InvalidImageException;
import java.awt.image.Raster;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GeoTiffTest {
  /** UTM zone 33N (EPSG:32633), 10 m pixels: GeoKeyDirectory as GDAL writes it. */
  static final GeoReference UTM33 = new GeoReference(new double[] {10, 10, 0},
      new double[] {0, 0, 0, 500000, 4649776, 0}, null,
      new int[] {1, 1, 0, 4, 1024, 0, 1, 1, 1025, 0, 1, 1, 1026, 34737, 23, 0, 3072, 0, 1, 32633}, null,
      "WGS 84 / UTM zone 33N|");

  @TempDir
  Path dir;

  @Test
  void multiBand16BitRoundTripKeepsPixelsTagsAndNodata() throws Exception {
    int w = 300;
    int h = 200;
    int bands = 4;
    short[] samples = new short[w * h * bands];
    Random random = new Random(7);
    for (int i = 0; i < samples.length; i++) {
      samples[i] = (short) random.nextInt(65536);
    }
    ByteBuffer b = ByteBuffer.allocate(samples.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    b.asShortBuffer().put(samples);
    Path file = dir.resolve("a.tif");
    Files.write(file, new GeoTiffWriter(w, h, bands, SampleType.UINT16, 64).withGeoReference(UTM33)
        .withNoData("0").putAll(b.array()).toByteArray());

    try (RasterSource source = open(file)) {
      RasterInfo info = source.info();
      assertThat(info.width()).isEqualTo(w);
      assertThat(info.height()).isEqualTo(h);
      assertThat(info.bands()).isEqualTo(bands);
      assertThat(info.type()).isEqualTo(SampleType.UINT16);
      assertThat(info.tileWidth()).isEqualTo(64);
      assertThat(info.geo()).isEqualTo(UTM33);
      assertThat(info.noDataValue()).isEqualTo(0.0);
      assertThat(info.geo().epsg()).hasValue(32633);
      assertThat(info.geo().pixelArea()).isEqualTo(100.0);
      assertThat(info.geo().linearUnit()).isEqualTo("metre");

      // A window across tile borders, ending at the raster's edge.
      Raster r = source.read(50, 70, 250, 130);
      for (int y = 0; y < 130; y++) {
        for (int x = 0; x < 250; x++) {
          for (int k = 0; k < bands; k++) {
            assertThat(r.getSample(r.getMinX() + x, r.getMinY() + y, k))
                .isEqualTo(samples[((70 + y) * w + 50 + x) * bands + k] & 0xffff);
          }
        }
      }
    }
  }

  @Test
  void float32AndPaletteRastersRoundTrip() throws Exception {
    ByteBuffer f = ByteBuffer.allocate(40 * 30 * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 40 * 30; i++) {
      f.putFloat(i * 0.25f - 100);
    }
    Path floats = dir.resolve("f.tif");
    Files.write(floats, new GeoTiffWriter(40, 30, 1, SampleType.FLOAT32, 16).withNoData("nan").putAll(f.array())
        .toByteArray());
    try (RasterSource source = open(floats)) {
      assertThat(source.info().type()).isEqualTo(SampleType.FLOAT32);
      assertThat(source.info().noDataValue()).isNaN();
      assertThat(source.info().geo().georeferenced()).isFalse();
      Raster r = source.read(3, 5, 10, 10);
      assertThat(r.getSampleFloat(r.getMinX() + 2, r.getMinY() + 1, 0)).isEqualTo(((5 + 1) * 40 + 3 + 2) * 0.25f - 100);
    }

    byte[] labels = new byte[33 * 17];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = (byte) (i % 5);
    }
    Path mask = dir.resolve("m.tif");
    Files.write(mask, new GeoTiffWriter(33, 17, 1, SampleType.UINT8, 16).withPalette(new int[] {0, 0xff0000, 0x00ff00})
        .putAll(labels).toByteArray());
    try (RasterSource source = open(mask)) {
      Raster r = source.read(0, 0, 33, 17);
      for (int i = 0; i < labels.length; i++) {
        assertThat(r.getSample(r.getMinX() + i % 33, r.getMinY() + i / 33, 0)).isEqualTo(labels[i]);
      }
    }
  }

  /** Files from another writer (the JDK's): LZW strips of 16-bit grey, and Deflate tiles of 8-bit RGB. */
  @Test
  void readsStripsAndTilesCompressedByAnotherWriter() throws Exception {
    java.awt.image.BufferedImage grey = new java.awt.image.BufferedImage(90, 70,
        java.awt.image.BufferedImage.TYPE_USHORT_GRAY);
    java.awt.image.BufferedImage rgb = new java.awt.image.BufferedImage(90, 70,
        java.awt.image.BufferedImage.TYPE_3BYTE_BGR);
    for (int y = 0; y < 70; y++) {
      for (int x = 0; x < 90; x++) {
        grey.getRaster().setSample(x, y, 0, x * 700 + y);
        rgb.getRaster().setPixel(x, y, new int[] {x, y, x ^ y});
      }
    }
    Path lzw = write(grey, "LZW", false, "lzw.tif");
    Path deflate = write(rgb, "Deflate", true, "deflate.tif");
    try (RasterSource source = open(lzw)) {
      assertThat(source.info().type()).isEqualTo(SampleType.UINT16);
      assertThat(source.info().tileWidth()).isZero();
      assertThat(source.info().compression()).isEqualTo(5);
      Raster r = source.read(20, 30, 50, 40);
      assertThat(r.getSample(r.getMinX() + 10, r.getMinY() + 5, 0)).isEqualTo(30 * 700 + 35);
    }
    try (RasterSource source = open(deflate)) {
      assertThat(source.info().bands()).isEqualTo(3);
      assertThat(source.info().tileWidth()).isEqualTo(32);
      Raster r = source.read(40, 33, 50, 37);
      assertThat(r.getPixel(r.getMinX() + 9, r.getMinY() + 2, (int[]) null)).containsExactly(49, 35, 49 ^ 35);
    }
  }

  private Path write(java.awt.image.BufferedImage image, String compression, boolean tiled, String name)
      throws Exception {
    Path file = dir.resolve(name);
    javax.imageio.ImageWriter writer = null;
    for (var it = javax.imageio.ImageIO.getImageWritersByFormatName("tiff"); it.hasNext(); ) {
      javax.imageio.ImageWriter w = it.next();
      if (w.getClass().getName().startsWith("com.sun.imageio")) {
        writer = w;
      }
    }
    javax.imageio.ImageWriteParam param = writer.getDefaultWriteParam();
    param.setCompressionMode(javax.imageio.ImageWriteParam.MODE_EXPLICIT);
    param.setCompressionType(compression);
    if (tiled) {
      param.setTilingMode(javax.imageio.ImageWriteParam.MODE_EXPLICIT);
      param.setTiling(32, 32, 0, 0);
    }
    try (var out = javax.imageio.ImageIO.createImageOutputStream(file.toFile())) {
      writer.setOutput(out);
      writer.write(null, new javax.imageio.IIOImage(image, null, null), param);
    } finally {
      writer.dispose();
    }
    return file;
  }

  @Test
  void aCorruptTileFailsItsWindowWithTheWindowNamed() throws Exception {
    byte[] pixels = new byte[64 * 64 * 3];
    new Random(3).nextBytes(pixels);
    byte[] file = new GeoTiffWriter(64, 64, 3, SampleType.UINT8, 32).asRgb().putAll(pixels).toByteArray();
    // The last tile is the last bytes of the file: overwrite its middle with garbage.
    for (int i = file.length - 200; i < file.length - 100; i++) {
      file[i] = (byte) 0xA5;
    }
    Path path = dir.resolve("corrupt.tif");
    Files.write(path, file);
    try (RasterSource source = open(path)) {
      assertThat(source.read(0, 0, 32, 32).getSample(0, 0, 0)).isEqualTo(pixels[0] & 0xff);
      assertThatThrownBy(() -> source.read(32, 32, 32, 32)).isInstanceOf(InvalidImageException.class)
          .hasMessageContaining("window 32x32 at (32, 32)");
    }
  }

  @Test
  void notATiffIsRefusedWithTheReason() throws Exception {
    Path path = dir.resolve("x.tif");
    Files.writeString(path, "this is not a tiff");
    assertThatThrownBy(() -> open(path)).isInstanceOf(InvalidImageException.class).hasMessageContaining("x.tif");
    Path empty = Files.createFile(dir.resolve("e.tif"));
    assertThatThrownBy(() -> open(empty)).isInstanceOf(InvalidImageException.class)
        .satisfies(e -> assertThat(((InvalidImageException) e).kind()).isEqualTo(InvalidImageException.Kind.EMPTY));
  }

  static RasterSource open(Path file) throws Exception {
    SeekableByteChannel channel = Files.newByteChannel(file, StandardOpenOption.READ);
    return RasterSource.open(channel, file.getFileName().toString());
  }
}
