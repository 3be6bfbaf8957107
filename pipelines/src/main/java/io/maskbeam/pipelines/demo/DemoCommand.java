package io.maskbeam.pipelines.demo;

import io.maskbeam.pipelines.cli.Console;
import io.maskbeam.dataset.SyntheticShapes;
import io.maskbeam.pipelines.cli.PipelineArgs;
import io.maskbeam.pipelines.preprocess.PreprocessOptions;
import io.maskbeam.pipelines.preprocess.PreprocessPipeline;
import io.maskbeam.models.train.Trainer;
import io.maskbeam.pipelines.segment.SegmentPipeline;
import io.maskbeam.pipelines.train.TrainCommand;
import io.maskbeam.pipelines.train.TrainOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/**
 * {@code maskbeam demo}: makes a synthetic segmentation dataset and runs the pipeline stages on it, on the
 * DirectRunner, with nothing to download.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Generates a synthetic shapes dataset (with one corrupt and one unpaired file, to show the"
        + " dead-letter output), preprocesses it into TFRecords on the DirectRunner, trains a small U-Net on it"
        + " (about a minute and a half on 2 cores, val mIoU about 0.85), segments unseen images with it (masks, colour"
        + " masks, overlays, stats, summary), and writes index.html: the training curves and the unseen images beside"
        + " their overlays.")
public final class DemoCommand implements Callable<Integer>, Console {
  @Option(names = "--output", defaultValue = "maskbeam-demo", description = "Working folder. Default: ${DEFAULT-VALUE}.")
  Path output;

  @Option(names = "--count", defaultValue = "640", description = "Synthetic pairs to generate. Default: ${DEFAULT-VALUE}.")
  int count;

  @Option(names = "--width", defaultValue = "64", description = "Image width. Default: ${DEFAULT-VALUE}.")
  int width;

  @Option(names = "--height", defaultValue = "48", description = "Image height. Default: ${DEFAULT-VALUE}.")
  int height;

  @Option(names = "--style", defaultValue = "plain", description = "plain (gradient backgrounds, 1-2 shapes) or"
      + " textured (striped, noisy backgrounds, 1-4 overlapping shapes: a harder set). Default: ${DEFAULT-VALUE}.")
  String style;

  @Option(names = "--seed", defaultValue = "7", description = "Generator seed. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--trainEpochs", defaultValue = "40",
      description = "Epochs of the demo training (0 skips training). Default: ${DEFAULT-VALUE}.")
  int trainEpochs;

  @Unmatched
  List<String> beamArgs = new ArrayList<>();

  PrintStream out = System.out;

  @Override
  public void printTo(PrintStream stream) {
    this.out = stream;
  }

  @Override
  public Integer call() throws IOException, InterruptedException {
    SyntheticShapes.Style look = SyntheticShapes.Style.valueOf(style.trim().toUpperCase(java.util.Locale.ROOT));
    Path root = output.toAbsolutePath().normalize();
    Path data = root.resolve("synthetic");
    deleteRecursively(data);
    int stages = trainEpochs > 0 ? 4 : 2;
    out.printf("1/" + stages + " generating %d synthetic %dx%d image/mask pairs in %s%n", count, width, height, data);
    SyntheticShapes.writePairedDataset(data, count, width, height, seed, look);
    // Faults a real dataset has: a truncated image and an image whose mask is missing.
    byte[] good = Files.readAllBytes(data.resolve("images/shape_0000.png"));
    Files.write(data.resolve("images/broken_0000.png"), Arrays.copyOf(good, good.length / 2));
    Files.copy(data.resolve("masks/shape_0000.png"), data.resolve("masks/broken_0000.png"));
    Files.copy(data.resolve("images/shape_0001.png"), data.resolve("images/unpaired_0000.png"));
    Path labelMap = data.resolve("labelmap.json");
    Files.writeString(labelMap, SyntheticShapes.LABEL_MAP_JSON, StandardCharsets.UTF_8);

    Path dataset = root.resolve("dataset");
    out.printf("2/" + stages + " preprocess -> %s%n", dataset);
    List<String> args = new ArrayList<>(List.of(
        "--layout=paired",
        "--images=" + data.resolve("images"),
        "--masks=" + data.resolve("masks"),
        "--labelMap=" + labelMap,
        "--output=" + dataset,
        "--overwrite=true",
        "--validationFraction=0.2"));
    args.addAll(beamArgs);
    PreprocessOptions options = PipelineArgs.parse(args.toArray(String[]::new), PreprocessOptions.class);
    int code = PreprocessPipeline.execute(options, out);
    if (code != 0) {
      return code;
    }
    out.println("(the demo adds 1 truncated image and 1 image without a mask on purpose: they are the rejections)");
    if (trainEpochs > 0) {
      Path training = root.resolve("training");
      deleteRecursively(training);
      out.printf("3/4 train -> %s%n", training);
      // Measured on 2 cores (README): many small steps learn the shapes fastest; depth 3 sees a whole 64x48 scene.
      String[] trainArgs = {
        "--data=" + dataset, "--output=" + training, "--epochs=" + trainEpochs, "--unetWidth=16", "--unetDepth=3",
        "--cropSize=" + (Math.min(width, height) / 8 * 8), "--miniBatchSize=8", "--optimizer=adam",
        "--learningRate=0.002", "--minScale=1", "--maxScale=1", "--jitter=0", "--precision=auto"};
      TrainCommand.execute(PipelineArgs.parse(trainArgs, TrainOptions.class), out);

      // Images the model never saw, plus one corrupt file for the dead-letter output.
      Path unseen = root.resolve("unseen");
      deleteRecursively(unseen);
      SyntheticShapes.writePairedDataset(unseen, Math.max(4, Math.min(count / 4, 32)), width, height,
          seed + 1_000_003, look);
      Files.write(unseen.resolve("images/corrupt_0000.png"), Arrays.copyOf(good, good.length / 3));
      Path segmented = root.resolve("segmented");
      deleteRecursively(segmented);
      out.printf("4/4 segment %s -> %s%n", unseen.resolve("images"), segmented);
      List<String> segmentArgs = new ArrayList<>(List.of(
          "--model=" + training.resolve(Trainer.MODEL_DIR), "--input=" + unseen.resolve("images") + "/*.png",
          "--output=" + segmented));
      segmentArgs.addAll(beamArgs);
      code = SegmentPipeline.execute(SegmentPipeline.parse(segmentArgs.toArray(String[]::new)), out);
      if (code != 0) {
        return code;
      }
      out.println("(the corrupt image among the unseen ones is there on purpose: it is the error)");
      Path page = DemoPage.write(root, training, unseen.resolve("images"), segmented);
      out.println("open " + page + " in a browser: the training curves, and the unseen images beside their"
          + " overlays");
    }
    return 0;
  }

  static void deleteRecursively(Path dir) throws IOException {
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
