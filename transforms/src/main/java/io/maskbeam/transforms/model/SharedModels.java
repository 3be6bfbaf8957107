package io.maskbeam.transforms.segment;

import io.maskbeam.models.infer.SegmentationModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * One loaded model per JVM and model URI, shared by every DoFn instance and thread (a TensorFlow Session is safe
 * to call concurrently; loading one per thread would multiply memory and start-up time). Reference-counted: each
 * {@link #acquire} is paired with a {@link #release} (a DoFn's {@code @Setup} and {@code @Teardown}), and the model
 * is closed, freeing its native memory, when the last user releases it.
 */
public final class SharedModels {
  /** A held model and how long this call spent loading it (0 when it was already loaded). */
  public record Lease(SegmentationModel model, long loadMillis) {}

  private static final class Entry {
    final SegmentationModel model;
    int users;

    Entry(SegmentationModel model) {
      this.model = model;
    }
  }

  private static final Map<String, Entry> MODELS = new HashMap<>();

  private SharedModels() {}

  public static synchronized Lease acquire(String uri) {
    return acquire(uri, 0);
  }

  /**
   * The shared model for a URI and a thread setting (see {@link SegmentationModel#load(Path, int)}); each
   * distinct setting is its own instance. Release with {@link #release(String, int)}.
   */
  public static synchronized Lease acquire(String uri, int threads) {
    String id = key(uri, threads);
    Entry entry = MODELS.get(id);
    long loadMillis = 0;
    if (entry == null) {
      long start = System.nanoTime();
      try {
        Path local = ModelCache.localCopy(uri, ModelCache.defaultCacheDir());
        entry = new Entry(SegmentationModel.load(local, threads));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot load model " + uri + ": " + e.getMessage(), e);
      }
      loadMillis = (System.nanoTime() - start) / 1_000_000;
      MODELS.put(id, entry);
    }
    entry.users++;
    return new Lease(entry.model, loadMillis);
  }

  public static synchronized void release(String uri) {
    release(uri, 0);
  }

  public static synchronized void release(String uri, int threads) {
    String id = key(uri, threads);
    Entry entry = MODELS.get(id);
    if (entry == null) {
      return;
    }
    if (--entry.users <= 0) {
      MODELS.remove(id);
      entry.model.close();
    }
  }

  /** One instance per URI and thread setting. */
  private static String key(String uri, int threads) {
    return threads + "|" + uri;
  }
}
