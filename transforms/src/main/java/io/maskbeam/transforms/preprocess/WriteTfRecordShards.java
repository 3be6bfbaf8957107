package io.maskbeam.transforms.preprocess;

import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.Compression;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.TFRecordIO;
import org.apache.beam.sdk.io.WriteFilesResult;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Contextful;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.Sum;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * Writes examples as {@code <output>/<split>-NNNNN-of-MMMMM.tfrecord} (plus {@code .gz} when GZIP-compressed),
 * the naming of TensorFlow's own dataset builders.
 *
 * <p>With {@code numShards == 0} the shard count follows the data: total example bytes over
 * {@code targetShardBytes} (TensorFlow's guidance is 100-200 MB per shard), at least 1, at most 1024, the same for
 * every split.
 */
public class WriteTfRecordShards extends PTransform<PCollection<ExampleRecord>, WriteFilesResult<String>> {
  public static final String SUFFIX = ".tfrecord";

  private final String outputDir;
  private final int numShards;
  private final long targetShardBytes;
  private final Compression compression;

  public WriteTfRecordShards(String outputDir, int numShards, long targetShardBytes, Compression compression) {
    if (numShards < 0) {
      throw new IllegalArgumentException("number of shards must be >= 0 (0 = from the data size)");
    }
    this.outputDir = outputDir;
    this.numShards = numShards;
    this.targetShardBytes = targetShardBytes;
    this.compression = compression;
  }

  @Override
  public WriteFilesResult<String> expand(PCollection<ExampleRecord> examples) {
    FileIO.Write<String, ExampleRecord> write = FileIO.<String, ExampleRecord>writeDynamic()
        .by(ExampleRecord::split)
        .withDestinationCoder(StringUtf8Coder.of())
        .via(Contextful.fn(ExampleRecord::example), TFRecordIO.sink())
        .to(outputDir)
        .withNaming(split -> FileIO.Write.defaultNaming(split, SUFFIX))
        .withCompression(compression);
    if (numShards > 0) {
      write = write.withNumShards(numShards);
    } else {
      write = write.withSharding(new ShardsFromSize(targetShardBytes));
    }
    return examples.apply("WriteShards", write);
  }

  /** Shard count from total example bytes. */
  static final class ShardsFromSize extends PTransform<PCollection<ExampleRecord>, PCollectionView<Integer>> {
    private final long targetShardBytes;

    ShardsFromSize(long targetShardBytes) {
      if (targetShardBytes <= 0) {
        throw new IllegalArgumentException("target shard size must be positive");
      }
      this.targetShardBytes = targetShardBytes;
    }

    @Override
    public PCollectionView<Integer> expand(PCollection<ExampleRecord> examples) {
      long target = targetShardBytes;
      return examples
          .apply("Bytes", MapElements.into(TypeDescriptors.longs()).via(e -> (long) e.example().length))
          .apply("TotalBytes", Combine.globally(Sum.ofLongs()))
          .apply("ShardCount", MapElements.into(TypeDescriptors.integers())
              .via(total -> shardCount(total, target)))
          .apply("AsView", View.asSingleton());
    }
  }

  static int shardCount(long totalBytes, long targetShardBytes) {
    long n = (totalBytes + targetShardBytes - 1) / targetShardBytes;
    return (int) Math.max(1, Math.min(1024, n));
  }
}
