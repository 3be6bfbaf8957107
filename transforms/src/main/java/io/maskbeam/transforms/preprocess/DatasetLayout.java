package io.maskbeam.transforms.preprocess;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How a dataset's files are laid out, and so how images find their masks. */
public enum DatasetLayout {
  /** An images folder (or glob) and a masks folder (or glob), matched by file stem: SageMaker's channel layout. */
  PAIRED,
  /** {@code leftImg8bit/<split>/<city>/*_leftImg8bit.png} with {@code gtFine/<split>/<city>/*_gtFine_labelIds.png}. */
  CITYSCAPES,
  /** PASCAL VOC: JPEGImages, SegmentationClass palette PNGs, ImageSets/Segmentation/{train,val}.txt. */
  VOC,
  /** Oxford-IIIT Pet: images/*.jpg with annotations/trimaps/*.png. */
  PETS,
  /** JSON Lines of {"image": uri, "mask": uri} (or SageMaker's "source-ref" and a "*-ref" label attribute). */
  MANIFEST,
  /** COCO instances or stuff JSON ({@code --annotations}) with its images under {@code --images}. */
  COCO,
  /** LabelMe: one JSON per image ({@code --annotations} folder or glob), naming its image by {@code imagePath}. */
  LABELME,
  /** CVAT for images 1.1 XML ({@code --annotations}), images under {@code --images} (default: images/ beside it). */
  CVAT,
  /** Cityscapes with {@code gtFine/<split>/<city>/*_gtFine_polygons.json} instead of label images. */
  CITYSCAPES_POLYGONS,
  /** Vertex AI image segmentation JSON Lines ({@code --annotations}): colour-coded masks or polygons. */
  VERTEX;

  public static DatasetLayout parse(String s) {
    try {
      return valueOf(s.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown layout '" + s + "'; layouts: " + names());
    }
  }

  public static String names() {
    return Arrays.stream(values()).map(DatasetLayout::flag).collect(Collectors.joining(", "));
  }

  /** The layout as the command line spells it. */
  public String flag() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** Whether the layout itself says which split each example belongs to. */
  public boolean hasOwnSplits() {
    return this == CITYSCAPES || this == VOC || this == CITYSCAPES_POLYGONS;
  }

  /** Whether masks are drawn from annotation documents rather than read from mask files. */
  public boolean isAnnotations() {
    return this == COCO || this == LABELME || this == CVAT || this == CITYSCAPES_POLYGONS || this == VERTEX;
  }
}
