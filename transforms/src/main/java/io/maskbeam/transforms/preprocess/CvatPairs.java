package io.maskbeam.transforms.preprocess;

import io.maskbeam.annotations.CvatFormat;
import io.maskbeam.annotations.InvalidAnnotationException;
import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import io.maskbeam.dataset.Manifest;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.util.Map;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * Examples from a CVAT for images 1.1 XML file, streamed image by image ({@link CvatFormat}). An image's id is its
 * name's stem; its file resolves against {@code --images}, else the {@code images/} folder beside the XML (the
 * layout of CVAT's export). An image whose shapes cannot be read is an {@code INVALID_ANNOTATION} failure naming
 * the shape; a file that stops being XML is one failure saying where.
 */
final class CvatPairs extends LayoutPairing {
  CvatPairs(DatasetSource source, SplitPolicy splitPolicy, int buckets, Stage stage) {
    super(source, splitPolicy, buckets, stage);
  }

  @Override
  public PCollectionTuple expand(PBegin input) {
    TupleTag<SampleRef> refs = new TupleTag<>() {};
    TupleTag<Failure> unusable = new TupleTag<>() {};
    PCollectionTuple read = input.apply("AnnotationFile", Create.of(source.annotations()))
        .apply("StreamCvat", ParDo.of(new StreamCvatFn(source, splitPolicy, stage, refs, unusable))
            .withOutputTags(refs, TupleTagList.of(unusable)));
    return uniqueWithFailures(read.get(refs), read.get(unusable));
  }

  static final class StreamCvatFn extends DoFn<String, SampleRef> {
    private final DatasetSource source;
    private final SplitPolicy splitPolicy;
    private final Stage stage;
    private final TupleTag<SampleRef> refs;
    private final TupleTag<Failure> unusable;
    private final Counter regions = Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.ANNOTATIONS_READ);
    private final Counter skippedShapes = Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.SHAPES_SKIPPED);

    StreamCvatFn(DatasetSource source, SplitPolicy splitPolicy, Stage stage, TupleTag<SampleRef> refs,
        TupleTag<Failure> unusable) {
      this.source = source;
      this.splitPolicy = splitPolicy;
      this.stage = stage;
      this.refs = refs;
      this.unusable = unusable;
    }

    @ProcessElement
    public void process(@Element String file, MultiOutputReceiver out) {
      try (InputStream in = Channels.newInputStream(FileSystems.open(Storage.resource(file)))) {
        CvatFormat.read(in, new CvatFormat.Sink() {
          @Override
          public void image(CvatFormat.Image image) {
            String id = Storage.stem(image.name());
            String uri = imageUri(file, image.name());
            regions.inc(image.annotation().regions().size());
            skippedShapes.inc(image.skippedShapes());
            emitInSplit(new SampleRef(id, uri, file, null, image.annotation().toJson()), null, splitPolicy, stage,
                out, refs, unusable);
          }

          @Override
          public void invalid(String name, String message) {
            String id = name == null ? Storage.stem(file) : Storage.stem(name);
            String uri = name == null ? file : imageUri(file, name);
            out.get(unusable).output(new Failure(stage, id, uri, Map.of("image", uri, "annotations", file),
                FailureReason.INVALID_ANNOTATION, message, null));
          }
        });
      } catch (InvalidAnnotationException e) {
        out.get(unusable).output(new Failure(stage, Storage.stem(file), file, Map.of("annotations", file),
            FailureReason.INVALID_ANNOTATION, e.getMessage() + " (images after this point are not read)", null));
      } catch (IOException e) {
        out.get(unusable).output(new Failure(stage, Storage.stem(file), file, Map.of("annotations", file),
            Storage.reasonFor(e, FailureReason.NOT_FOUND), "annotations: " + e.getMessage(), null));
      }
    }

    private String imageUri(String file, String name) {
      if (name.contains("://") || name.startsWith("/")) {
        return Manifest.resolve(name, file);
      }
      return source.images() != null ? Storage.join(source.images(), name)
          : Manifest.resolve("images/" + name, file);
    }
  }
}
