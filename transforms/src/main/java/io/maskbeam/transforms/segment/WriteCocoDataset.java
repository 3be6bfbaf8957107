package io.maskbeam.transforms.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.maskbeam.annotations.AnnotationExport;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.transforms.io.FileListing;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VoidCoder;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;

/**
 * Assembles {@code annotations.coco.json} from the per-image {@code coco/<key>.json} entries under a segment output,
 * once every image of the run is written (its input is the run's statistics, each emitted after its image's files).
 * Entries of earlier runs under the same output are included, as the summary includes their statistics, so an
 * incremental run's dataset covers the whole collection. Entries are read in parallel and ordered by key, so image
 * ids are the same on every rerun.
 *
 * <p>COCO is one file by design: the assembling worker holds the entries (compressed RLE, about a kilobyte an
 * image). For collections beyond a few million images use the per-image entries or LabelMe files instead.
 */
public final class WriteCocoDataset extends PTransform<PCollection<ImageStats>, PCollection<String>> {
  private final SegmentOutputs outputs;
  private final List<LabelClass> classes;

  private WriteCocoDataset(SegmentOutputs outputs, List<LabelClass> classes) {
    this.outputs = outputs;
    this.classes = List.copyOf(classes);
  }

  public static WriteCocoDataset of(SegmentOutputs outputs, List<LabelClass> classes) {
    return new WriteCocoDataset(outputs, classes);
  }

  @Override
  public PCollection<String> expand(PCollection<ImageStats> written) {
    String glob = Storage.join(outputs.output(), SegmentOutputs.COCO + "/**.json");
    return written
        .apply("AllWritten", Count.globally())
        .apply("ListEntries", ParDo.of(new DoFn<Long, String>() {
          @ProcessElement
          public void process(OutputReceiver<String> out) throws IOException {
            for (FileListing.Entry e : FileListing.list(glob)) {
              if (e.isFile()) {
                out.output(e.uri());
              }
            }
          }
        }))
        .apply("Spread", Reshuffle.viaRandomKey())
        .apply("ReadEntries", ParDo.of(new DoFn<String, KV<Void, KV<String, String>>>() {
          @ProcessElement
          public void process(@Element String uri, OutputReceiver<KV<Void, KV<String, String>>> out)
              throws IOException {
            out.output(KV.of(null, KV.of(uri, new String(Storage.readAll(uri), java.nio.charset.StandardCharsets.UTF_8))));
          }
        }))
        .setCoder(KvCoder.of(VoidCoder.of(), KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of())))
        .apply("Together", GroupByKey.create())
        .apply("Assemble", ParDo.of(new AssembleFn(outputs, classes)));
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("dataset", Storage.join(outputs.output(), SegmentOutputs.COCO_DATASET))
        .withLabel("COCO dataset"));
  }

  static final class AssembleFn extends DoFn<KV<Void, Iterable<KV<String, String>>>, String> {
    private final SegmentOutputs outputs;
    private final List<LabelClass> classes;

    AssembleFn(SegmentOutputs outputs, List<LabelClass> classes) {
      this.outputs = outputs;
      this.classes = classes;
    }

    @ProcessElement
    public void process(@Element KV<Void, Iterable<KV<String, String>>> all, OutputReceiver<String> out)
        throws IOException {
      List<KV<String, String>> entries = new ArrayList<>();
      all.getValue().forEach(entries::add);
      entries.sort((a, b) -> a.getKey().compareTo(b.getKey()));
      ObjectMapper json = new ObjectMapper();
      List<JsonNode> images = new ArrayList<>(entries.size());
      for (KV<String, String> e : entries) {
        images.add(json.readTree(e.getValue()));
      }
      String uri = Storage.join(outputs.output(), SegmentOutputs.COCO_DATASET);
      Storage.write(uri, AnnotationExport.cocoDataset(images, classes, "Maskbeam segment " + outputs.run()),
          "application/json");
      out.output(uri);
    }
  }
}
