package io.maskbeam.pipelines.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.runners.TransformHierarchy;
import io.maskbeam.transforms.train.TrainTrials;
import org.junit.jupiter.api.Test;

class TrainPipelineTest {

  @Test
  void gridIsTheCartesianProduct() {
    List<Map<String, String>> g = TrainPipeline.grid("learningRate=0.1,0.01;optimizer=adam,sgd,rmsprop");
    assertThat(g).hasSize(6);
    assertThat(g.get(0)).containsEntry("learningRate", "0.1").containsEntry("optimizer", "adam");
    assertThat(g.get(5)).containsEntry("learningRate", "0.01").containsEntry("optimizer", "rmsprop");
    assertThat(TrainPipeline.grid(null)).hasSize(1);
    assertThatThrownBy(() -> TrainPipeline.grid("learningRate")).hasMessageContaining("name=value1,value2");
  }

  @Test
  void onlyTheTrainingStepCarriesTheAcceleratorHint() {
    TrainOptions o = PipelineOptionsFactory.fromArgs("--data=d", "--output=out", "--trials=epochs=1,2")
        .as(TrainOptions.class);
    Pipeline pipeline = Pipeline.create(o);
    TrainPipeline.applyTransforms(pipeline, TrainPipeline.trials(new String[] {"--data=d", "--output=out",
        "--trials=epochs=1,2", "--learningRate=0.1"}, o), "out", "type:nvidia-tesla-t4;count:1;install-nvidia-driver");
    List<String> hinted = new ArrayList<>();
    List<String> plain = new ArrayList<>();
    pipeline.traverseTopologically(new Pipeline.PipelineVisitor.Defaults() {
      @Override
      public void visitPrimitiveTransform(TransformHierarchy.Node node) {
        boolean accelerator = node.toAppliedPTransform(pipeline).getResourceHints().hints().keySet().stream()
            .anyMatch(urn -> urn.contains("accelerator"));
        (accelerator ? hinted : plain).add(node.getFullName());
      }
    });
    assertThat(hinted).hasSize(1).allSatisfy(name -> assertThat(name).startsWith("Train"));
    assertThat(plain).anySatisfy(name -> assertThat(name).startsWith("Trials"));
    assertThat(plain).anySatisfy(name -> assertThat(name).startsWith("WriteTrials"));
  }

  @Test
  void trialsAreTypedJobsParsedAtLaunchWithTheirOwnSettingsAndFolders() {
    String[] args = {"--data=d", "--output=out", "--learningRate=0.1", "--trials=learningRate=0.01,0.001"};
    TrainOptions o = PipelineOptionsFactory.fromArgs(args).as(TrainOptions.class);
    List<TrainTrials.Trial> trials = TrainPipeline.trials(args, o);
    assertThat(trials).hasSize(2);
    assertThat(trials.get(1).overrides()).containsEntry("learningRate", "0.001");
    assertThat(trials.get(1).job().schedule().learningRate()).isEqualTo(0.001f);
    assertThat(trials.get(0).job().schedule().learningRate()).isEqualTo(0.01f);
    assertThat(trials.get(1).job().output()).isEqualTo("out/trial-1");
    assertThat(trials.get(1).job().data()).isEqualTo("d");
  }

  @Test
  void aBadTrialValueFailsAtLaunchNamingTheTrial() {
    String[] args = {"--data=d", "--output=out", "--trials=miniBatchSize=4,0"};
    TrainOptions o = PipelineOptionsFactory.fromArgs(args).as(TrainOptions.class);
    assertThatThrownBy(() -> TrainPipeline.trials(args, o))
        .hasMessageContaining("trial 1 {miniBatchSize=0}").hasMessageContaining("--miniBatchSize must be at least 1");
  }
}
