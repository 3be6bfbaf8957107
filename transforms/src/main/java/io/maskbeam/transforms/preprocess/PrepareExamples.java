package io.maskbeam.transforms.preprocess;

import io.maskbeam.dataset.ExamplePreparer;
import io.maskbeam.dataset.PreparedExample;
import io.maskbeam.dataset.RejectReason;
import io.maskbeam.dataset.RejectedInputException;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * Reads each pair from storage and turns it into a DeepLab tf.train.Example ({@link #EXAMPLES}), or a
 * {@link Rejection} ({@link #REJECTED}) saying why not. Bad input never fails the bundle; storage faults are
 * retried by {@link Storage#readAll} before they become rejections.
 */
public class PrepareExamples extends PTransform<PCollection<SampleRef>, PCollectionTuple> {
  public static final TupleTag<ExampleRecord> EXAMPLES = new TupleTag<>() {};
  public static final TupleTag<Rejection> REJECTED = new TupleTag<>() {};

  private final ExamplePreparer preparer;

  public PrepareExamples(ExamplePreparer preparer) {
    this.preparer = preparer;
  }

  @Override
  public PCollectionTuple expand(PCollection<SampleRef> pairs) {
    return pairs.apply("Prepare", ParDo.of(new PrepareFn(preparer))
        .withOutputTags(EXAMPLES, TupleTagList.of(REJECTED)));
  }

  static final class PrepareFn extends DoFn<SampleRef, ExampleRecord> {
    private final ExamplePreparer preparer;
    private final Counter written = Metrics.counter(MatchDatasetPairs.NAMESPACE, "examples_written");
    private final Counter rejected = Metrics.counter(MatchDatasetPairs.NAMESPACE, "pairs_rejected");
    private final Counter bytesRead = Metrics.counter(MatchDatasetPairs.NAMESPACE, "bytes_read");
    private final Counter unknownPixels = Metrics.counter(MatchDatasetPairs.NAMESPACE, "unknown_label_pixels");
    private final Distribution exampleBytes = Metrics.distribution(MatchDatasetPairs.NAMESPACE, "example_bytes");

    PrepareFn(ExamplePreparer preparer) {
      this.preparer = preparer;
    }

    @ProcessElement
    public void process(@Element SampleRef ref, MultiOutputReceiver out) {
      try {
        byte[] image = read(ref.imageUri(), RejectReason.MISSING_IMAGE, "image");
        byte[] mask = read(ref.maskUri(), RejectReason.MISSING_MASK, "mask");
        PreparedExample p = preparer.prepare(ref.id(), image, mask);
        written.inc();
        exampleBytes.update(p.example().length);
        unknownPixels.inc(p.unknownPixels());
        out.get(EXAMPLES).output(new ExampleRecord(ref.id(), ref.split(), p.example(), new ExampleSummary(
            ref.split(), p.sourceWidth(), p.sourceHeight(), p.width(), p.height(), p.classPixels(), p.ignorePixels(),
            p.unknownPixels(), p.imageReencoded(), p.example().length)));
      } catch (RejectedInputException e) {
        rejected.inc();
        Metrics.counter(MatchDatasetPairs.NAMESPACE, "rejected_" + e.reason().name()).inc();
        out.get(REJECTED).output(new Rejection(ref.id(), ref.imageUri(), ref.maskUri(), e.reason(), e.getMessage()));
      }
    }

    private byte[] read(String uri, RejectReason missing, String what) throws RejectedInputException {
      try {
        byte[] bytes = Storage.readAll(uri);
        bytesRead.inc(bytes.length);
        return bytes;
      } catch (Storage.NotFoundException e) {
        throw new RejectedInputException(missing, what + " not found: " + uri, e);
      } catch (IOException e) {
        throw new RejectedInputException(RejectReason.READ_FAILED, what + " could not be read: " + e.getMessage(), e);
      }
    }
  }
}
