package io.maskbeam.transforms.segment;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.transforms.common.LatestPerKey;
import io.maskbeam.transforms.io.Storage;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Values;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * The state of incremental segment runs: {@code state/<run>-*.jsonl} under the output prefix, one line per input
 * whose outputs a run wrote, with what the listing knew of it (size and modification time, which object stores
 * derive from the object's generation or ETag). A later run segments only inputs that are new or whose size or
 * time changed; the rest are skipped without touching storage, and the summary (built from every run's statistics,
 * newest per name) stays equal to a from-scratch run.
 */
public final class IncrementalState {
  public static final String DIR = "state";
  public static final TupleTag<SegmentInput> CHANGED = new TupleTag<>() {};
  public static final TupleTag<String> UNCHANGED = new TupleTag<>() {};
  private static final ObjectMapper JSON = new ObjectMapper();

  private IncrementalState() {}

  /** One state line. */
  static String line(SegmentInput in, String run) {
    ObjectNode n = JSON.createObjectNode();
    n.put("input", in.uri());
    n.put("key", in.key());
    n.put("size", in.sizeBytes());
    n.put("modified", in.lastModifiedMillis());
    n.put("run", run);
    try {
      return JSON.writeValueAsString(n);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The fingerprint an input is compared by: size and modification time ("-1:-1" when unknown). */
  static String fingerprint(long size, long modified) {
    return size + ":" + modified;
  }

  /** Splits inputs into changed and unchanged against the state files of earlier runs (none: all changed). */
  public static FilterUnchanged filterUnchanged() {
    return new FilterUnchanged(List.of());
  }

  /** Records a run's processed inputs under {@code <output>/state/<run>-*.jsonl}. */
  public static Write write(String output, String run) {
    return new Write(output, run);
  }

  /**
   * Splits inputs into {@link #CHANGED} (new, or a different size or time than the newest record) and
   * {@link #UNCHANGED} (their output keys), against earlier state files.
   */
  public static final class FilterUnchanged extends PTransform<PCollection<SegmentInput>, PCollectionTuple> {
    private final List<String> stateFiles;

    private FilterUnchanged(List<String> stateFiles) {
      this.stateFiles = List.copyOf(stateFiles);
    }

    /** The state files of earlier runs, listed at launch (so every worker compares against the same ones). */
    public FilterUnchanged withStateFiles(List<String> files) {
      return new FilterUnchanged(files);
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      builder.add(DisplayData.item("stateFiles", stateFiles.size()).withLabel("Earlier state files"));
    }

    @Override
    public PCollectionTuple expand(PCollection<SegmentInput> inputs) {
      PCollection<KV<String, String>> known;
      if (stateFiles.isEmpty()) {
        known = inputs.getPipeline().apply("NoState", Create.empty(
            KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of())));
      } else {
        known = inputs.getPipeline()
            .apply("StateFiles", Create.of(stateFiles))
            .apply("MatchState", FileIO.matchAll())
            .apply("OpenState", FileIO.readMatches())
            .apply("ReadState", TextIO.readFiles())
            .apply("ParseState", MapElements.into(TypeDescriptors.kvs(TypeDescriptors.strings(),
                TypeDescriptors.strings())).via(IncrementalState::parse))
            // An input recorded by several runs: the newest run's record counts ("run|fingerprint" sorts by run).
            .apply("NewestRecord", LatestPerKey.by(new ByRun()));
      }
      PCollectionView<Map<String, String>> processed = known.apply("StateView", View.asMap());
      PCollectionTuple split = inputs.apply("CompareWithState", ParDo.of(new CompareFn(processed))
          .withSideInputs(processed).withOutputTags(CHANGED, TupleTagList.of(UNCHANGED)));
      split.get(UNCHANGED).setCoder(StringUtf8Coder.of());
      return split;
    }
  }

  /** Records ordered by their run id, which sorts by time. */
  static final class ByRun implements LatestPerKey.Order<String> {
    @Override
    public int compare(String a, String b) {
      return a.compareTo(b);
    }
  }

  /** (input URI, "run|size:modified"): the run first, so the newest record sorts last. */
  static KV<String, String> parse(String line) {
    try {
      JsonNode n = JSON.readTree(line);
      return KV.of(n.path("input").asText(), n.path("run").asText() + "|"
          + fingerprint(n.path("size").asLong(-1), n.path("modified").asLong(-1)));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("unreadable state line: " + line, e);
    }
  }

  static final class CompareFn extends DoFn<SegmentInput, SegmentInput> {
    private final PCollectionView<Map<String, String>> processed;
    private final Counter skipped = Metrics.counter(SegmentMetrics.NAMESPACE, SegmentMetrics.IMAGES_SKIPPED);

    CompareFn(PCollectionView<Map<String, String>> processed) {
      this.processed = processed;
    }

    @ProcessElement
    public void process(@Element SegmentInput in, ProcessContext c) {
      String record = c.sideInput(processed).get(in.uri());
      String now = fingerprint(in.sizeBytes(), in.lastModifiedMillis());
      if (record != null && record.substring(record.indexOf('|') + 1).equals(now)) {
        skipped.inc();
        c.output(UNCHANGED, in.key());
      } else {
        c.output(in);
      }
    }
  }

  /** Records this run's processed inputs; the result is the state files written. */
  public static final class Write extends PTransform<PCollection<SegmentInput>, PCollection<String>> {
    private final String output;
    private final String run;

    private Write(String output, String run) {
      this.output = output;
      this.run = run;
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      builder.add(DisplayData.item("output", output).withLabel("Output prefix"))
          .add(DisplayData.item("run", run).withLabel("Run"));
    }

    @Override
    public PCollection<String> expand(PCollection<SegmentInput> processed) {
      String runId = run;
      return processed
          .apply("StateLines", MapElements.into(TypeDescriptors.strings()).via(in -> line(in, runId)))
          .apply("WriteState", TextIO.write().to(Storage.join(output, DIR + "/" + run)).withSuffix(".jsonl")
              .withOutputFilenames())
          .getPerDestinationOutputFilenames()
          .apply("StateFilesWritten", Values.create());
    }
  }
}
