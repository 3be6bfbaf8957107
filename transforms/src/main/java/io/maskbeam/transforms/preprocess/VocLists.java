package io.maskbeam.transforms.preprocess;

import io.maskbeam.core.Stage;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.util.Locale;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollectionTuple;

/**
 * PASCAL VOC: the ids of {@code ImageSets/Segmentation/{train,val}.txt} with {@code JPEGImages/<id>.jpg} and
 * {@code SegmentationClass/<id>.png}. {@code trainval.txt} (their union) and {@code test.txt} (no masks) are not
 * read. An id listed in both train and val is refused ({@link UniqueIds}).
 */
final class VocLists extends LayoutPairing {
  VocLists(DatasetSource source, SplitPolicy splitPolicy, int buckets, Stage stage) {
    super(source, splitPolicy, buckets, stage);
  }

  @Override
  public PCollectionTuple expand(PBegin input) {
    return input
        .apply("MatchSplitLists", FileIO.match().filepattern(source.filePatterns().get(0).glob())
            .withEmptyMatchTreatment(EmptyMatchTreatment.DISALLOW))
        .apply("ReadSplitLists", FileIO.readMatches())
        .apply("ListedPairs", ParDo.of(new VocListFn(source.root(), splitPolicy)))
        .setCoder(SampleRef.Coder.of())
        // A list names thousands of ids from one file: spread them before the expensive step.
        .apply("UniqueIds", new UniqueIds(buckets, stage));
  }

  static final class VocListFn extends DoFn<FileIO.ReadableFile, SampleRef> {
    private final String root;
    private final SplitPolicy splitPolicy;

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
        out.output(new SampleRef(id, Storage.join(root, "JPEGImages/" + id + ".jpg"),
            Storage.join(root, "SegmentationClass/" + id + ".png"), splitPolicy.splitOf(id, list)));
      }
    }
  }
}
