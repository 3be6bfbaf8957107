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

  private DeepLabExample() {}

  /** A decoded record: the encoded image and label PNG plus their metadata. */
  public record Record(
      String filename, String format, int height, int width, int channels, byte[] image, byte[] labelPng,
      String labelFormat) {}

  public static byte[] build(String filename, String format, int height, int width, int channels, byte[] image,
      byte[] labelPng) {
    Features features = Features.newBuilder()
        .putFeature(IMAGE_ENCODED, bytes(image))
        .putFeature(IMAGE_FILENAME, bytes(filename.getBytes(StandardCharsets.UTF_8)))
        .putFeature(IMAGE_FORMAT, bytes(format.getBytes(StandardCharsets.UTF_8)))
        .putFeature(IMAGE_HEIGHT, int64(height))
        .putFeature(IMAGE_WIDTH, int64(width))
        .putFeature(IMAGE_CHANNELS, int64(channels))
        .putFeature(LABEL_ENCODED, bytes(labelPng))
        .putFeature(LABEL_FORMAT, bytes("png".getBytes(StandardCharsets.UTF_8)))
        .build();
    return Example.newBuilder().setFeatures(features).build().toByteArray();
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
    return new Record(
        string(f, IMAGE_FILENAME), string(f, IMAGE_FORMAT), (int) int64(f, IMAGE_HEIGHT), (int) int64(f, IMAGE_WIDTH),
        (int) int64(f, IMAGE_CHANNELS), bytes(f, IMAGE_ENCODED), bytes(f, LABEL_ENCODED), string(f, LABEL_FORMAT));
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
