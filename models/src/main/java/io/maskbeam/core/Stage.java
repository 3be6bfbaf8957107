package io.maskbeam.core;

import java.util.Locale;

/** The Maskbeam stage a record comes from; written in lower case into failure records. */
public enum Stage {
  PREPROCESS, TRAIN, SEGMENT, EVALUATE, SERVE;

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
