package io.maskbeam.transforms.common;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.util.VarInt;

/**
 * The field encodings Maskbeam's explicit coders are built from: variable-length integers, length-prefixed UTF-8
 * strings (nullable), byte arrays and long arrays. Explicit coders are smaller and several times faster than Java
 * serialization, and do not break when a class gains a field (see the README's coder measurements).
 */
public final class CoderFields {
  private CoderFields() {}

  public static void putString(OutputStream out, String s) throws IOException {
    if (s == null) {
      VarInt.encode(0, out);
      return;
    }
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    VarInt.encode(b.length + 1L, out);
    out.write(b);
  }

  public static String getString(InputStream in) throws IOException {
    long n = VarInt.decodeLong(in);
    if (n == 0) {
      return null;
    }
    return new String(readFully(in, checkedLength(n - 1)), StandardCharsets.UTF_8);
  }

  public static void putLong(OutputStream out, long v) throws IOException {
    // Zig-zag, so the -1 of "unknown" sizes and times stays one byte.
    VarInt.encode((v << 1) ^ (v >> 63), out);
  }

  public static long getLong(InputStream in) throws IOException {
    long z = VarInt.decodeLong(in);
    return (z >>> 1) ^ -(z & 1);
  }

  public static void putInt(OutputStream out, int v) throws IOException {
    putLong(out, v);
  }

  public static int getInt(InputStream in) throws IOException {
    long v = getLong(in);
    if (v != (int) v) {
      throw new CoderException("corrupt input: " + v + " is not an int");
    }
    return (int) v;
  }

  public static void putBoolean(OutputStream out, boolean v) throws IOException {
    out.write(v ? 1 : 0);
  }

  public static boolean getBoolean(InputStream in) throws IOException {
    int b = in.read();
    if (b < 0) {
      throw new CoderException("unexpected end of stream");
    }
    return b != 0;
  }

  /** A nullable byte array. */
  public static void putBytes(OutputStream out, byte[] b) throws IOException {
    if (b == null) {
      VarInt.encode(0, out);
      return;
    }
    VarInt.encode(b.length + 1L, out);
    out.write(b);
  }

  public static byte[] getBytes(InputStream in) throws IOException {
    long n = VarInt.decodeLong(in);
    return n == 0 ? null : readFully(in, checkedLength(n - 1));
  }

  public static void putLongs(OutputStream out, long[] values) throws IOException {
    VarInt.encode(values.length, out);
    for (long v : values) {
      putLong(out, v);
    }
  }

  public static long[] getLongs(InputStream in) throws IOException {
    long[] values = new long[checkedLength(VarInt.decodeLong(in))];
    for (int i = 0; i < values.length; i++) {
      values[i] = getLong(in);
    }
    return values;
  }

  private static int checkedLength(long n) throws CoderException {
    if (n < 0 || n > Integer.MAX_VALUE - 8) {
      throw new CoderException("corrupt length " + n);
    }
    return (int) n;
  }

  private static byte[] readFully(InputStream in, int n) throws IOException {
    byte[] b = in.readNBytes(n);
    if (b.length != n) {
      throw new CoderException("unexpected end of stream: wanted " + n + " bytes, got " + b.length);
    }
    return b;
  }
}
