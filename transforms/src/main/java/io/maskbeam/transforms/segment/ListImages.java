package io.maskbeam.transforms.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * The images to segment: files matching globs, and/or the lines of a JSON Lines manifest ({@code {"image": uri}}
 * or SageMaker's {@code {"source-ref": uri}}; relative URIs resolve against the manifest's folder). Each gets its
 * output key relative to {@code root}. Files under the output prefix are never inputs (a rerun must not segment
 * its own masks). Unusable manifest lines become errors, so every input line is accounted for.
 */
public final class ListImages extends PTransform<PBegin, PCollectionTuple> {
  public static final TupleTag<SegmentInput> INPUTS = new TupleTag<>() {};
  public static final TupleTag<SegmentError> ERRORS = new TupleTag<>() {};

  private final List<String> patterns;
  private final String manifest;
  private final String root;
  private final String outputPrefix;

  public ListImages(List<String> patterns, String manifest, String root, String outputPrefix) {
    this.patterns = List.copyOf(patterns);
    this.manifest = manifest;
    this.root = root;
    this.outputPrefix = outputPrefix.endsWith("/") ? outputPrefix : outputPrefix + "/";
  }

  @Override
  public PCollectionTuple expand(PBegin begin) {
    PCollectionList<SegmentInput> inputs = PCollectionList.empty(begin.getPipeline());
    PCollectionList<SegmentError> errors = PCollectionList.empty(begin.getPipeline());
    if (!patterns.isEmpty()) {
      inputs = inputs.and(begin
          .apply("Patterns", Create.of(patterns))
          .apply("MatchFiles", ParDo.of(new MatchFn(root, outputPrefix))));
    }
    if (manifest != null && !manifest.isBlank()) {
      PCollectionTuple lines = begin
          .apply("ReadManifest", TextIO.read().from(manifest))
          .apply("ParseManifest", ParDo.of(new ManifestLineFn(manifest, root))
              .withOutputTags(INPUTS, TupleTagList.of(ERRORS)));
      inputs = inputs.and(lines.get(INPUTS));
      errors = errors.and(lines.get(ERRORS));
    }
    // Flattening an empty list needs its coder spelled out.
    PCollection<SegmentInput> all = inputs.apply("AllInputs", Flatten.pCollections())
        .setCoder(SerializableCoder.of(SegmentInput.class));
    PCollection<SegmentError> bad = errors.apply("AllListingErrors", Flatten.pCollections())
        .setCoder(SerializableCoder.of(SegmentError.class));
    return PCollectionTuple.of(INPUTS, all).and(ERRORS, bad);
  }

  /** Lists one glob, lazily: listings of millions of objects stream through. */
  static final class MatchFn extends DoFn<String, SegmentInput> {
    private final String root;
    private final String outputPrefix;
    private final Counter matched = Metrics.counter(SegmentImages.METRICS_NAMESPACE, "inputs_matched");
    private final Counter excluded = Metrics.counter(SegmentImages.METRICS_NAMESPACE, "inputs_under_output_excluded");

    MatchFn(String root, String outputPrefix) {
      this.root = root;
      this.outputPrefix = outputPrefix;
    }

    @ProcessElement
    public void process(@Element String pattern, OutputReceiver<SegmentInput> out) throws IOException {
      MatchResult result = FileSystems.match(pattern, EmptyMatchTreatment.ALLOW);
      if (result.status() != MatchResult.Status.OK && result.status() != MatchResult.Status.NOT_FOUND) {
        throw new IOException("cannot list " + pattern + ": " + result.status());
      }
      Iterator<MatchResult.Metadata> it = result.status() == MatchResult.Status.OK
          ? result.metadata().iterator() : List.<MatchResult.Metadata>of().iterator();
      while (it.hasNext()) {
        MatchResult.Metadata m = it.next();
        String uri = m.resourceId().toString();
        if (m.resourceId().isDirectory() || uri.endsWith("/")) {
          continue;
        }
        if (isUnder(uri, outputPrefix)) {
          excluded.inc();
          continue;
        }
        matched.inc();
        out.output(new SegmentInput(uri, OutputNames.keyOf(uri, root), m.sizeBytes(), m.lastModifiedMillis()));
      }
    }
  }

  static boolean isUnder(String uri, String prefix) {
    String p = prefix.startsWith("file://") ? prefix.substring(7) : prefix;
    String u = uri.startsWith("file://") ? uri.substring(7) : uri;
    if (!p.contains("://")) {
      p = java.nio.file.Path.of(p).toAbsolutePath().normalize() + "/";
      u = u.contains("://") ? u : java.nio.file.Path.of(u).toAbsolutePath().normalize().toString();
    }
    return u.startsWith(p);
  }

  /** One manifest line to an input, or to an error saying what is wrong with it. */
  static final class ManifestLineFn extends DoFn<String, SegmentInput> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String manifestDir;
    private final String manifest;
    private final String root;
    private final Counter matched = Metrics.counter(SegmentImages.METRICS_NAMESPACE, "inputs_matched");

    ManifestLineFn(String manifest, String root) {
      this.manifest = manifest;
      int slash = manifest.lastIndexOf('/');
      this.manifestDir = slash < 0 ? "" : manifest.substring(0, slash + 1);
      this.root = root;
    }

    @ProcessElement
    public void process(@Element String line, MultiOutputReceiver out) {
      if (line.isBlank()) {
        return;
      }
      matched.inc();
      String uri;
      try {
        JsonNode node = JSON.readTree(line);
        JsonNode ref = node.has("image") ? node.get("image") : node.get("source-ref");
        if (ref == null || !ref.isTextual() || ref.asText().isBlank()) {
          throw new IllegalArgumentException("no \"image\" or \"source-ref\" field");
        }
        uri = ref.asText();
      } catch (IOException | RuntimeException e) {
        String shown = line.length() > 200 ? line.substring(0, 200) + "..." : line;
        out.get(ERRORS).output(new SegmentError(manifest, null, "BAD_MANIFEST_LINE",
            "cannot read manifest line " + shown + ": " + e.getMessage()));
        return;
      }
      if (!uri.contains("://") && !uri.startsWith("/")) {
        uri = manifestDir.isEmpty() ? uri : Storage.join(manifestDir, uri);
      }
      uri = OutputNames.absoluteLocal(uri, false);
      out.get(INPUTS).output(new SegmentInput(uri, OutputNames.keyOf(uri, root), -1, -1));
    }
  }

  /** Glob roots and their common prefix: the default input root. */
  public static String defaultRoot(List<String> patterns, String manifest) {
    List<String> roots = new ArrayList<>();
    for (String p : patterns) {
      roots.add(OutputNames.absoluteLocal(OutputNames.globRoot(p), true));
    }
    if (manifest != null && !manifest.isBlank()) {
      roots.add(OutputNames.absoluteLocal(manifest.substring(0, manifest.lastIndexOf('/') + 1), true));
    }
    return OutputNames.commonRoot(roots);
  }
}
