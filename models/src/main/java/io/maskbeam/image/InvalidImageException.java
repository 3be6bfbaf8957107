package io.maskbeam.image;

/** An image that cannot be used, with a machine-readable kind and a message a person can act on. */
public final class InvalidImageException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why an image was refused. */
  public enum Kind {
    /** Not an image format any installed ImageIO plugin recognises, or bytes that fail to decode. */
    UNREADABLE,
    /** The file ends before the image data does. */
    TRUNCATED,
    /** Width x height over the configured limit (checked from the header, before decoding). */
    TOO_MANY_PIXELS,
    /** Zero bytes, or a zero-sized image. */
    EMPTY
  }

  private final Kind kind;

  public InvalidImageException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public InvalidImageException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
