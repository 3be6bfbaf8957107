package io.maskbeam.transforms.model;

import io.maskbeam.models.infer.ModelFormat;
import io.maskbeam.models.infer.ModelMetadata;
import io.maskbeam.models.infer.ModelRuntime;
import io.maskbeam.models.infer.Precision;
import io.maskbeam.models.infer.OnnxModel;
import io.maskbeam.models.infer.SegmentationModel;
import io.maskbeam.models.infer.TensorFlowModel;
import io.maskbeam.transforms.io.GcsObjects;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;

/**
 * A model as one job uses it, from launch to every worker: where it is, its format (a SavedModel folder written by
 * {@code maskbeam train}, an ONNX folder or an {@code .onnx} file), the exact version of each of its files (GCS
 * generations and checksums; sizes and modification times elsewhere) and its metadata. Made once at launch by
 * {@link #resolve} without TensorFlow (a launcher reads one small JSON file and a listing; an ONNX model is opened
 * once by ONNX Runtime, which settles its conventions and refuses an unusable model before the job starts), it
 * travels to the
 * workers inside the transforms, and every worker loads exactly those versions ({@link #localCopy}): a model
 * replaced while a job runs cannot mix versions in one output; it fails the workers that see the change with a
 * message saying so (on GCS the pinned generations are fetched even after a replacement, while they exist).
 */
public final class ModelReference implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ModelReference.class);

  /** One file of the model and what identifies its content. */
  public record PinnedFile(String name, long size, long modifiedMillis, long generation, String crc32c)
      implements Serializable {}

  private final String uri;
  /** The folder holding the pinned files: the model folder itself, or the folder of a bare {@code .onnx} file. */
  private final String folder;
  /** The ONNX file within {@link #folder}, or null for a SavedModel folder. */
  private final String onnxFile;
  private final List<PinnedFile> files;
  private final ModelMetadata metadata;
  private final String fingerprint;

  private ModelReference(String uri, String folder, String onnxFile, List<PinnedFile> files, ModelMetadata metadata) {
    this.uri = uri;
    this.folder = folder;
    this.onnxFile = onnxFile;
    this.files = List.copyOf(files);
    this.metadata = metadata;
    StringBuilder f = new StringBuilder(uri);
    for (PinnedFile p : this.files) {
      f.append('\n').append(p.name()).append(' ').append(p.size()).append(' ').append(p.modifiedMillis())
          .append(' ').append(p.generation()).append(' ').append(p.crc32c());
    }
    this.fingerprint = sha256(f.toString()).substring(0, 20);
  }

  /**
   * Lists a model folder (local, gs:// or any Beam filesystem), pins its files and reads its metadata, checking
   * that it has what a SavedModel export needs. No TensorFlow is loaded.
   *
   * @throws IllegalArgumentException when the folder is missing or incomplete, naming what is missing
   */
  public static ModelReference resolve(String modelUri) throws IOException {
    if (modelUri == null || modelUri.isBlank()) {
      throw new IllegalArgumentException("--model is required: a model folder written by 'maskbeam train', an ONNX"
          + " folder or an .onnx file");
    }
    String uri = normalise(modelUri.trim());
    boolean bare = ModelFormat.isOnnxFile(uri);
    String folder = bare ? uri.substring(0, Math.max(0, uri.lastIndexOf('/'))) : uri;
    String bareName = bare ? uri.substring(uri.lastIndexOf('/') + 1) : null;
    List<PinnedFile> files = list(folder, bareName);
    if (files.isEmpty()) {
      throw new IllegalArgumentException("model " + modelUri + " does not exist" + (bare ? "" : " (no files under it)"));
    }
    List<String> names = files.stream().map(PinnedFile::name).toList();
    ModelFormat format = bare ? ModelFormat.ONNX : ModelFormat.ofFolder(names);
    List<String> missing = bare ? List.of() : format.missingFiles(names);
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(ModelMetadata.incompleteMessage(modelUri, missing));
    }
    if (format == ModelFormat.ONNX) {
      // The conventions are settled by opening the model once, here, so a model Maskbeam cannot feed is refused
      // before any worker starts; the workers get the completed metadata.
      String onnxFile = bare ? bareName : ModelFormat.ONNX_FILE;
      ModelReference pinned = new ModelReference(uri, folder, onnxFile, files, null);
      Path local = pinned.localCopy(ModelCache.defaultCacheDir());
      ModelMetadata metadata;
      try (SegmentationModel model = OnnxModel.load(bare ? local.resolve(onnxFile) : local, 1)) {
        metadata = model.metadata();
      }
      return new ModelReference(uri, folder, onnxFile, files, metadata);
    }
    byte[] json;
    if (uri.startsWith("gs://")) {
      // The metadata of the pinned generation, through the same client that lists and downloads.
      PinnedFile meta = files.stream().filter(f -> f.name().equals(ModelMetadata.FILE_NAME)).findFirst().orElseThrow();
      json = GcsObjects.read(uri, new GcsObjects.ObjectVersion(meta.name(), meta.size(), meta.generation(),
          meta.crc32c()));
    } else {
      json = isRemote(uri) ? Storage.readAll(Storage.join(uri, ModelMetadata.FILE_NAME))
          : Files.readAllBytes(Path.of(uri, ModelMetadata.FILE_NAME));
    }
    ModelMetadata metadata = ModelMetadata.parse(new String(json, StandardCharsets.UTF_8),
        Storage.join(modelUri, ModelMetadata.FILE_NAME));
    return new ModelReference(uri, uri, null, files, metadata);
  }

  /** The files of a folder, or only the named file of it. */
  private static List<PinnedFile> list(String folder, String only) throws IOException {
    List<PinnedFile> all = isRemote(folder) ? (folder.startsWith("gs://") ? listGcs(folder) : listRemote(folder))
        : listLocal(folder);
    return only == null ? all : all.stream().filter(f -> f.name().equals(only)).toList();
  }

  /** The model's files as they are now, listed as at launch. */
  List<PinnedFile> listNow() throws IOException {
    // A bare .onnx file is named by its own URI; only it, not its folder's other files, belongs to the model.
    return list(folder, uri.equals(folder) ? null : onnxFile);
  }

  /** The folder the pinned files are relative to. */
  String folder() {
    return folder;
  }

  /**
   * Loads the pinned model on this worker (one call per JVM through {@link SharedModels}): from its local copy,
   * an ONNX model with the conventions settled at launch.
   */
  public SegmentationModel load(ModelRuntime runtime) throws IOException {
    Precision.Choice precision = runtime.choiceFor(format());
    if (precision.note() != null) {
      LOG.info("model {}: --precision={} runs {} ({})", uri, precision.requested(), precision.label(),
          precision.note());
    }
    Path local = localCopy(ModelCache.defaultCacheDir());
    if (onnxFile != null) {
      return OnnxModel.open(local.resolve(onnxFile), metadata.json(), uri + " (conventions settled at launch)",
          runtime.threads());
    }
    return TensorFlowModel.load(local, runtime.threads(), precision.precision());
  }

  public ModelFormat format() {
    return onnxFile != null ? ModelFormat.ONNX : ModelFormat.SAVED_MODEL;
  }

  /** A local model folder: the path as given, absolute; URIs with a scheme unchanged, without a trailing slash. */
  static String normalise(String uri) {
    if (uri.startsWith("file://")) {
      uri = uri.substring("file://".length());
    }
    if (isRemote(uri)) {
      return uri.endsWith("/") ? uri.substring(0, uri.length() - 1) : uri;
    }
    return Path.of(uri).toAbsolutePath().normalize().toString();
  }

  static boolean isRemote(String uri) {
    return uri.contains("://") && !uri.startsWith("file://");
  }

  private static List<PinnedFile> listLocal(String dir) throws IOException {
    Path root = Path.of(dir);
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    List<PinnedFile> out = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.filter(Files::isRegularFile).sorted().toList()) {
        out.add(new PinnedFile(root.relativize(p).toString().replace('\\', '/'), Files.size(p),
            Files.getLastModifiedTime(p).toMillis(), -1, null));
      }
    }
    return out;
  }

  private static List<PinnedFile> listGcs(String uri) {
    List<PinnedFile> out = new ArrayList<>();
    for (GcsObjects.ObjectVersion o : GcsObjects.list(uri)) {
      out.add(new PinnedFile(o.name(), o.size(), -1, o.generation(), o.crc32c()));
    }
    return out;
  }

  static List<PinnedFile> listRemote(String uri) throws IOException {
    String base = uri + "/";
    MatchResult match = FileSystems.match(base + "**");
    List<PinnedFile> out = new ArrayList<>();
    if (match.status() == MatchResult.Status.OK) {
      for (MatchResult.Metadata m : match.metadata()) {
        String name = m.resourceId().toString();
        if (name.endsWith("/") || !name.startsWith(base)) {
          continue;
        }
        out.add(new PinnedFile(name.substring(base.length()), m.sizeBytes(), m.lastModifiedMillis(), -1, null));
      }
    }
    out.sort(Comparator.comparing(PinnedFile::name));
    return out;
  }

  public String uri() {
    return uri;
  }

  public List<PinnedFile> files() {
    return files;
  }

  /**
   * Refuses a model trained on raw raster bands for a stage that feeds models 8-bit RGB images ({@code stage}), at
   * launch, rather than failing every input.
   */
  public void requireRgbInput(String stage) {
    io.maskbeam.models.train.TrainConfig.InputSpec bands = metadata().rawBands();
    if (bands != null) {
      throw new IllegalArgumentException(stage + " feeds models 8-bit RGB images, but " + uri() + " was trained on "
          + bands.channels() + " raw " + bands.dtype() + " raster bands; segment rasters with 'maskbeam segment'"
          + " (its validation mIoU is in maskbeam-model.json)");
    }
  }

  public ModelMetadata metadata() {
    return metadata;
  }

  /** A short hash of the URI and every pinned file version: the model version this job uses. */
  public String fingerprint() {
    return fingerprint;
  }

  public boolean isRemote() {
    return isRemote(uri);
  }

  /**
   * The pinned model's folder, local: a local model in place (after checking that its files are unchanged),
   * a remote one as a cached copy of exactly the pinned versions.
   *
   * @throws IllegalStateException when the model changed since launch and the pinned versions cannot be had
   */
  public Path localCopy(Path cacheDir) throws IOException {
    if (!isRemote()) {
      List<PinnedFile> now = listNow();
      if (!now.equals(files)) {
        throw changed(describeChange(files, now));
      }
      return Path.of(folder);
    }
    return ModelCache.install(this, cacheDir);
  }

  IllegalStateException changed(String what) {
    return new IllegalStateException("model " + uri + " changed since the job was launched (" + what + "); a job"
        + " uses the model version it was launched with: launch again to use the new one");
  }

  static String describeChange(List<PinnedFile> pinned, List<PinnedFile> now) {
    for (PinnedFile p : pinned) {
      PinnedFile q = now.stream().filter(f -> f.name().equals(p.name())).findFirst().orElse(null);
      if (q == null) {
        return p.name() + " is gone";
      }
      if (!q.equals(p)) {
        return p.name() + " was rewritten";
      }
    }
    for (PinnedFile q : now) {
      if (pinned.stream().noneMatch(p -> p.name().equals(q.name()))) {
        return q.name() + " was added";
      }
    }
    return "files differ";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ModelReference r && r.uri.equals(uri) && r.fingerprint.equals(fingerprint);
  }

  @Override
  public int hashCode() {
    return Objects.hash(uri, fingerprint);
  }

  @Override
  public String toString() {
    return uri + " (version " + fingerprint + ")";
  }

  static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
