package io.maskbeam.dataset;

import java.util.Locale;

/** What to do with mask pixels whose raw value or colour the label map does not cover. Counted either way. */
public enum UnknownLabelPolicy {
  /** Write them as the ignore value. */
  IGNORE,
  /** Reject the whole pair. */
  REJECT;

  public static UnknownLabelPolicy parse(String s) {
    try {
      return valueOf(s.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown-label policy must be 'ignore' or 'reject', got '" + s + "'");
    }
  }
}
