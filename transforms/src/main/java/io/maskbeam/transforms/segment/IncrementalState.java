package io.maskbeam.transforms.segment;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.transforms.io.Storage;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.PDone;
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

  /** Splits inputs into changed (new, or different size or time) and unchanged, against earlier state files. */
  public static final class FilterUnchanged extends PTransform<PCollection<SegmentInput>, PCollectionTuple> {
    private final List<String> stateFiles;

    public FilterUnchanged(List<String> stateFiles) {
      this.stateFiles = List.copyOf(stateFiles);
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
            // An input recorded by several runs: the newest run's record counts. Found in bounded hash buckets, as
            // a per-input GroupByKey costs the DirectRunner bookkeeping per key.
            .apply("ByBucket", WithKeys.<Integer, KV<String, String>>of(kv -> Math.floorMod(kv.getKey().hashCode(), 64))
                .withKeyType(TypeDescriptors.integers()))
            .apply("GroupBuckets", GroupByKey.create())
            .apply("NewestRecord", ParDo.of(new DoFn<KV<Integer, Iterable<KV<String, String>>>, KV<String, String>>() {
              @ProcessElement
              public void process(@Element KV<Integer, Iterable<KV<String, String>>> bucket,
                  OutputReceiver<KV<String, String>> out) {
                Map<String, String> newest = new java.util.HashMap<>();
                for (KV<String, String> kv : bucket.getValue()) {
                  newest.merge(kv.getKey(), kv.getValue(), (a, b) -> b.compareTo(a) > 0 ? b : a);
                }
                newest.forEach((k, v) -> out.output(KV.of(k, v)));
              }
            })).setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()));
      }
      PCollectionView<Map<String, String>> processed = known.apply("StateView", View.asMap());
      return inputs.apply("CompareWithState", ParDo.of(new CompareFn(processed)).withSideInputs(processed)
          .withOutputTags(CHANGED, TupleTagList.of(UNCHANGED)));
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
    private final Counter skipped = Metrics.counter(SegmentImages.METRICS_NAMESPACE, "images_skipped");

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

  /** Records this run's processed inputs. */
  public static final class Write extends PTransform<PCollection<SegmentInput>, PDone> {
    private final String output;
    private final String run;

    public Write(String output, String run) {
      this.output = output;
      this.run = run;
    }

    @Override
    public PDone expand(PCollection<SegmentInput> processed) {
      String runId = run;
      processed
          .apply("StateLines", MapElements.into(TypeDescriptors.strings()).via(in -> line(in, runId)))
          .apply("WriteState", TextIO.write().to(Storage.join(output, DIR + "/" + run)).withSuffix(".jsonl"));
      return PDone.in(processed.getPipeline());
    }
  }
}
