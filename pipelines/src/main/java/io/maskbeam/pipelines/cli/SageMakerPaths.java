package io.maskbeam.pipelines.cli;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where SageMaker's containers find and put things: {@code /opt/ml} by default, or {@code $SAGEMAKER_BASE_DIR}
 * (the variable SageMaker's training toolkit honours; tests point it at a temporary folder).
 */
public record SageMakerPaths(Path base) {
  public static SageMakerPaths fromEnvironment(Map<String, String> env) {
    String base = env.get("SAGEMAKER_BASE_DIR");
    return new SageMakerPaths(Path.of(base == null || base.isBlank() ? "/opt/ml" : base));
  }

  /** The model: where training writes it and where hosting unpacks it. */
  public Path model() {
    return base.resolve("model");
  }

  public Path hyperparameters() {
    return base.resolve("input/config/hyperparameters.json");
  }

  /** Which host of the training cluster this is ({@code current_host}). */
  public Path resourceConfig() {
    return base.resolve("input/config/resourceconfig.json");
  }

  /** The training channels' parent folder. */
  public Path data() {
    return base.resolve("input/data");
  }

  /** A training channel's folder. */
  public Path channel(String name) {
    return data().resolve(name);
  }

  /** Its first 1024 characters become the training job's FailureReason. */
  public Path failure() {
    return base.resolve("output/failure");
  }
}
