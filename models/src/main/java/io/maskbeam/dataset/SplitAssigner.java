package io.maskbeam.dataset;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Deterministic train/val assignment from a stable hash of the example id: the same id lands in the same split on
 * every run, runner and machine, and adding images never moves existing ones.
 */
public final class SplitAssigner {
  public static final String TRAIN = "train";
  public static final String VAL = "val";

  private SplitAssigner() {}

  /** A uniform number in [0, 1) from SHA-256 of {@code seed + ":" + id}. */
  public static double unitHash(String id, String seed) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      byte[] digest = sha.digest((seed + ":" + id).getBytes(StandardCharsets.UTF_8));
      long bits = ByteBuffer.wrap(digest, 0, 8).getLong() >>> 11; // 53 bits, exact in a double
      return bits / (double) (1L << 53);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every JVM", e);
    }
  }

  public static String assign(String id, double validationFraction, String seed) {
    if (validationFraction < 0 || validationFraction > 1) {
      throw new IllegalArgumentException("validation fraction must be in [0, 1], got " + validationFraction);
    }
    return unitHash(id, seed) < validationFraction ? VAL : TRAIN;
  }

  /**
   * Normalises the split names datasets use ("validation", "training"...) to the shard prefixes that training reads;
   * any other split (test, holdout...) would be written where no stage reads it, so it is refused.
   *
   * @throws IllegalArgumentException naming the split when it is neither train nor val
   */
  public static String normalise(String split) {
    String s = split.trim().toLowerCase(java.util.Locale.ROOT);
    return switch (s) {
      case "validation", "valid", "val" -> VAL;
      case "training", "train" -> TRAIN;
      default -> throw new IllegalArgumentException("split '" + split + "' is neither train nor val (training reads"
          + " train-*.tfrecord and validates on val-*.tfrecord)");
    };
  }
}
