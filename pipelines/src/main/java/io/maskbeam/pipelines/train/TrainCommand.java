package io.maskbeam.pipelines.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.models.train.Augmenter;
import io.maskbeam.models.train.LearningRateSchedule;
import io.maskbeam.models.train.TrainConfig;
import io.maskbeam.models.train.Trainer;
import io.maskbeam.models.train.TrainingData;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;

/**
 * {@code maskbeam train}: a preprocessed dataset to a SavedModel. Every check that can be made before training
 * (dataset.json, shards present and non-empty, DeepLab schema, labels within the declared classes, an
 * {@code --initModel} of the same classes) is made before the first step.
 */
public final class TrainCommand {
  private static final ObjectMapper JSON = new ObjectMapper();

  private TrainCommand() {}

  /** A dataset staged on local disk. */
  record LocalDataset(JsonNode datasetJson, List<Path> train, List<Path> val, String source) {}

  public static Trainer.Outcome execute(TrainOptions o, PrintStream out) throws IOException, InterruptedException {
    boolean remoteOutput = o.getOutput().contains("://");
    Path output = remoteOutput ? Files.createTempDirectory("maskbeam-train") : Path.of(o.getOutput());
    LocalDataset data = stage(o.getData(), output.resolve(".data"));
    JsonNode d = data.datasetJson();
    int numClasses = d.path("numClasses").asInt(-1);
    int ignore = d.path("ignoreValue").asInt(255);
    if (numClasses < 2) {
      throw new IllegalArgumentException(o.getData() + "/dataset.json declares no usable numClasses");
    }
    List<byte[]> train = TrainingData.readRecords(data.train());
    List<byte[]> val = TrainingData.readRecords(data.val());
    if (train.isEmpty()) {
      throw new IllegalArgumentException("the train shards of " + o.getData() + " hold no records");
    }
    checkSample(train, numClasses, ignore, "train");
    checkSample(val, numClasses, ignore, "val");

    TrainConfig config = new TrainConfig(o.getAlgorithm().trim().toLowerCase(Locale.ROOT), o.getBackbone(),
        o.getOutputStride(), numClasses, ignore,
        o.getUnetDepth(), o.getUnetWidth(), parseUpsampling(o.getUpsampling()),
        classWeights(o.getClassWeights(), d, numClasses), TrainConfig.Loss.parse(o.getLoss()), o.getFocalGamma(),
        TrainConfig.Optimizer.parse(o.getOptimizer()), o.getMomentum(), o.getNesterov(), o.getWeightDecay(),
        o.getSeed());
    int stride = config.network().stride();
    if (o.getCropSize() % stride != 0) {
      throw new IllegalArgumentException("--cropSize " + o.getCropSize() + " must be a multiple of the network stride "
          + stride + " (e.g. " + (o.getCropSize() / stride * stride + stride) + ")");
    }
    int threads = o.getDataThreads() > 0 ? o.getDataThreads() : Runtime.getRuntime().availableProcessors();
    float jitter = o.getJitter();
    Trainer.Settings settings = new Trainer.Settings(output, o.getEpochs(), o.getMiniBatchSize(),
        o.getValidationMiniBatchSize(), o.getLearningRate(), LearningRateSchedule.Kind.parse(o.getLrScheduler()),
        o.getWarmupSteps(), o.getLrSchedulerFactor(), o.getLrSchedulerStepEpochs(),
        new Augmenter(o.getCropSize(), o.getMinScale(), o.getMaxScale(), o.getFlip(), jitter, jitter, jitter, ignore),
        o.getCheckpointEverySteps(), o.getEarlyStopping(), o.getEarlyStoppingPatience(),
        o.getEarlyStoppingMinEpochs(), o.getEarlyStoppingTolerance(), o.getResume(),
        o.getInitModel() == null ? null : Path.of(o.getInitModel()),
        o.getPretrainedWeights() == null ? null : Path.of(o.getPretrainedWeights()), threads, o.getSeed());
    ObjectNode info = JSON.createObjectNode();
    info.set("classes", d.path("classes"));
    info.put("source", data.source());
    Trainer.Outcome outcome = new Trainer(config, settings, info, out).run(train, val);
    if (remoteOutput) {
      upload(output, o.getOutput(), out);
    }
    out.printf(Locale.ROOT, "best val mIoU %.4f at epoch %d; model: %s%n", outcome.bestMeanIou(), outcome.bestEpoch(),
        remoteOutput ? Storage.join(o.getOutput(), Trainer.MODEL_DIR) : outcome.model());
    return outcome;
  }

  private static boolean parseUpsampling(String s) {
    return switch (s.trim().toLowerCase(Locale.ROOT)) {
      case "transposed" -> true;
      case "bilinear" -> false;
      default -> throw new IllegalArgumentException("--upsampling must be transposed or bilinear, got '" + s + "'");
    };
  }

  static float[] classWeights(String spec, JsonNode dataset, int numClasses) {
    String s = spec.trim().toLowerCase(Locale.ROOT);
    if (s.equals("none") || s.isEmpty()) {
      return null;
    }
    float[] w = new float[numClasses];
    if (s.equals("median-frequency")) {
      JsonNode values = dataset.path("classWeights").path("values");
      if (values.size() != numClasses) {
        throw new IllegalArgumentException("dataset.json has no median-frequency weights for " + numClasses + " classes");
      }
      for (int c = 0; c < numClasses; c++) {
        // A class absent from train has weight 0 in dataset.json; it contributes no loss either way.
        w[c] = (float) values.get(c).asDouble();
      }
      return w;
    }
    String[] parts = s.split(",");
    if (parts.length != numClasses) {
      throw new IllegalArgumentException("--classWeights has " + parts.length + " values for " + numClasses + " classes");
    }
    for (int c = 0; c < numClasses; c++) {
      w[c] = Float.parseFloat(parts[c].trim());
    }
    return w;
  }

  /** The first record of a split must parse as a DeepLab Example whose labels fit the declared classes. */
  private static void checkSample(List<byte[]> records, int numClasses, int ignore, String split) {
    if (!records.isEmpty()) {
      try {
        TrainingData.decode(records.get(0), numClasses, ignore);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("the " + split + " shards are not a usable DeepLab dataset: "
            + e.getMessage(), e);
      }
    }
  }

  /** Copies dataset.json and the shards to local disk when they live elsewhere. */
  static LocalDataset stage(String data, Path cache) throws IOException {
    byte[] datasetJson;
    try {
      datasetJson = Storage.readAll(Storage.join(data, "dataset.json"));
    } catch (Storage.NotFoundException e) {
      throw new IllegalArgumentException("--data " + data + " has no dataset.json; is it a folder written by"
          + " 'maskbeam preprocess'?");
    }
    JsonNode d;
    try {
      d = JSON.readTree(new String(datasetJson, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalArgumentException(data + "/dataset.json is not JSON: " + e.getMessage());
    }
    List<Path> train = shards(data, "train", cache);
    if (train.isEmpty()) {
      throw new IllegalArgumentException("no train-*.tfrecord shards in " + data);
    }
    return new LocalDataset(d, train, shards(data, "val", cache), data);
  }

  private static List<Path> shards(String data, String split, Path cache) throws IOException {
    MatchResult match = FileSystems.match(Storage.join(data, split + "-*.tfrecord*"));
    List<String> uris = new ArrayList<>();
    if (match.status() == MatchResult.Status.OK) {
      match.metadata().forEach(m -> uris.add(m.resourceId().toString()));
    }
    uris.sort(null);
    List<Path> local = new ArrayList<>();
    for (String uri : uris) {
      if (!uri.contains("://")) {
        local.add(Path.of(uri));
      } else {
        Path p = Files.createDirectories(cache).resolve(Storage.fileName(uri));
        Files.write(p, Storage.readAll(uri));
        local.add(p);
      }
    }
    return local;
  }

  private static void upload(Path local, String remote, PrintStream out) throws IOException {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(local.resolve(Trainer.MODEL_DIR))) {
      files = new ArrayList<>(walk.filter(Files::isRegularFile).toList());
    }
    files.add(local.resolve("metrics.jsonl"));
    for (Path f : files) {
      String relative = local.relativize(f).toString().replace('\\', '/');
      Storage.write(Storage.join(remote, relative), Files.readAllBytes(f), "application/octet-stream");
    }
    out.println("uploaded " + files.size() + " files to " + remote);
  }
}
