package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A small U-Net trained once per test JVM on 12 CamVid train images (at 120x90, 2 epochs): real enough to give
 * varied predictions on street scenes, cheap enough for every test class that needs a model to share it.
 */
final class CamVidModel {
  static final int CLASSES = 11;
  private static Path work;

  private CamVidModel() {}

  /** The model folder, training it on first use. */
  static synchronized Path get() throws IOException {
    if (work == null) {
      Path dir = Files.createTempDirectory("maskbeam-camvid-model");
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          TestData.deleteTree(dir);
        } catch (IOException e) {
          // best effort at exit
        }
      }));
      Path camvid = TestData.camvid();
      Path images = Files.createDirectories(dir.resolve("camvid/images"));
      Path masks = Files.createDirectories(dir.resolve("camvid/masks"));
      for (String name : names("train", 12)) {
        Files.copy(camvid.resolve("train").resolve(name), images.resolve(name));
        Files.copy(camvid.resolve("trainannot").resolve(name), masks.resolve(name));
      }
      TestData.Run prep = TestData.cli("preprocess", "--images=" + images, "--masks=" + masks,
          "--labelMap=camvid-11", "--resize=120x90", "--validationFraction=0.2", "--output=" + dir.resolve("data"));
      assertThat(prep.exitCode()).as(prep.err()).isZero();
      TestData.Run train = TestData.cli("train", "--data=" + dir.resolve("data"), "--output=" + dir.resolve("run"),
          "--epochs=2", "--unetWidth=8", "--unetDepth=3", "--cropSize=64", "--miniBatchSize=4", "--optimizer=adam",
          "--learningRate=0.005");
      assertThat(train.exitCode()).as(train.err()).isZero();
      work = dir;
    }
    return work.resolve("run/model");
  }

  /** The preprocessed shards the model was trained on (120x90, train and val splits). */
  static Path data() throws IOException {
    get();
    return work.resolve("data");
  }

  /** The first {@code count} file names of a CamVid split, sorted. */
  static List<String> names(String split, int count) throws IOException {
    try (Stream<Path> files = Files.list(TestData.camvid().resolve(split))) {
      return files.map(p -> p.getFileName().toString()).sorted().limit(count).toList();
    }
  }

}
