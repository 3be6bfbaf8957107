package io.maskbeam.transforms.segment;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.core.Failure;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.transforms.common.LatestPerKey;
import io.maskbeam.transforms.common.WriteFailures;
import io.maskbeam.transforms.io.Storage;
import io.maskbeam.transforms.model.ModelReference;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.io.WriteFilesResult;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Filter;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.Mean;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Top;
import org.apache.beam.sdk.transforms.Values;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * Writes a segment run's records: {@code stats/<run>-*.jsonl} (one line per segmented image),
 * {@code errors/<run>-*.jsonl} (one {@link Failure} per failed input), and, once both are final,
 * {@code summary.json} and {@code summary.csv}. Its input is a {@link PCollectionTuple} of the run's
 * {@link #STATS}, {@link #FAILURES}, {@link #SKIPPED} keys and {@link #MATCHED} inputs; its output is the URI of the
 * summary once written, so later steps can {@code Wait.on} it.
 *
 * <pre>{@code
 * PCollection<String> summary = PCollectionTuple.of(STATS, stats).and(FAILURES, failures)
 *     .and(SKIPPED, skipped).and(MATCHED, matched)
 *     .apply(WriteSegmentationResults.to(outputs, model).withPreviousStats(files).withSettings(json));
 * }</pre>
 *
 * <p>The summary describes every image whose outputs are under the prefix: this run's statistics together with
 * those of earlier runs in {@code previousStatsFiles} (which is how {@code --skipExisting} and incremental reruns keep
 * complete totals), keeping the newest entry per output key ({@link LatestPerKey}). Its {@code run} section
 * reconciles this run's counts: matched = segmented + skipped + failed.
 */
public final class WriteSegmentationResults extends PTransform<PCollectionTuple, PCollection<String>> {
  public static final String SUMMARY_JSON = "summary.json";
  public static final String SUMMARY_CSV = "summary.csv";
  public static final TupleTag<ImageStats> STATS = new TupleTag<>() {};
  public static final TupleTag<Failure> FAILURES = new TupleTag<>() {};
  public static final TupleTag<String> SKIPPED = new TupleTag<>() {};
  /** One element per input (listed file, link problem or manifest line), whatever became of it. */
  public static final TupleTag<String> MATCHED = new TupleTag<>() {};

  private final SegmentOutputs outputs;
  private final ModelReference model;
  private final List<String> previousStatsFiles;
  private final String settingsJson;

  private WriteSegmentationResults(SegmentOutputs outputs, ModelReference model, List<String> previousStatsFiles,
      String settingsJson) {
    this.outputs = outputs;
    this.model = model;
    this.previousStatsFiles = List.copyOf(previousStatsFiles);
    this.settingsJson = settingsJson;
  }

  public static WriteSegmentationResults to(SegmentOutputs outputs, ModelReference model) {
    return new WriteSegmentationResults(outputs, model, List.of(), "{}");
  }

  /** Earlier runs' stats files, whose images the summary also covers (the newest entry per key wins). */
  public WriteSegmentationResults withPreviousStats(List<String> files) {
    return new WriteSegmentationResults(outputs, model, files, settingsJson);
  }

  /** The run's settings as JSON, recorded in the summary. */
  public WriteSegmentationResults withSettings(String json) {
    return new WriteSegmentationResults(outputs, model, previousStatsFiles, json);
  }

  /** Newest run first; within a run, the first input by URI (so reruns give the same summary). */
  static final class Newest implements LatestPerKey.Order<ImageStats> {
    @Override
    public int compare(ImageStats a, ImageStats b) {
      int byRun = a.run().compareTo(b.run());
      return byRun != 0 ? byRun : b.input().compareTo(a.input());
    }
  }

  @Override
  public PCollection<String> expand(PCollectionTuple in) {
    PCollection<ImageStats> stats = in.get(STATS);
    PCollection<Failure> failures = in.get(FAILURES);
    List<LabelClass> classes = model.metadata().classes();
    List<String> names = classes.stream().map(LabelClass::name).toList();
    String output = outputs.output();
    WriteFilesResult<Void> statsFiles = stats
        .apply("StatsToJson", MapElements.into(TypeDescriptors.strings()).via(s -> s.toJsonLine(names)))
        .apply("WriteStats", TextIO.write()
            .to(Storage.join(output, SegmentOutputs.STATS + "/" + outputs.run())).withSuffix(".jsonl")
            .withOutputFilenames());
    WriteFailures.Result written = failures.apply("WriteErrors",
        WriteFailures.to(Storage.join(output, SegmentOutputs.ERRORS)).withPrefix(outputs.run()));

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
    PCollection<ImageStats> latest = all
        .apply("AllStats", Flatten.pCollections())
        .apply("ByKey", WithKeys.<String, ImageStats>of(ImageStats::key).withKeyType(TypeDescriptors.strings()))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), ImageStats.Coder.of()))
        .apply("NewestPerKey", LatestPerKey.by(new Newest()))
        .apply("Values", Values.create());
    PCollection<CollectionSummary> summary = latest
        .apply("Summarize", Combine.globally(new CollectionSummary.CombineFn(classes.size())));
    // The least confident images of the whole collection (this run's and earlier runs' newest statistics).
    PCollection<ImageStats> withConfidence = latest.apply("WithConfidence", Filter.by(s -> s.confidence() != null));
    PCollectionView<List<ImageStats>> uncertain = withConfidence
        .apply("LeastConfident", Top.of(Math.max(1, outputs.uncertainCount()), new MoreConfident()))
        .apply("LeastConfidentView", View.asSingleton());
    // A sample for the report: the images whose keys hash lowest, the same ones on every rerun.
    PCollectionView<List<ImageStats>> sample = latest
        .apply("Sample", Top.of(REPORT_SAMPLE, new ByKeyHash()))
        .apply("SampleView", View.asSingleton());
    PCollectionView<Double> meanConfidence = withConfidence
        .apply("MaxProbability", MapElements.into(TypeDescriptors.doubles())
            .via(s -> s.confidence().meanMaxProbability()))
        .apply("MeanMaxProbability", Combine.globally(Mean.<Double>of()))
        .apply("MeanConfidenceView", View.asSingleton());

    PCollectionView<Long> matchedCount = countView("Matched", in.get(MATCHED));
    PCollectionView<Long> skippedCount = countView("Skipped", in.get(SKIPPED));
    PCollectionView<Long> segmentedCount = countView("Segmented", stats);
    PCollectionView<Long> statsWritten = countView("StatsFiles", statsFiles.getPerDestinationOutputFilenames());
    PCollectionView<Long> errorsWritten = countView("ErrorFiles", written.files());
    return summary.apply("WriteSummary", ParDo.of(new WriteSummaryFn(outputs, model, settingsJson, matchedCount,
            skippedCount, segmentedCount, written.countByReason(), statsWritten, errorsWritten, uncertain,
            meanConfidence, sample))
        .withSideInputs(matchedCount, skippedCount, segmentedCount, written.countByReason(), statsWritten,
            errorsWritten, uncertain, meanConfidence, sample));
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("output", outputs.output()).withLabel("Output prefix"))
        .add(DisplayData.item("run", outputs.run()).withLabel("Run"))
        .add(DisplayData.item("previousRuns", previousStatsFiles.size()).withLabel("Earlier stats files"));
  }

  private static <T> PCollectionView<Long> countView(String name, PCollection<T> values) {
    return values.apply("Count" + name, Count.<T>globally()).apply(name + "View", View.asSingleton());
  }

  /**
   * Orders by confidence, so that {@code Top} (which keeps the largest) keeps the least confident: a lower mean top
   * probability is "larger"; ties by key, so reruns list the same images.
   */
  static final class MoreConfident implements java.util.Comparator<ImageStats>, java.io.Serializable {
    @Override
    public int compare(ImageStats a, ImageStats b) {
      int c = Double.compare(b.confidence().meanMaxProbability(), a.confidence().meanMaxProbability());
      return c != 0 ? c : b.key().compareTo(a.key());
    }
  }

  /** Orders by a hash of the key, so {@code Top} picks a spread-out sample that reruns pick again. */
  static final class ByKeyHash implements java.util.Comparator<ImageStats>, java.io.Serializable {
    @Override
    public int compare(ImageStats a, ImageStats b) {
      int c = Long.compare(mix(b.key()), mix(a.key()));
      return c != 0 ? c : b.key().compareTo(a.key());
    }

    private static long mix(String key) {
      long h = key.hashCode() * 0x9E3779B97F4A7C15L;
      return h ^ (h >>> 29);
    }
  }

  static final int REPORT_SAMPLE = 8;
  static final int REPORT_LEAST_CONFIDENT = 8;

  /** Writes summary.json and summary.csv from the combined statistics and the run's counts. */
  static final class WriteSummaryFn extends DoFn<CollectionSummary, String> {
    private final SegmentOutputs outputs;
    private final ModelReference model;
    private final String settingsJson;
    private final PCollectionView<Long> matched;
    private final PCollectionView<Long> skipped;
    private final PCollectionView<Long> segmented;
    private final PCollectionView<Map<String, Long>> failedByReason;
    private final PCollectionView<Long> statsFiles;
    private final PCollectionView<Long> errorFiles;
    private final PCollectionView<List<ImageStats>> uncertain;
    private final PCollectionView<Double> meanConfidence;
    private final PCollectionView<List<ImageStats>> sample;

    WriteSummaryFn(SegmentOutputs outputs, ModelReference model, String settingsJson,
        PCollectionView<Long> matched, PCollectionView<Long> skipped,
        PCollectionView<Long> segmented, PCollectionView<Map<String, Long>> failedByReason,
        PCollectionView<Long> statsFiles, PCollectionView<Long> errorFiles,
        PCollectionView<List<ImageStats>> uncertain, PCollectionView<Double> meanConfidence,
        PCollectionView<List<ImageStats>> sample) {
      this.sample = sample;
      this.uncertain = uncertain;
      this.meanConfidence = meanConfidence;
      this.outputs = outputs;
      this.model = model;
      this.settingsJson = settingsJson;
      this.matched = matched;
      this.skipped = skipped;
      this.segmented = segmented;
      this.failedByReason = failedByReason;
      this.statsFiles = statsFiles;
      this.errorFiles = errorFiles;
    }

    @ProcessElement
    public void process(@Element CollectionSummary s, ProcessContext context) throws IOException {
      List<LabelClass> classes = model.metadata().classes();
      ObjectMapper json = new ObjectMapper();
      ObjectNode root = json.createObjectNode();
      root.put("format", "maskbeam-segment-summary/1");
      root.put("model", model.uri());
      root.put("modelVersion", model.fingerprint());
      root.put("modelFormat", model.format().label());
      root.put("output", outputs.output());
      ObjectNode run = root.putObject("run");
      run.put("id", outputs.run());
      run.put("matched", context.sideInput(matched));
      run.put("segmented", context.sideInput(segmented));
      run.put("skipped", context.sideInput(skipped));
      Map<String, Long> byReason = new TreeMap<>(context.sideInput(failedByReason));
      run.put("failed", byReason.values().stream().mapToLong(Long::longValue).sum());
      ObjectNode reasons = run.putObject("failedByReason");
      byReason.forEach(reasons::put);
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
      Storage.writeString(Storage.join(outputs.output(), SUMMARY_CSV), csv.toString(), "text/csv");
      List<ImageStats> least = context.sideInput(uncertain);
      if (outputs.confidence() && outputs.uncertainCount() > 0) {
        // Least confident first: the images a labelling team should look at next.
        StringBuilder u = new StringBuilder("rank,key,input,mean_max_probability,mean_entropy,"
            + "low_confidence_fraction\n");
        for (int i = 0; i < Math.min(least.size(), outputs.uncertainCount()); i++) {
          ImageStats st = least.get(i);
          u.append(String.format(Locale.ROOT, "%d,%s,%s,%.6f,%.6f,%.6f%n", i + 1, csvField(st.key()),
              csvField(st.input()), st.confidence().meanMaxProbability(), st.confidence().meanEntropy(),
              st.confidence().lowConfidenceFraction()));
        }
        Storage.writeString(Storage.join(outputs.output(), SegmentOutputs.UNCERTAIN_CSV), u.toString(), "text/csv");
        ObjectNode conf = root.putObject("confidence");
        double mean = context.sideInput(meanConfidence);
        if (Double.isNaN(mean)) {
          conf.putNull("meanMaxProbability");
        } else {
          conf.put("meanMaxProbability", mean);
        }
        conf.put("threshold", outputs.confidenceThreshold());
        conf.put("uncertainCsv", Storage.join(outputs.output(), SegmentOutputs.UNCERTAIN_CSV));
      }
      List<ImageStats> reportLeast = outputs.confidence()
          ? least.subList(0, Math.min(least.size(), REPORT_LEAST_CONFIDENT)) : List.of();
      List<ImageStats> sampled = new java.util.ArrayList<>(context.sideInput(sample));
      sampled.sort(java.util.Comparator.comparing(ImageStats::key));
      SegmentReport.write(outputs, root, classes, reportLeast, sampled);
      // Written last: a summary.json under the prefix means a finished run.
      String summaryUri = Storage.join(outputs.output(), SUMMARY_JSON);
      Storage.writeString(summaryUri,
          json.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root) + "\n", "application/json");
      context.output(summaryUri);
    }

    private static String csvField(String s) {
      return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
  }
}
