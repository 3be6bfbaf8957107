package io.maskbeam.templates;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A reader of the protobuf wire format (varints, length-delimited fields, little-endian 32-bit values), written
 * from the format's specification so the tests decode what the server and the trainer write without the protobuf
 * classes they were written with: a mistake in an encoder cannot cancel out in its decoder.
 */
final class ProtoWire {
  private final ByteBuffer b;

  ProtoWire(byte[] bytes) {
    b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  boolean more() {
    return b.hasRemaining();
  }

  long varint() {
    long v = 0;
    for (int shift = 0; ; shift += 7) {
      int x = b.get() & 0xFF;
      v |= (long) (x & 0x7F) << shift;
      if (x < 0x80) {
        return v;
      }
    }
  }

  /** A length-delimited field's bytes. */
  byte[] bytes() {
    byte[] out = new byte[(int) varint()];
    b.get(out);
    return out;
  }

  String string() {
    return new String(bytes(), StandardCharsets.UTF_8);
  }

  /** A length-delimited field as a reader of its own (an embedded message). */
  ProtoWire message() {
    return new ProtoWire(bytes());
  }

  float float32() {
    return b.getFloat();
  }

  /** Skips the value of a field whose tag was just read. */
  void skip(long tag) {
    switch ((int) (tag & 7)) {
      case 0 -> varint();
      case 1 -> b.position(b.position() + 8);
      case 2 -> bytes();
      case 5 -> b.position(b.position() + 4);
      default -> throw new IllegalArgumentException("wire type " + (tag & 7));
    }
  }
}
