package io.maskbeam.transforms.common;

import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import io.maskbeam.dataset.Manifest;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * Reads a JSON Lines manifest with the one {@link Manifest} parser: usable lines as {@link #ENTRIES}, every other
 * non-blank line as a {@link Failure} ({@code INVALID_MANIFEST_LINE}) under {@link #FAILURES}, so each line is
 * accounted for. Counters {@code manifest_lines} and {@code manifest_lines_invalid} go to the stage's namespace.
 */
public final class ReadManifest extends PTransform<PBegin, PCollectionTuple> {
  public static final TupleTag<Manifest.Entry> ENTRIES = new TupleTag<>() {};
  public static final TupleTag<Failure> FAILURES = new TupleTag<>() {};

  private final String manifest;
  private final Stage stage;
  private final boolean maskRequired;
  private final String metricsNamespace;

  private ReadManifest(String manifest, Stage stage, boolean maskRequired, String metricsNamespace) {
    this.manifest = manifest;
    this.stage = stage;
    this.maskRequired = maskRequired;
    this.metricsNamespace = metricsNamespace;
  }

  /** Lines of a manifest for a stage (whose failure records they become). */
  public static ReadManifest from(String manifest, Stage stage) {
    return new ReadManifest(manifest, stage, false, "maskbeam." + stage.label());
  }

  /** Lines without a mask ({@code "mask"} or a {@code "<label>-ref"}) are failures (preprocessing needs masks). */
  public ReadManifest withMaskRequired() {
    return new ReadManifest(manifest, stage, true, metricsNamespace);
  }

  @Override
  public PCollectionTuple expand(PBegin begin) {
    return begin
        .apply("ReadLines", TextIO.read().from(manifest).withEmptyMatchTreatment(EmptyMatchTreatment.DISALLOW))
        .apply("ParseLines", ParDo.of(new ParseFn(manifest, stage, maskRequired, metricsNamespace))
            .withOutputTags(ENTRIES, TupleTagList.of(FAILURES)));
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("manifest", manifest).withLabel("Manifest"))
        .add(DisplayData.item("maskRequired", maskRequired).withLabel("Masks required"));
  }

  static final class ParseFn extends DoFn<String, Manifest.Entry> {
    private final String manifest;
    private final Stage stage;
    private final boolean maskRequired;
    private final Counter lines;
    private final Counter invalid;

    ParseFn(String manifest, Stage stage, boolean maskRequired, String namespace) {
      this.manifest = manifest;
      this.stage = stage;
      this.maskRequired = maskRequired;
      this.lines = Metrics.counter(namespace, "manifest_lines");
      this.invalid = Metrics.counter(namespace, "manifest_lines_invalid");
    }

    @ProcessElement
    public void process(@Element String line, MultiOutputReceiver out) {
      Manifest.Entry entry;
      try {
        entry = Manifest.parse(line, manifest);
        if (entry != null && maskRequired && entry.mask() == null) {
          throw new IllegalArgumentException("no \"mask\" (or \"<label>-ref\") field; line: "
              + Manifest.excerpt(line));
        }
      } catch (Manifest.InvalidLineException | IllegalArgumentException e) {
        lines.inc();
        invalid.inc();
        out.get(FAILURES).output(new Failure(stage, null, manifest, java.util.Map.of("manifest", manifest),
            FailureReason.INVALID_MANIFEST_LINE, "cannot use manifest line: " + e.getMessage(), null));
        return;
      }
      if (entry == null) {
        return; // blank line
      }
      lines.inc();
      out.get(ENTRIES).output(entry);
    }
  }
}
