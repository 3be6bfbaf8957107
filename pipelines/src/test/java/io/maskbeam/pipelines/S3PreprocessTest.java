package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.dataset.TestImages;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Preprocessing, training and segmentation with data on s3://, against a real S3-compatible server on 127.0.0.1: inputs, shards,
 * dataset.json, rejections, and a trained model uploaded back.
 */
class S3PreprocessTest {
  @TempDir static Path work;
  static S3ProxyServer server;
  static S3Client s3;

  @BeforeAll
  static void startServer() throws Exception {
    server = S3ProxyServer.start(work);
    s3 = S3Client.builder()
        .endpointOverride(URI.create(server.endpoint()))
        .region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(
            AwsBasicCredentials.create(S3ProxyServer.IDENTITY, S3ProxyServer.CREDENTIAL)))
        .forcePathStyle(true)
        .build();
    s3.createBucket(b -> b.bucket("data"));
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (s3 != null) {
      s3.close();
    }
    if (server != null) {
      server.close();
    }
  }

  private static void put(String key, byte[] bytes) {
    s3.putObject(b -> b.bucket("data").key(key), RequestBody.fromBytes(bytes));
  }

  private static byte[] get(String key) {
    return s3.getObjectAsBytes(b -> b.bucket("data").key(key)).asByteArray();
  }

  private static String[] s3Flags() {
    return new String[] {
      "--awsRegion=us-east-1", "--endpoint=" + server.endpoint(), "--s3PathStyleAccess=true",
      "--awsCredentialsProvider={\"@type\":\"StaticCredentialsProvider\",\"accessKeyId\":\""
          + S3ProxyServer.IDENTITY + "\",\"secretAccessKey\":\"" + S3ProxyServer.CREDENTIAL + "\"}"};
  }

  @Test
  void trainReadsShardsFromS3AndUploadsTheModel() throws Exception {
    TestData.Run demo = TestData.cli("demo", "--output=" + work.resolve("demo"), "--count=16", "--trainEpochs=0",
        "--width=128", "--height=96", "--style=textured");
    assertThat(demo.exitCode()).as(demo.err()).isZero();
    try (var files = java.nio.file.Files.list(work.resolve("demo/dataset"))) {
      for (Path f : files.filter(java.nio.file.Files::isRegularFile).toList()) {
        put("shapes/" + f.getFileName(), java.nio.file.Files.readAllBytes(f));
      }
    }
    List<String> args = new ArrayList<>(List.of("train", "--data=s3://data/shapes", "--output=s3://data/runs/unet",
        "--epochs=1", "--unetWidth=8", "--unetDepth=3", "--cropSize=64", "--miniBatchSize=4", "--optimizer=adam"));
    args.addAll(List.of(s3Flags()));
    TestData.Run run = TestData.cli(args.toArray(String[]::new));
    assertThat(run.exitCode()).as(run.err() + "\n" + server.log()).isZero();
    JsonNode meta = TestData.JSON.readTree(get("runs/unet/model/maskbeam-model.json"));
    assertThat(meta.path("numClasses").asInt()).isEqualTo(4);
    assertThat(get("runs/unet/model/saved_model.pb").length).isPositive();
    assertThat(new String(get("runs/unet/metrics.jsonl"))).contains("\"epoch\":1");
  }

  @Test
  void segmentReadsModelAndImagesFromS3AndWritesResultsBack() throws Exception {
    TestData.Run demo = TestData.cli("demo", "--output=" + work.resolve("seg-demo"), "--count=16", "--trainEpochs=1",
        "--width=128", "--height=96", "--style=textured");
    assertThat(demo.exitCode()).as(demo.err()).isZero();
    Path modelDir = work.resolve("seg-demo/training/model");
    try (var files = java.nio.file.Files.walk(modelDir)) {
      for (Path f : files.filter(java.nio.file.Files::isRegularFile).toList()) {
        put("models/shapes/" + modelDir.relativize(f).toString().replace('\\', '/'), java.nio.file.Files.readAllBytes(f));
      }
    }
    for (int i = 0; i < 5; i++) {
      put("photos/day" + (i % 2) + "/p" + i + ".png", TestImages.rgbPng(64, 48, 40 + i));
    }
    put("photos/day0/broken.png", TestImages.truncated(TestImages.rgbPng(64, 48, 9)));
    List<String> args = new ArrayList<>(List.of("segment", "--model=s3://data/models/shapes",
        "--input=s3://data/photos/**.png", "--output=s3://data/segmented"));
    args.addAll(List.of(s3Flags()));
    TestData.Run run = TestData.cli(args.toArray(String[]::new));
    assertThat(run.exitCode()).as(run.out() + run.err() + "\n" + server.log()).isZero();
    assertThat(run.out()).contains("matched 6 = segmented 5 + skipped 0 + failed 1");

    List<String> keys = new ArrayList<>();
    s3.listObjectsV2Paginator(b -> b.bucket("data").prefix("segmented/")).contents().stream()
        .map(S3Object::key).forEach(keys::add);
    assertThat(keys).contains("segmented/masks/day0/p0.png", "segmented/masks/day1/p3.png",
        "segmented/color/day0/p2.png", "segmented/overlays/day1/p1.jpg", "segmented/summary.json",
        "segmented/summary.csv");
    assertThat(keys).noneMatch(k -> k.contains("broken") && k.contains("masks"));
    int[] mask = TestData.rawValues(get("segmented/masks/day0/p4.png"));
    assertThat(mask).hasSize(64 * 48);
    assertThat(java.util.Arrays.stream(mask).max().orElseThrow()).isLessThan(4);
    JsonNode summary = TestData.JSON.readTree(get("segmented/summary.json"));
    assertThat(summary.path("collection").path("images").asInt()).isEqualTo(5);
    assertThat(summary.path("collection").path("pixels").asLong()).isEqualTo(5L * 64 * 48);
    String errors = keys.stream().filter(k -> k.startsWith("segmented/errors/")).map(k -> new String(get(k)))
        .reduce("", String::concat);
    assertThat(errors).contains("s3://data/photos/day0/broken.png", "TRUNCATED");

    // A model prefix with nothing under it is refused before the job starts.
    List<String> bad = new ArrayList<>(List.of("segment", "--model=s3://data/models/nothing",
        "--input=s3://data/photos/**.png", "--output=s3://data/segmented2"));
    bad.addAll(List.of(s3Flags()));
    TestData.Run refused = TestData.cli(bad.toArray(String[]::new));
    assertThat(refused.exitCode()).isEqualTo(Maskbeam.USAGE);
    assertThat(refused.err()).contains("model s3://data/models/nothing does not exist");
  }

  @Test
  void preprocessReadsAndWritesS3() throws Exception {
    for (int i = 0; i < 6; i++) {
      put("camvid/images/f" + i + ".png", TestImages.rgbPng(48, 32, i));
      put("camvid/masks/f" + i + ".png", TestImages.greyMask(48, 32, 0, 4, 11));
    }
    put("camvid/images/broken.png", TestImages.truncated(TestImages.rgbPng(48, 32, 9)));
    put("camvid/masks/broken.png", TestImages.greyMask(48, 32, 1));

    TestData.Run run = TestData.cli("preprocess",
        "--images=s3://data/camvid/images", "--masks=s3://data/camvid/masks/*.png",
        "--labelMap=camvid-11", "--output=s3://data/prepared", "--numShards=2", "--validationFraction=0",
        "--awsRegion=us-east-1", "--endpoint=" + server.endpoint(), "--s3PathStyleAccess=true",
        "--awsCredentialsProvider={\"@type\":\"StaticCredentialsProvider\",\"accessKeyId\":\""
            + S3ProxyServer.IDENTITY + "\",\"secretAccessKey\":\"" + S3ProxyServer.CREDENTIAL + "\"}");
    assertThat(run.exitCode()).as(run.err() + "\n" + server.log()).isZero();

    List<String> keys = new ArrayList<>();
    s3.listObjectsV2Paginator(b -> b.bucket("data").prefix("prepared/")).contents().stream()
        .map(S3Object::key).forEach(keys::add);
    assertThat(keys).contains("prepared/dataset.json", "prepared/train-00000-of-00002.tfrecord",
        "prepared/train-00001-of-00002.tfrecord", "prepared/rejected/rejected-00000-of-00001.jsonl");
    assertThat(keys).noneMatch(k -> k.contains(".maskbeam-temp"));

    int records = 0;
    for (String shard : List.of("prepared/train-00000-of-00002.tfrecord", "prepared/train-00001-of-00002.tfrecord")) {
      for (byte[] r : TfRecordSpecReader.read(get(shard), false)) {
        TfRecordSpecReader.DeepLab e = TfRecordSpecReader.parseDeepLab(r);
        assertThat(e.filename()).startsWith("f");
        assertThat(TestData.rawValues(e.label())).containsOnly(0, 4, 255);
        records++;
      }
    }
    assertThat(records).isEqualTo(6);
    JsonNode counts = TestData.JSON.readTree(get("prepared/dataset.json")).path("counts");
    assertThat(counts.path("inputs").asLong()).isEqualTo(7);
    assertThat(counts.path("written").asLong()).isEqualTo(6);
    assertThat(new String(get("prepared/rejected/rejected-00000-of-00001.jsonl")))
        .contains("\"id\":\"broken\"", "IMAGE_TRUNCATED", "s3://data/camvid/images/broken.png");
  }
}
