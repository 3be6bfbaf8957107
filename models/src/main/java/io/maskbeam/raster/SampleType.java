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
}
