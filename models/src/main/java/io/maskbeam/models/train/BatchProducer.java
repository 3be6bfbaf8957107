package io.maskbeam.models.train;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Decodes and augments training batches on background threads, a few batches ahead of the trainer, so the
 * session never waits on data. Each batch's randomness comes from (seed, epoch, batch index) alone, so a run is
 * reproducible however the threads interleave, and a resumed run sees the batches the stopped one would have.
 */
final class BatchProducer implements AutoCloseable {
  /** A batch of crops: RGB {@code images} or raw {@code bands} (the other null). */
  record Batch(byte[] images, float[] bands, int[] labels, int size) {}

  private final List<byte[]> records;
  private final Augmenter augmenter;
  private final int batchSize;
  private final int numClasses;
  /** The channels of raw band examples; 0 for RGB. */
  private final int bandChannels;
  private final long seed;
  private final ExecutorService pool;
  private final int prefetch;
  private final Deque<Future<Batch>> pending = new ArrayDeque<>();
  private int epoch;
  private int nextToSubmit;
  private List<Integer> order;

  BatchProducer(List<byte[]> records, Augmenter augmenter, int batchSize, int numClasses, long seed, int threads) {
    this(records, augmenter, batchSize, numClasses, TrainConfig.InputSpec.RGB, seed, threads);
  }

  BatchProducer(List<byte[]> records, Augmenter augmenter, int batchSize, int numClasses, TrainConfig.InputSpec input,
      long seed, int threads) {
    if (records.isEmpty()) {
      throw new IllegalArgumentException("no training examples");
    }
    this.records = records;
    this.augmenter = augmenter;
    this.batchSize = Math.min(batchSize, records.size());
    this.numClasses = numClasses;
    this.bandChannels = input.rawBands() ? input.channels() : 0;
    this.seed = seed;
    this.prefetch = Math.max(2, threads * 2);
    this.pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "maskbeam-batches");
      t.setDaemon(true);
      return t;
    });
  }

  int batchSize() {
    return batchSize;
  }

  /** Full batches per epoch (the remainder is dropped, as tf.data's drop_remainder does). */
  int batchesPerEpoch() {
    return records.size() / batchSize;
  }

  /** Positions the producer at a batch of an epoch (for resume) and starts prefetching from there. */
  void start(int epoch, int batchIndex) {
    cancelPending();
    this.epoch = epoch;
    this.nextToSubmit = batchIndex;
    this.order = shuffled(epoch);
    fill();
  }

  private List<Integer> shuffled(int e) {
    List<Integer> indices = new ArrayList<>();
    for (int i = 0; i < records.size(); i++) {
      indices.add(i);
    }
    Collections.shuffle(indices, new Random(seed * 31 + e));
    return indices;
  }

  private void fill() {
    while (pending.size() < prefetch && nextToSubmit < batchesPerEpoch()) {
      int index = nextToSubmit++;
      int e = epoch;
      List<Integer> ids = order.subList(index * batchSize, (index + 1) * batchSize);
      pending.add(pool.submit(() -> build(e, index, ids)));
    }
  }

  private Batch build(int e, int index, List<Integer> ids) {
    int s = augmenter.cropSize();
    byte[] images = bandChannels == 0 ? new byte[batchSize * s * s * 3] : null;
    float[] bands = bandChannels == 0 ? null : new float[batchSize * s * s * bandChannels];
    int[] labels = new int[batchSize * s * s];
    Random rnd = new Random(seed ^ (e * 1_000_003L + index) * 0x9E3779B97F4A7C15L);
    for (int k = 0; k < ids.size(); k++) {
      TrainingData.Example ex = TrainingData.decode(records.get(ids.get(k)), numClasses, augmenter.ignoreValue());
      TrainingData.checkInput(ex, bandChannels);
      Augmenter.Crop crop = augmenter.apply(ex, rnd);
      if (images != null) {
        System.arraycopy(crop.image(), 0, images, k * s * s * 3, s * s * 3);
      } else {
        System.arraycopy(crop.bands(), 0, bands, k * s * s * bandChannels, s * s * bandChannels);
      }
      System.arraycopy(crop.labels(), 0, labels, k * s * s, s * s);
    }
    return new Batch(images, bands, labels, ids.size());
  }

  /** The next batch of the current epoch, waiting for it if the workers are behind. */
  Batch next() throws InterruptedException {
    Future<Batch> f = pending.poll();
    if (f == null) {
      throw new IllegalStateException("epoch " + epoch + " has no more batches");
    }
    fill();
    try {
      return f.get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException(cause);
    }
  }

  private void cancelPending() {
    for (Future<Batch> f : pending) {
      f.cancel(true);
    }
    pending.clear();
  }

  @Override
  public void close() {
    cancelPending();
    pool.shutdownNow();
  }
}
