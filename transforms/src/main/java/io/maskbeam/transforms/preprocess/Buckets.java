package io.maskbeam.transforms.preprocess;

import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Stable bucket numbers for grouping work. Grouping by a bounded number of buckets instead of by id keeps bundles
 * large on runners with a per-bundle cost (the DirectRunner) while leaving {@code buckets}-way parallelism to
 * distributed runners.
 */
final class Buckets {
  private Buckets() {}

  static int of(String id, int buckets) {
    CRC32 crc = new CRC32();
    crc.update(id.getBytes(StandardCharsets.UTF_8));
    return (int) (crc.getValue() % buckets);
  }
}
