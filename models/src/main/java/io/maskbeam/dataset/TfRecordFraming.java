package io.maskbeam.dataset;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * TFRecord framing: {@code uint64 length, uint32 masked_crc32c(length), data, uint32 masked_crc32c(data)}, all
 * little-endian. Used where Beam is not (the benchmark's raw ceiling, the training reader).
 */
public final class TfRecordFraming {
  private static final int MASK_DELTA = 0xa282ead8;

  private TfRecordFraming() {}

  public static int maskedCrc32c(byte[] data, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(data, offset, length);
    int value = (int) crc.getValue();
    return ((value >>> 15) | (value << 17)) + MASK_DELTA;
  }

  public static void write(OutputStream out, byte[] record) throws IOException {
    ByteBuffer header = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
    header.putLong(record.length);
    header.putInt(maskedCrc32c(header.array(), 0, 8));
    out.write(header.array());
    out.write(record);
    ByteBuffer footer = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    footer.putInt(maskedCrc32c(record, 0, record.length));
    out.write(footer.array());
  }

  /** Reads the next record, or null at a clean end of stream; checks both checksums. */
  public static byte[] read(InputStream in) throws IOException {
    DataInputStream data = new DataInputStream(in);
    byte[] header = new byte[12];
    int first = data.read(header, 0, 1);
    if (first < 0) {
      return null;
    }
    data.readFully(header, 1, 11);
    ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
    long length = h.getLong(0);
    if (h.getInt(8) != maskedCrc32c(header, 0, 8)) {
      throw new IOException("TFRecord length checksum mismatch (corrupt or not a TFRecord file)");
    }
    if (length < 0 || length > Integer.MAX_VALUE - 16) {
      throw new IOException("TFRecord length " + length + " out of range");
    }
    byte[] record = new byte[(int) length];
    try {
      data.readFully(record);
      byte[] footer = new byte[4];
      data.readFully(footer);
      if (ByteBuffer.wrap(footer).order(ByteOrder.LITTLE_ENDIAN).getInt() != maskedCrc32c(record, 0, record.length)) {
        throw new IOException("TFRecord data checksum mismatch");
      }
    } catch (EOFException e) {
      throw new IOException("TFRecord file ends inside a record", e);
    }
    return record;
  }
}
