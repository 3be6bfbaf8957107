package io.maskbeam.pipelines.train;

import io.maskbeam.pipelines.cli.Console;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.pipelines.Maskbeam;
import io.maskbeam.pipelines.cli.OptionsCommand;
import io.maskbeam.pipelines.cli.PipelineArgs;
import io.maskbeam.pipelines.cli.SageMakerPaths;
import io.maskbeam.pipelines.preprocess.PreprocessOptions;
import io.maskbeam.pipelines.preprocess.PreprocessPipeline;
import io.maskbeam.transforms.train.TrainingJob;
import io.maskbeam.transforms.train.TrainingRun;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import picocli.CommandLine.Command;

/**
 * Training as SageMaker starts a training container ({@code docker run IMAGE train}): hyperparameters from
 * {@code /opt/ml/input/config/hyperparameters.json} under the built-in semantic segmentation algorithm's names
 * (string values, as SageMaker writes them), images and masks from the channels {@code train},
 * {@code train_annotation}, {@code validation}, {@code validation_annotation}, an optional {@code label_map} channel
 * (SageMaker's label map JSON) and an optional {@code model} channel (a model to continue from, folder or
 * {@code model.tar.gz}). The channels are preprocessed and the model trained here; the model's files go to
 * {@code /opt/ml/model}, per-epoch metric lines to the log ({@link SageMakerMetrics}), and on failure the reason to
 * {@code /opt/ml/output/failure}. An unknown or malformed hyperparameter fails before anything runs, named there.
 */
@Command(name = "sagemaker-train", mixinStandardHelpOptions = true,
    description = "Trains as SageMaker's training containers do: /opt/ml/input (hyperparameters.json, channels)"
        + " to /opt/ml/model, metric lines in the log, /opt/ml/output/failure on failure. $SAGEMAKER_BASE_DIR"
        + " replaces /opt/ml.")
public final class SageMakerTraining implements Callable<Integer>, Console {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** SageMaker's name to Maskbeam's flag, where the meaning is the same. */
  static final Map<String, String> SAME_MEANING = Map.ofEntries(
      Map.entry("epochs", "epochs"), Map.entry("learning_rate", "learningRate"),
      Map.entry("lr_scheduler_factor", "lrSchedulerFactor"), Map.entry("mini_batch_size", "miniBatchSize"),
      Map.entry("validation_mini_batch_size", "validationMiniBatchSize"), Map.entry("momentum", "momentum"),
      Map.entry("weight_decay", "weightDecay"), Map.entry("early_stopping", "earlyStopping"),
      Map.entry("early_stopping_min_epochs", "earlyStoppingMinEpochs"),
      Map.entry("early_stopping_patience", "earlyStoppingPatience"),
      Map.entry("early_stopping_tolerance", "earlyStoppingTolerance"), Map.entry("backbone", "backbone"));
  /** SageMaker's names that need translating (handled one by one below). */
  static final Set<String> TRANSLATED = Set.of("num_classes", "num_training_samples", "algorithm",
      "use_pretrained_model", "base_size", "crop_size", "lr_scheduler", "lr_scheduler_step", "optimizer", "syncbn",
      "gamma1", "gamma2");

  PrintStream out = System.out;

  @Override
  public void printTo(PrintStream stream) {
    this.out = stream;
  }
  Map<String, String> env = System.getenv();

  @Override
  public Integer call() {
    SageMakerPaths paths = SageMakerPaths.fromEnvironment(env);
    try {
      return train(paths);
    } catch (IllegalArgumentException e) {
      fail(paths, e.getMessage());
      return Maskbeam.USAGE;
    } catch (Exception e) {
      fail(paths, Maskbeam.describe(e));
      return Maskbeam.FAILED;
    }
  }

  int train(SageMakerPaths paths) throws Exception {
    Map<String, String> hp = hyperparameters(paths.hyperparameters());
    List<String> trainArgs = translate(hp);
    Path work = Files.createTempDirectory("maskbeam-sagemaker");
    // 1. The channels become a Maskbeam dataset (SageMaker's channel layout is preprocess's paired --root layout).
    List<String> prep = new ArrayList<>(List.of("--root=" + paths.data(),
        "--labelMap=" + labelMap(paths, Integer.parseInt(hp.get("num_classes"))), "--output=" + work.resolve("data"),
        "--overwrite=true", "--waitUntilFinish=true"));
    if (hp.containsKey("base_size")) {
      // SageMaker scales the long side to base_size (times a random 0.5-2, which --minScale/--maxScale do).
      prep.add("--resize=longer:" + positive(hp, "base_size"));
    }
    for (String channel : List.of("train", "train_annotation")) {
      if (!Files.isDirectory(paths.channel(channel))) {
        throw new IllegalArgumentException("the '" + channel + "' channel is missing (" + paths.channel(channel)
            + "): give train, train_annotation and optionally validation, validation_annotation");
      }
    }
    out.println("preprocessing the channels of " + paths.data());
    int code = PreprocessPipeline.execute(PipelineArgs.parse(prep.toArray(String[]::new), PreprocessOptions.class),
        out);
    if (code != Maskbeam.OK && code != Maskbeam.INPUTS_FAILED) {
      throw new IllegalStateException("preprocessing the channels failed (exit code " + code + ")");
    }
    // 2. Training, the model's files to /opt/ml/model.
    trainArgs.add("--data=" + work.resolve("data"));
    trainArgs.add("--output=" + work.resolve("run"));
    Path initModel = initModel(paths, work);
    if (initModel != null) {
      trainArgs.add("--initModel=" + initModel);
    }
    TrainOptions options = PipelineArgs.parse(trainArgs.toArray(String[]::new), TrainOptions.class);
    TrainingJob job = TrainCommand.job(options, Map.of())
        .withPlatform(new TrainingJob.Platform(paths.model().toString(), null, null));
    Files.createDirectories(paths.model());
    TrainingRun.execute(job, out, new SageMakerMetrics(out, host(paths)));
    return Maskbeam.OK;
  }

  /** hyperparameters.json: a string-to-string map (values JSON-encoded by some SDKs are unquoted). */
  static Map<String, String> hyperparameters(Path file) throws IOException {
    Map<String, String> hp = new TreeMap<>();
    if (!Files.exists(file)) {
      throw new IllegalArgumentException("no hyperparameters: " + file + " is missing (num_classes is required)");
    }
    JsonNode node;
    try {
      node = JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new IllegalArgumentException(file + " is not JSON: " + e.getMessage());
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String v = e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString();
      if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
        v = v.substring(1, v.length() - 1);
      }
      hp.put(e.getKey(), v.trim());
    }
    return hp;
  }

  /** SageMaker's hyperparameters as train flags; unknown or malformed ones are errors naming them. */
  static List<String> translate(Map<String, String> hp) {
    Set<String> maskbeamFlags = OptionsCommand.getters(TrainOptions.class).stream()
        .map(OptionsCommand::propertyName).collect(Collectors.toSet());
    Map<String, String> flags = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : hp.entrySet()) {
      String name = e.getKey();
      String value = e.getValue();
      if (name.startsWith("sagemaker_") || name.startsWith("_")) {
        continue; // the SDK's and the platform's own settings
      }
      if (SAME_MEANING.containsKey(name)) {
        flags.put(SAME_MEANING.get(name), normaliseBoolean(value));
      } else if (TRANSLATED.contains(name)) {
        continue;
      } else if (maskbeamFlags.contains(name) && !Set.of("data", "output", "trials", "acceleratorType")
          .contains(name)) {
        flags.put(name, value); // Maskbeam's own flags, by their names (e.g. unetWidth)
      } else {
        throw new IllegalArgumentException("unknown hyperparameter '" + name + "'; SageMaker's names ("
            + new TreeMap<>(SAME_MEANING).keySet() + " and " + new java.util.TreeSet<>(TRANSLATED)
            + ") and Maskbeam's train flags are accepted");
      }
    }
    if (!hp.containsKey("num_classes")) {
      throw new IllegalArgumentException("hyperparameter 'num_classes' is required");
    }
    int numClasses = positive(hp, "num_classes");
    if (numClasses < 2 || numClasses > 254) {
      throw new IllegalArgumentException("hyperparameter 'num_classes' must be in 2..254, got " + numClasses);
    }
    if (hp.containsKey("num_training_samples")) {
      positive(hp, "num_training_samples");
    }
    String algorithm = hp.getOrDefault("algorithm", "fcn").toLowerCase(Locale.ROOT);
    flags.put("algorithm", switch (algorithm) {
      case "fcn", "psp", "unet" -> algorithm;
      case "deeplab", "deeplabv3plus" -> "deeplabv3plus";
      default -> throw new IllegalArgumentException("hyperparameter 'algorithm' must be fcn, psp or deeplab (or"
          + " unet), got '" + hp.get("algorithm") + "'");
    });
    if (bool(hp, "use_pretrained_model", false) && !hp.containsKey("pretrainedWeights")) {
      throw new IllegalArgumentException("hyperparameter 'use_pretrained_model' is True, but this container does not"
          + " download ImageNet weights: give them as --pretrainedWeights (a Keras ResNet .h5 file in a channel) or"
          + " set use_pretrained_model to False");
    }
    if (hp.containsKey("crop_size")) {
      // Rounded up to a multiple of 8, as SageMaker does.
      flags.put("cropSize", Integer.toString((positive(hp, "crop_size") + 7) / 8 * 8));
    }
    String scheduler = hp.getOrDefault("lr_scheduler", "poly").toLowerCase(Locale.ROOT);
    if (!List.of("poly", "cosine", "step").contains(scheduler)) {
      throw new IllegalArgumentException("hyperparameter 'lr_scheduler' must be poly, cosine or step, got '"
          + hp.get("lr_scheduler") + "'");
    }
    flags.put("lrScheduler", scheduler);
    if (scheduler.equals("step")) {
      flags.put("lrSchedulerStepEpochs", Integer.toString(stepEvery(hp.get("lr_scheduler_step"))));
    } else if (hp.containsKey("lr_scheduler_step")) {
      throw new IllegalArgumentException("hyperparameter 'lr_scheduler_step' applies to lr_scheduler=step only");
    }
    String optimizer = hp.getOrDefault("optimizer", "sgd").toLowerCase(Locale.ROOT);
    switch (optimizer) {
      case "sgd", "adam", "rmsprop", "adagrad" -> flags.put("optimizer", optimizer);
      case "nag" -> {
        flags.put("optimizer", "sgd");
        flags.put("nesterov", "true");
      }
      default -> throw new IllegalArgumentException("hyperparameter 'optimizer' must be sgd, nag, adam, rmsprop or"
          + " adagrad, got '" + hp.get("optimizer") + "'");
    }
    if (optimizer.equals("rmsprop")) {
      // gamma1 and gamma2 are rmsprop's decay and momentum; SageMaker ignores them for other optimizers.
      if (hp.containsKey("gamma1")) {
        flags.put("rmsDecay", hp.get("gamma1"));
      }
      if (hp.containsKey("gamma2")) {
        flags.put("momentum", hp.get("gamma2"));
      }
    }
    if (bool(hp, "syncbn", false)) {
      // SageMaker trains on every GPU of the instance; so do the towers (--devices=0), synchronised on request.
      flags.put("syncBatchNorm", "true");
    }
    List<String> args = new ArrayList<>();
    flags.forEach((k, v) -> args.add("--" + k + "=" + v));
    return args;
  }

  private static String normaliseBoolean(String v) {
    return v.equalsIgnoreCase("true") || v.equalsIgnoreCase("false") ? v.toLowerCase(Locale.ROOT) : v;
  }

  private static boolean bool(Map<String, String> hp, String name, boolean fallback) {
    String v = hp.get(name);
    if (v == null) {
      return fallback;
    }
    if (v.equalsIgnoreCase("true") || v.equals("1")) {
      return true;
    }
    if (v.equalsIgnoreCase("false") || v.equals("0")) {
      return false;
    }
    throw new IllegalArgumentException("hyperparameter '" + name + "' must be True or False, got '" + v + "'");
  }

  private static int positive(Map<String, String> hp, String name) {
    try {
      int v = Integer.parseInt(hp.get(name).trim());
      if (v > 0) {
        return v;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException("hyperparameter '" + name + "' must be a positive integer, got '"
        + hp.get(name) + "'");
  }

  /** SageMaker's "10,20,30" (epochs where the rate drops) as Maskbeam's "every 10 epochs". */
  static int stepEvery(String spec) {
    if (spec == null || spec.isBlank()) {
      throw new IllegalArgumentException("hyperparameter 'lr_scheduler_step' is required with lr_scheduler=step"
          + " (e.g. \"10,20\")");
    }
    List<Integer> epochs = new ArrayList<>();
    for (String s : spec.split(",")) {
      try {
        epochs.add(Integer.parseInt(s.trim()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("hyperparameter 'lr_scheduler_step' must be comma-separated epochs, got '"
            + spec + "'");
      }
    }
    int first = epochs.get(0);
    for (int i = 0; i < epochs.size(); i++) {
      if (first <= 0 || epochs.get(i) != first * (i + 1)) {
        throw new IllegalArgumentException("hyperparameter 'lr_scheduler_step' " + spec + ": Maskbeam's step schedule"
            + " lowers the rate every N epochs; give N, 2N, 3N, ... (e.g. \"10,20,30\")");
      }
    }
    return first;
  }

  /**
   * The label map channel's JSON (SageMaker's format, which Maskbeam's label maps extend), or classes 0..n-1 with
   * 255 ignored, as the built-in algorithm reads masks without one.
   */
  static String labelMap(SageMakerPaths paths, int numClasses) throws IOException {
    Path channel = paths.channel("label_map");
    if (Files.isDirectory(channel)) {
      List<Path> files;
      try (Stream<Path> s = Files.list(channel)) {
        files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
      }
      if (!files.isEmpty()) {
        String first = Files.readString(files.get(0));
        for (Path f : files) {
          if (!JSON.readTree(Files.readString(f)).equals(JSON.readTree(first))) {
            throw new IllegalArgumentException("the label_map channel holds different maps (" + files.get(0)
                .getFileName() + ", " + f.getFileName() + "); Maskbeam reads every channel with one");
          }
        }
        return withClasses((ObjectNode) JSON.readTree(first), numClasses, files.get(0).getFileName().toString());
      }
    }
    return withClasses(JSON.createObjectNode(), numClasses, "the default label map");
  }

  /** The map with class names class_0.. when it names none; its class count must be num_classes. */
  private static String withClasses(ObjectNode map, int numClasses, String what) {
    if (!map.has("classes")) {
      ArrayNode names = map.putArray("classes");
      for (int c = 0; c < numClasses; c++) {
        names.add("class_" + c);
      }
    }
    int declared = io.maskbeam.labels.LabelMaps.parse(map.toString(), what).numClasses();
    if (declared != numClasses) {
      throw new IllegalArgumentException("the label_map channel's " + what + " has " + declared
          + " classes, but hyperparameter 'num_classes' is " + numClasses);
    }
    return map.toString();
  }

  /** The model channel: a Maskbeam model folder, or the model.tar.gz of an earlier training job. */
  static Path initModel(SageMakerPaths paths, Path work) throws IOException {
    Path channel = paths.channel("model");
    if (!Files.isDirectory(channel)) {
      return null;
    }
    Path dir = channel;
    try (Stream<Path> s = Files.list(channel)) {
      Path tar = s.filter(p -> p.toString().endsWith(".tar.gz")).findFirst().orElse(null);
      if (tar != null) {
        dir = work.resolve("init-model");
        untarGz(tar, dir);
      }
    }
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(p -> p.getFileName().toString().equals("maskbeam-model.json")).map(Path::getParent)
          .findFirst().orElseThrow(() -> new IllegalArgumentException("the model channel holds no Maskbeam model"
              + " (no maskbeam-model.json)"));
    }
  }

  /** Extracts a tar.gz (regular files and folders; links are skipped) without leaving {@code dir}. */
  static void untarGz(Path tar, Path dir) throws IOException {
    try (org.apache.commons.compress.archivers.tar.TarArchiveInputStream in =
        new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
            new GZIPInputStream(Files.newInputStream(tar)))) {
      for (var entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
        Path target = dir.resolve(entry.getName()).normalize();
        if (!target.startsWith(dir)) {
          throw new IOException("archive entry " + entry.getName() + " would land outside " + dir);
        }
        if (entry.isDirectory()) {
          Files.createDirectories(target);
        } else if (entry.isFile()) {
          Files.createDirectories(target.getParent());
          Files.copy(in, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  private String host(SageMakerPaths paths) {
    Path resources = paths.resourceConfig();
    try {
      return Files.exists(resources) ? JSON.readTree(resources.toFile()).path("current_host").asText("algo-1")
          : "algo-1";
    } catch (IOException e) {
      return "algo-1";
    }
  }

  /** SageMaker shows the first 1024 characters of this file as the job's FailureReason. */
  private void fail(SageMakerPaths paths, String reason) {
    out.println("training failed: " + reason);
    try {
      Files.createDirectories(paths.failure().getParent());
      String text = reason == null ? "unknown error" : reason;
      Files.writeString(paths.failure(), text.length() > 1024 ? text.substring(0, 1024) : text);
    } catch (IOException e) {
      out.println("and " + paths.failure() + " cannot be written: " + e.getMessage());
    }
  }
}
