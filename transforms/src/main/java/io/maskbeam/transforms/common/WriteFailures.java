package io.maskbeam.transforms.common;

import io.maskbeam.core.Failure;
import io.maskbeam.transforms.io.Storage;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.io.WriteFilesResult;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.Values;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.PInput;
import org.apache.beam.sdk.values.POutput;
import org.apache.beam.sdk.values.PValue;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * The dead-letter output of every stage: one JSON line per {@link Failure} under {@code <directory>/<prefix>-*.jsonl}.
 * Returns what it wrote (the file names, the number of failures and the count per reason) so that a summary can
 * wait for the failures to be final and report them, instead of each stage counting reasons its own way.
 *
 * <pre>{@code
 * WriteFailures.Result written = failures.apply(WriteFailures.to(output + "/errors").withPrefix(runId));
 * }</pre>
 */
public final class WriteFailures extends PTransform<PCollection<Failure>, WriteFailures.Result> {
  private final String directory;
  private final String prefix;
  private final int shards;

  private WriteFailures(String directory, String prefix, int shards) {
    this.directory = directory;
    this.prefix = prefix;
    this.shards = shards;
  }

  /** Failures into a folder, as {@code failures-*.jsonl} in one file (written even when empty). */
  public static WriteFailures to(String directory) {
    return new WriteFailures(directory, "failures", 1);
  }

  /** Names the files {@code <prefix>-*.jsonl} (a run id keeps runs apart in one folder). */
  public WriteFailures withPrefix(String filePrefix) {
    return new WriteFailures(directory, filePrefix, shards);
  }

  /** Spreads the lines over this many files; 0 lets the runner choose (none may be written when nothing failed). */
  public WriteFailures withNumShards(int numShards) {
    return new WriteFailures(directory, prefix, numShards);
  }

  @Override
  public Result expand(PCollection<Failure> failures) {
    TextIO.Write write = TextIO.write().to(Storage.join(directory, prefix)).withSuffix(".jsonl");
    if (shards > 0) {
      write = write.withNumShards(shards);
    }
    WriteFilesResult<Void> files = failures
        .apply("ToJsonLines", MapElements.into(TypeDescriptors.strings()).via(Failure::toJsonLine))
        .apply("WriteJsonLines", write.withOutputFilenames());
    PCollectionView<Long> count = failures
        .apply("CountFailures", Count.globally())
        .apply("CountView", View.asSingleton());
    PCollectionView<Map<String, Long>> byReason = failures
        .apply("Reasons", MapElements.into(TypeDescriptors.strings()).via(f -> f.reason().name()))
        .apply("CountReasons", Count.perElement())
        .apply("ReasonsView", View.asMap());
    PCollection<String> names = files.getPerDestinationOutputFilenames().apply("FileNames", Values.create());
    return new Result(failures.getPipeline(), names, count, byReason);
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("directory", directory).withLabel("Failure records folder"))
        .add(DisplayData.item("prefix", prefix).withLabel("File prefix"))
        .add(DisplayData.item("shards", shards).withLabel("Files (0: runner chooses)"));
  }

  /** What {@link WriteFailures} wrote. */
  public static final class Result implements POutput {
    private static final TupleTag<String> FILES = new TupleTag<>("files") {};
    private final Pipeline pipeline;
    private final PCollection<String> files;
    private final PCollectionView<Long> count;
    private final PCollectionView<Map<String, Long>> countByReason;

    Result(Pipeline pipeline, PCollection<String> files, PCollectionView<Long> count,
        PCollectionView<Map<String, Long>> countByReason) {
      this.pipeline = pipeline;
      this.files = files;
      this.count = count;
      this.countByReason = countByReason;
    }

    /** The names of the files written; final once the writes are. */
    public PCollection<String> files() {
      return files;
    }

    /** How many failures there were. */
    public PCollectionView<Long> count() {
      return count;
    }

    /** Failures per reason code (reasons with none are absent). */
    public PCollectionView<Map<String, Long>> countByReason() {
      return countByReason;
    }

    @Override
    public Pipeline getPipeline() {
      return pipeline;
    }

    @Override
    public Map<TupleTag<?>, PValue> expand() {
      return Map.of(FILES, files, new TupleTag<Long>("count") {}, count,
          new TupleTag<Map<String, Long>>("countByReason") {}, countByReason);
    }

    @Override
    public void finishSpecifyingOutput(String transformName, PInput input,
        PTransform<?, ?> transform) {}
  }
}
