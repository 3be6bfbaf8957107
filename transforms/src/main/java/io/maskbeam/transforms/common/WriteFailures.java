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
 * Returns what it wrote (the file names and the count per reason) so that a summary can
 * wait for the failures to be final and report them, instead of each stage counting reasons its own way.
 *
 * <pre>{@code
 * WriteFailures.Result written = failures.apply(WriteFailures.to(output + "/errors").withPrefix(runId));
 * }</pre>
 */
public final class WriteFailures extends PTransform<PCollection<Failure>, WriteFailures.Result> {
  private final String directory;
  private final String prefix;

  private WriteFailures(String directory, String prefix) {
    this.directory = directory;
    this.prefix = prefix;
  }

  /** Failures into a folder, as {@code failures-*.jsonl} in one file (written even when empty). */
  public static WriteFailures to(String directory) {
    return new WriteFailures(directory, "failures");
  }

  /** Names the files {@code <prefix>-*.jsonl} (a run id keeps runs apart in one folder). */
  public WriteFailures withPrefix(String filePrefix) {
    return new WriteFailures(directory, filePrefix);
  }

  @Override
  public Result expand(PCollection<Failure> failures) {
    // One file, written even when nothing failed, so every run leaves its (possibly empty) record.
    TextIO.Write write = TextIO.write().to(Storage.join(directory, prefix)).withSuffix(".jsonl").withNumShards(1);
    WriteFilesResult<Void> files = failures
        .apply("ToJsonLines", MapElements.into(TypeDescriptors.strings()).via(Failure::toJsonLine))
        .apply("WriteJsonLines", write.withOutputFilenames());
    PCollectionView<Map<String, Long>> byReason = failures
        .apply("Reasons", MapElements.into(TypeDescriptors.strings()).via(f -> f.reason().name()))
        .apply("CountReasons", Count.perElement())
        .apply("ReasonsView", View.asMap());
    PCollection<String> names = files.getPerDestinationOutputFilenames().apply("FileNames", Values.create());
    return new Result(failures.getPipeline(), names, byReason);
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("directory", directory).withLabel("Failure records folder"))
        .add(DisplayData.item("prefix", prefix).withLabel("File prefix"));
  }

  /** What {@link WriteFailures} wrote. */
  public static final class Result implements POutput {
    private static final TupleTag<String> FILES = new TupleTag<>("files") {};
    private static final TupleTag<Map<String, Long>> COUNT_BY_REASON = new TupleTag<>("countByReason") {};
    private final Pipeline pipeline;
    private final PCollection<String> files;
    private final PCollectionView<Map<String, Long>> countByReason;

    Result(Pipeline pipeline, PCollection<String> files, PCollectionView<Map<String, Long>> countByReason) {
      this.pipeline = pipeline;
      this.files = files;
      this.countByReason = countByReason;
    }

    /** The names of the files written; final once the writes are. */
    public PCollection<String> files() {
      return files;
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
      return Map.of(FILES, files, COUNT_BY_REASON, countByReason);
    }

    @Override
    public void finishSpecifyingOutput(String transformName, PInput input,
        PTransform<?, ?> transform) {}
  }
}
