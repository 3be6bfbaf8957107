package io.maskbeam.transforms.model;

import io.maskbeam.models.infer.ModelRuntime;
import io.maskbeam.models.infer.SegmentationModel;

/**
 * One loaded model per JVM, model version and thread setting, shared by every DoFn instance and thread (a
 * TensorFlow Session and an ONNX Runtime session are safe to call concurrently; a model per thread would multiply
 * memory and start-up time).
 * Callers pair {@link #acquire} with {@link #release}.
 */
public final class SharedModels {
  /** What identifies one loaded instance: the pinned model and how its session is configured. */
  public record Key(ModelReference model, ModelRuntime runtime) {}

  private static final SharedResources<Key, SegmentationModel> MODELS = new SharedResources<>();

  private SharedModels() {}

  /** The shared instance for a model reference, loaded from its pinned files on first use. */
  public static SharedResources.Lease<SegmentationModel> acquire(ModelReference model, ModelRuntime runtime) {
    return MODELS.acquire(new Key(model, runtime), k -> k.model().load(k.runtime()));
  }

  public static void release(ModelReference model, ModelRuntime runtime) {
    MODELS.release(new Key(model, runtime));
  }
}
