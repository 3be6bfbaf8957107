package io.maskbeam.transforms.preprocess;

import io.maskbeam.transforms.io.Storage;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * The dead-letter output: one JSON line per rejected input under {@code <output>/rejected/}, written as a single
 * file (created empty when nothing was rejected, so its absence always means an unfinished job).
 */
public class WriteRejections extends PTransform<PCollection<Rejection>, PDone> {
  public static final String DIR = "rejected";

  private final String outputDir;

  public WriteRejections(String outputDir) {
    this.outputDir = outputDir;
  }

  @Override
  public PDone expand(PCollection<Rejection> rejections) {
    rejections
        .apply("ToJsonLines", MapElements.into(TypeDescriptors.strings()).via(Rejection::toJsonLine))
        .apply("WriteJsonLines", TextIO.write().to(Storage.join(outputDir, DIR + "/rejected"))
            .withSuffix(".jsonl").withNumShards(1));
    return PDone.in(rejections.getPipeline());
  }
}
