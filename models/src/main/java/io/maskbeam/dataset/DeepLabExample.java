package io.maskbeam.dataset;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.tensorflow.proto.BytesList;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;
import org.tensorflow.proto.Features;
import org.tensorflow.proto.Int64List;

/**
 * The tf.train.Example schema of TensorFlow DeepLab's {@code build_data.py}, also read by the Model Garden
 * segmentation decoder: keys and value types are theirs, so shards load in those readers unchanged.
 */
public final class DeepLabExample {
  public static final String IMAGE_ENCODED = "image/encoded";
  public static final String IMAGE_FILENAME = "image/filename";
  public static final String IMAGE_FORMAT = "image/format";
  public static final String IMAGE_HEIGHT = "image/height";
  public static final String IMAGE_WIDTH = "image/width";
  public static final String IMAGE_CHANNELS = "image/channels";
  public static final String LABEL_ENCODED = "image/segmentation/class/encoded";
  public static final String LABEL_FORMAT = "image/segmentation/class/format";
  /**
   * For {@code image/format = raw}: the sample type of {@code image/encoded}, which then holds height x width x
   * channels samples, little-endian, channels last, exactly what
   * {@code tf.reshape(tf.io.decode_raw(encoded, dtype, little_endian=True), [height, width, channels])} decodes.
   * (TensorFlow has no TIFF decoder, so multi-band and 16-bit examples are not stored as TIFF.)
   */
  public static final String IMAGE_DTYPE = "image/dtype";
  /** The {@code image/format} of raw sample examples. */
  public static final String RAW_FORMAT = "raw";

  private DeepLabExample() {}

  /**
   * A decoded record: the encoded image and label PNG plus their metadata.
   *
   * @param dtype for raw examples the sample type's name ({@code uint16}...), else null
   */
  public record Record(
      String filename, String format, int height, int width, int channels, byte[] image, byte[] labelPng,
      String labelFormat, String dtype) {
    public boolean isRaw() {
      return RAW_FORMAT.equals(format);
    }
  }

  public static byte[] build(String filename, String format, int height, int width, int channels, byte[] image,
      byte[] labelPng) {
    return Example.newBuilder().setFeatures(features(filename, format, height, width, channels, image, labelPng))
        .build().toByteArray();
  }

  /** A raw example: {@code samples} little-endian in {@code dtype}, [height, width, channels]. */
  public static byte[] buildRaw(String filename, int height, int width, int channels, String dtype, byte[] samples,
      byte[] labelPng) {
    return Example.newBuilder().setFeatures(features(filename, RAW_FORMAT, height, width, channels, samples, labelPng)
        .putFeature(IMAGE_DTYPE, bytes(dtype.getBytes(StandardCharsets.UTF_8)))).build().toByteArray();
  }

  private static Features.Builder features(String filename, String format, int height, int width, int channels,
      byte[] image, byte[] labelPng) {
    return Features.newBuilder()
        .putFeature(IMAGE_ENCODED, bytes(image))
        .putFeature(IMAGE_FILENAME, bytes(filename.getBytes(StandardCharsets.UTF_8)))
        .putFeature(IMAGE_FORMAT, bytes(format.getBytes(StandardCharsets.UTF_8)))
        .putFeature(IMAGE_HEIGHT, int64(height))
        .putFeature(IMAGE_WIDTH, int64(width))
        .putFeature(IMAGE_CHANNELS, int64(channels))
        .putFeature(LABEL_ENCODED, bytes(labelPng))
        .putFeature(LABEL_FORMAT, bytes("png".getBytes(StandardCharsets.UTF_8)));
  }

  /** Parses a serialized Example, failing with a message naming the first missing or mistyped key. */
  public static Record parse(byte[] serialized) {
    Example example;
    try {
      example = Example.parseFrom(serialized);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("record is not a tf.train.Example: " + e.getMessage(), e);
    }
    Map<String, Feature> f = example.getFeatures().getFeatureMap();
    String format = string(f, IMAGE_FORMAT);
    return new Record(
        string(f, IMAGE_FILENAME), format, (int) int64(f, IMAGE_HEIGHT), (int) int64(f, IMAGE_WIDTH),
        (int) int64(f, IMAGE_CHANNELS), bytes(f, IMAGE_ENCODED), bytes(f, LABEL_ENCODED), string(f, LABEL_FORMAT),
        RAW_FORMAT.equals(format) ? string(f, IMAGE_DTYPE) : null);
  }

  private static Feature bytes(byte[] value) {
    return Feature.newBuilder().setBytesList(BytesList.newBuilder().addValue(ByteString.copyFrom(value))).build();
  }

  private static Feature int64(long value) {
    return Feature.newBuilder().setInt64List(Int64List.newBuilder().addValue(value)).build();
  }

  private static Feature required(Map<String, Feature> f, String key) {
    Feature feature = f.get(key);
    if (feature == null) {
      throw new IllegalArgumentException("Example lacks the DeepLab key '" + key + "'");
    }
    return feature;
  }

  private static byte[] bytes(Map<String, Feature> f, String key) {
    Feature feature = required(f, key);
    if (!feature.hasBytesList() || feature.getBytesList().getValueCount() != 1) {
      throw new IllegalArgumentException("Example key '" + key + "' must hold exactly one bytes value");
    }
    return feature.getBytesList().getValue(0).toByteArray();
  }

  private static String string(Map<String, Feature> f, String key) {
    return new String(bytes(f, key), StandardCharsets.UTF_8);
  }

  private static long int64(Map<String, Feature> f, String key) {
    Feature feature = required(f, key);
    if (!feature.hasInt64List() || feature.getInt64List().getValueCount() != 1) {
      throw new IllegalArgumentException("Example key '" + key + "' must hold exactly one int64 value");
    }
    return feature.getInt64List().getValue(0);
  }
}
