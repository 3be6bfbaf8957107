package io.maskbeam.models.infer;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * NumPy's {@code .npy} format (version 1.0) for float32 arrays, so {@code np.load} reads what Maskbeam writes.
 * Writing streams: the header first, then data in any number of chunks, so a large probability map never has to
 * sit in memory whole.
 */
public final class Npy {
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

  private Npy() {}

  /** The header of a C-order little-endian float32 array, padded so the data starts on a 64-byte boundary. */
  public static byte[] float32Header(long... shape) {
    StringBuilder dims = new StringBuilder();
    for (int i = 0; i < shape.length; i++) {
      dims.append(shape[i]).append(i == 0 && shape.length == 1 ? "," : i + 1 < shape.length ? ", " : "");
    }
    String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
    int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
    int padding = (64 - unpadded % 64) % 64;
    String text = dict + " ".repeat(padding) + "\n";
    ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 4 + text.length()).order(ByteOrder.LITTLE_ENDIAN);
    b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) text.length());
    b.put(text.getBytes(StandardCharsets.US_ASCII));
    return b.array();
  }

  /** Writes floats little-endian, through a small reusable buffer. */
  public static void writeFloats(OutputStream out, float[] data, int offset, int count) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(64 * 1024).order(ByteOrder.LITTLE_ENDIAN);
    int end = offset + count;
    for (int i = offset; i < end; ) {
      buffer.clear();
      int n = Math.min(end - i, buffer.capacity() / 4);
      buffer.asFloatBuffer().put(data, i, n);
      out.write(buffer.array(), 0, n * 4);
      i += n;
    }
  }

  /** A sink that writes the floats it receives to {@code out} (I/O failures wrapped as UncheckedIOException). */
  public static ProbabilitySink sink(OutputStream out) {
    return (data, offset, count) -> {
      try {
        writeFloats(out, data, offset, count);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    };
  }

  /** A parsed float32 array. */
  public record Float32Array(long[] shape, float[] data) {
    @Override
    public String toString() {
      return "float32" + Arrays.toString(shape);
    }
  }

  /** Reads a C-order little-endian float32 {@code .npy} file (what {@link #float32Header} describes). */
  public static Float32Array readFloat32(byte[] bytes) {
    for (int i = 0; i < MAGIC.length; i++) {
      if (bytes.length < 10 || bytes[i] != MAGIC[i]) {
        throw new IllegalArgumentException("not an .npy file");
      }
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int major = bytes[6];
    int headerLength = major == 1 ? b.getShort(8) & 0xFFFF : b.getInt(8);
    int headerStart = major == 1 ? 10 : 12;
    String header = new String(bytes, headerStart, headerLength, StandardCharsets.US_ASCII);
    if (!header.contains("'descr': '<f4'") || header.contains("'fortran_order': True")) {
      throw new IllegalArgumentException("only C-order little-endian float32 is supported: " + header.trim());
    }
    String dims = header.substring(header.indexOf("'shape': (") + 10, header.indexOf(')', header.indexOf("'shape'")));
    long[] shape = Arrays.stream(dims.split(",")).map(String::trim).filter(s -> !s.isEmpty())
        .mapToLong(Long::parseLong).toArray();
    long count = Arrays.stream(shape).reduce(1, (x, y) -> x * y);
    int dataStart = headerStart + headerLength;
    if (bytes.length - dataStart != count * 4) {
      throw new IllegalArgumentException("npy data holds " + (bytes.length - dataStart) + " bytes, shape "
          + Arrays.toString(shape) + " needs " + count * 4);
    }
    float[] data = new float[(int) count];
    b.position(dataStart);
    b.asFloatBuffer().get(data);
    return new Float32Array(shape, data);
  }
}
