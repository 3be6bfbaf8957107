package io.maskbeam.raster;

/**
 * The type of one sample (one band of one pixel) in a raster, with its TIFF encoding: {@code BitsPerSample} and
 * {@code SampleFormat} (1 unsigned integer, 2 signed integer, 3 IEEE float).
 */
public enum SampleType {
  UINT8(8, 1),
  INT8(8, 2),
  UINT16(16, 1),
  INT16(16, 2),
  UINT32(32, 1),
  INT32(32, 2),
  FLOAT32(32, 3),
  FLOAT64(64, 3);

  private final int bits;
  private final int sampleFormat;

  SampleType(int bits, int sampleFormat) {
    this.bits = bits;
    this.sampleFormat = sampleFormat;
  }

  public int bits() {
    return bits;
  }

  public int bytes() {
    return bits / 8;
  }

  /** TIFF tag 339's value. */
  public int sampleFormat() {
    return sampleFormat;
  }

  public boolean isFloat() {
    return sampleFormat == 3;
  }

  /** The type a TIFF declares by BitsPerSample and SampleFormat, or null when Maskbeam does not read it. */
  public static SampleType of(int bits, int sampleFormat) {
    for (SampleType t : values()) {
      if (t.bits == bits && t.sampleFormat == sampleFormat) {
        return t;
      }
    }
    return null;
  }

  /** The name used in flags and metadata: {@code uint16}, {@code float32}... */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /**
   * Whether TensorFlow's {@code tf.io.decode_raw} has this type ({@code out_type}), so training examples can keep it.
   * It has no uint32.
   */
  public boolean decodableByTensorFlow() {
    return this != UINT32;
  }

  /** Writes one sample in this type, little-endian (the buffer's order). Values out of range saturate. */
  public void put(java.nio.ByteBuffer out, double v) {
    switch (this) {
      case UINT8 -> out.put((byte) (int) clamp(v, 0, 255));
      case INT8 -> out.put((byte) (int) clamp(v, -128, 127));
      case UINT16 -> out.putShort((short) (int) clamp(v, 0, 65535));
      case INT16 -> out.putShort((short) (int) clamp(v, -32768, 32767));
      case UINT32 -> out.putInt((int) (long) clamp(v, 0, 4294967295.0));
      case INT32 -> out.putInt((int) clamp(v, Integer.MIN_VALUE, Integer.MAX_VALUE));
      case FLOAT32 -> out.putFloat((float) v);
      case FLOAT64 -> out.putDouble(v);
      default -> throw new IllegalStateException(name());
    }
  }

  /** Reads one sample written by {@link #put}. */
  public double get(java.nio.ByteBuffer in) {
    return switch (this) {
      case UINT8 -> in.get() & 0xFF;
      case INT8 -> in.get();
      case UINT16 -> in.getShort() & 0xFFFF;
      case INT16 -> in.getShort();
      case UINT32 -> in.getInt() & 0xFFFFFFFFL;
      case INT32 -> in.getInt();
      case FLOAT32 -> in.getFloat();
      case FLOAT64 -> in.getDouble();
    };
  }

  private static double clamp(double v, double lo, double hi) {
    return Double.isNaN(v) ? 0 : Math.max(lo, Math.min(hi, Math.rint(v)));
  }

  /** The type named {@code label} ({@code uint16}...), or an error listing the names. */
  public static SampleType parse(String label) {
    for (SampleType t : values()) {
      if (t.label().equals(label)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown sample type '" + label + "'; one of "
        + java.util.Arrays.stream(values()).map(SampleType::label).toList());
  }
}
