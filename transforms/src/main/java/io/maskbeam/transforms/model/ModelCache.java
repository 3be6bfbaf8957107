package io.maskbeam.transforms.model;

import io.maskbeam.transforms.io.GcsObjects;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Local copies of models kept in object storage (TensorFlow loads SavedModels, and ONNX Runtime models, from local
 * disk). A copy lives
 * under {@code <cache>/<fingerprint>} of the pinned versions, so a replaced model is a new copy. Copies are made in
 * a temporary folder and renamed into place, so several JVMs on one machine (Spark executors) never see half a
 * model; one that loses the race uses the winner's identical copy.
 */
public final class ModelCache {
  private static final Logger LOG = LoggerFactory.getLogger(ModelCache.class);

  private ModelCache() {}

  public static Path defaultCacheDir() {
    return Path.of(System.getProperty("java.io.tmpdir"), "maskbeam-model-cache");
  }

  /** The pinned versions of a remote model in the cache, fetched if not there yet. */
  static Path install(ModelReference model, Path cacheDir) throws IOException {
    Path target = cacheDir.resolve(model.fingerprint());
    if (Files.isDirectory(target)) {
      LOG.info("model cache hit: {} at {}", model, target);
      return target;
    }
    long start = System.nanoTime();
    String base = model.folder() + "/";
    Files.createDirectories(cacheDir);
    Path staging = Files.createTempDirectory(cacheDir, "incoming-");
    try {
      if (base.startsWith("gs://")) {
        // Read at the pinned generations, each checked against its CRC32C.
        List<GcsObjects.ObjectVersion> objects = new ArrayList<>();
        model.files().forEach(f -> objects.add(new GcsObjects.ObjectVersion(f.name(), f.size(), f.generation(),
            f.crc32c())));
        try {
          GcsObjects.download(base, objects, staging);
        } catch (GcsObjects.VersionUnavailableException e) {
          // A pinned generation that is gone, or bytes that are not the pinned ones: never mix versions. Any other
          // failure (permissions, network) is reported as what it is.
          throw model.changed("a pinned object cannot be read as it was at launch: " + e.getMessage());
        }
      } else {
        List<ModelReference.PinnedFile> now = model.listNow();
        if (!now.equals(model.files())) {
          throw model.changed(ModelReference.describeChange(model.files(), now));
        }
        for (ModelReference.PinnedFile f : model.files()) {
          Path local = staging.resolve(f.name()).normalize();
          if (!local.startsWith(staging)) {
            throw new IOException("model object " + f.name() + " would land outside the cache");
          }
          Files.createDirectories(local.getParent());
          Files.write(local, Storage.readAll(base + f.name()));
        }
      }
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
    LOG.info("model cache miss: copied {} ({} files) to {} in {} ms", model, model.files().size(), target,
        (System.nanoTime() - start) / 1_000_000);
    return target;
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
}
