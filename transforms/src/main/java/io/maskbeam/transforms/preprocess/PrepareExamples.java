package io.maskbeam.transforms.preprocess;

import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import io.maskbeam.dataset.ExamplePreparer;
import io.maskbeam.dataset.PreparedExample;
import io.maskbeam.dataset.RejectedInputException;
import io.maskbeam.transforms.common.FailureCoder;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads each pair from storage and turns it into a DeepLab tf.train.Example ({@link #EXAMPLES}), or a
 * {@link Failure} ({@link #REJECTED}) saying why not. Bad input never fails the bundle; storage faults are retried
 * by {@link Storage#readAll} before they become failures.
 *
 * <pre>{@code
 * PCollectionTuple prepared = pairs.apply(PrepareExamples.with(preparer));
 * }</pre>
 */
public final class PrepareExamples extends PTransform<PCollection<SampleRef>, PCollectionTuple> {
  public static final TupleTag<ExampleRecord> EXAMPLES = new TupleTag<>() {};
  public static final TupleTag<Failure> REJECTED = new TupleTag<>() {};

  private final ExamplePreparer preparer;

  private PrepareExamples(ExamplePreparer preparer) {
    this.preparer = preparer;
  }

  public static PrepareExamples with(ExamplePreparer preparer) {
    return new PrepareExamples(preparer);
  }

  @Override
  public PCollectionTuple expand(PCollection<SampleRef> pairs) {
    PCollectionTuple out = pairs.apply("Prepare", ParDo.of(new PrepareFn(preparer))
        .withOutputTags(EXAMPLES, TupleTagList.of(REJECTED)));
    out.get(REJECTED).setCoder(FailureCoder.of());
    return out;
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("labelMap", preparer.labelMap().name()).withLabel("Label map"));
  }

  static final class PrepareFn extends DoFn<SampleRef, ExampleRecord> {
    private static final Logger LOG = LoggerFactory.getLogger(PrepareFn.class);
    private final ExamplePreparer preparer;
    private final Counter written = counter(PreprocessMetrics.EXAMPLES_WRITTEN);
    private final Counter allIgnore = counter(PreprocessMetrics.EXAMPLES_ALL_IGNORE);
    private final Counter rejected = counter(PreprocessMetrics.PAIRS_REJECTED);
    private final Counter bytesRead = counter(PreprocessMetrics.BYTES_READ);
    private final Counter unknownPixels = counter(PreprocessMetrics.UNKNOWN_LABEL_PIXELS);
    private final Distribution exampleBytes =
        Metrics.distribution(PreprocessMetrics.NAMESPACE, PreprocessMetrics.EXAMPLE_BYTES);

    PrepareFn(ExamplePreparer preparer) {
      this.preparer = preparer;
    }

    private static Counter counter(String name) {
      return Metrics.counter(PreprocessMetrics.NAMESPACE, name);
    }

    @ProcessElement
    public void process(@Element SampleRef ref, MultiOutputReceiver out) {
      try {
        byte[] image = read(ref.imageUri(), FailureReason.MISSING_IMAGE, "image");
        PreparedExample p;
        if (ref.annotation() == null) {
          p = preparer.prepare(ref.id(), image, read(ref.maskUri(), FailureReason.MISSING_MASK, "mask"));
        } else {
          p = preparer.prepareAnnotated(ref.id(), image,
              CarriedAnnotation.resolve(ref.annotation(), ref.maskUri(), preparer, FailureReason.MISSING_MASK));
        }
        written.inc();
        if (p.allIgnore()) {
          allIgnore.inc();
          LOG.warn("example {} is written, but every pixel of its mask is the ignore value: it teaches nothing",
              ref.id());
        }
        exampleBytes.update(p.example().length);
        unknownPixels.inc(p.unknownPixels());
        out.get(EXAMPLES).output(new ExampleRecord(ref.id(), ref.split(), p.example(), new ExampleSummary(
            ref.split(), p.sourceWidth(), p.sourceHeight(), p.width(), p.height(), p.classPixels(), p.ignorePixels(),
            p.unknownPixels(), p.imageReencoded(), p.example().length)));
      } catch (RejectedInputException e) {
        rejected.inc();
        Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.rejected(e.reason())).inc();
        Failure f = new Failure(Stage.PREPROCESS, ref.id(), ref.imageUri(), ref.files(), e.reason(), e.getMessage(),
            null);
        out.get(REJECTED).output(e.getCause() == null ? f : f.withException(e.getCause()));
      }
    }

    private byte[] read(String uri, FailureReason missing, String what) throws RejectedInputException {
      try {
        byte[] bytes = Storage.readAll(uri);
        bytesRead.inc(bytes.length);
        return bytes;
      } catch (IOException e) {
        throw new RejectedInputException(Storage.reasonFor(e, missing), what + ": " + e.getMessage(), e);
      }
    }
  }
}
