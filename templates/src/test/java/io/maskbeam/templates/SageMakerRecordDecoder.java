package io.maskbeam.templates;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An independent reader of SageMaker's RecordIO-protobuf answers, written from the published schema
 * (sagemaker-python-sdk's record.proto: Record.features = 1, a map of string to Value; Value.float32_tensor = 2,
 * Value.int32_tensor = 7; Float32Tensor/Int32Tensor.values = 1, packed) and the RecordIO framing (little-endian magic
 * 0xCED7230A, a length word whose upper 3 bits are a continuation flag, 4-byte padding). No protobuf library: the
 * wire format is read here, so a mistake in the server's encoder cannot cancel out in its decoder.
 */
final class SageMakerRecordDecoder {
  /** A tensor's values. */
  record Tensor(float[] floats, int[] ints) {}

  private SageMakerRecordDecoder() {}

  /** The records of a RecordIO stream (records split by the continuation flag are joined). */
  static List<byte[]> recordIo(byte[] data) {
    ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    List<byte[]> records = new ArrayList<>();
    ByteArrayOutputStream pending = new ByteArrayOutputStream();
    while (b.remaining() >= 8) {
      int magic = b.getInt();
      if (magic != 0xCED7230A) {
        throw new IllegalArgumentException("bad RecordIO magic " + Integer.toHexString(magic));
      }
      int word = b.getInt();
      int length = word & ((1 << 29) - 1);
      int flag = word >>> 29;
      byte[] part = new byte[length];
      b.get(part);
      b.position(b.position() + (4 - length % 4) % 4);
      if (flag == 2 || flag == 3) {
        // Middle and last parts: the writer dropped the magic number that stood between them.
        ByteBuffer m = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0xCED7230A);
        pending.writeBytes(m.array());
      }
      pending.writeBytes(part);
      if (flag == 0 || flag == 3) {
        records.add(pending.toByteArray());
        pending.reset();
      }
    }
    return records;
  }

  /** Record.features: name to tensor. */
  static Map<String, Tensor> features(byte[] record) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    ProtoWire r = new ProtoWire(record);
    while (r.more()) {
      long tag = r.varint();
      if (tag >>> 3 == 1 && (tag & 7) == 2) {
        ProtoWire entry = new ProtoWire(r.bytes());
        String key = null;
        Tensor value = null;
        while (entry.more()) {
          long t = entry.varint();
          if (t >>> 3 == 1) {
            key = new String(entry.bytes(), StandardCharsets.UTF_8);
          } else if (t >>> 3 == 2) {
            value = value(entry.bytes());
          } else {
            entry.skip(t);
          }
        }
        out.put(key, value);
      } else {
        r.skip(tag);
      }
    }
    return out;
  }

  private static Tensor value(byte[] bytes) {
    ProtoWire v = new ProtoWire(bytes);
    while (v.more()) {
      long t = v.varint();
      int field = (int) (t >>> 3);
      if (field == 2 || field == 7) {
        ProtoWire tensor = new ProtoWire(v.bytes());
        List<Float> floats = new ArrayList<>();
        List<Integer> ints = new ArrayList<>();
        while (tensor.more()) {
          long tt = tensor.varint();
          if (tt >>> 3 == 1 && (tt & 7) == 2) {
            ProtoWire packed = new ProtoWire(tensor.bytes());
            while (packed.more()) {
              if (field == 2) {
                floats.add(packed.float32());
              } else {
                ints.add((int) packed.varint());
              }
            }
          } else {
            tensor.skip(tt);
          }
        }
        float[] f = new float[floats.size()];
        for (int i = 0; i < f.length; i++) {
          f[i] = floats.get(i);
        }
        return new Tensor(f, ints.stream().mapToInt(Integer::intValue).toArray());
      }
      v.skip(t);
    }
    throw new IllegalArgumentException("a Value with neither float32_tensor nor int32_tensor");
  }
}
