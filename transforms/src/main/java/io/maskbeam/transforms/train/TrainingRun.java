package io.maskbeam.transforms.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.models.train.Augmenter;
import io.maskbeam.models.train.TensorBoardEvents;
import io.maskbeam.models.train.TrainConfig;
import io.maskbeam.models.train.Trainer;
import io.maskbeam.models.train.TrainingData;
import io.maskbeam.models.train.TrainingListener;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One training run of a {@link TrainingJob}, wherever it runs (the command line, a trial on a worker, a SageMaker
 * or Vertex AI training container): stage the dataset locally, check it before the first step (dataset.json, shards
 * present and non-empty, DeepLab schema, labels within the classes, crop vs. the network's stride), train, and put
 * the model where the job says.
 */
public final class TrainingRun {
  private static final Logger LOG = LoggerFactory.getLogger(TrainingRun.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private TrainingRun() {}

  /** A dataset staged on local disk. */
  record LocalDataset(JsonNode datasetJson, List<Path> train, List<Path> val) {}

  public static Trainer.Outcome execute(TrainingJob job, PrintStream out, TrainingListener... extra)
      throws IOException, InterruptedException {
    boolean remoteOutput = job.output().contains("://");
    Path output = remoteOutput ? Files.createTempDirectory("maskbeam-train") : Path.of(job.output());
    LocalDataset data = stage(job.data(), output.resolve(".data"));
    JsonNode d = data.datasetJson();
    int numClasses = d.path("numClasses").asInt(-1);
    int ignore = d.path("ignoreValue").asInt(255);
    if (numClasses < 2) {
      throw new IllegalArgumentException(job.data() + "/dataset.json declares no usable numClasses");
    }
    List<byte[]> train = TrainingData.readRecords(data.train());
    List<byte[]> val = TrainingData.readRecords(data.val());
    if (train.isEmpty()) {
      throw new IllegalArgumentException("the train shards of " + job.data() + " hold no records");
    }
    if (val.isEmpty()) {
      out.println("warning: " + job.data() + " has no val records: validation mIoU cannot be measured, the model of"
          + " the last epoch is exported, and early stopping is off (preprocess with --validationFraction > 0)");
    }
    TrainConfig.InputSpec input = inputOf(d, job.inputChannels(), job.data());
    if (input.rawBands()) {
      out.printf(Locale.ROOT, "input: %d raw %s bands %s, normalised with the %s statistics of dataset.json%n",
          input.channels(), input.dtype(), java.util.Arrays.toString(input.sourceBands()),
          d.path("bands").path("computedOn").asText("train"));
    }
    checkSample(train, numClasses, ignore, input, "train");
    checkSample(val, numClasses, ignore, input, "val");
    TrainConfig config = new TrainConfig(job.network(), numClasses, ignore,
        new TrainConfig.LossSpec(job.loss(), classWeights(job.classWeights(), d, numClasses), job.focalGamma()),
        job.optimizer(), job.seed(), input);
    int stride = config.buildNetwork().stride();
    int crop = job.augment().cropSize();
    if (crop % stride != 0) {
      throw new IllegalArgumentException("--cropSize " + crop + " must be a multiple of the network stride " + stride
          + " (e.g. " + (crop / stride * stride + stride) + ")");
    }
    Trainer.Settings settings = new Trainer.Settings(output, job.schedule(),
        new Augmenter(crop, job.augment().minScale(), job.augment().maxScale(), job.augment().flip(),
            job.augment().jitter(), job.augment().jitter(), job.augment().jitter(), ignore),
        val.isEmpty() ? Trainer.EarlyStopping.OFF : job.earlyStopping(), job.checkpoints(),
        new Trainer.Initialisation(job.initModel() == null ? null : Path.of(job.initModel()),
            job.pretrainedWeights() == null ? null : Path.of(job.pretrainedWeights())),
        job.dataThreads(), job.seed(), precision(job, out), devices(job, out));
    ObjectNode info = JSON.createObjectNode();
    info.set("classes", d.path("classes"));
    info.put("source", job.data());
    Trainer trainer = new Trainer(config, settings, info, out);
    for (TrainingListener l : extra) {
      trainer.withListener(l);
    }
    TrainingJob.Platform platform = job.platform();
    if (platform.tensorBoardDir() != null) {
      trainer.withListener(tensorBoard(platform.tensorBoardDir(), output));
    }
    if (platform.checkpointDestination() != null) {
      trainer.withListener(new TrainingListener() {
        @Override
        public void onEpoch(int epoch, JsonNode metrics) throws IOException {
          copyTree(output.resolve(Trainer.CHECKPOINT_DIR), platform.checkpointDestination());
        }
      });
    }
    Trainer.Outcome outcome = trainer.run(train, val);
    if (remoteOutput) {
      upload(output, job.output(), out);
    }
    if (platform.modelDestination() != null) {
      copyTree(outcome.model(), platform.modelDestination());
      out.println("model copied to " + platform.modelDestination());
    }
    out.printf(Locale.ROOT, "best val mIoU %.4f at epoch %d; model: %s%n", outcome.bestMeanIou(), outcome.bestEpoch(),
        remoteOutput ? Storage.join(job.output(), Trainer.MODEL_DIR) : outcome.model());
    return outcome;
  }

  /** Event files written locally and copied to a remote log folder after every epoch. */
  private static TrainingListener tensorBoard(String dir, Path output) throws IOException {
    boolean remote = dir.contains("://");
    Path local = remote ? output.resolve("tensorboard") : Path.of(dir);
    TensorBoardEvents events = new TensorBoardEvents(local, 10);
    if (!remote) {
      return events;
    }
    return new TrainingListener() {
      @Override
      public void onStep(long step, float loss, float learningRate) throws IOException {
        events.onStep(step, loss, learningRate);
      }

      @Override
      public void onEpoch(int epoch, JsonNode metrics) throws IOException {
        events.onEpoch(epoch, metrics);
        Storage.write(Storage.join(dir, events.file().getFileName().toString()), Files.readAllBytes(events.file()),
            "application/octet-stream");
      }
    };
  }

  /** The job's devices settled on this machine (refused before training when they do not exist), printed. */
  static io.maskbeam.models.train.TrainingDevices devices(TrainingJob job, PrintStream out) {
    io.maskbeam.models.train.TrainingDevices devices = io.maskbeam.models.train.TrainingDevices.choose(job.devices(),
        job.syncBatchNorm(), job.schedule().miniBatchSize());
    if (devices.count() > 1) {
      out.println("training devices: " + devices.describe() + ", " + job.schedule().miniBatchSize() / devices.count()
          + " images per device and step" + (devices.type().equals("CPU") ? " (logical CPU devices share the same"
          + " cores: they check the towers, and are slower than one device)" : ""));
    }
    return devices;
  }

  /** The job's precision settled on this machine, printed (with a warning when it falls back). */
  static io.maskbeam.models.infer.Precision precision(TrainingJob job, PrintStream out) {
    io.maskbeam.models.infer.Precision.Choice choice = io.maskbeam.models.infer.Precision.choose(job.precision(),
        job.strictPrecision());
    if (choice.precision() == io.maskbeam.models.infer.Precision.FP16) {
      // float16 gradients underflow without loss scaling, which this trainer does not do; bfloat16 needs none.
      if (!choice.requested().equals("auto")) {
        throw new IllegalArgumentException("--precision=fp16 is for inference: fp16 training needs loss scaling,"
            + " which Maskbeam's trainer does not implement; train in bf16 or fp32");
      }
      choice = new io.maskbeam.models.infer.Precision.Choice("auto", io.maskbeam.models.infer.Precision.FP32,
          "fp16 training needs loss scaling, not implemented");
    }
    if (!choice.label().equals("fp32") || choice.note() != null) {
      out.println("training precision: " + choice.label() + (choice.note() == null ? "" : " (" + choice.note() + ")"));
    }
    return choice.precision();
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
        throw new IllegalArgumentException("dataset.json has no median-frequency weights for " + numClasses
            + " classes");
      }
      for (int c = 0; c < numClasses; c++) {
        // A class absent from train has weight 0 in dataset.json; it contributes no loss either way.
        w[c] = (float) values.get(c).asDouble();
      }
      return w;
    }
    String[] parts = s.split(",");
    if (parts.length != numClasses) {
      throw new IllegalArgumentException("--classWeights has " + parts.length + " values for " + numClasses
          + " classes");
    }
    for (int c = 0; c < numClasses; c++) {
      try {
        w[c] = Float.parseFloat(parts[c].trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--classWeights value '" + parts[c].trim() + "' is not a number");
      }
    }
    return w;
  }

  /**
   * What the network takes, from dataset.json: RGB, or the raw bands it describes (count, type, per-band mean and
   * std); {@code --inputChannels} other than 0 must agree.
   */
  static TrainConfig.InputSpec inputOf(JsonNode dataset, int inputChannels, String where) {
    JsonNode bands = dataset.path("bands");
    TrainConfig.InputSpec input;
    if (bands.isMissingNode()) {
      input = TrainConfig.InputSpec.RGB;
    } else {
      JsonNode stats = bands.path("statistics");
      int n = bands.path("channels").asInt(0);
      if (n < 1 || stats.size() != n) {
        throw new IllegalArgumentException(where + "/dataset.json: 'bands' declares " + n + " channels and "
            + stats.size() + " band statistics");
      }
      float[] mean = new float[n];
      float[] std = new float[n];
      int[] numbers = new int[n];
      for (int c = 0; c < n; c++) {
        mean[c] = (float) stats.get(c).path("mean").asDouble();
        // A constant band (std 0) is kept as it is rather than divided by zero.
        double s = stats.get(c).path("std").asDouble();
        std[c] = (float) (s > 0 ? s : 1);
        numbers[c] = stats.get(c).path("band").asInt(c + 1);
      }
      input = new TrainConfig.InputSpec(n, bands.path("dtype").asText(), numbers, mean, std);
    }
    if (inputChannels != 0 && inputChannels != input.channels()) {
      throw new IllegalArgumentException("--inputChannels=" + inputChannels + " but the examples of " + where
          + " have " + input.channels() + (input.rawBands() ? " raw bands" : " (RGB)") + "; preprocess with --bands"
          + " to choose bands, or leave --inputChannels at 0 to follow the data");
    }
    return input;
  }

  /**
   * The first record of a split must parse as a DeepLab Example whose labels fit the declared classes, and be what
   * the network takes (RGB or its number of raw bands).
   */
  private static void checkSample(List<byte[]> records, int numClasses, int ignore, TrainConfig.InputSpec input,
      String split) {
    if (records.isEmpty()) {
      return;
    }
    TrainingData.Example e;
    try {
      e = TrainingData.decode(records.get(0), numClasses, ignore);
    } catch (IllegalArgumentException ex) {
      throw new IllegalArgumentException("the " + split + " shards are not a usable DeepLab dataset: "
          + ex.getMessage(), ex);
    }
    try {
      TrainingData.checkInput(e, input.rawBands() ? input.channels() : 0);
    } catch (IllegalArgumentException ex) {
      throw new IllegalArgumentException("the " + split + " shards do not match dataset.json: " + ex.getMessage(),
          ex);
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
    return new LocalDataset(d, train, shards(data, "val", cache));
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

  /** The run's results to a remote --output: model/ and metrics.jsonl (checkpoints stay in the local staging). */
  private static void upload(Path local, String remote, PrintStream out) throws IOException {
    int files = copyTree(local.resolve(Trainer.MODEL_DIR), Storage.join(remote, Trainer.MODEL_DIR));
    Storage.write(Storage.join(remote, "metrics.jsonl"), Files.readAllBytes(local.resolve("metrics.jsonl")),
        "application/octet-stream");
    out.println("uploaded " + (files + 1) + " files to " + remote);
  }

  /** Copies a local folder's files to a folder on any filesystem (a local one is replaced); returns how many. */
  static int copyTree(Path from, String to) throws IOException {
    if (!Files.isDirectory(from)) {
      return 0;
    }
    List<Path> files;
    try (Stream<Path> walk = Files.walk(from)) {
      files = walk.filter(Files::isRegularFile).sorted().toList();
    }
    for (Path f : files) {
      String relative = from.relativize(f).toString().replace('\\', '/');
      if (to.contains("://")) {
        Storage.write(Storage.join(to, relative), Files.readAllBytes(f), "application/octet-stream");
      } else {
        Path target = Path.of(to).resolve(relative);
        Files.createDirectories(target.getParent());
        Files.copy(f, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
    LOG.info("copied {} files from {} to {}", files.size(), from, to);
    return files.size();
  }
}
