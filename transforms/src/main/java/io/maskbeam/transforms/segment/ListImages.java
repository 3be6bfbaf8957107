package io.maskbeam.transforms.segment;

import io.maskbeam.core.Failure;
import io.maskbeam.core.Stage;
import io.maskbeam.dataset.Manifest;
import io.maskbeam.transforms.common.FailureCoder;
import io.maskbeam.transforms.common.ReadManifest;
import io.maskbeam.transforms.io.FileListing;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * The images to segment: files matching globs (listed by {@link FileListing}, so links, loops and odd names are
 * accounted for), and/or the lines of a JSON Lines manifest read by {@link ReadManifest}. Each gets its output key
 * relative to the root. Files under the output prefix are never inputs (a rerun must not segment its own masks).
 * Unusable manifest lines and listing problems become {@link #FAILURES}, so every path and line is accounted for.
 *
 * <pre>{@code
 * PCollectionTuple listed = pipeline.apply(ListImages.matching(globs).withManifest(manifest)
 *     .withRoot(root).excludingPrefix(output));
 * }</pre>
 */
public final class ListImages extends PTransform<PBegin, PCollectionTuple> {
  public static final TupleTag<SegmentInput> INPUTS = new TupleTag<>() {};
  public static final TupleTag<Failure> FAILURES = new TupleTag<>() {};

  private final List<String> patterns;
  private final String manifest;
  private final String root;
  private final String outputPrefix;

  private ListImages(List<String> patterns, String manifest, String root, String outputPrefix) {
    this.patterns = List.copyOf(patterns);
    this.manifest = manifest;
    this.root = root;
    this.outputPrefix = outputPrefix;
  }

  /** Files matching any of these globs (may be empty when a manifest is given). */
  public static ListImages matching(List<String> patterns) {
    return new ListImages(patterns, null, "", null);
  }

  /** Also the images of a JSON Lines manifest. */
  public ListImages withManifest(String manifestUri) {
    return new ListImages(patterns, manifestUri == null || manifestUri.isBlank() ? null : manifestUri, root,
        outputPrefix);
  }

  /** Output keys are paths relative to this root (see {@link #defaultRoot}). */
  public ListImages withRoot(String inputRoot) {
    return new ListImages(patterns, manifest, inputRoot, outputPrefix);
  }

  /** Never lists files under this prefix (the run's own output). */
  public ListImages excludingPrefix(String prefix) {
    return new ListImages(patterns, manifest, root, prefix == null ? null
        : (prefix.endsWith("/") ? prefix : prefix + "/"));
  }

  @Override
  public PCollectionTuple expand(PBegin begin) {
    PCollectionList<SegmentInput> inputs = PCollectionList.empty(begin.getPipeline());
    PCollectionList<Failure> failures = PCollectionList.empty(begin.getPipeline());
    if (!patterns.isEmpty()) {
      PCollectionTuple matched = begin
          .apply("Patterns", Create.of(patterns))
          .apply("MatchFiles", ParDo.of(new MatchFn(root, outputPrefix))
              .withOutputTags(INPUTS, TupleTagList.of(FAILURES)));
      inputs = inputs.and(matched.get(INPUTS));
      failures = failures.and(matched.get(FAILURES));
    }
    if (manifest != null) {
      PCollectionTuple lines = begin.apply("ReadManifest", ReadManifest.from(manifest, Stage.SEGMENT));
      inputs = inputs.and(lines.get(ReadManifest.ENTRIES).apply("ManifestInputs", ParDo.of(new EntryFn(root))));
      failures = failures.and(lines.get(ReadManifest.FAILURES).apply("CountBadLines", ParDo.of(new CountFn())));
    }
    // Flattening an empty list needs its coder spelled out.
    PCollection<SegmentInput> all = inputs.apply("AllInputs", Flatten.pCollections())
        .setCoder(SegmentInput.Coder.of());
    PCollection<Failure> bad = failures.apply("AllListingFailures", Flatten.pCollections())
        .setCoder(FailureCoder.of());
    return PCollectionTuple.of(INPUTS, all).and(FAILURES, bad);
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("patterns", String.join(",", patterns)).withLabel("Globs"))
        .addIfNotNull(DisplayData.item("manifest", manifest).withLabel("Manifest"))
        .add(DisplayData.item("root", root).withLabel("Input root"))
        .addIfNotNull(DisplayData.item("excluded", outputPrefix).withLabel("Excluded prefix"));
  }

  /** Lists one glob; files become inputs, problems failures. */
  static final class MatchFn extends DoFn<String, SegmentInput> {
    private final String root;
    private final String outputPrefix;
    private final Counter matched = Metrics.counter(SegmentMetrics.NAMESPACE, SegmentMetrics.INPUTS_MATCHED);
    private final Counter excluded =
        Metrics.counter(SegmentMetrics.NAMESPACE, SegmentMetrics.INPUTS_UNDER_OUTPUT_EXCLUDED);

    MatchFn(String root, String outputPrefix) {
      this.root = root;
      this.outputPrefix = outputPrefix;
    }

    @ProcessElement
    public void process(@Element String pattern, MultiOutputReceiver out) throws IOException {
      for (FileListing.Entry e : FileListing.list(pattern)) {
        if (outputPrefix != null && isUnder(e.uri(), outputPrefix)) {
          excluded.inc();
          continue;
        }
        matched.inc();
        String key = OutputNames.keyOf(e.uri(), root);
        if (e.isFile()) {
          out.get(INPUTS).output(new SegmentInput(e.uri(), key, e.sizeBytes(), e.lastModifiedMillis()));
        } else {
          out.get(FAILURES).output(Failure.of(Stage.SEGMENT, key, e.uri(), e.problem(), e.message()));
        }
      }
    }
  }

  /** A manifest line's image as an input (size and time unknown). */
  static final class EntryFn extends DoFn<Manifest.Entry, SegmentInput> {
    private final String root;
    private final Counter matched = Metrics.counter(SegmentMetrics.NAMESPACE, SegmentMetrics.INPUTS_MATCHED);

    EntryFn(String root) {
      this.root = root;
    }

    @ProcessElement
    public void process(@Element Manifest.Entry entry, OutputReceiver<SegmentInput> out) {
      matched.inc();
      out.output(new SegmentInput(entry.image(), OutputNames.keyOf(entry.image(), root), -1, -1));
    }
  }

  /** Bad manifest lines were inputs too: they count as matched. */
  static final class CountFn extends DoFn<Failure, Failure> {
    private final Counter matched = Metrics.counter(SegmentMetrics.NAMESPACE, SegmentMetrics.INPUTS_MATCHED);

    @ProcessElement
    public void process(@Element Failure f, OutputReceiver<Failure> out) {
      matched.inc();
      out.output(f);
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
