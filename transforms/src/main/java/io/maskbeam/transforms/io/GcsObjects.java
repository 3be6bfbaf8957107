package io.maskbeam.transforms.io;

import com.google.cloud.storage.Blob;
import com.google.cloud.storage.BlobId;
import com.google.cloud.storage.BlobInfo;
import com.google.cloud.storage.Storage;
import com.google.cloud.storage.StorageOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Google Cloud Storage through its own client, where it gives users more than Beam's generic filesystem: objects
 * listed with their generations (a new generation is new content, exactly), downloads checked against the
 * object's CRC32C, and writes with a content type and per-object metadata. The client takes another endpoint from
 * {@code STORAGE_EMULATOR_HOST}; tests use its in-process fake.
 */
public final class GcsObjects {
  private static volatile Storage storage;

  private GcsObjects() {}

  /** Uses this client from now on (tests pass {@code LocalStorageHelper}'s fake). */
  public static void use(Storage client) {
    storage = client;
  }


  static Storage storage() {
    Storage s = storage;
    if (s == null) {
      synchronized (GcsObjects.class) {
        if (storage == null) {
          storage = StorageOptions.getDefaultInstance().getService();
        }
        s = storage;
      }
    }
    return s;
  }

  /** An object and what identifies its content. */
  public record ObjectVersion(String name, long size, long generation, String crc32c) {}

  /** Bucket and object name of a gs:// URI. */
  static String[] split(String uri) {
    if (!uri.startsWith("gs://")) {
      throw new IllegalArgumentException("not a gs:// URI: " + uri);
    }
    String rest = uri.substring(5);
    int slash = rest.indexOf('/');
    return slash < 0 ? new String[] {rest, ""} : new String[] {rest.substring(0, slash), rest.substring(slash + 1)};
  }

  /** Every object under a prefix (a folder-like URI), with generation and checksum, sorted by name. */
  public static List<ObjectVersion> list(String prefixUri) {
    String[] bp = split(prefixUri.endsWith("/") ? prefixUri : prefixUri + "/");
    List<ObjectVersion> out = new ArrayList<>();
    for (Blob b : storage().list(bp[0], Storage.BlobListOption.prefix(bp[1])).iterateAll()) {
      if (b.getName().endsWith("/")) {
        continue;
      }
      out.add(new ObjectVersion(b.getName().substring(bp[1].length()), b.getSize() == null ? -1 : b.getSize(),
          b.getGeneration() == null ? -1 : b.getGeneration(), b.getCrc32c()));
    }
    out.sort(Comparator.comparing(ObjectVersion::name));
    return out;
  }

  /**
   * Downloads every listed object under {@code prefixUri} into {@code dir}, each read at its listed generation
   * and checked against its CRC32C, so a half-uploaded or replaced model is never mixed into a copy.
   */
  public static void download(String prefixUri, List<ObjectVersion> objects, Path dir) throws IOException {
    String[] bp = split(prefixUri.endsWith("/") ? prefixUri : prefixUri + "/");
    for (ObjectVersion o : objects) {
      Path local = dir.resolve(o.name()).normalize();
      if (!local.startsWith(dir)) {
        throw new IOException("object " + o.name() + " would land outside " + dir);
      }
      byte[] bytes = read(prefixUri, o);
      Files.createDirectories(local.getParent());
      Files.write(local, bytes);
    }
  }

  /**
   * The version of an object that was asked for cannot be had: its generation is gone, or the bytes read are not
   * the ones listed (checksum). Other failures (permissions, network) are plain IOExceptions.
   */
  public static final class VersionUnavailableException extends IOException {
    private static final long serialVersionUID = 1L;

    VersionUnavailableException(String message) {
      super(message);
    }
  }

  /** One object's bytes at a generation (-1: the live one), checked against its CRC32C when one is given. */
  public static byte[] read(String prefixUri, ObjectVersion o) throws IOException {
    String[] bp = split(prefixUri.endsWith("/") ? prefixUri : prefixUri + "/");
    String uri = "gs://" + bp[0] + "/" + bp[1] + o.name();
    BlobId id = o.generation() >= 0 ? BlobId.of(bp[0], bp[1] + o.name(), o.generation())
        : BlobId.of(bp[0], bp[1] + o.name());
    byte[] bytes;
    try {
      bytes = storage().readAllBytes(id);
    } catch (com.google.cloud.storage.StorageException e) {
      if (e.getCode() == 404) {
        throw new VersionUnavailableException(uri + (o.generation() >= 0 ? " at generation " + o.generation() : "")
            + " does not exist");
      }
      throw new IOException("cannot read " + uri + ": " + e.getMessage(), e);
    }
    if (o.crc32c() != null && !o.crc32c().equals(crc32c(bytes))) {
      throw new VersionUnavailableException("checksum mismatch for " + uri + ": the object's CRC32C is "
          + o.crc32c() + ", the download's " + crc32c(bytes));
    }
    return bytes;
  }

  /** Writes an object with a content type and metadata (e.g. the model and input it was made from). */
  public static void write(String uri, byte[] content, String contentType, Map<String, String> metadata) {
    String[] bp = split(uri);
    storage().create(BlobInfo.newBuilder(bp[0], bp[1]).setContentType(contentType).setMetadata(metadata).build(),
        content);
  }

  /** Reads an object's metadata map (null when it has none). */
  public static Map<String, String> metadata(String uri) {
    String[] bp = split(uri);
    Blob b = storage().get(BlobId.of(bp[0], bp[1]));
    return b == null ? null : b.getMetadata();
  }

  /** Base64 of the big-endian CRC32C, as GCS reports it. */
  public static String crc32c(byte[] bytes) {
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(bytes);
    return Base64.getEncoder().encodeToString(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }
}
