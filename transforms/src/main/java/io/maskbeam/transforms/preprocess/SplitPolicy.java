package io.maskbeam.transforms.preprocess;

import io.maskbeam.dataset.SplitAssigner;
import java.io.Serializable;

/**
 * Which split an example goes to: the layout's own split when it has one and {@code useLayoutSplits} is set,
 * otherwise a stable hash of the id against {@code validationFraction}.
 */
public record SplitPolicy(double validationFraction, String seed, boolean useLayoutSplits) implements Serializable {
  public SplitPolicy {
    if (validationFraction < 0 || validationFraction > 1) {
      throw new IllegalArgumentException("validation fraction must be in [0, 1], got " + validationFraction);
    }
  }

  public String splitOf(String id, String layoutSplit) {
    if (useLayoutSplits && layoutSplit != null && !layoutSplit.isBlank()) {
      return SplitAssigner.normalise(layoutSplit);
    }
    return SplitAssigner.assign(id, validationFraction, seed);
  }
}
