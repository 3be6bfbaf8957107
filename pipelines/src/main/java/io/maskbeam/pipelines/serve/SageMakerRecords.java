package io.maskbeam.pipelines.serve;

import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

/**
 * SageMaker's probability answer: one {@code aialgs.data.Record} (sagemaker-python-sdk's {@code record.proto}) in
 * RecordIO framing, as the built-in semantic segmentation algorithm returns it for {@code
 * application/x-recordio-protobuf} and {@code application/x-protobuf}. {@code features["target"]} holds the
 * probabilities as a dense float32 tensor in [1, C, H, W] order and {@code features["shape"]} that shape as int32,
 * so AWS's example notebook ({@code rec.features["target"].float32_tensor.values} reshaped by
 * {@code rec.features["shape"].int32_tensor.values}) decodes it unchanged.
 *
 * <p>Written with protobuf's wire encoder from the schema's field numbers: Record.features = 1 (map entry key = 1,
 * value = 2); Value.float32_tensor = 2, Value.int32_tensor = 7; Float32Tensor.values = 1 (packed), .shape = 3
 * (packed uint64); Int32Tensor.values = 1 (packed). RecordIO: magic 0xCED7230A and the length as little-endian
 * 32-bit words (upper 3 bits of the length word 0: a whole record), then the record, zero-padded to 4 bytes.
 */
final class SageMakerRecords {
  static final int RECORDIO_MAGIC = 0xCED7230A;

  private SageMakerRecords() {}

  /** Largest probability answer in bytes: a RecordIO record's length has 29 bits; room for framing and keys. */
  static final long MAX_PROBABILITY_BYTES = (1L << 29) - 4096;

  /**
   * @param chw probabilities [c, h, w], classes first, as the built-in algorithm answers
   */
  static byte[] probabilities(float[] chw, int h, int w, int c) throws IOException {
    long[] shape = {1, c, h, w};
    byte[] target = value(2, float32Tensor(chw, shape));
    byte[] shapeValue = value(7, int32Tensor(new int[] {1, c, h, w}));
    ByteArrayOutputStream record = new ByteArrayOutputStream(chw.length * 4 + 64);
    CodedOutputStream out = CodedOutputStream.newInstance(record);
    mapEntry(out, 1, "target", target);
    mapEntry(out, 1, "shape", shapeValue);
    out.flush();
    return recordIo(record.toByteArray());
  }

  private static byte[] float32Tensor(float[] values, long[] shape) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(values.length * 4 + 32);
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    out.writeTag(1, 2); // packed floats
    out.writeUInt32NoTag(values.length * 4);
    for (float v : values) {
      out.writeFloatNoTag(v);
    }
    int shapeBytes = 0;
    for (long s : shape) {
      shapeBytes += CodedOutputStream.computeUInt64SizeNoTag(s);
    }
    out.writeTag(3, 2); // packed uint64
    out.writeUInt32NoTag(shapeBytes);
    for (long s : shape) {
      out.writeUInt64NoTag(s);
    }
    out.flush();
    return bytes.toByteArray();
  }

  private static byte[] int32Tensor(int[] values) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    int size = 0;
    for (int v : values) {
      size += CodedOutputStream.computeInt32SizeNoTag(v);
    }
    out.writeTag(1, 2);
    out.writeUInt32NoTag(size);
    for (int v : values) {
      out.writeInt32NoTag(v);
    }
    out.flush();
    return bytes.toByteArray();
  }

  /** A Value message holding one tensor in the given oneof field. */
  private static byte[] value(int field, byte[] tensor) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(tensor.length + 8);
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    out.writeByteArray(field, tensor);
    out.flush();
    return bytes.toByteArray();
  }

  /** One entry of a map&lt;string, Value&gt; field: a message with key = 1 and value = 2. */
  private static void mapEntry(CodedOutputStream out, int field, String key, byte[] value) throws IOException {
    int size = CodedOutputStream.computeStringSize(1, key) + CodedOutputStream.computeByteArraySize(2, value);
    out.writeTag(field, 2);
    out.writeUInt32NoTag(size);
    out.writeString(1, key);
    out.writeByteArray(2, value);
  }

  static byte[] recordIo(byte[] data) {
    if (data.length >= 1 << 29) {
      throw new IllegalArgumentException("a RecordIO record holds less than 512 MB; this answer has " + data.length
          + " bytes (ask for a smaller image or the PNG mask)");
    }
    int pad = (4 - data.length % 4) % 4;
    byte[] out = new byte[8 + data.length + pad];
    putIntLe(out, 0, RECORDIO_MAGIC);
    putIntLe(out, 4, data.length);
    System.arraycopy(data, 0, out, 8, data.length);
    return out;
  }

  private static void putIntLe(byte[] b, int at, int v) {
    b[at] = (byte) v;
    b[at + 1] = (byte) (v >>> 8);
    b[at + 2] = (byte) (v >>> 16);
    b[at + 3] = (byte) (v >>> 24);
  }
}
