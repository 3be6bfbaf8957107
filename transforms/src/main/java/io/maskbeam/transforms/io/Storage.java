package io.maskbeam.transforms.io;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.CreateOptions;
import org.apache.beam.sdk.io.fs.ResourceId;

/** Whole-object reads and writes on any Beam filesystem (local, gs://, s3://), with retries for transient faults. */
public final class Storage {
  private static final int ATTEMPTS = 3;

  private Storage() {}

  public static ResourceId resource(String uri) {
    return FileSystems.matchNewResource(uri, false);
  }

  /** Thrown when the object does not exist (as opposed to a failure to read it). */
  public static final class NotFoundException extends IOException {
    private static final long serialVersionUID = 1L;

    NotFoundException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Reads an object fully. A missing object fails at once with {@link NotFoundException}; other I/O errors are
   * retried with backoff, since object stores throttle and drop connections.
   */
  public static byte[] readAll(String uri) throws IOException {
    IOException last = null;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try (ReadableByteChannel channel = FileSystems.open(resource(uri));
          InputStream in = Channels.newInputStream(channel)) {
        return in.readAllBytes();
      } catch (IllegalArgumentException e) {
        // An unknown scheme or a malformed path: no retry will change that.
        throw new IOException("cannot open " + uri + ": " + e.getMessage(), e);
      } catch (IOException | RuntimeException e) {
        if (isNotFound(e)) {
          throw new NotFoundException("not found: " + uri, e);
        }
        last = e instanceof IOException io ? io : new IOException(e);
        if (attempt < ATTEMPTS) {
          try {
            Thread.sleep(200L << attempt);
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading " + uri, ie);
          }
        }
      }
    }
    throw new IOException("failed to read " + uri + " after " + ATTEMPTS + " attempts: " + last.getMessage(), last);
  }

  static boolean isNotFound(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof FileNotFoundException || t instanceof java.nio.file.NoSuchFileException) {
        return true;
      }
      String name = t.getClass().getSimpleName();
      String m = t.getMessage() == null ? "" : t.getMessage().toLowerCase(Locale.ROOT);
      if (name.equals("NoSuchKeyException") || m.contains("nosuchkey") || m.contains("status code: 404")
          || m.contains("no such file")) {
        return true;
      }
    }
    return false;
  }

  public static void write(String uri, byte[] content, String mimeType) throws IOException {
    try (OutputStream out = create(uri, mimeType)) {
      out.write(content);
    }
  }

  /**
   * Opens an object for streaming writes; it exists once the stream is closed. Close it exactly once: a second
   * close of an S3 channel completes its multipart upload again, which the server answers with NoSuchUpload.
   */
  public static OutputStream create(String uri, String mimeType) throws IOException {
    WritableByteChannel channel = FileSystems.create(resource(uri),
        CreateOptions.StandardCreateOptions.builder().setMimeType(mimeType).build());
    return new java.io.BufferedOutputStream(Channels.newOutputStream(channel), 256 * 1024);
  }

  /**
   * Writes an object with metadata where the store keeps it: on gs:// through the storage client (content type and
   * custom metadata on the object); elsewhere through Beam's filesystem, where only the content type applies.
   */
  public static void write(String uri, byte[] content, String mimeType, java.util.Map<String, String> metadata)
      throws IOException {
    if (uri.startsWith("gs://")) {
      try {
        GcsObjects.write(uri, content, mimeType, metadata);
      } catch (RuntimeException e) {
        throw new IOException("cannot write " + uri + ": " + e.getMessage(), e);
      }
    } else {
      write(uri, content, mimeType);
    }
  }

  public static void writeString(String uri, String content, String mimeType) throws IOException {
    write(uri, content.getBytes(StandardCharsets.UTF_8), mimeType);
  }

  /** Joins a directory-like prefix and a relative name with exactly one separator. */
  public static String join(String dir, String name) {
    return dir.endsWith("/") ? dir + name : dir + "/" + name;
  }

  /** The file name of a URI, without directories. */
  public static String fileName(String uri) {
    int slash = uri.lastIndexOf('/');
    String name = slash >= 0 ? uri.substring(slash + 1) : uri;
    int backslash = name.lastIndexOf('\\');
    return backslash >= 0 ? name.substring(backslash + 1) : name;
  }

  /** The file name without its last extension. */
  public static String stem(String uri) {
    String name = fileName(uri);
    int dot = name.lastIndexOf('.');
    return dot > 0 ? name.substring(0, dot) : name;
  }

  public static String extension(String uri) {
    String name = fileName(uri);
    int dot = name.lastIndexOf('.');
    return dot > 0 ? name.substring(dot + 1).toLowerCase(Locale.ROOT) : "";
  }
}
