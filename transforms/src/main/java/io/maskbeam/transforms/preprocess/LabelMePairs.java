package io.maskbeam.transforms.preprocess;

import io.maskbeam.annotations.InvalidAnnotationException;
import io.maskbeam.annotations.LabelMeFormat;
import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import io.maskbeam.dataset.Manifest;
import io.maskbeam.transforms.io.FileListing;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.util.Map;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * Examples from LabelMe files: one JSON per image, listed from {@code --annotations} (a folder or glob; files not
 * ending in {@code .json} are skipped), read in parallel. The example id is the JSON's file stem, the image its
 * {@code imagePath} resolved against the JSON's folder. A file that is not LabelMe JSON, or holds a malformed shape,
 * is an {@code INVALID_ANNOTATION} failure naming the shape; an image that is not there is {@code MISSING_IMAGE}
 * when the example is read, as for every layout.
 */
final class LabelMePairs extends LayoutPairing {
  LabelMePairs(DatasetSource source, SplitPolicy splitPolicy, int buckets, Stage stage) {
    super(source, splitPolicy, buckets, stage);
  }

  @Override
  public PCollectionTuple expand(PBegin input) {
    TupleTag<String> files = new TupleTag<>() {};
    TupleTag<Failure> unlisted = new TupleTag<>() {};
    String glob = source.filePatterns().get(0).glob();
    PCollectionTuple listed = input.apply("Glob", Create.of(glob))
        .apply("List", ParDo.of(new ListJsonFn(stage, files, unlisted)).withOutputTags(files, TupleTagList.of(unlisted)));
    TupleTag<SampleRef> refs = new TupleTag<>() {};
    TupleTag<Failure> unusable = new TupleTag<>() {};
    PCollectionTuple read = listed.get(files).setCoder(StringUtf8Coder.of())
        .apply("Spread", Reshuffle.viaRandomKey())
        .apply("Read", ParDo.of(new ReadLabelMeFn(splitPolicy, stage, refs, unusable))
            .withOutputTags(refs, TupleTagList.of(unusable)));
    return uniqueWithFailures(read.get(refs), listed.get(unlisted), read.get(unusable));
  }

  static final class ListJsonFn extends DoFn<String, String> {
    private final Stage stage;
    private final TupleTag<String> files;
    private final TupleTag<Failure> unlisted;
    private final Counter skipped =
        Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.FILES_SKIPPED_NOT_IMAGES);

    ListJsonFn(Stage stage, TupleTag<String> files, TupleTag<Failure> unlisted) {
      this.stage = stage;
      this.files = files;
      this.unlisted = unlisted;
    }

    @ProcessElement
    public void process(@Element String glob, MultiOutputReceiver out) throws IOException {
      for (FileListing.Entry file : FileListing.list(glob)) {
        String uri = file.uri();
        if (Storage.fileName(uri).startsWith(".") || !Storage.extension(uri).equals("json")) {
          skipped.inc();
        } else if (!file.isFile()) {
          out.get(unlisted).output(new Failure(stage, Storage.stem(uri), uri, Map.of("annotations", uri),
              file.problem(), file.message(), null));
        } else {
          out.get(files).output(uri);
        }
      }
    }
  }

  static final class ReadLabelMeFn extends DoFn<String, SampleRef> {
    private final SplitPolicy splitPolicy;
    private final Stage stage;
    private final TupleTag<SampleRef> refs;
    private final TupleTag<Failure> unusable;
    private final Counter regions = Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.ANNOTATIONS_READ);
    private final Counter skippedShapes = Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.SHAPES_SKIPPED);

    ReadLabelMeFn(SplitPolicy splitPolicy, Stage stage, TupleTag<SampleRef> refs, TupleTag<Failure> unusable) {
      this.splitPolicy = splitPolicy;
      this.stage = stage;
      this.refs = refs;
      this.unusable = unusable;
    }

    @ProcessElement
    public void process(@Element String uri, MultiOutputReceiver out) {
      String id = Storage.stem(uri);
      Map<String, String> files = Map.of("annotations", uri);
      LabelMeFormat.Document doc;
      try {
        doc = LabelMeFormat.read(Storage.readAll(uri));
      } catch (IOException e) {
        out.get(unusable).output(new Failure(stage, id, uri, files, Storage.reasonFor(e, FailureReason.NOT_FOUND),
            "annotations: " + e.getMessage(), null));
        return;
      } catch (InvalidAnnotationException e) {
        out.get(unusable).output(new Failure(stage, id, uri, files, FailureReason.INVALID_ANNOTATION,
            e.getMessage(), null));
        return;
      }
      regions.inc(doc.annotation().regions().size());
      skippedShapes.inc(doc.skippedShapes());
      SampleRef ref = new SampleRef(id, Manifest.resolve(doc.imagePath(), uri), uri, null, doc.annotation().toJson());
      emitInSplit(ref, null, splitPolicy, stage, out, refs, unusable);
    }
  }
}
