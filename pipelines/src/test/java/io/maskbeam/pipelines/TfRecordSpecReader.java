package io.maskbeam.pipelines;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import java.util.zip.GZIPInputStream;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;

/**
 * A TFRecord reader written from the format's specification only (tensorflow/core/lib/io/record_writer.h):
 * {@code uint64 length | uint32 masked_crc32c(length) | byte data[length] | uint32 masked_crc32c(data)}, little
 * endian, where {@code masked(crc) = ((crc >>> 15) | (crc << 17)) + 0xa282ead8}. Deliberately shares no code with
 * Maskbeam's writer, so the two cannot agree on a mistake.
 */
final class TfRecordSpecReader {
  private TfRecordSpecReader() {}

  static List<byte[]> read(byte[] file, boolean gzip) throws IOException {
    InputStream in = new ByteArrayInputStream(file);
    if (gzip) {
      in = new GZIPInputStream(in);
    }
    byte[] all = in.readAllBytes();
    List<byte[]> records = new ArrayList<>();
    int pos = 0;
    while (pos < all.length) {
      if (all.length - pos < 12) {
        throw new IOException("trailing " + (all.length - pos) + " bytes are not a record header");
      }
      ByteBuffer header = ByteBuffer.wrap(all, pos, 12).order(ByteOrder.LITTLE_ENDIAN);
      long length = header.getLong();
      int lengthCrc = header.getInt();
      if (lengthCrc != masked(Arrays.copyOfRange(all, pos, pos + 8))) {
        throw new IOException("length CRC mismatch at offset " + pos);
      }
      int start = pos + 12;
      int end = Math.toIntExact(start + length);
      byte[] data = Arrays.copyOfRange(all, start, end);
      int dataCrc = ByteBuffer.wrap(all, end, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
      if (dataCrc != masked(data)) {
        throw new IOException("data CRC mismatch in record at offset " + pos);
      }
      records.add(data);
      pos = end + 4;
    }
    return records;
  }

  private static int masked(byte[] data) {
    CRC32C crc = new CRC32C();
    crc.update(data);
    int c = (int) crc.getValue();
    return ((c >>> 15) | (c << 17)) + 0xa282ead8;
  }

  /** A parsed tf.train.Example in the DeepLab schema, checked key by key and type by type. */
  record DeepLab(String filename, String format, long height, long width, long channels, byte[] image, byte[] label,
      String labelFormat) {}

  static DeepLab parseDeepLab(byte[] record) throws InvalidProtocolBufferException {
    Map<String, Feature> f = Example.parseFrom(record).getFeatures().getFeatureMap();
    return new DeepLab(
        f.get("image/filename").getBytesList().getValue(0).toStringUtf8(),
        f.get("image/format").getBytesList().getValue(0).toStringUtf8(),
        f.get("image/height").getInt64List().getValue(0),
        f.get("image/width").getInt64List().getValue(0),
        f.get("image/channels").getInt64List().getValue(0),
        f.get("image/encoded").getBytesList().getValue(0).toByteArray(),
        f.get("image/segmentation/class/encoded").getBytesList().getValue(0).toByteArray(),
        f.get("image/segmentation/class/format").getBytesList().getValue(0).toStringUtf8());
  }
}
