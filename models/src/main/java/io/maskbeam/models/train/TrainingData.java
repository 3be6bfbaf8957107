package io.maskbeam.models.train;

import io.maskbeam.dataset.DeepLabExample;
import io.maskbeam.dataset.TfRecordFraming;
import io.maskbeam.image.ImageLoader;
import io.maskbeam.image.InvalidImageException;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.BandImage;
import io.maskbeam.image.Pixels;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/** Reading and decoding DeepLab TFRecord shards for training. */
public final class TrainingData {
  private TrainingData() {}

  /**
   * A decoded example: RGB pixels (photos) or raw bands (rasters, {@code image/format = raw}) and class ids (the
   * ignore value where ignored).
   */
  public record Example(String id, Pixels image, LabelImage labels) {}

  /** Every record of the given shards ({@code .gz} read as GZIP), checking TFRecord checksums. */
  public static List<byte[]> readRecords(List<Path> shards) throws IOException {
    List<byte[]> records = new ArrayList<>();
    for (Path shard : shards) {
      try (InputStream raw = new BufferedInputStream(Files.newInputStream(shard), 1 << 20);
          InputStream in = shard.toString().endsWith(".gz") ? new GZIPInputStream(raw, 1 << 16) : raw) {
        for (byte[] r = TfRecordFraming.read(in); r != null; r = TfRecordFraming.read(in)) {
          records.add(r);
        }
      } catch (IOException e) {
        throw new IOException("cannot read shard " + shard + ": " + e.getMessage(), e);
      }
    }
    return records;
  }

  /**
   * Refuses an example that is not what the network takes: {@code bandChannels} raw bands, or RGB when 0 (a dataset
   * mixing photos and rasters, or rasters of several band counts, cannot train one network).
   */
  public static void checkInput(Example e, int bandChannels) {
    boolean raw = e.image() instanceof BandImage;
    if (raw != (bandChannels > 0) || (raw && e.image().channels() != bandChannels)) {
      throw new IllegalArgumentException("example '" + e.id() + "' has " + (raw ? e.image().channels()
          + " raw bands" : "an RGB photo") + ", but the network takes " + (bandChannels > 0 ? bandChannels
          + " raw bands" : "RGB photos") + " (dataset.json)");
    }
  }

  /** The samples of a raw example as floats (what the graph takes), checking their count against the shape. */
  static BandImage rawBands(DeepLabExample.Record r) {
    io.maskbeam.raster.SampleType type;
    try {
      type = io.maskbeam.raster.SampleType.parse(r.dtype());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("example '" + r.filename() + "': image/dtype: " + e.getMessage());
    }
    int n = r.width() * r.height() * r.channels();
    if (r.channels() < 1 || (long) n * type.bytes() != r.image().length) {
      throw new IllegalArgumentException("example '" + r.filename() + "': " + r.image().length + " bytes of "
          + type.label() + " samples, but image/height x width x channels is " + r.height() + "x" + r.width() + "x"
          + r.channels());
    }
    java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(r.image()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    float[] samples = new float[n];
    for (int i = 0; i < n; i++) {
      samples[i] = (float) type.get(in);
    }
    return new BandImage(r.width(), r.height(), r.channels(), samples);
  }

  /**
   * Decodes a record, failing with a message naming the example when it is not a DeepLab Example or when its
   * labels are neither classes of the dataset nor its ignore value.
   */
  public static Example decode(byte[] record, int numClasses, int ignoreValue) {
    DeepLabExample.Record r = DeepLabExample.parse(record);
    try {
      Pixels image = r.isRaw() ? rawBands(r) : ImageLoader.RECORDS.load(r.image()).image();
      LabelImage labels = ImageLoader.RECORDS.loadLabels(r.labelPng());
      if (image.width() != labels.width() || image.height() != labels.height()) {
        throw new IllegalArgumentException("example '" + r.filename() + "': image " + image.width() + "x"
            + image.height() + " but labels " + labels.width() + "x" + labels.height());
      }
      for (byte b : labels.labels()) {
        int v = b & 0xFF;
        if (v >= numClasses && v != ignoreValue) {
          throw new IllegalArgumentException("example '" + r.filename() + "' has label " + v + ", but dataset.json"
              + " declares " + numClasses + " classes and ignore value " + ignoreValue);
        }
      }
      return new Example(r.filename(), image, labels);
    } catch (InvalidImageException e) {
      throw new IllegalArgumentException("example '" + r.filename() + "': " + e.getMessage(), e);
    }
  }
}
