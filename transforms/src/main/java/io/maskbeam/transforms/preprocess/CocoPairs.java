package io.maskbeam.transforms.preprocess;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.maskbeam.annotations.CocoFormat;
import io.maskbeam.annotations.ImageAnnotation;
import io.maskbeam.annotations.InvalidAnnotationException;
import io.maskbeam.annotations.Region;
import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import io.maskbeam.dataset.Manifest;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.transforms.join.CoGbkResult;
import org.apache.beam.sdk.transforms.join.CoGroupByKey;
import org.apache.beam.sdk.transforms.join.KeyedPCollectionTuple;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * Examples from a COCO JSON file: its {@code images}, their {@code annotations} (polygons, RLE or compressed RLE)
 * and {@code categories}. The file is streamed, never held whole (COCO's train2017 instances are 450 MB), and
 * annotations meet their image in a {@link CoGroupByKey} on the image id, so the grouping scales like any other.
 * An image's id is its file stem; its file resolves against {@code --images} (else the JSON's folder).
 *
 * <p>Every entry ends up somewhere: an image with its annotations is a pair (an image without annotations is all
 * background: COCO lists such images on purpose); annotations whose image id is not listed are one
 * {@code MISSING_IMAGE} failure per id; an image any of whose annotations is malformed is an
 * {@code INVALID_ANNOTATION} failure naming the annotation; an image id listed twice is {@code DUPLICATE_ID}. A file
 * that is not JSON throughout is one {@code INVALID_ANNOTATION} failure saying where, and none of its images is
 * read (a first pass checks it, so no image goes on with part of its annotations).
 */
final class CocoPairs extends LayoutPairing {
  CocoPairs(DatasetSource source, SplitPolicy splitPolicy, int buckets, Stage stage) {
    super(source, splitPolicy, buckets, stage);
  }

  private static final TupleTag<KV<Long, String>> IMAGES = new TupleTag<>() {};
  /** Annotations by image id, with their position in the file (CoGroupByKey does not keep order). */
  private static final TupleTag<KV<Long, KV<Long, String>>> ANNOTATIONS = new TupleTag<>() {};
  private static final TupleTag<String> CATEGORIES = new TupleTag<>() {};
  private static final TupleTag<Failure> FAILURES = new TupleTag<>() {};

  @Override
  public PCollectionTuple expand(PBegin input) {
    String file = source.annotations();
    PCollectionTuple read = input.apply("AnnotationFile", Create.of(file))
        .apply("StreamCoco", ParDo.of(new StreamCocoFn(stage))
            .withOutputTags(IMAGES, TupleTagList.of(ANNOTATIONS).and(CATEGORIES).and(FAILURES)));
    PCollection<KV<Long, String>> images = read.get(IMAGES)
        .setCoder(KvCoder.of(VarLongCoder.of(), StringUtf8Coder.of()));
    PCollection<KV<Long, KV<Long, String>>> annotations = read.get(ANNOTATIONS)
        .setCoder(KvCoder.of(VarLongCoder.of(), KvCoder.of(VarLongCoder.of(), StringUtf8Coder.of())));
    PCollectionView<String> categories = read.get(CATEGORIES).setCoder(StringUtf8Coder.of())
        .apply("Categories", View.asSingleton());
    TupleTag<String> imageTag = new TupleTag<>() {};
    TupleTag<KV<Long, String>> annotationTag = new TupleTag<>() {};
    TupleTag<SampleRef> refs = new TupleTag<>() {};
    TupleTag<Failure> unusable = new TupleTag<>() {};
    PCollectionTuple paired = KeyedPCollectionTuple.of(imageTag, images).and(annotationTag, annotations)
        .apply("ByImageId", CoGroupByKey.create())
        .apply("ToExamples", ParDo.of(new ToExampleFn(source, splitPolicy, stage, categories, imageTag,
                annotationTag, refs, unusable)).withSideInputs(categories)
            .withOutputTags(refs, TupleTagList.of(unusable)));
    return uniqueWithFailures(paired.get(refs), read.get(FAILURES), paired.get(unusable));
  }

  /** Streams one COCO file's arrays out as elements; categories leave as one JSON object {id: name}. */
  static final class StreamCocoFn extends DoFn<String, KV<Long, String>> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Stage stage;

    StreamCocoFn(Stage stage) {
      this.stage = stage;
    }

    @ProcessElement
    public void process(@Element String uri, MultiOutputReceiver out) {
      Map<Integer, String> categories = new TreeMap<>();
      try {
        // A first pass checks the whole file is JSON: an error part-way would otherwise leave images already sent
        // on with some of their annotations missing, a silent change of their masks.
        try (InputStream in = Channels.newInputStream(FileSystems.open(Storage.resource(uri)));
            JsonParser check = JSON.getFactory().createParser(in)) {
          while (check.nextToken() != null) {
            check.skipChildren();
          }
        }
        stream(uri, categories, out);
      } catch (JsonProcessingException e) {
        categories.clear();
        out.get(FAILURES).output(failure(uri, Storage.stem(uri), "not valid JSON at line "
            + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ": "
            + e.getOriginalMessage() + " (no image of the file is read)"));
      } catch (InvalidAnnotationException e) {
        out.get(FAILURES).output(failure(uri, Storage.stem(uri), e.getMessage()));
      } catch (IOException e) {
        out.get(FAILURES).output(new Failure(stage, Storage.stem(uri), uri, Map.of("annotations", uri),
            Storage.reasonFor(e, FailureReason.NOT_FOUND), "annotations: " + e.getMessage(), null));
      }
      try {
        out.get(CATEGORIES).output(JSON.writeValueAsString(categories));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }

    private void stream(String uri, Map<Integer, String> categories, MultiOutputReceiver out)
        throws IOException, InvalidAnnotationException {
      try (InputStream in = Channels.newInputStream(FileSystems.open(Storage.resource(uri)));
          JsonParser parser = JSON.getFactory().createParser(in)) {
        if (parser.nextToken() != JsonToken.START_OBJECT) {
          throw new InvalidAnnotationException("a COCO file is a JSON object with \"images\" and \"annotations\"");
        }
        long position = 0;
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          String field = parser.currentName();
          JsonToken value = parser.nextToken();
          if (value != JsonToken.START_ARRAY
              || !(field.equals("images") || field.equals("annotations") || field.equals("categories"))) {
            parser.skipChildren();
            continue;
          }
          while (parser.nextToken() != JsonToken.END_ARRAY) {
            JsonNode node = JSON.readTree(parser);
            switch (field) {
              case "images" -> {
                try {
                  out.get(IMAGES).output(KV.of(CocoFormat.image(node).id(), node.toString()));
                } catch (InvalidAnnotationException e) {
                  out.get(FAILURES).output(failure(uri, "image", e.getMessage()));
                }
              }
              case "annotations" -> {
                try {
                  out.get(ANNOTATIONS).output(KV.of(CocoFormat.imageId(node), KV.of(position++, node.toString())));
                } catch (InvalidAnnotationException e) {
                  out.get(FAILURES).output(failure(uri, "annotation " + node.path("id").asText("?"),
                      e.getMessage()));
                }
              }
              default -> {
                if (node.path("id").canConvertToInt() && node.path("name").isTextual()) {
                  categories.putIfAbsent(node.get("id").asInt(), node.get("name").asText());
                } else {
                  out.get(FAILURES).output(failure(uri, "category", "a COCO category needs an \"id\" and a"
                      + " \"name\": " + node));
                }
              }
            }
          }
        }
      }
    }

    private Failure failure(String uri, String id, String message) {
      return new Failure(stage, id, uri, Map.of("annotations", uri), FailureReason.INVALID_ANNOTATION, message,
          null);
    }
  }

  /** Joins one image id's entry and annotations into an example, or says why not. */
  static final class ToExampleFn extends DoFn<KV<Long, CoGbkResult>, SampleRef> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final DatasetSource source;
    private final SplitPolicy splitPolicy;
    private final Stage stage;
    private final PCollectionView<String> categoriesView;
    private final TupleTag<String> imageTag;
    private final TupleTag<KV<Long, String>> annotationTag;
    private final TupleTag<SampleRef> refs;
    private final TupleTag<Failure> unusable;
    private final Counter regions = Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.ANNOTATIONS_READ);

    ToExampleFn(DatasetSource source, SplitPolicy splitPolicy, Stage stage, PCollectionView<String> categoriesView,
        TupleTag<String> imageTag, TupleTag<KV<Long, String>> annotationTag, TupleTag<SampleRef> refs,
        TupleTag<Failure> unusable) {
      this.source = source;
      this.splitPolicy = splitPolicy;
      this.stage = stage;
      this.categoriesView = categoriesView;
      this.imageTag = imageTag;
      this.annotationTag = annotationTag;
      this.refs = refs;
      this.unusable = unusable;
    }

    @ProcessElement
    public void process(@Element KV<Long, CoGbkResult> group, ProcessContext context, MultiOutputReceiver out)
        throws IOException {
      String file = source.annotations();
      long imageId = group.getKey();
      List<String> entries = new ArrayList<>();
      group.getValue().getAll(imageTag).forEach(entries::add);
      List<KV<Long, String>> annotations = new ArrayList<>();
      group.getValue().getAll(annotationTag).forEach(annotations::add);
      if (entries.isEmpty()) {
        out.get(unusable).output(new Failure(stage, "image_id " + imageId, file, Map.of("annotations", file),
            FailureReason.MISSING_IMAGE, annotations.size() + " annotation(s) refer to image id " + imageId
                + ", which the file's \"images\" does not list", null));
        return;
      }
      CocoFormat.ImageEntry image;
      try {
        image = CocoFormat.image(JSON.readTree(entries.get(0)));
      } catch (InvalidAnnotationException e) {
        throw new IllegalStateException("checked when streamed", e);
      }
      String id = Storage.stem(image.fileName());
      String imageUri = imageUri(image.fileName());
      if (entries.size() > 1) {
        for (String ignored : entries) {
          out.get(unusable).output(new Failure(stage, id, imageUri, Map.of("image", imageUri, "annotations", file),
              FailureReason.DUPLICATE_ID, "image id " + imageId + " is listed " + entries.size() + " times", null));
        }
        return;
      }
      Map<Integer, String> names = categories(context.sideInput(categoriesView));

      annotations.sort(Comparator.comparingLong(KV::getKey));
      List<Region> found = new ArrayList<>();
      try {
        for (KV<Long, String> a : annotations) {
          JsonNode node = JSON.readTree(a.getValue());
          found.add(CocoFormat.region(node, names.get(node.path("category_id").asInt())));
        }
      } catch (InvalidAnnotationException e) {
        out.get(unusable).output(new Failure(stage, id, imageUri, Map.of("image", imageUri, "annotations", file),
            FailureReason.INVALID_ANNOTATION, e.getMessage(), null));
        return;
      }
      regions.inc(found.size());
      ImageAnnotation annotation = new ImageAnnotation(image.width(), image.height(), found,
          ImageAnnotation.Overlap.SMALLER_ON_TOP);
      emitInSplit(new SampleRef(id, imageUri, file, null, annotation.toJson()), null, splitPolicy, stage, out, refs,
          unusable);
    }

    private String imageUri(String fileName) {
      if (source.images() == null || fileName.contains("://") || fileName.startsWith("/")) {
        return Manifest.resolve(fileName, source.annotations());
      }
      return Storage.join(source.images(), fileName);
    }

    /** The categories side input, parsed once per worker (it is the same object for every element). */
    private transient String parsedJson;
    private transient Map<Integer, String> parsed;

    private Map<Integer, String> categories(String json) throws IOException {
      if (json != parsedJson) {
        Map<Integer, String> out = new TreeMap<>();
        JSON.readTree(json).fields().forEachRemaining(e -> out.put(Integer.parseInt(e.getKey()),
            e.getValue().asText()));
        parsed = out;
        parsedJson = json;
      }
      return parsed;
    }
  }
}
