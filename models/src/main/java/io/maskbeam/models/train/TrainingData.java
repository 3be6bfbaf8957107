package io.maskbeam.models.train;

import io.maskbeam.dataset.DeepLabExample;
import io.maskbeam.dataset.TfRecordFraming;
import io.maskbeam.image.ImageLoader;
import io.maskbeam.image.InvalidImageException;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.RgbImage;
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

  /** A decoded example: RGB pixels and class ids (the ignore value where ignored). */
  public record Example(String id, RgbImage image, LabelImage labels) {}

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
   * Decodes a record, failing with a message naming the example when it is not a DeepLab Example or when its
   * labels are neither classes of the dataset nor its ignore value.
   */
  public static Example decode(byte[] record, int numClasses, int ignoreValue) {
    DeepLabExample.Record r = DeepLabExample.parse(record);
    try {
      RgbImage image = ImageLoader.RECORDS.load(r.image()).image();
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
