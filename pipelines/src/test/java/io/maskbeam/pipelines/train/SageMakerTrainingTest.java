package io.maskbeam.pipelines.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.maskbeam.pipelines.cli.SageMakerPaths;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SageMaker's hyperparameters, label map channel and model archive, as the built-in algorithm documents them. */
class SageMakerTrainingTest {
  @TempDir Path dir;

  private static Map<String, String> hp(String... kv) {
    Map<String, String> m = new HashMap<>(Map.of("num_classes", "4", "num_training_samples", "10",
        "use_pretrained_model", "False"));
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  @Test
  void hyperparametersTranslateAsSageMakerDocumentsThem() {
    assertThat(SageMakerTraining.translate(hp("algorithm", "deeplab", "crop_size", "250", "optimizer", "nag",
        "lr_scheduler", "step", "lr_scheduler_step", "10,20,30")))
        .contains("--algorithm=deeplabv3plus", "--cropSize=256", "--optimizer=sgd", "--nesterov=true",
            "--lrScheduler=step", "--lrSchedulerStepEpochs=10");
    // gamma1/gamma2 are rmsprop's decay and momentum, and only rmsprop's.
    assertThat(SageMakerTraining.translate(hp("optimizer", "rmsprop", "gamma1", "0.95", "gamma2", "0.5")))
        .contains("--rmsDecay=0.95", "--momentum=0.5");
    assertThat(SageMakerTraining.translate(hp("optimizer", "sgd", "momentum", "0.9", "gamma2", "0.5")))
        .contains("--momentum=0.9").doesNotContain("--momentum=0.5").noneMatch(a -> a.startsWith("--rmsDecay"));
    // SageMaker's default is to use ImageNet weights; this container needs them given.
    assertThatThrownBy(() -> SageMakerTraining.translate(hp("use_pretrained_model", "True")))
        .hasMessageContaining("use_pretrained_model");
    assertThat(SageMakerTraining.translate(hp("use_pretrained_model", "True", "pretrainedWeights", "/w.h5")))
        .contains("--pretrainedWeights=/w.h5");
    // syncbn: the towers over the instance's GPUs share batch statistics.
    assertThat(SageMakerTraining.translate(hp("syncbn", "True"))).contains("--syncBatchNorm=true");
    assertThat(SageMakerTraining.translate(hp("syncbn", "False"))).noneMatch(a -> a.startsWith("--syncBatchNorm"));
    assertThatThrownBy(() -> SageMakerTraining.translate(hp("learning_rat", "0.1")))
        .hasMessageContaining("unknown hyperparameter 'learning_rat'");
    assertThatThrownBy(() -> SageMakerTraining.translate(hp("lr_scheduler", "step", "lr_scheduler_step", "10,15")))
        .hasMessageContaining("every N epochs");
  }

  @Test
  void theLabelMapChannelMustAgreeWithNumClasses() throws Exception {
    SageMakerPaths paths = new SageMakerPaths(dir);
    assertThat(SageMakerTraining.labelMap(paths, 3)).contains("class_2");
    Path channel = Files.createDirectories(paths.channel("label_map"));
    Files.writeString(channel.resolve("map.json"), "{\"map\": {\"0\": 5, \"1\": 0, \"2\": 2}}");
    assertThat(SageMakerTraining.labelMap(paths, 3)).contains("\"map\"");
    Files.writeString(channel.resolve("map.json"), "{\"scale\": 1, \"classes\": [\"a\", \"b\"]}");
    assertThatThrownBy(() -> SageMakerTraining.labelMap(paths, 3))
        .hasMessageContaining("has 2 classes, but hyperparameter 'num_classes' is 3");
  }

  @Test
  void aModelArchiveWithLongNamesIsExtractedAndNothingLeavesTheFolder() throws Exception {
    String longName = "model/" + "variables/".repeat(12) + "variables.index";
    Path tar = dir.resolve("model.tar.gz");
    write(tar, List.of(longName, "model/maskbeam-model.json"));
    Path out = Files.createDirectories(dir.resolve("out"));
    SageMakerTraining.untarGz(tar, out);
    assertThat(Files.readString(out.resolve(longName))).isEqualTo(longName);
    assertThat(Files.readString(out.resolve("model/maskbeam-model.json"))).isEqualTo("model/maskbeam-model.json");

    Path evil = dir.resolve("evil.tar.gz");
    write(evil, List.of("../escaped.txt"));
    assertThatThrownBy(() -> SageMakerTraining.untarGz(evil, Files.createDirectories(dir.resolve("out2"))))
        .hasMessageContaining("would land outside");
    assertThat(dir.resolve("escaped.txt")).doesNotExist();
  }

  /** An archive whose files hold their own names. */
  private static void write(Path tar, List<String> names) throws Exception {
    try (OutputStream file = Files.newOutputStream(tar);
        TarArchiveOutputStream out = new TarArchiveOutputStream(new GZIPOutputStream(file))) {
      out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      for (String name : names) {
        byte[] content = name.getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setSize(content.length);
        out.putArchiveEntry(e);
        out.write(content);
        out.closeArchiveEntry();
      }
    }
  }
}
