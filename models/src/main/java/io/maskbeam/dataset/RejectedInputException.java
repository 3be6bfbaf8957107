package io.maskbeam.dataset;

import io.maskbeam.core.FailureReason;

/** An input refused for a {@link FailureReason}, with a message naming what was wrong. */
public final class RejectedInputException extends Exception {
  private static final long serialVersionUID = 1L;
  private final FailureReason reason;

  public RejectedInputException(FailureReason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public RejectedInputException(FailureReason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public FailureReason reason() {
    return reason;
  }
}
