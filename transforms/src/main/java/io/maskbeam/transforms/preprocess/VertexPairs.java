package io.maskbeam.transforms.preprocess;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.maskbeam.annotations.InvalidAnnotationException;
import io.maskbeam.annotations.VertexFormat;
import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import io.maskbeam.dataset.Manifest;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.util.Map;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * Examples from a Vertex AI image segmentation JSON Lines file ({@link VertexFormat}), read in parallel line by
 * line: the id is the image's file stem, the split the line's {@code ml_use} (training, validation; test lines are
 * {@code UNKNOWN_SPLIT}, as no stage reads them) or the hash policy. Relative URIs resolve against the file's
 * folder. A line that is not usable is an {@code INVALID_ANNOTATION} failure quoting it.
 */
final class VertexPairs extends LayoutPairing {
  VertexPairs(DatasetSource source, SplitPolicy splitPolicy, int buckets, Stage stage) {
    super(source, splitPolicy, buckets, stage);
  }

  @Override
  public PCollectionTuple expand(PBegin input) {
    TupleTag<SampleRef> refs = new TupleTag<>() {};
    TupleTag<Failure> unusable = new TupleTag<>() {};
    PCollectionTuple read = input
        .apply("ReadLines", TextIO.read().from(source.annotations())
            .withEmptyMatchTreatment(EmptyMatchTreatment.DISALLOW))
        .apply("ParseLines", ParDo.of(new ParseLineFn(source.annotations(), splitPolicy, stage, refs, unusable))
            .withOutputTags(refs, TupleTagList.of(unusable)));
    return uniqueWithFailures(read.get(refs), read.get(unusable));
  }

  static final class ParseLineFn extends DoFn<String, SampleRef> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String file;
    private final SplitPolicy splitPolicy;
    private final Stage stage;
    private final TupleTag<SampleRef> refs;
    private final TupleTag<Failure> unusable;
    private final Counter regions = Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.ANNOTATIONS_READ);

    ParseLineFn(String file, SplitPolicy splitPolicy, Stage stage, TupleTag<SampleRef> refs,
        TupleTag<Failure> unusable) {
      this.file = file;
      this.splitPolicy = splitPolicy;
      this.stage = stage;
      this.refs = refs;
      this.unusable = unusable;
    }

    @ProcessElement
    public void process(@Element String line, MultiOutputReceiver out) {
      if (line.isBlank()) {
        return;
      }
      VertexFormat.Line parsed;
      try {
        JsonNode node;
        try {
          node = JSON.readTree(line);
        } catch (IOException e) {
          throw new InvalidAnnotationException("not JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        parsed = VertexFormat.line(node);
      } catch (InvalidAnnotationException e) {
        out.get(unusable).output(new Failure(stage, null, file, Map.of("annotations", file),
            FailureReason.INVALID_ANNOTATION, e.getMessage() + "; line: " + Manifest.excerpt(line), null));
        return;
      }
      String image = Manifest.resolve(parsed.imageUri(), file);
      String id = Storage.stem(image);
      regions.inc(parsed.annotation().regions().size() + parsed.annotation().maskColors().size());
      SampleRef ref = new SampleRef(id, image, parsed.maskUri() == null ? file : Manifest.resolve(parsed.maskUri(),
          file), null, parsed.annotation().toJson());
      emitInSplit(ref, parsed.split(), splitPolicy, stage, out, refs, unusable);
    }
  }
}
