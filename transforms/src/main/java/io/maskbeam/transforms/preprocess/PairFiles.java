package io.maskbeam.transforms.preprocess;

import io.maskbeam.core.Failure;
import io.maskbeam.core.FailureReason;
import io.maskbeam.core.Stage;
import io.maskbeam.transforms.common.CoderFields;
import io.maskbeam.transforms.common.FailureCoder;
import io.maskbeam.transforms.io.FileListing;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * Pairs images and masks listed from folders or globs by the id their paths give (the file stem; Cityscapes'
 * {@code <city>_<seq>_<frame>} with the split from its folders; SageMaker channels with the split from the
 * channel). One image and one mask per id make a pair; anything else is a failure, each file on its own line.
 * Files are grouped by a bounded number of id buckets, not by id, so DirectRunner bundles stay large.
 */
final class PairFiles extends LayoutPairing {
  PairFiles(DatasetSource source, SplitPolicy splitPolicy, int buckets, Stage stage) {
    super(source, splitPolicy, buckets, stage);
  }

  /** Role of a matched file. */
  enum Role { IMAGE, MASK }

  /** A matched file with the id and split its path implies. */
  @DefaultCoder(TaggedFile.Coder.class)
  record TaggedFile(Role role, String uri, String id, String split) {
    static final class Coder extends AtomicCoder<TaggedFile> {
      private static final Coder INSTANCE = new Coder();

      public static org.apache.beam.sdk.coders.CoderProvider getCoderProvider() {
        return org.apache.beam.sdk.coders.CoderProviders.forCoder(
            org.apache.beam.sdk.values.TypeDescriptor.of(TaggedFile.class), INSTANCE);
      }

      @Override
      public void encode(TaggedFile f, OutputStream out) throws IOException {
        CoderFields.putInt(out, f.role().ordinal());
        CoderFields.putString(out, f.uri());
        CoderFields.putString(out, f.id());
        CoderFields.putString(out, f.split());
      }

      @Override
      public TaggedFile decode(InputStream in) throws IOException {
        return new TaggedFile(Role.values()[CoderFields.getInt(in)], CoderFields.getString(in),
            CoderFields.getString(in), CoderFields.getString(in));
      }
    }
  }

  @Override
  public PCollectionTuple expand(PBegin input) {
    TupleTag<KV<String, TaggedFile>> files = new TupleTag<>() {};
    TupleTag<Failure> unlisted = new TupleTag<>() {};
    PCollectionList<KV<String, TaggedFile>> all = PCollectionList.empty(input.getPipeline());
    PCollectionList<Failure> problems = PCollectionList.empty(input.getPipeline());
    for (DatasetSource.Pattern pattern : source.filePatterns()) {
      Role role = pattern.role().equals("images") ? Role.IMAGE : Role.MASK;
      String name = (role == Role.IMAGE ? "Images" : "Masks") + (pattern.split() == null ? "" : "-" + pattern.split());
      // Not FileIO.match(): it reshuffles every matched file (one bundle per file on the DirectRunner), and the
      // bucket grouping that follows spreads the work already.
      PCollectionTuple listed = input
          .apply("Glob" + name, Create.of(pattern.glob()))
          .apply("Match" + name, ParDo.of(new KeyFileFn(source.layout(), role, pattern.split(), stage, files, unlisted))
              .withOutputTags(files, TupleTagList.of(unlisted)));
      all = all.and(listed.get(files).setCoder(KvCoder.of(StringUtf8Coder.of(), TaggedFile.Coder.INSTANCE)));
      problems = problems.and(listed.get(unlisted).setCoder(FailureCoder.of()));
    }
    PCollectionTuple paired = all
        .apply("AllFiles", Flatten.pCollections())
        .apply("ToBuckets", ParDo.of(new ToBucketFn(buckets)))
        .apply("ByBucket", GroupByKey.create())
        .apply("PairUp", ParDo.of(new PairUpFn(splitPolicy, stage, source.layout() == DatasetLayout.CITYSCAPES_POLYGONS
                ? SampleRef.READ_CITYSCAPES_POLYGONS : null))
            .withOutputTags(MatchDatasetPairs.PAIRS, TupleTagList.of(MatchDatasetPairs.REJECTED)));
    PCollection<Failure> rejected = problems
        .and(paired.get(MatchDatasetPairs.REJECTED).setCoder(FailureCoder.of()))
        .apply("AllRejected", Flatten.pCollections());
    return PCollectionTuple.of(MatchDatasetPairs.PAIRS, paired.get(MatchDatasetPairs.PAIRS))
        .and(MatchDatasetPairs.REJECTED, rejected);
  }

  /** Lists a glob and keys each matched file by the id its layout derives from the path. */
  static final class KeyFileFn extends DoFn<String, KV<String, TaggedFile>> {
    private final DatasetLayout layout;
    private final Role role;
    private final String channelSplit;
    private final Stage stage;
    private final TupleTag<KV<String, TaggedFile>> files;
    private final TupleTag<Failure> unlisted;
    private final Counter skipped =
        Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.FILES_SKIPPED_NOT_IMAGES);
    private final Counter problems = Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.FILES_UNLISTABLE);

    KeyFileFn(DatasetLayout layout, Role role, String channelSplit, Stage stage,
        TupleTag<KV<String, TaggedFile>> files, TupleTag<Failure> unlisted) {
      this.layout = layout;
      this.role = role;
      this.channelSplit = channelSplit;
      this.stage = stage;
      this.files = files;
      this.unlisted = unlisted;
    }

    @ProcessElement
    public void process(@Element String glob, MultiOutputReceiver out) throws IOException {
      for (FileListing.Entry file : FileListing.list(glob)) {
        String uri = file.uri();
        String name = Storage.fileName(uri);
        boolean polygons = layout == DatasetLayout.CITYSCAPES_POLYGONS && role == Role.MASK;
        if (name.startsWith(".") || !(polygons ? Storage.extension(uri).equals("json")
            : MatchDatasetPairs.IMAGE_EXTENSIONS.contains(Storage.extension(uri)))) {
          // Hidden files (macOS "._x.png" forks, .DS_Store) and non-image files are not inputs.
          skipped.inc();
          continue;
        }
        if (!file.isFile()) {
          problems.inc();
          out.get(unlisted).output(new Failure(stage, Storage.stem(uri), uri,
              Map.of(role == Role.IMAGE ? "image" : "mask", uri), file.problem(), file.message(), null));
          continue;
        }
        String id = Storage.stem(uri);
        String split = channelSplit;
        if (layout == DatasetLayout.CITYSCAPES || layout == DatasetLayout.CITYSCAPES_POLYGONS) {
          // .../leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png
          String suffix = role == Role.IMAGE ? "_leftImg8bit" : polygons ? "_gtFine_polygons" : "_gtFine_labelIds";
          id = id.endsWith(suffix) ? id.substring(0, id.length() - suffix.length()) : id;
          String[] parts = uri.replace('\\', '/').split("/");
          split = parts.length >= 3 ? parts[parts.length - 3] : null;
        }
        String key = split == null ? id : split + "/" + id;
        out.get(files).output(KV.of(key, new TaggedFile(role, uri, id, split)));
      }
    }
  }

  /** Re-keys files from their id to the id's bucket; the id travels inside the value. */
  static final class ToBucketFn extends DoFn<KV<String, TaggedFile>, KV<Integer, KV<String, TaggedFile>>> {
    private final int buckets;

    ToBucketFn(int buckets) {
      this.buckets = buckets;
    }

    @ProcessElement
    public void process(@Element KV<String, TaggedFile> file, OutputReceiver<KV<Integer, KV<String, TaggedFile>>> out) {
      out.output(KV.of(Buckets.of(file.getKey(), buckets), file));
    }
  }

  /** Pairs the files of one bucket by id. */
  static final class PairUpFn extends DoFn<KV<Integer, Iterable<KV<String, TaggedFile>>>, SampleRef> {
    private final SplitPolicy splitPolicy;
    private final Stage stage;
    /** What the pairs carry as their annotation: null for mask files, or how to read the "mask" file. */
    private final String annotation;
    private final Counter pairs = Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.PAIRS_MATCHED);
    private final Counter unpaired = Metrics.counter(PreprocessMetrics.NAMESPACE, PreprocessMetrics.FILES_UNPAIRED);

    PairUpFn(SplitPolicy splitPolicy, Stage stage, String annotation) {
      this.splitPolicy = splitPolicy;
      this.stage = stage;
      this.annotation = annotation;
    }

    @ProcessElement
    public void process(@Element KV<Integer, Iterable<KV<String, TaggedFile>>> bucket, MultiOutputReceiver out) {
      TreeMap<String, List<TaggedFile>> byKey = new TreeMap<>();
      for (KV<String, TaggedFile> f : bucket.getValue()) {
        byKey.computeIfAbsent(f.getKey(), k -> new ArrayList<>()).add(f.getValue());
      }
      byKey.forEach((key, files) -> pair(files, out));
    }

    /** One image and one mask per id make a pair; anything else is rejected, each file on its own line. */
    private void pair(List<TaggedFile> group, MultiOutputReceiver out) {
      List<TaggedFile> images = new ArrayList<>();
      List<TaggedFile> masks = new ArrayList<>();
      for (TaggedFile f : group) {
        (f.role() == Role.IMAGE ? images : masks).add(f);
      }
      String id = (images.isEmpty() ? masks : images).get(0).id();
      if (images.size() == 1 && masks.size() == 1) {
        TaggedFile image = images.get(0);
        String split;
        try {
          split = splitPolicy.splitOf(image.id(), image.split());
        } catch (IllegalArgumentException e) {
          reject(out, id, image.uri(), Map.of("image", image.uri(), "mask", masks.get(0).uri()),
              FailureReason.UNKNOWN_SPLIT, e.getMessage());
          return;
        }
        pairs.inc();
        out.get(MatchDatasetPairs.PAIRS).output(new SampleRef(image.id(), image.uri(), masks.get(0).uri(), split,
            annotation));
        return;
      }
      if (images.size() > 1 || masks.size() > 1) {
        String all = Stream.concat(images.stream(), masks.stream()).map(TaggedFile::uri).sorted()
            .collect(Collectors.joining(", "));
        String message = images.size() + " images and " + masks.size() + " masks share the id '" + id + "': " + all;
        for (TaggedFile f : group) {
          reject(out, id, f.uri(), Map.of(f.role() == Role.IMAGE ? "image" : "mask", f.uri()),
              FailureReason.DUPLICATE_ID, message);
        }
      } else if (masks.isEmpty()) {
        reject(out, id, images.get(0).uri(), Map.of("image", images.get(0).uri()), FailureReason.MISSING_MASK,
            "no mask with the id '" + id + "'");
      } else {
        reject(out, id, masks.get(0).uri(), Map.of("mask", masks.get(0).uri()), FailureReason.MISSING_IMAGE,
            "no image with the id '" + id + "'");
      }
    }

    private void reject(MultiOutputReceiver out, String id, String uri, Map<String, String> files,
        FailureReason reason, String message) {
      unpaired.inc();
      out.get(MatchDatasetPairs.REJECTED).output(new Failure(stage, id, uri, files, reason, message, null));
    }
  }
}
