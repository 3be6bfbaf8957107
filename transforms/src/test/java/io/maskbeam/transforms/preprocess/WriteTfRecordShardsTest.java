package io.maskbeam.transforms.preprocess;

import static org.assertj.core.api.Assertions.assertThat;

import io.maskbeam.dataset.TfRecordFraming;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.apache.beam.sdk.io.Compression;
import org.apache.beam.sdk.io.TFRecordIO;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WriteTfRecordShardsTest {
  @TempDir Path dir;

  private static List<ExampleRecord> records(String split, int n, int size) {
    List<ExampleRecord> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] payload = new byte[size + i];
      Arrays.fill(payload, (byte) i);
      payload[0] = (byte) (split.equals("train") ? 'T' : 'V');
      out.add(new ExampleRecord(split + i, split, payload, null));
    }
    return out;
  }

  private static List<byte[]> readAll(Path file, boolean gzip) throws IOException {
    List<byte[]> out = new ArrayList<>();
    try (InputStream raw = Files.newInputStream(file); InputStream in = gzip ? new GZIPInputStream(raw) : raw) {
      for (byte[] r = TfRecordFraming.read(in); r != null; r = TfRecordFraming.read(in)) {
        out.add(r);
      }
    }
    return out;
  }

  @Test
  void everyRecordLandsInExactlyOneBalancedShardAndTempFilesAreRemoved() throws IOException {
    List<ExampleRecord> input = new ArrayList<>(records("train", 23, 100));
    input.addAll(records("val", 5, 50));
    TestPipeline p = Pipelines.create();
    PCollection<ExampleRecord> examples = p.apply(Create.of(input));
    PCollection<String> written = examples
        .apply(new WriteTfRecordShards(dir.toString(), 4, 1 << 20, Compression.UNCOMPRESSED))
        .apply(MapElements.into(TypeDescriptors.strings()).via(kv -> kv.getKey() + ":" + Path.of(kv.getValue()).getFileName()));
    PAssert.that(written).containsInAnyOrder(
        "train:train-00000-of-00004.tfrecord", "train:train-00001-of-00004.tfrecord",
        "train:train-00002-of-00004.tfrecord", "train:train-00003-of-00004.tfrecord",
        "val:val-00000-of-00004.tfrecord", "val:val-00001-of-00004.tfrecord",
        "val:val-00002-of-00004.tfrecord", "val:val-00003-of-00004.tfrecord");
    p.run().waitUntilFinish();

    List<String> trainPayloads = new ArrayList<>();
    List<Integer> perShard = new ArrayList<>();
    for (int s = 0; s < 4; s++) {
      List<byte[]> shard = readAll(dir.resolve(WriteTfRecordShards.shardName("train", s, 4, Compression.UNCOMPRESSED)), false);
      perShard.add(shard.size());
      shard.forEach(r -> trainPayloads.add(r[0] + "/" + r.length));
    }
    assertThat(perShard).allSatisfy(n -> assertThat(n).isBetween(5, 6));
    assertThat(trainPayloads).hasSize(23).doesNotHaveDuplicates();
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.map(f -> f.getFileName().toString())).noneMatch(n -> n.startsWith(".maskbeam-temp"));
    }
  }

  @Test
  void gzipShardsAndBeamsOwnReaderAgree() throws IOException {
    TestPipeline p = Pipelines.create();
    p.apply(Create.of(records("train", 7, 300)))
        .apply(new WriteTfRecordShards(dir.toString(), 0, 1 << 20, Compression.GZIP));
    p.run().waitUntilFinish();
    Path shard = dir.resolve("train-00000-of-00001.tfrecord.gz");
    assertThat(readAll(shard, true)).hasSize(7);

    // Beam's TFRecordIO is an implementation independent of ours: it must read our framing.
    TestPipeline read = Pipelines.create();
    PCollection<Integer> sizes = read.apply(TFRecordIO.read().from(shard.toString()).withCompression(Compression.GZIP))
        .apply(MapElements.into(TypeDescriptors.integers()).via(b -> b.length));
    PAssert.that(sizes).containsInAnyOrder(300, 301, 302, 303, 304, 305, 306);
    read.run().waitUntilFinish();
  }

  @Test
  void ourReaderReadsBeamsFraming() throws IOException {
    TestPipeline p = Pipelines.create();
    p.apply(Create.of(Arrays.asList(new byte[] {1, 2, 3}, new byte[0], new byte[] {9})))
        .apply(TFRecordIO.write().to(dir.resolve("beam").toString()).withoutSharding());
    p.run().waitUntilFinish();
    List<byte[]> got = readAll(dir.resolve("beam"), false);
    assertThat(got).extracting(b -> b.length).containsExactlyInAnyOrder(3, 0, 1);
  }

  @Test
  void autoShardCountFollowsSize() {
    assertThat(WriteTfRecordShards.autoShards(0, 0, 100)).isEqualTo(1);
    assertThat(WriteTfRecordShards.autoShards(250, 10, 100)).isEqualTo(3);
    assertThat(WriteTfRecordShards.autoShards(10_000, 2, 100)).isEqualTo(2);
    assertThat(WriteTfRecordShards.autoShards(Long.MAX_VALUE / 2, Long.MAX_VALUE, 1)).isEqualTo(1024);
  }
}
