package io.maskbeam.dataset;

/** An input pair refused for a {@link RejectReason}, with a message naming what was wrong. */
public final class RejectedInputException extends Exception {
  private static final long serialVersionUID = 1L;
  private final RejectReason reason;

  public RejectedInputException(RejectReason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public RejectedInputException(RejectReason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public RejectReason reason() {
    return reason;
  }
}
