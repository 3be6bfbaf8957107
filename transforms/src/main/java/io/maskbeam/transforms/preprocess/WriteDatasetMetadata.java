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
import io.maskbeam.transforms.common.WriteFailures;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TupleTag;

/**
 * Writes {@code dataset.json}: classes and label map, counts that reconcile (inputs = written + rejected),
 * per-split class pixel histograms, size histograms, median-frequency class weights, the shard files per split, and
 * the preprocessing settings. Its input is a {@link PCollectionTuple} of the {@link #STATISTICS} and the
 * {@link #SHARDS} written; the rejections come as the {@link WriteFailures.Result} of the dead-letter writer. It runs
 * after the shards are final (their names are a side input), so a dataset.json on storage means a complete
 * dataset; it returns the file's URI once written.
 */
public final class WriteDatasetMetadata extends PTransform<PCollectionTuple, PCollection<String>> {
  public static final String FILE_NAME = "dataset.json";
  public static final String FORMAT = "maskbeam-dataset/1";
  public static final TupleTag<DatasetStatistics> STATISTICS = new TupleTag<>() {};
  /** (split, full shard path) pairs, from {@link WriteTfRecordShards}. */
  public static final TupleTag<KV<String, String>> SHARDS = new TupleTag<>() {};

  private final String outputDir;
  private final LabelMap labelMap;
  private final String settingsJson;
  private final WriteFailures.Result rejections;

  private WriteDatasetMetadata(String outputDir, LabelMap labelMap, String settingsJson,
      WriteFailures.Result rejections) {
    this.outputDir = outputDir;
    this.labelMap = labelMap;
    this.settingsJson = settingsJson;
    this.rejections = rejections;
  }

  /**
   * @param settingsJson the preprocessing settings as a JSON object (recorded verbatim)
   * @param rejections what the dead-letter writer wrote (its counts by reason)
   */
  public static WriteDatasetMetadata to(String outputDir, LabelMap labelMap, String settingsJson,
      WriteFailures.Result rejections) {
    return new WriteDatasetMetadata(outputDir, labelMap, settingsJson, rejections);
  }

  @Override
  public PCollection<String> expand(PCollectionTuple in) {
    PCollectionView<Map<String, Long>> rejectedByReason = rejections.countByReason();
    PCollectionView<Map<String, Iterable<String>>> shards = in.get(SHARDS).apply("ShardsView", View.asMultimap());
    return in.get(STATISTICS).apply("WriteDatasetJson",
        ParDo.of(new WriteFn(outputDir, labelMap, settingsJson, rejectedByReason, shards))
            .withSideInputs(rejectedByReason, shards));
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("output", outputDir).withLabel("Dataset folder"))
        .add(DisplayData.item("labelMap", labelMap.name()).withLabel("Label map"));
  }

  static final class WriteFn extends DoFn<DatasetStatistics, String> {
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
      String uri = Storage.join(outputDir, FILE_NAME);
      Storage.writeString(uri, json, "application/json");
      context.output(uri);
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

    long written = stats.totalSources();
    long rejected = rejectedByReason.values().stream().mapToLong(Long::longValue).sum();
    ObjectNode counts = root.putObject("counts");
    counts.put("inputs", written + rejected);
    counts.put("written", written);
    counts.put("rejected", rejected);
    if (stats.totalExamples() != written || stats.totalNoDataChips() > 0) {
      // Rasters cut into chips: inputs reconcile as written + rejected; examples are the chips written.
      counts.put("examples", stats.totalExamples());
      counts.put("noDataChipsDropped", stats.totalNoDataChips());
    }
    counts.put("writtenAllIgnore", stats.allIgnoreExamples());
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
