package io.maskbeam.transforms.preprocess;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.maskbeam.dataset.RejectReason;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.ResolveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * Finds the image/mask pairs of a dataset. Outputs {@link #PAIRS} and, for every file or line that cannot form a
 * pair (image without mask, mask without image, duplicate ids, bad manifest lines), a {@link Rejection} under
 * {@link #REJECTED}: nothing found on storage is silently dropped.
 */
public class MatchDatasetPairs extends PTransform<PBegin, PCollectionTuple> {
  public static final TupleTag<SampleRef> PAIRS = new TupleTag<>() {};
  public static final TupleTag<Rejection> REJECTED = new TupleTag<>() {};

  static final String NAMESPACE = "maskbeam.preprocess";
  static final Set<String> IMAGE_EXTENSIONS =
      Set.of("png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "gif");

  private final DatasetSource source;
  private final SplitPolicy splitPolicy;
  private final int buckets;

  /**
   * @param buckets how many groups pairing uses: the parallelism of the steps that follow (see {@link Buckets})
   */
  public MatchDatasetPairs(DatasetSource source, SplitPolicy splitPolicy, int buckets) {
    if (buckets < 1) {
      throw new IllegalArgumentException("buckets must be >= 1");
    }
    this.source = source;
    this.splitPolicy = splitPolicy;
    this.buckets = buckets;
  }

  @Override
  public PCollectionTuple expand(PBegin input) {
    return switch (source.layout()) {
      case PAIRED, CITYSCAPES, PETS -> pairFiles(input);
      case VOC -> fromSplitLists(input);
      case MANIFEST -> fromManifest(input);
    };
  }

  /** Role of a matched file. */
  enum Role { IMAGE, MASK }

  /** A matched file with the id and split its path implies. */
  @DefaultCoder(SerializableCoder.class)
  record TaggedFile(Role role, String uri, String id, String split) implements Serializable {}

  private PCollectionTuple pairFiles(PBegin input) {
    PCollectionList<KV<String, TaggedFile>> files = PCollectionList.empty(input.getPipeline());
    for (DatasetSource.Pattern pattern : source.filePatterns()) {
      Role role = pattern.role().equals("images") ? Role.IMAGE : Role.MASK;
      String name = (role == Role.IMAGE ? "Images" : "Masks") + (pattern.split() == null ? "" : "-" + pattern.split());
      files = files.and(matchFiles(input, name, pattern, role));
    }
    return files
        .apply("AllFiles", Flatten.pCollections())
        .apply("ToBuckets", ParDo.of(new ToBucketFn(buckets)))
        .apply("ByBucket", GroupByKey.create())
        .apply("PairUp", ParDo.of(new PairUpFn(splitPolicy)).withOutputTags(PAIRS, TupleTagList.of(REJECTED)));
  }

  /**
   * Lists a glob and keys each file by its id. Not {@code FileIO.match()}: it reshuffles every matched file
   * (one bundle per file on the DirectRunner), and the bucket grouping that follows spreads the work already.
   */
  private PCollection<KV<String, TaggedFile>> matchFiles(
      PBegin input, String name, DatasetSource.Pattern pattern, Role role) {
    return input
        .apply("Glob" + name, Create.of(pattern.glob()))
        .apply("Match" + name, ParDo.of(new KeyFileFn(source.layout(), role, pattern.split())));
  }

  /** Lists a glob and keys each matched file by the id its layout derives from the path. */
  static final class KeyFileFn extends DoFn<String, KV<String, TaggedFile>> {
    private final DatasetLayout layout;
    private final Role role;
    private final String channelSplit;
    private final Counter skipped = Metrics.counter(NAMESPACE, "files_skipped_not_images");

    KeyFileFn(DatasetLayout layout, Role role, String channelSplit) {
      this.layout = layout;
      this.role = role;
      this.channelSplit = channelSplit;
    }

    @ProcessElement
    public void process(@Element String glob, OutputReceiver<KV<String, TaggedFile>> out) throws IOException {
      MatchResult result = FileSystems.match(glob, EmptyMatchTreatment.DISALLOW);
      for (MatchResult.Metadata file : result.metadata()) {
        key(file, out);
      }
    }

    private void key(MatchResult.Metadata file, OutputReceiver<KV<String, TaggedFile>> out) {
      String uri = file.resourceId().toString();
      String name = Storage.fileName(uri);
      if (file.resourceId().isDirectory() || name.startsWith(".")
          || !IMAGE_EXTENSIONS.contains(Storage.extension(uri))) {
        // Folders, hidden files (macOS "._x.png" forks, .DS_Store) and non-image files are not inputs.
        skipped.inc();
        return;
      }
      String id = Storage.stem(uri);
      String split = channelSplit;
      if (layout == DatasetLayout.CITYSCAPES) {
        // .../leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png
        String suffix = role == Role.IMAGE ? "_leftImg8bit" : "_gtFine_labelIds";
        id = id.endsWith(suffix) ? id.substring(0, id.length() - suffix.length()) : id;
        ResourceId cityDir = file.resourceId().getCurrentDirectory();
        String[] parts = cityDir.toString().replace('\\', '/').split("/");
        split = parts.length >= 2 ? parts[parts.length - 2] : null;
      }
      String key = split == null ? id : split + "/" + id;
      out.output(KV.of(key, new TaggedFile(role, uri, id, split)));
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
    private final PairUpById byId;

    PairUpFn(SplitPolicy splitPolicy) {
      this.byId = new PairUpById(splitPolicy);
    }

    @ProcessElement
    public void process(@Element KV<Integer, Iterable<KV<String, TaggedFile>>> bucket, MultiOutputReceiver out) {
      java.util.TreeMap<String, List<TaggedFile>> byKey = new java.util.TreeMap<>();
      for (KV<String, TaggedFile> f : bucket.getValue()) {
        byKey.computeIfAbsent(f.getKey(), k -> new ArrayList<>()).add(f.getValue());
      }
      byKey.forEach((key, files) -> byId.pair(files, out));
    }
  }

  /** One image and one mask per id make a pair; anything else is rejected, each file on its own line. */
  static final class PairUpById implements Serializable {
    private final SplitPolicy splitPolicy;
    private final Counter pairs = Metrics.counter(NAMESPACE, "pairs_matched");
    private final Counter unpaired = Metrics.counter(NAMESPACE, "files_unpaired");

    PairUpById(SplitPolicy splitPolicy) {
      this.splitPolicy = splitPolicy;
    }

    void pair(List<TaggedFile> group, DoFn.MultiOutputReceiver out) {
      List<TaggedFile> images = new ArrayList<>();
      List<TaggedFile> masks = new ArrayList<>();
      for (TaggedFile f : group) {
        (f.role() == Role.IMAGE ? images : masks).add(f);
      }
      if (images.size() == 1 && masks.size() == 1) {
        TaggedFile image = images.get(0);
        pairs.inc();
        out.get(PAIRS).output(new SampleRef(image.id(), image.uri(), masks.get(0).uri(),
            splitPolicy.splitOf(image.id(), image.split())));
        return;
      }
      String id = (images.isEmpty() ? masks : images).get(0).id();
      if (images.size() > 1 || masks.size() > 1) {
        String all = java.util.stream.Stream.concat(images.stream(), masks.stream()).map(TaggedFile::uri)
            .sorted().collect(Collectors.joining(", "));
        String message = images.size() + " images and " + masks.size() + " masks share the id '" + id + "': " + all;
        for (TaggedFile f : images) {
          unpaired.inc();
          out.get(REJECTED).output(new Rejection(id, f.uri(), null, RejectReason.DUPLICATE_ID, message));
        }
        for (TaggedFile f : masks) {
          unpaired.inc();
          out.get(REJECTED).output(new Rejection(id, null, f.uri(), RejectReason.DUPLICATE_ID, message));
        }
      } else if (masks.isEmpty()) {
        unpaired.inc();
        out.get(REJECTED).output(new Rejection(id, images.get(0).uri(), null, RejectReason.MISSING_MASK,
            "no mask with the id '" + id + "'"));
      } else {
        unpaired.inc();
        out.get(REJECTED).output(new Rejection(id, null, masks.get(0).uri(), RejectReason.MISSING_IMAGE,
            "no image with the id '" + id + "'"));
      }
    }
  }

  private PCollectionTuple fromSplitLists(PBegin input) {
    String root = source.root();
    return input
        .apply("MatchSplitLists", FileIO.match().filepattern(source.filePatterns().get(0).glob())
            .withEmptyMatchTreatment(EmptyMatchTreatment.DISALLOW))
        .apply("ReadSplitLists", FileIO.readMatches())
        .apply("ListedPairs", ParDo.of(new VocListFn(root, splitPolicy)))
        // A list names thousands of ids from one file: spread them before the expensive step.
        .apply("Spread", new SpreadByBucket(buckets))
        .apply("AsPairs", ParDo.of(new DoFn<SampleRef, SampleRef>() {
          @ProcessElement
          public void process(@Element SampleRef ref, MultiOutputReceiver out) {
            out.get(PAIRS).output(ref);
          }
        }).withOutputTags(PAIRS, TupleTagList.of(REJECTED)));
  }

  /** Reads ImageSets/Segmentation/{train,val}.txt; trainval.txt (their union) and test.txt (no masks) are skipped. */
  static final class VocListFn extends DoFn<FileIO.ReadableFile, SampleRef> {
    private final String root;
    private final SplitPolicy splitPolicy;
    private final Counter pairs = Metrics.counter(NAMESPACE, "pairs_matched");

    VocListFn(String root, SplitPolicy splitPolicy) {
      this.root = root;
      this.splitPolicy = splitPolicy;
    }

    @ProcessElement
    public void process(@Element FileIO.ReadableFile file, OutputReceiver<SampleRef> out) throws IOException {
      String list = Storage.stem(file.getMetadata().resourceId().toString()).toLowerCase(Locale.ROOT);
      if (!list.equals("train") && !list.equals("val")) {
        return;
      }
      for (String line : file.readFullyAsUTF8String().split("\\R")) {
        String id = line.trim();
        if (id.isEmpty()) {
          continue;
        }
        pairs.inc();
        out.output(new SampleRef(id, Storage.join(root, "JPEGImages/" + id + ".jpg"),
            Storage.join(root, "SegmentationClass/" + id + ".png"), splitPolicy.splitOf(id, list)));
      }
    }
  }

  private PCollectionTuple fromManifest(PBegin input) {
    PCollectionTuple parsed = input
        .apply("ReadManifest", TextIO.read().from(source.manifest())
            .withEmptyMatchTreatment(EmptyMatchTreatment.DISALLOW))
        .apply("ParseManifest", ParDo.of(new ManifestLineFn(source.manifest(), splitPolicy))
            .withOutputTags(PAIRS, TupleTagList.of(REJECTED)));
    // A manifest is one file read in a few splits: spread its lines before the expensive step.
    return PCollectionTuple.of(PAIRS, parsed.get(PAIRS).apply("Spread", new SpreadByBucket(buckets)))
        .and(REJECTED, parsed.get(REJECTED));
  }

  /** Regroups refs into {@code buckets} groups by id hash (a GroupByKey on small values). */
  static final class SpreadByBucket extends PTransform<PCollection<SampleRef>, PCollection<SampleRef>> {
    private final int buckets;

    SpreadByBucket(int buckets) {
      this.buckets = buckets;
    }

    @Override
    public PCollection<SampleRef> expand(PCollection<SampleRef> refs) {
      int n = buckets;
      return refs
          .apply("ToBuckets", org.apache.beam.sdk.transforms.WithKeys.<Integer, SampleRef>of(r -> Buckets.of(r.id(), n))
              .withKeyType(org.apache.beam.sdk.values.TypeDescriptors.integers()))
          .apply("ByBucket", GroupByKey.create())
          .apply("Flatten", org.apache.beam.sdk.transforms.Values.create())
          .apply("Unbatch", org.apache.beam.sdk.transforms.Flatten.iterables());
    }
  }

  /**
   * Parses one manifest line: {"image": ..., "mask": ...} or SageMaker's augmented manifest {"source-ref": ...,
   * "<label>-ref": ...}; an optional "split" and "id". Relative URIs resolve against the manifest's folder.
   */
  static final class ManifestLineFn extends DoFn<String, SampleRef> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String manifest;
    private final SplitPolicy splitPolicy;
    private final Counter pairs = Metrics.counter(NAMESPACE, "pairs_matched");
    private final Counter bad = Metrics.counter(NAMESPACE, "manifest_lines_invalid");

    ManifestLineFn(String manifest, SplitPolicy splitPolicy) {
      this.manifest = manifest;
      this.splitPolicy = splitPolicy;
    }

    @ProcessElement
    public void process(@Element String line, MultiOutputReceiver out) {
      if (line.isBlank()) {
        return;
      }
      String image;
      String mask;
      JsonNode node;
      try {
        node = JSON.readTree(line);
      } catch (IOException e) {
        reject(out, line, "not JSON: " + e.getMessage().lines().findFirst().orElse(""));
        return;
      }
      if (node == null || !node.isObject()) {
        reject(out, line, "not a JSON object");
        return;
      }
      image = text(node, "image");
      if (image == null) {
        image = text(node, "source-ref");
      }
      mask = text(node, "mask");
      if (mask == null) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          if (!e.getKey().equals("source-ref") && e.getKey().endsWith("-ref") && e.getValue().isTextual()) {
            mask = e.getValue().asText();
            break;
          }
        }
      }
      if (image == null || mask == null) {
        reject(out, line, "needs \"image\" (or \"source-ref\") and \"mask\" (or a \"<label>-ref\") URIs");
        return;
      }
      image = resolve(image);
      mask = resolve(mask);
      String id = text(node, "id");
      if (id == null) {
        id = Storage.stem(image);
      }
      pairs.inc();
      out.get(PAIRS).output(new SampleRef(id, image, mask, splitPolicy.splitOf(id, text(node, "split"))));
    }

    private void reject(MultiOutputReceiver out, String line, String why) {
      bad.inc();
      String shown = line.length() > 300 ? line.substring(0, 300) + "..." : line;
      out.get(REJECTED).output(new Rejection(null, null, null, RejectReason.INVALID_MANIFEST_LINE,
          why + "; line: " + shown));
    }

    private static String text(JsonNode node, String key) {
      JsonNode v = node.get(key);
      return v != null && v.isTextual() && !v.asText().isBlank() ? v.asText().trim() : null;
    }

    private String resolve(String uri) {
      if (uri.contains("://") || uri.startsWith("/")) {
        return uri;
      }
      ResourceId dir = FileSystems.matchNewResource(manifest, false).getCurrentDirectory();
      return dir.resolve(uri, ResolveOptions.StandardResolveOptions.RESOLVE_FILE).toString();
    }
  }
}
