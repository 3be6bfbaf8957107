package io.maskbeam.annotations;

/** An annotation document, line or shape that cannot be read as what its format says; the message says why. */
public final class InvalidAnnotationException extends Exception {
  public InvalidAnnotationException(String message) {
    super(message);
  }

  public InvalidAnnotationException(String message, Throwable cause) {
    super(message, cause);
  }
}
