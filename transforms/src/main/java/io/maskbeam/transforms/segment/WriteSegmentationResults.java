package io.maskbeam.transforms.segment;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.io.WriteFilesResult;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * Writes a segment run's records: {@code stats/<run>-*.jsonl} (one line per segmented image),
 * {@code errors/<run>-*.jsonl} (one line per failed input), and, once both are final, {@code summary.json} and
 * {@code summary.csv}.
 *
 * <p>The summary describes every image whose outputs are under the prefix: this run's statistics together with
 * those of earlier runs listed in {@code previousStatsFiles} (which is how {@code --skipExisting} reruns keep
 * complete totals), keeping the newest entry per output key. Its {@code run} section reconciles this run's counts:
 * matched = segmented + skipped + failed.
 */
public final class WriteSegmentationResults extends PTransform<PCollection<ImageStats>, PDone> {
  public static final String SUMMARY_JSON = "summary.json";
  public static final String SUMMARY_CSV = "summary.csv";

  private final SegmentationSettings settings;
  private final List<LabelClass> classes;
  private final List<String> previousStatsFiles;
  private final PCollection<SegmentError> errors;
  private final PCollection<String> skipped;
  private final PCollection<String> matched;
  private final String settingsJson;

  /**
   * @param matched one element per input (listed file or manifest line), whatever became of it
   * @param errors every failed input, listing errors included
   */
  public WriteSegmentationResults(SegmentationSettings settings, List<LabelClass> classes,
      List<String> previousStatsFiles, PCollection<String> matched, PCollection<SegmentError> errors,
      PCollection<String> skipped, String settingsJson) {
    this.settings = settings;
    this.classes = List.copyOf(classes);
    this.previousStatsFiles = List.copyOf(previousStatsFiles);
    this.matched = matched;
    this.errors = errors;
    this.skipped = skipped;
    this.settingsJson = settingsJson;
  }

  @Override
  public PDone expand(PCollection<ImageStats> stats) {
    List<String> names = classes.stream().map(LabelClass::name).toList();
    String output = settings.output();
    WriteFilesResult<Void> statsFiles = stats
        .apply("StatsToJson", MapElements.into(TypeDescriptors.strings()).via(s -> s.toJsonLine(names)))
        .apply("WriteStats", TextIO.write()
            .to(Storage.join(output, SegmentationSettings.STATS + "/" + settings.run())).withSuffix(".jsonl")
            .withOutputFilenames());
    WriteFilesResult<Void> errorFiles = errors
        .apply("ErrorsToJson", MapElements.into(TypeDescriptors.strings()).via(SegmentError::toJsonLine))
        .apply("WriteErrors", TextIO.write()
            .to(Storage.join(output, SegmentationSettings.ERRORS + "/" + settings.run())).withSuffix(".jsonl")
            .withOutputFilenames());

    PCollectionList<ImageStats> all = PCollectionList.of(stats);
    if (!previousStatsFiles.isEmpty()) {
      all = all.and(stats.getPipeline()
          .apply("PreviousStatsFiles", Create.of(previousStatsFiles))
          .apply("MatchPrevious", FileIO.matchAll())
          .apply("OpenPrevious", FileIO.readMatches())
          .apply("ReadPrevious", TextIO.readFiles())
          .apply("ParsePrevious", MapElements.into(TypeDescriptor.of(ImageStats.class))
              .via(line -> ImageStats.fromJsonLine(line, names))));
    }
    PCollection<CollectionSummary> summary = all
        .apply("AllStats", Flatten.pCollections())
        // Newest entry per image, found within a bounded number of hash buckets: a per-image GroupByKey costs the
        // DirectRunner bookkeeping per key (minutes at a few thousand images).
        .apply("ByBucket", WithKeys.<Integer, ImageStats>of(st -> Math.floorMod(st.key().hashCode(), BUCKETS))
            .withKeyType(TypeDescriptors.integers()))
        .apply("GroupBuckets", GroupByKey.create())
        .apply("NewestPerKey", ParDo.of(new NewestFn()))
        .apply("Summarize", Combine.globally(new CollectionSummary.CombineFn(classes.size())));

    PCollectionView<Long> matchedCount = countView("Matched", matched);
    PCollectionView<Long> failedCount = countView("Failed", errors);
    PCollectionView<Long> skippedCount = countView("Skipped", skipped);
    PCollectionView<Long> segmentedCount = countView("Segmented", stats);
    PCollectionView<Map<String, Long>> failedByReason = errors
        .apply("Reasons", MapElements.into(TypeDescriptors.strings()).via(SegmentError::reason))
        .apply("CountReasons", Count.perElement())
        .apply("ReasonsView", View.asMap());
    PCollectionView<Long> statsWritten = countView("StatsFiles", statsFiles.getPerDestinationOutputFilenames());
    PCollectionView<Long> errorsWritten = countView("ErrorFiles", errorFiles.getPerDestinationOutputFilenames());
    summary.apply("WriteSummary", ParDo.of(new WriteSummaryFn(settings, classes, settingsJson, matchedCount,
            failedCount, skippedCount, segmentedCount, failedByReason, statsWritten, errorsWritten))
        .withSideInputs(matchedCount, failedCount, skippedCount, segmentedCount, failedByReason, statsWritten,
            errorsWritten));
    return PDone.in(stats.getPipeline());
  }

  private static <T> PCollectionView<Long> countView(String name, PCollection<T> values) {
    return values.apply("Count" + name, Count.<T>globally()).apply(name + "View", View.asSingleton());
  }

  static final int BUCKETS = 64;

  /** The newest statistics of each key in a bucket: the latest run; within a run, the first input by URI. */
  static final class NewestFn extends DoFn<KV<Integer, Iterable<ImageStats>>, ImageStats> {
    @ProcessElement
    public void process(@Element KV<Integer, Iterable<ImageStats>> bucket, OutputReceiver<ImageStats> out) {
      Map<String, ImageStats> newest = new java.util.HashMap<>();
      for (ImageStats s : bucket.getValue()) {
        newest.merge(s.key(), s, (a, b) -> b.run().compareTo(a.run()) > 0
            || (b.run().equals(a.run()) && b.input().compareTo(a.input()) < 0) ? b : a);
      }
      newest.values().forEach(out::output);
    }
  }

  static final class WriteSummaryFn extends DoFn<CollectionSummary, Void> {
    private final SegmentationSettings settings;
    private final List<LabelClass> classes;
    private final String settingsJson;
    private final PCollectionView<Long> matched;
    private final PCollectionView<Long> failed;
    private final PCollectionView<Long> skipped;
    private final PCollectionView<Long> segmented;
    private final PCollectionView<Map<String, Long>> failedByReason;
    private final PCollectionView<Long> statsFiles;
    private final PCollectionView<Long> errorFiles;

    WriteSummaryFn(SegmentationSettings settings, List<LabelClass> classes, String settingsJson,
        PCollectionView<Long> matched, PCollectionView<Long> failed, PCollectionView<Long> skipped,
        PCollectionView<Long> segmented, PCollectionView<Map<String, Long>> failedByReason,
        PCollectionView<Long> statsFiles, PCollectionView<Long> errorFiles) {
      this.settings = settings;
      this.classes = classes;
      this.settingsJson = settingsJson;
      this.matched = matched;
      this.failed = failed;
      this.skipped = skipped;
      this.segmented = segmented;
      this.failedByReason = failedByReason;
      this.statsFiles = statsFiles;
      this.errorFiles = errorFiles;
    }

    @ProcessElement
    public void process(@Element CollectionSummary s, ProcessContext context) throws IOException {
      ObjectMapper json = new ObjectMapper();
      ObjectNode root = json.createObjectNode();
      root.put("format", "maskbeam-segment-summary/1");
      root.put("model", settings.model());
      root.put("output", settings.output());
      ObjectNode run = root.putObject("run");
      run.put("id", settings.run());
      run.put("matched", context.sideInput(matched));
      run.put("segmented", context.sideInput(segmented));
      run.put("skipped", context.sideInput(skipped));
      run.put("failed", context.sideInput(failed));
      ObjectNode reasons = run.putObject("failedByReason");
      new TreeMap<>(context.sideInput(failedByReason)).forEach(reasons::put);
      run.put("statsFiles", context.sideInput(statsFiles));
      run.put("errorFiles", context.sideInput(errorFiles));
      run.set("settings", json.readTree(settingsJson));
      ObjectNode totals = root.putObject("collection");
      totals.put("images", s.images());
      totals.put("pixels", s.pixels());
      ArrayNode perClass = root.putArray("classes");
      StringBuilder csv = new StringBuilder(
          "class_id,class_name,color,pixels,pixel_fraction,images_with_class,mean_image_fraction\n");
      for (int c = 0; c < classes.size(); c++) {
        LabelClass lc = classes.get(c);
        double fraction = s.pixels() == 0 ? 0 : (double) s.classPixels(c) / s.pixels();
        ObjectNode n = perClass.addObject();
        n.put("id", c);
        n.put("name", lc.name());
        n.put("color", lc.hexColor());
        n.put("pixels", s.classPixels(c));
        n.put("pixelFraction", fraction);
        n.put("imagesWithClass", s.imagesWithClass(c));
        n.put("meanImageFraction", s.meanImageFraction(c));
        csv.append(String.format(Locale.ROOT, "%d,%s,%s,%d,%.8f,%d,%.8f%n", c, csvField(lc.name()), lc.hexColor(),
            s.classPixels(c), fraction, s.imagesWithClass(c), s.meanImageFraction(c)));
      }
      Storage.writeString(Storage.join(settings.output(), SUMMARY_CSV), csv.toString(), "text/csv");
      // Written last: a summary.json under the prefix means a finished run.
      Storage.writeString(Storage.join(settings.output(), SUMMARY_JSON),
          json.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root) + "\n", "application/json");
    }

    private static String csvField(String s) {
      return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
  }
}
