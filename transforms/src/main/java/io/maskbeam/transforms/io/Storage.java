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
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Storage.class);
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

  /** Thrown when the object exists but this process may not read it. */
  public static final class AccessDeniedException extends IOException {
    private static final long serialVersionUID = 1L;

    AccessDeniedException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * The failure reason of an input that {@link #readAll} could not read: {@code whenMissing} when it does not
   * exist (which file of an example it was), ACCESS_DENIED, or READ_FAILED after retries.
   */
  public static io.maskbeam.core.FailureReason reasonFor(IOException e,
      io.maskbeam.core.FailureReason whenMissing) {
    if (e instanceof NotFoundException) {
      return whenMissing;
    }
    return e instanceof AccessDeniedException ? io.maskbeam.core.FailureReason.ACCESS_DENIED
        : io.maskbeam.core.FailureReason.READ_FAILED;
  }

  /** What a failed read means for retrying it. */
  public enum Fault {
    /** The object is not there: retrying cannot help. */
    NOT_FOUND,
    /** The object is there but may not be read: retrying cannot help. */
    ACCESS_DENIED,
    /** A malformed path, an unknown scheme, a folder where a file was expected: retrying cannot help. */
    PERMANENT,
    /** A dropped connection, throttling, a timeout: worth retrying. */
    TRANSIENT
  }

  /** Classifies a read failure by its exception chain (local files, S3 and GCS clients report differently). */
  public static Fault classify(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String name = t.getClass().getSimpleName();
      String m = t.getMessage() == null ? "" : t.getMessage().toLowerCase(Locale.ROOT);
      if (t instanceof java.nio.file.AccessDeniedException || m.contains("permission denied")
          || m.contains("access denied") || m.contains("status code: 403") || name.equals("AccessDeniedException")) {
        return Fault.ACCESS_DENIED;
      }
      if (m.contains("is a directory")) {
        return Fault.PERMANENT;
      }
      if (t instanceof FileNotFoundException || t instanceof java.nio.file.NoSuchFileException
          || name.equals("NoSuchKeyException") || m.contains("nosuchkey") || m.contains("status code: 404")
          || m.contains("no such file")) {
        return Fault.NOT_FOUND;
      }
      if (t instanceof IllegalArgumentException) {
        return Fault.PERMANENT;
      }
    }
    return Fault.TRANSIENT;
  }

  /**
   * Reads an object fully. A missing object fails at once with {@link NotFoundException}, one that may not be read
   * with {@link AccessDeniedException}; other I/O errors are retried with backoff, since object stores throttle and
   * drop connections.
   */
  public static byte[] readAll(String uri) throws IOException {
    Exception last = null;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try (ReadableByteChannel channel = FileSystems.open(resource(uri));
          InputStream in = Channels.newInputStream(channel)) {
        return in.readAllBytes();
      } catch (IOException | RuntimeException e) {
        switch (classify(e)) {
          case NOT_FOUND -> throw new NotFoundException("not found: " + uri, e);
          case ACCESS_DENIED -> throw new AccessDeniedException("access denied: " + uri + " (" + e.getMessage()
              + ")", e);
          case PERMANENT -> throw new IOException("cannot read " + uri + ": " + e.getMessage(), e);
          case TRANSIENT -> last = e;
        }
        if (attempt < ATTEMPTS) {
          LOG.warn("reading {} failed (attempt {} of {}), retrying: {}", uri, attempt, ATTEMPTS, e.toString());
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

  /**
   * Opens an object for random access (local files, {@code gs://} and {@code s3://} objects all give it), for readers
   * that fetch only the parts they need, such as the tiles of a raster's window.
   */
  public static java.nio.channels.SeekableByteChannel openSeekable(String uri) throws IOException {
    ReadableByteChannel channel;
    try {
      channel = FileSystems.open(resource(uri));
    } catch (IOException | RuntimeException e) {
      switch (classify(e)) {
        case NOT_FOUND -> throw new NotFoundException("not found: " + uri, e);
        case ACCESS_DENIED -> throw new AccessDeniedException("access denied: " + uri + " (" + e.getMessage() + ")",
            e);
        default -> throw new IOException("cannot open " + uri + ": " + e.getMessage(), e);
      }
    }
    if (channel instanceof java.nio.channels.SeekableByteChannel seekable) {
      return seekable;
    }
    channel.close();
    throw new IOException("the file system of " + uri + " gives no random access (" + channel.getClass().getName()
        + ")");
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

  /**
   * Checks at launch that an output prefix can be written, by writing and deleting a small probe object, so an
   * unwritable output (under a regular file, a read-only mount, a bucket without permission) fails before any work
   * instead of after it.
   *
   * @throws IllegalArgumentException naming the flag and the reason
   */
  public static void checkWritable(String prefix, String flag) {
    String probe = join(prefix, ".maskbeam-write-check-" + Long.toHexString(System.nanoTime()));
    // A local check leaves no trace: folders it had to create are removed again, so a launch refused for another
    // reason afterwards has written nothing.
    java.nio.file.Path firstCreated = firstMissingLocalFolder(prefix);
    try {
      write(probe, new byte[] {'o', 'k'}, "text/plain");
    } catch (IOException | RuntimeException e) {
      Throwable root = e;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      throw new IllegalArgumentException(flag + " '" + prefix + "' cannot be written: " + (root.getMessage() == null
          ? root.getClass().getSimpleName() : root.getMessage()), e);
    }
    try {
      FileSystems.delete(java.util.List.of(resource(probe)));
      if (firstCreated != null) {
        java.nio.file.Path folder = localFolder(prefix);
        while (folder != null && folder.startsWith(firstCreated)) {
          java.nio.file.Files.deleteIfExists(folder); // only empty folders: anything else throws and stays
          folder = folder.getParent();
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.warn("could not delete the write probe {}: {}", probe, e.toString());
    }
  }

  /** For a local path: the outermost of its folders that does not exist yet (null when all exist, or not local). */
  private static java.nio.file.Path firstMissingLocalFolder(String prefix) {
    java.nio.file.Path folder = localFolder(prefix);
    java.nio.file.Path missing = null;
    while (folder != null && !java.nio.file.Files.exists(folder)) {
      missing = folder;
      folder = folder.getParent();
    }
    return missing;
  }

  /** A local prefix as an absolute path; null for object stores and anything that is not a local path. */
  private static java.nio.file.Path localFolder(String prefix) {
    if (prefix.contains("://") && !prefix.startsWith("file://")) {
      return null;
    }
    try {
      return (prefix.startsWith("file://") ? java.nio.file.Path.of(java.net.URI.create(prefix))
          : java.nio.file.Path.of(prefix)).toAbsolutePath().normalize();
    } catch (RuntimeException e) {
      return null;
    }
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
