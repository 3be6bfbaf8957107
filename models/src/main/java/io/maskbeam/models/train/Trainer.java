package io.maskbeam.models.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.models.eval.ConfusionMatrix;
import io.maskbeam.models.report.Charts;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Trains a {@link SegmentationGraph}: batches from {@link BatchProducer}, a learning rate per step, validation
 * (mIoU, pixel accuracy, per-class IoU) after every epoch, early stopping on mIoU, the best model exported as a
 * SavedModel with {@value #METADATA} beside it, checkpoints that {@code resume} continues from, and one line per
 * epoch in {@code metrics.jsonl}.
 */
public final class Trainer {
  public static final String METADATA = io.maskbeam.models.infer.ModelMetadata.FILE_NAME;
  public static final String MODEL_DIR = "model";
  public static final String CHECKPOINT_DIR = "checkpoints";
  static final String STATE = "training-state.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Everything about a run that is not the graph, in parts that are checked when built. */
  public record Settings(Path output, Schedule schedule, Augmenter augmenter, EarlyStopping earlyStopping,
      Checkpoints checkpoints, Initialisation init, int threads, long seed,
      io.maskbeam.models.infer.Precision precision, TrainingDevices devices) {
    public Settings {
      if (precision == null) {
        precision = io.maskbeam.models.infer.Precision.FP32;
      }
      if (devices == null) {
        devices = TrainingDevices.SINGLE;
      }
      if (threads < 1) {
        throw new IllegalArgumentException("--dataThreads must be positive, got " + threads);
      }
    }
  }

  /** How long and how fast: epochs, batch sizes and the learning-rate schedule. */
  public record Schedule(int epochs, int miniBatchSize, int validationMiniBatchSize, float learningRate,
      LearningRateSchedule.Kind kind, int warmupSteps, float stepFactor, int stepEveryEpochs)
      implements java.io.Serializable {
    public Schedule {
      if (epochs < 1) {
        throw new IllegalArgumentException("--epochs must be at least 1, got " + epochs);
      }
      if (miniBatchSize < 1) {
        throw new IllegalArgumentException("--miniBatchSize must be at least 1, got " + miniBatchSize);
      }
      if (validationMiniBatchSize < 1) {
        throw new IllegalArgumentException("--validationMiniBatchSize must be at least 1, got "
            + validationMiniBatchSize);
      }
      if (!(learningRate > 0) || learningRate > 10) {
        throw new IllegalArgumentException("--learningRate must be in (0, 10], got " + learningRate);
      }
      if (warmupSteps < 0) {
        throw new IllegalArgumentException("--warmupSteps must be >= 0, got " + warmupSteps);
      }
      if (stepEveryEpochs < 1) {
        throw new IllegalArgumentException("--lrSchedulerStepEpochs must be at least 1, got " + stepEveryEpochs);
      }
    }
  }

  /** Stop when validation mIoU has not improved by {@code tolerance} for {@code patience} epochs. */
  public record EarlyStopping(boolean enabled, int patience, int minEpochs, float tolerance)
      implements java.io.Serializable {
    public static final EarlyStopping OFF = new EarlyStopping(false, 4, 5, 0f);
  }

  /** Checkpoints every {@code everySteps} steps (0: each epoch only); {@code resume} continues from them. */
  public record Checkpoints(int everySteps, boolean resume) implements java.io.Serializable {
    public Checkpoints {
      if (everySteps < 0) {
        throw new IllegalArgumentException("--checkpointEverySteps must be >= 0, got " + everySteps);
      }
    }
  }

  /** Where the first weights come from: an exported model, a Keras ResNet file, or neither (random). */
  public record Initialisation(Path initModel, Path pretrainedWeights) {}

  /** How a run ended. */
  public record Outcome(int epochsRun, long steps, double bestMeanIou, int bestEpoch, boolean stoppedEarly,
      Path model) {}

  private final TrainConfig config;
  private final Settings settings;
  private final ObjectNode datasetInfo;
  private final PrintStream out;
  private final List<TrainingListener> listeners = new ArrayList<>();

  /**
   * @param datasetInfo the dataset's classes (names, colours) and provenance, copied into the model metadata
   */
  public Trainer(TrainConfig config, Settings settings, ObjectNode datasetInfo, PrintStream out) {
    this.config = config;
    this.settings = settings;
    this.datasetInfo = datasetInfo;
    this.out = out;
  }

  /** Adds a listener of steps and epochs (metric lines, TensorBoard events). */
  public Trainer withListener(TrainingListener listener) {
    listeners.add(listener);
    return this;
  }

  public Outcome run(List<byte[]> train, List<byte[]> val) throws IOException, InterruptedException {
    Path output = Files.createDirectories(settings.output());
    Path checkpointPrefix = output.resolve(CHECKPOINT_DIR).resolve("ckpt");
    Path statePath = output.resolve(CHECKPOINT_DIR).resolve(STATE);
    Path metricsPath = output.resolve("metrics.jsonl");
    Path modelDir = output.resolve(MODEL_DIR);
    try (SegmentationGraph graph = new SegmentationGraph(config, settings.precision(), settings.devices());
        BatchProducer batches = new BatchProducer(train, settings.augmenter(), settings.schedule().miniBatchSize(),
            config.numClasses(), config.input(), settings.seed(), settings.threads())) {
      int perEpoch = batches.batchesPerEpoch();
      long totalSteps = (long) perEpoch * settings.schedule().epochs();
      LearningRateSchedule lr = new LearningRateSchedule(settings.schedule().kind(), settings.schedule().learningRate(), totalSteps,
          settings.schedule().warmupSteps(), (long) perEpoch * settings.schedule().stepEveryEpochs(),
          settings.schedule().stepFactor());
      out.printf(Locale.ROOT, "training %s: %,d parameters, %d train / %d val examples, %d epochs x %d steps of %d%n",
          graph.network().describe(), graph.parameterCount(), train.size(), val.size(), settings.schedule().epochs(), perEpoch,
          batches.batchSize());
      if (settings.devices().count() > 1) {
        out.printf(Locale.ROOT, "towers: %s; ops placed per device %s%n", settings.devices().describe(),
            graph.opsPerDevice().entrySet().stream().filter(e -> !e.getKey().isEmpty())
                .map(e -> e.getKey() + "=" + e.getValue()).toList());
      }

      State state = new State();
      if (settings.checkpoints().resume() && Files.exists(statePath)) {
        state = JSON.readValue(statePath.toFile(), State.class);
        graph.restore(checkpointPrefix);
        out.printf(Locale.ROOT, "resumed from %s at epoch %d, step %d%n", checkpointPrefix, state.epoch + 1, state.step);
      } else {
        if (settings.init().pretrainedWeights() != null) {
          loadPretrained(graph, settings.init().pretrainedWeights());
        }
        if (settings.init().initModel() != null) {
          initFrom(graph, settings.init().initModel());
        }
        Files.deleteIfExists(metricsPath);
      }

      int epoch = state.epoch;
      boolean stoppedEarly = false;
      TrainingProgress progress = new TrainingProgress(out, settings.schedule().epochs());
      History history = History.read(metricsPath);
      long started = System.nanoTime();
      long stepsThisRun = 0;
      while (epoch < settings.schedule().epochs() && !stoppedEarly) {
        batches.start(epoch, state.batchInEpoch);
        double lossSum = 0;
        int lossCount = 0;
        long epochStart = System.nanoTime();
        for (int b = state.batchInEpoch; b < perEpoch; b++) {
          BatchProducer.Batch batch = batches.next();
          float rate = lr.at(state.step);
          int s = settings.augmenter().cropSize();
          float loss = batch.bands() != null
              ? graph.trainStep(batch.bands(), batch.labels(), batch.size(), s, s, rate)
              : graph.trainStep(batch.images(), batch.labels(), batch.size(), s, s, rate);
          if (!Float.isFinite(loss)) {
            throw new IllegalStateException("loss became " + loss + " at step " + state.step
                + "; lower --learningRate or use --warmupSteps");
          }
          lossSum += loss;
          lossCount++;
          state.step++;
          stepsThisRun++;
          state.batchInEpoch = b + 1;
          progress.step(epoch, b + 1, perEpoch, loss, rate, stepsThisRun * batches.batchSize(), started,
              totalSteps - state.step, batches.batchSize());
          for (TrainingListener l : listeners) {
            l.onStep(state.step, loss, rate);
          }
          if (settings.checkpoints().everySteps() > 0 && state.step % settings.checkpoints().everySteps() == 0) {
            checkpoint(graph, checkpointPrefix, statePath, state);
          }
        }
        double seconds = (System.nanoTime() - epochStart) / 1e9;
        Validation v = validate(graph, val);
        ObjectNode line = JSON.createObjectNode();
        line.put("epoch", epoch + 1);
        line.put("step", state.step);
        line.put("trainLoss", lossCount == 0 ? Double.NaN : lossSum / lossCount);
        line.put("learningRate", lr.at(Math.max(0, state.step - 1)));
        line.put("imagesPerSecond", lossCount * batches.batchSize() / Math.max(seconds, 1e-9));
        line.put("seconds", seconds);
        v.write(line, datasetInfo);
        Files.writeString(metricsPath, JSON.writeValueAsString(line) + "\n", StandardCharsets.UTF_8,
            StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        history.add(epoch + 1, line.path("trainLoss").asDouble(), v.matrix.meanIou());
        plot(output, history, v);
        boolean improved = v.hasData() && (state.bestEpoch == 0
            || v.matrix.meanIou() > state.bestMeanIou + settings.earlyStopping().tolerance());
        if (improved || !v.hasData()) {
          if (v.hasData()) {
            state.bestMeanIou = v.matrix.meanIou();
            state.bestEpoch = epoch + 1;
          }
          state.epochsWithoutImprovement = 0;
          ModelExport.export(graph, modelDir, config, datasetInfo, settingsJson(), v::write, epoch + 1, state.step);
        } else {
          state.epochsWithoutImprovement++;
        }
        progress.endLine();
        out.printf(Locale.ROOT, "epoch %d/%d: loss %.4f, val mIoU %.4f, pixel accuracy %.4f%s (%.0f s)%n",
            epoch + 1, settings.schedule().epochs(), lossCount == 0 ? Double.NaN : lossSum / lossCount, v.matrix.meanIou(),
            v.matrix.pixelAccuracy(), improved ? " *best*" : "", seconds);
        epoch++;
        state.epoch = epoch;
        state.batchInEpoch = 0;
        checkpoint(graph, checkpointPrefix, statePath, state);
        // After the epoch's checkpoint, so a listener that syncs checkpoints (SageMaker, Vertex AI) ships this one.
        for (TrainingListener l : listeners) {
          l.onEpoch(epoch, line);
        }
        if (settings.earlyStopping().enabled() && epoch >= settings.earlyStopping().minEpochs()
            && state.epochsWithoutImprovement >= settings.earlyStopping().patience()) {
          out.printf(Locale.ROOT, "early stopping: no mIoU gain over %.4f for %d epochs%n",
              settings.earlyStopping().tolerance(), state.epochsWithoutImprovement);
          stoppedEarly = true;
        }
      }
      return new Outcome(epoch, state.step, state.bestMeanIou, state.bestEpoch, stoppedEarly, modelDir);
    }
  }

  /** Loss and mIoU per epoch, read back from metrics.jsonl on resume so the curves stay whole. */
  record History(List<Integer> epochs, List<Double> loss, List<Double> meanIou) {
    static History read(Path metrics) throws IOException {
      History h = new History(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
      if (Files.exists(metrics)) {
        for (String line : Files.readAllLines(metrics)) {
          if (!line.isBlank()) {
            JsonNode n = JSON.readTree(line);
            h.add(n.path("epoch").asInt(), n.path("trainLoss").asDouble(), n.path("valMeanIou").asDouble(Double.NaN));
          }
        }
      }
      return h;
    }

    void add(int epoch, double trainLoss, double iou) {
      epochs.add(epoch);
      loss.add(trainLoss);
      meanIou.add(iou);
    }
  }

  /** training-curves.png and, when there is validation data, the latest confusion matrix and class IoU. */
  private void plot(Path output, History history, Validation v) throws IOException {
    Charts.trainingCurves(output.resolve("training-curves.png"), history.epochs(), history.loss(), history.meanIou());
    if (v.hasData()) {
      List<String> names = new ArrayList<>();
      JsonNode classes = datasetInfo.path("classes");
      for (int c = 0; c < config.numClasses(); c++) {
        names.add(classes.has(c) ? classes.get(c).path("name").asText("class_" + c) : "class_" + c);
      }
      Charts.confusionMatrix(output.resolve("confusion-matrix.png"), v.matrix, names);
      Charts.classIou(output.resolve("class-iou.png"), v.matrix.iou(), names);
    }
  }

  /** Training position and early-stopping bookkeeping, saved beside each checkpoint. */
  public static final class State {
    public int epoch;
    public int batchInEpoch;
    public long step;
    public double bestMeanIou = Double.NaN;
    public int bestEpoch;
    public int epochsWithoutImprovement;
  }

  private void checkpoint(SegmentationGraph graph, Path prefix, Path statePath, State state) throws IOException {
    graph.save(prefix);
    Path tmp = statePath.resolveSibling(STATE + ".tmp");
    JSON.writeValue(tmp.toFile(), state);
    Files.move(tmp, statePath, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  /** ImageNet weights of the ResNet backbone from a Keras HDF5 file. */
  private void loadPretrained(SegmentationGraph graph, Path h5) throws IOException {
    if (!(config.network() instanceof TrainConfig.ResNetHeadSpec resnet)) {
      throw new IllegalArgumentException("--pretrainedWeights loads ResNet backbones; " + graph.network().describe()
          + " has none");
    }
    int layers = resnet.resnet().layers();
    int n = graph.assignInflating(io.maskbeam.models.pretrained.KerasResNetWeights.toMaskbeam(
        io.maskbeam.models.pretrained.KerasResNetWeights.read(h5), layers), 3);
    out.printf(Locale.ROOT, "loaded %d pretrained backbone variables from %s%s%n", n, h5, inflation(3));
  }

  /** Starts from an exported model's weights (incremental training); its class count must match. */
  private void initFrom(SegmentationGraph graph, Path modelDir) throws IOException {
    io.maskbeam.models.infer.ModelMetadata m;
    try {
      m = io.maskbeam.models.infer.TensorFlowModel.checkFiles(modelDir); // the same rule as every stage's
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--initModel: " + e.getMessage(), e);
    }
    int classes = m.numClasses();
    if (classes != config.numClasses()) {
      throw new IllegalArgumentException("--initModel has " + classes + " classes but the dataset has "
          + config.numClasses());
    }
    String architecture = m.toTree().path("training").path("network").asText();
    if (!architecture.equals(graph.network().describe())) {
      throw new IllegalArgumentException("--initModel is " + architecture + ", this run builds "
          + graph.network().describe());
    }
    TrainConfig.InputSpec from = m.rawBands() != null ? m.rawBands() : TrainConfig.InputSpec.RGB;
    // The network's weights and batch-norm statistics by name, the first convolution adapted to another channel
    // count; the optimizer and step start fresh (restoring the whole checkpoint failed whenever the model had been
    // trained with another optimizer: its slots are other variables).
    graph.assignInflating(graph.readFrom(modelDir), from.channels());
    out.println("initialised from " + modelDir + inflation(from.channels()));
  }

  /** " (first convolution adapted from N to M channels)" when the channel counts differ. */
  private String inflation(int fromChannels) {
    int to = config.input().channels();
    return fromChannels == to ? "" : " (first convolution adapted from " + fromChannels + " to " + to
        + " input channels)";
  }

  /** Validation over full-size images, batched by size. */
  private Validation validate(SegmentationGraph graph, List<byte[]> val) {
    ConfusionMatrix matrix = new ConfusionMatrix(config.numClasses());
    Map<String, List<TrainingData.Example>> bySize = new LinkedHashMap<>();
    for (byte[] r : val) {
      TrainingData.Example e = TrainingData.decode(r, config.numClasses(), config.ignoreValue());
      TrainingData.checkInput(e, config.input().rawBands() ? config.input().channels() : 0);
      List<TrainingData.Example> group = bySize.computeIfAbsent(e.image().width() + "x" + e.image().height(),
          k -> new ArrayList<>());
      group.add(e);
      if (group.size() == settings.schedule().validationMiniBatchSize()) {
        predictInto(graph, group, matrix);
        group.clear();
      }
    }
    bySize.values().stream().filter(g -> !g.isEmpty()).forEach(g -> predictInto(graph, g, matrix));
    return new Validation(matrix);
  }

  private static void predictInto(SegmentationGraph graph, List<TrainingData.Example> group, ConfusionMatrix matrix) {
    int w = group.get(0).image().width();
    int h = group.get(0).image().height();
    int c = group.get(0).image().channels();
    boolean raw = group.get(0).image() instanceof io.maskbeam.image.BandImage;
    Object images = raw ? new float[group.size() * w * h * c] : new byte[group.size() * w * h * 3];
    int[] truth = new int[group.size() * w * h];
    for (int i = 0; i < group.size(); i++) {
      System.arraycopy(group.get(i).image().samples(), 0, images, i * w * h * c, w * h * c);
      byte[] l = group.get(i).labels().labels();
      for (int p = 0; p < l.length; p++) {
        truth[i * w * h + p] = l[p] & 0xFF;
      }
    }
    matrix.add(truth, raw ? graph.predict((float[]) images, group.size(), h, w)
        : graph.predict((byte[]) images, group.size(), h, w));
  }

  /** The training settings recorded in the model's metadata. */
  private ObjectNode settingsJson() {
    ObjectNode s = JSON.createObjectNode();
    s.put("epochs", settings.schedule().epochs());
    s.put("miniBatchSize", settings.schedule().miniBatchSize());
    s.put("learningRate", settings.schedule().learningRate());
    s.put("lrScheduler", settings.schedule().kind().name().toLowerCase(Locale.ROOT));
    s.put("warmupSteps", settings.schedule().warmupSteps());
    s.put("cropSize", settings.augmenter().cropSize());
    s.put("minScale", settings.augmenter().minScale());
    s.put("maxScale", settings.augmenter().maxScale());
    s.put("seed", settings.seed());
    s.put("precision", settings.precision().name().toLowerCase(Locale.ROOT));
    s.put("devices", settings.devices().count());
    s.put("deviceType", settings.devices().type());
    s.put("syncBatchNorm", settings.devices().syncBatchNorm());
    return s;
  }

  /** Validation results. */
  record Validation(ConfusionMatrix matrix) {
    boolean hasData() {
      return matrix.total() > 0;
    }

    void write(ObjectNode node, ObjectNode datasetInfo) {
      node.put("valMeanIou", matrix.meanIou());
      node.put("valPixelAccuracy", matrix.pixelAccuracy());
      node.put("valMeanAccuracy", matrix.meanAccuracy());
      node.put("valFrequencyWeightedIou", matrix.frequencyWeightedIou());
      ObjectNode perClass = node.putObject("valClassIou");
      double[] iou = matrix.iou();
      JsonNode classes = datasetInfo.path("classes");
      for (int c = 0; c < iou.length; c++) {
        String name = classes.has(c) ? classes.get(c).path("name").asText("class_" + c) : "class_" + c;
        perClass.put(name, iou[c]);
      }
    }
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
