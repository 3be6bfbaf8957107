package io.maskbeam.transforms.preprocess;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.dataset.DatasetStatistics;
import io.maskbeam.dataset.DeepLabExample;
import io.maskbeam.labels.LabelMap;
import io.maskbeam.labels.LabelMaps;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * Writes {@code dataset.json}: classes and label map, counts that reconcile (inputs = written + rejected),
 * per-split class pixel histograms, size histograms, median-frequency class weights, the shard files per split, and
 * the preprocessing settings. It runs after the shards are final (it takes their names as a side input), so a
 * dataset.json on storage means a complete dataset.
 */
public class WriteDatasetMetadata extends PTransform<PCollection<DatasetStatistics>, PDone> {
  public static final String FILE_NAME = "dataset.json";
  public static final String FORMAT = "maskbeam-dataset/1";

  private final String outputDir;
  private final LabelMap labelMap;
  private final String settingsJson;
  private final PCollection<Rejection> rejections;
  private final PCollection<KV<String, String>> shardFiles;

  /**
   * @param settingsJson the preprocessing settings as a JSON object (recorded verbatim)
   * @param shardFiles (split, full shard path) pairs, from {@link WriteTfRecordShards}
   */
  public WriteDatasetMetadata(String outputDir, LabelMap labelMap, String settingsJson,
      PCollection<Rejection> rejections, PCollection<KV<String, String>> shardFiles) {
    this.outputDir = outputDir;
    this.labelMap = labelMap;
    this.settingsJson = settingsJson;
    this.rejections = rejections;
    this.shardFiles = shardFiles;
  }

  @Override
  public PDone expand(PCollection<DatasetStatistics> stats) {
    PCollectionView<Map<String, Long>> rejectedByReason = rejections
        .apply("Reasons", MapElements.into(TypeDescriptors.strings()).via(r -> r.reason().name()))
        .apply("CountReasons", Count.perElement())
        .apply("ReasonsView", View.asMap());
    PCollectionView<Map<String, Iterable<String>>> shards = shardFiles.apply("ShardsView", View.asMultimap());
    stats.apply("WriteDatasetJson", ParDo.of(new WriteFn(outputDir, labelMap, settingsJson, rejectedByReason, shards))
        .withSideInputs(rejectedByReason, shards));
    return PDone.in(stats.getPipeline());
  }

  static final class WriteFn extends DoFn<DatasetStatistics, Void> {
    private final String outputDir;
    private final LabelMap labelMap;
    private final String settingsJson;
    private final PCollectionView<Map<String, Long>> rejectedByReason;
    private final PCollectionView<Map<String, Iterable<String>>> shards;

    WriteFn(String outputDir, LabelMap labelMap, String settingsJson,
        PCollectionView<Map<String, Long>> rejectedByReason, PCollectionView<Map<String, Iterable<String>>> shards) {
      this.outputDir = outputDir;
      this.labelMap = labelMap;
      this.settingsJson = settingsJson;
      this.rejectedByReason = rejectedByReason;
      this.shards = shards;
    }

    @ProcessElement
    public void process(@Element DatasetStatistics stats, ProcessContext context) throws IOException {
      String json = render(stats, labelMap, settingsJson, context.sideInput(rejectedByReason),
          context.sideInput(shards));
      Storage.writeString(Storage.join(outputDir, FILE_NAME), json, "application/json");
    }
  }

  /** The dataset.json document. */
  static String render(DatasetStatistics stats, LabelMap labelMap, String settingsJson,
      Map<String, Long> rejectedByReason, Map<String, Iterable<String>> shards) throws IOException {
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = json.createObjectNode();
    root.put("format", FORMAT);
    root.put("exampleSchema", "deeplab");
    ObjectNode keys = root.putObject("exampleKeys");
    keys.put("image", DeepLabExample.IMAGE_ENCODED);
    keys.put("imageFormat", DeepLabExample.IMAGE_FORMAT);
    keys.put("height", DeepLabExample.IMAGE_HEIGHT);
    keys.put("width", DeepLabExample.IMAGE_WIDTH);
    keys.put("channels", DeepLabExample.IMAGE_CHANNELS);
    keys.put("filename", DeepLabExample.IMAGE_FILENAME);
    keys.put("label", DeepLabExample.LABEL_ENCODED);
    keys.put("labelFormat", DeepLabExample.LABEL_FORMAT);
    ObjectNode described = LabelMaps.describe(labelMap);
    root.put("numClasses", labelMap.numClasses());
    root.put("ignoreValue", labelMap.ignoreValue());
    root.set("classes", described.get("classes"));
    ObjectNode lm = root.putObject("labelMap");
    lm.put("name", labelMap.name());
    lm.set("spec", described.get("spec"));

    long written = stats.totalExamples();
    long rejected = rejectedByReason.values().stream().mapToLong(Long::longValue).sum();
    ObjectNode counts = root.putObject("counts");
    counts.put("inputs", written + rejected);
    counts.put("written", written);
    counts.put("rejected", rejected);
    ObjectNode reasons = counts.putObject("rejectedByReason");
    new TreeMap<>(rejectedByReason).forEach(reasons::put);

    ObjectNode statsNode = stats.toJson(json, labelMap);
    statsNode.fields().forEachRemaining(e -> root.set(e.getKey(), e.getValue()));

    ObjectNode shardsNode = root.putObject("shards");
    new TreeMap<>(shards).forEach((split, files) -> {
      List<String> names = new ArrayList<>();
      files.forEach(f -> names.add(Storage.fileName(f)));
      names.sort(null);
      ArrayNode arr = shardsNode.putArray(split);
      names.forEach(arr::add);
    });
    JsonNode settings = json.readTree(settingsJson);
    root.set("preprocessing", settings);
    return json.writeValueAsString(root) + "\n";
  }
}
