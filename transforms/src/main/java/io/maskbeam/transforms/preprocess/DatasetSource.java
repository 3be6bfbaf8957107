package io.maskbeam.transforms.preprocess;

import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;

/**
 * Where a dataset lives: a layout plus its paths. {@link #filePatterns()} lists the globs each role is matched
 * with, so the command line can check before the job starts that each matches something.
 */
public record DatasetSource(DatasetLayout layout, String images, String masks, String root, String manifest,
    String annotations) implements Serializable {

  public DatasetSource(DatasetLayout layout, String images, String masks, String root, String manifest) {
    this(layout, images, masks, root, manifest, null);
  }

  public static DatasetSource paired(String images, String masks) {
    return new DatasetSource(DatasetLayout.PAIRED, images, masks, null, null);
  }

  public static DatasetSource rooted(DatasetLayout layout, String root) {
    return new DatasetSource(layout, null, null, root, null);
  }

  public static DatasetSource manifest(String manifest) {
    return new DatasetSource(DatasetLayout.MANIFEST, null, null, null, manifest);
  }

  /** A COCO JSON file; its images' {@code file_name}s resolve against {@code images} (or the JSON's folder). */
  public static DatasetSource coco(String annotations, String images) {
    return new DatasetSource(DatasetLayout.COCO, images, null, null, null, annotations);
  }

  /** A folder or glob of LabelMe JSON files. */
  public static DatasetSource labelMe(String annotations) {
    return new DatasetSource(DatasetLayout.LABELME, null, null, null, null, annotations);
  }

  /** SageMaker's channels: images and their annotations per split. */
  static final String[][] SAGEMAKER_CHANNELS = {
    {"train", "train_annotation", "train"}, {"validation", "validation_annotation", "val"}};

  /**
   * A role's glob: what its files are ("images", "masks", ...), the pattern, and the split its files belong to
   * when the folder says so (SageMaker channels), else null.
   */
  public record Pattern(String role, String glob, String split) implements Serializable {
    Pattern(String role, String glob) {
      this(role, glob, null);
    }
  }

  /** Whether this is SageMaker's channel layout: {@code paired} with {@code --root} instead of folders. */
  public boolean isSageMakerChannels() {
    return layout == DatasetLayout.PAIRED && images == null && masks == null && root != null;
  }

  /** The globs this source matches, validated for the layout's required paths. */
  public List<Pattern> filePatterns() {
    List<Pattern> out = new ArrayList<>();
    switch (layout) {
      case PAIRED -> {
        if (isSageMakerChannels()) {
          for (String[] channel : SAGEMAKER_CHANNELS) {
            out.add(new Pattern("images", Storage.join(root, channel[0] + "/*"), channel[2]));
            out.add(new Pattern("masks", Storage.join(root, channel[1] + "/*"), channel[2]));
          }
        } else {
          out.add(new Pattern("images", asGlob(require(images, "--images (or --root with SageMaker channels)"))));
          out.add(new Pattern("masks", asGlob(require(masks, "--masks"))));
        }
      }
      case CITYSCAPES -> {
        String r = require(root, "--root");
        out.add(new Pattern("images", Storage.join(r, "leftImg8bit/*/*/*_leftImg8bit.png")));
        out.add(new Pattern("masks", Storage.join(r, "gtFine/*/*/*_gtFine_labelIds.png")));
      }
      case VOC -> out.add(new Pattern("split lists", Storage.join(require(root, "--root"), "ImageSets/Segmentation/*.txt")));
      case PETS -> {
        String r = require(root, "--root");
        out.add(new Pattern("images", Storage.join(r, "images/*.jpg")));
        out.add(new Pattern("masks", Storage.join(r, "annotations/trimaps/*.png")));
      }
      case MANIFEST -> out.add(new Pattern("manifest", require(manifest, "--manifest")));
      case COCO -> out.add(new Pattern("annotations", require(annotations, "--annotations (a COCO JSON file)")));
      case LABELME -> out.add(new Pattern("annotations", asGlob(require(annotations,
          "--annotations (a folder or glob of LabelMe JSON files)"))));
      case CVAT -> out.add(new Pattern("annotations", require(annotations, "--annotations (a CVAT XML file)")));
      case VERTEX -> out.add(new Pattern("annotations", require(annotations,
          "--annotations (a Vertex AI JSON Lines file)")));
      case CITYSCAPES_POLYGONS -> {
        String r = require(root, "--root");
        out.add(new Pattern("images", Storage.join(r, "leftImg8bit/*/*/*_leftImg8bit.png")));
        out.add(new Pattern("masks", Storage.join(r, "gtFine/*/*/*_gtFine_polygons.json")));
      }
    }
    return out;
  }

  private String require(String value, String flag) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("layout " + layout.flag() + " needs " + flag);
    }
    return value;
  }

  /** A folder becomes "folder/*"; anything with a wildcard is a glob already. */
  static String asGlob(String spec) {
    if (spec.contains("*") || spec.contains("?") || spec.contains("[")) {
      return spec;
    }
    return Storage.join(spec, "*");
  }

  /**
   * Fails with a message naming the flag and pattern when any pattern matches nothing; call after
   * {@code FileSystems.setDefaultPipelineOptions}. Returns the number of files each pattern matched.
   */
  public List<Long> checkInputsExist() throws IOException {
    List<Long> counts = new ArrayList<>();
    for (Pattern p : filePatterns()) {
      MatchResult result = FileSystems.match(p.glob());
      long n = result.status() == MatchResult.Status.OK ? result.metadata().size() : 0;
      if (n == 0) {
        throw new IllegalArgumentException("no " + p.role() + " match '" + p.glob() + "'"
            + (result.status() == MatchResult.Status.OK || result.status() == MatchResult.Status.NOT_FOUND
                ? "" : " (" + result.status() + ")"));
      }
      counts.add(n);
    }
    return counts;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DatasetSource d && layout == d.layout && Objects.equals(images, d.images)
        && Objects.equals(masks, d.masks) && Objects.equals(root, d.root) && Objects.equals(manifest, d.manifest)
        && Objects.equals(annotations, d.annotations);
  }

  @Override
  public int hashCode() {
    return Objects.hash(layout, images, masks, root, manifest, annotations);
  }
}
