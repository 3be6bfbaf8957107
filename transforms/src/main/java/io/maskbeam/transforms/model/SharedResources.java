package io.maskbeam.transforms.model;

import java.util.HashMap;
import java.util.Map;

/**
 * Expensive resources (loaded models) shared by every DoFn instance and thread of a JVM, one per key, counted by
 * reference: each {@link #acquire} is paired with a {@link #release} (a DoFn's {@code @Setup} and
 * {@code @Teardown}) and the resource is closed, freeing its native memory, when its last user releases it.
 */
public final class SharedResources<K, R extends AutoCloseable> {
  /** Creates the resource of a key. */
  public interface Loader<K, R> {
    R load(K key) throws Exception;
  }

  /** A held resource and how long this call spent creating it (0 when it existed). */
  public record Lease<R>(R resource, long loadMillis) {}

  private final Map<K, Entry<R>> entries = new HashMap<>();

  private static final class Entry<R> {
    final R resource;
    int users;

    Entry(R resource) {
      this.resource = resource;
    }
  }

  /** The resource of {@code key}, created by {@code loader} if no one holds it. */
  public synchronized Lease<R> acquire(K key, Loader<K, R> loader) {
    Entry<R> entry = entries.get(key);
    long millis = 0;
    if (entry == null) {
      long start = System.nanoTime();
      try {
        entry = new Entry<>(loader.load(key));
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException("cannot load " + key + ": " + e.getMessage(), e);
      }
      millis = (System.nanoTime() - start) / 1_000_000;
      entries.put(key, entry);
    }
    entry.users++;
    return new Lease<>(entry.resource, millis);
  }

  /** Gives back one lease of {@code key}; the last one closes the resource. Unknown keys are ignored. */
  public synchronized void release(K key) {
    Entry<R> entry = entries.get(key);
    if (entry == null) {
      return;
    }
    if (--entry.users <= 0) {
      entries.remove(key);
      try {
        entry.resource.close();
      } catch (Exception e) {
        throw new IllegalStateException("cannot close " + key + ": " + e.getMessage(), e);
      }
    }
  }

  /** How many leases of {@code key} are held (0 when none or unknown). */
  public synchronized int users(K key) {
    Entry<R> entry = entries.get(key);
    return entry == null ? 0 : entry.users;
  }
}
