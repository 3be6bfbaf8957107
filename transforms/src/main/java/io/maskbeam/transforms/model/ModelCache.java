package io.maskbeam.transforms.segment;

import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;

/**
 * Local copies of models kept in object storage (TensorFlow loads SavedModels from local disk only). A copy lives
 * under {@code <cache>/<fingerprint>}, where the fingerprint covers the URI and every file's name, size and
 * modification time, so a model replaced in place is fetched again. Copies are made in a temporary folder and
 * renamed into place, so several JVMs on one machine (Spark executors) never see half a model.
 */
public final class ModelCache {
  private ModelCache() {}

  public static Path defaultCacheDir() {
    return Path.of(System.getProperty("java.io.tmpdir"), "maskbeam-model-cache");
  }

  /** Whether a model URI needs copying (it is not on the local file system). */
  public static boolean isRemote(String uri) {
    return uri.contains("://") && !uri.startsWith("file://");
  }

  /** The model as a local folder: the path itself when local, else a cached copy. */
  public static Path localCopy(String uri, Path cacheDir) throws IOException {
    if (!isRemote(uri)) {
      return Path.of(uri.startsWith("file://") ? uri.substring("file://".length()) : uri);
    }
    String base = uri.endsWith("/") ? uri : uri + "/";
    if (base.startsWith("gs://")) {
      return gcsCopy(base, cacheDir);
    }
    MatchResult match = FileSystems.match(base + "**");
    List<MatchResult.Metadata> files = new ArrayList<>();
    if (match.status() == MatchResult.Status.OK) {
      files.addAll(match.metadata());
    }
    files.removeIf(m -> m.resourceId().toString().endsWith("/"));
    if (files.isEmpty()) {
      throw new IllegalArgumentException("model " + uri + " does not exist (no objects under it)");
    }
    files.sort(Comparator.comparing(m -> m.resourceId().toString()));
    StringBuilder fingerprint = new StringBuilder(base);
    for (MatchResult.Metadata m : files) {
      fingerprint.append('\n').append(m.resourceId()).append(' ').append(m.sizeBytes()).append(' ')
          .append(m.lastModifiedMillis());
    }
    Path target = cacheDir.resolve(sha256(fingerprint.toString()).substring(0, 20));
    if (Files.isDirectory(target)) {
      return target;
    }
    install(cacheDir, target, staging -> {
      for (MatchResult.Metadata m : files) {
        String name = m.resourceId().toString().substring(base.length());
        Path local = staging.resolve(name).normalize();
        if (!local.startsWith(staging)) {
          throw new IOException("model object " + m.resourceId() + " would land outside the cache");
        }
        Files.createDirectories(local.getParent());
        Files.write(local, Storage.readAll(m.resourceId().toString()));
      }
    });
    return target;
  }

  /**
   * gs:// through the storage client: the cache key is the objects' names and generations (exact content
   * versions), and every download is checked against its CRC32C.
   */
  static Path gcsCopy(String base, Path cacheDir) throws IOException {
    List<io.maskbeam.transforms.io.GcsObjects.ObjectVersion> objects = io.maskbeam.transforms.io.GcsObjects.list(base);
    if (objects.isEmpty()) {
      throw new IllegalArgumentException("model " + base + " does not exist (no objects under it)");
    }
    StringBuilder fingerprint = new StringBuilder(base);
    objects.forEach(o -> fingerprint.append('\n').append(o.name()).append(' ').append(o.generation()).append(' ')
        .append(o.crc32c()));
    Path target = cacheDir.resolve(sha256(fingerprint.toString()).substring(0, 20));
    if (Files.isDirectory(target)) {
      return target;
    }
    install(cacheDir, target, staging -> io.maskbeam.transforms.io.GcsObjects.download(base, objects, staging));
    return target;
  }

  /** Writes a model's files into a staging folder. */
  private interface Filler {
    void fill(Path staging) throws IOException;
  }

  /**
   * Fills a temporary folder and renames it to {@code target}, so several JVMs on one machine (Spark executors)
   * never see half a model; one that loses the race uses the winner's identical copy.
   */
  private static void install(Path cacheDir, Path target, Filler filler) throws IOException {
    Files.createDirectories(cacheDir);
    Path staging = Files.createTempDirectory(cacheDir, "incoming-");
    try {
      filler.fill(staging);
      try {
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | DirectoryNotEmptyException | AtomicMoveNotSupportedException e) {
        if (!Files.isDirectory(target)) {
          throw e;
        }
      }
    } finally {
      deleteTree(staging);
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
