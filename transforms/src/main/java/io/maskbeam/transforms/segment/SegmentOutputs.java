package io.maskbeam.transforms.segment;

import io.maskbeam.transforms.io.Storage;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * What a segment run writes for each image and where: always {@code masks/<key>.png}; optionally colour masks,
 * overlays (with their blend weight and JPEG quality) and probabilities. Built with {@link #to} and {@code withX}.
 *
 * @param output the output prefix
 * @param run this run's id, sortable by time; names its stats, state and errors files
 * @param confidence whether per-image confidence statistics are computed (from the probabilities the model returns)
 * @param confidenceThreshold top probability under which a pixel counts as low-confidence
 * @param writeUncertainty whether {@code uncertainty/<key>.png} (255 x (1 - top probability)) is written
 * @param uncertainCount how many of the least confident images {@code uncertain.csv} lists
 * @param annotations which annotation files are written for labelling tools
 */
public record SegmentOutputs(String output, String run, boolean writeColor, boolean writeOverlays,
    boolean writeProbabilities, float overlayAlpha, int overlayQuality, boolean confidence, float confidenceThreshold,
    boolean writeUncertainty, int uncertainCount, Annotations annotations) implements Serializable {
  public static final String MASKS = "masks";
  public static final String COLOR = "color";
  public static final String OVERLAYS = "overlays";
  public static final String PROBABILITIES = "probabilities";
  public static final String STATS = "stats";
  public static final String ERRORS = "errors";
  public static final String UNCERTAINTY = "uncertainty";
  public static final String UNCERTAIN_CSV = "uncertain.csv";
  public static final String LABELME = "labelme";
  public static final String COCO = "coco";
  public static final String POLYGONS = "polygons";
  /** The run-level COCO dataset assembled from {@code coco/<key>.json}: what CVAT or Label Studio imports. */
  public static final String COCO_DATASET = "annotations.coco.json";

  /**
   * Annotation files for labelling tools: {@code labelme/<key>.json} (LabelMe polygons), and {@code coco/<key>.json}
   * per image assembled into {@link #COCO_DATASET} (compressed RLE, or polygons), and {@code polygons/<key>.geojson}
   * (every class's regions as GeoJSON polygons, in a raster's CRS), polygons simplified by {@code tolerance} pixels.
   */
  public record Annotations(boolean labelMe, boolean coco, boolean cocoPolygons, double tolerance, boolean geoJson)
      implements Serializable {
    public static final Annotations NONE = new Annotations(false, false, false, 0.5, false);

    public Annotations {
      if (!(tolerance >= 0)) {
        throw new IllegalArgumentException("--polygonTolerance must be >= 0 pixels, got " + tolerance);
      }
    }

    /** From {@code --writeAnnotations}: a comma-separated list of coco and labelme, or none. */
    public static Annotations parse(String formats, boolean cocoPolygons, double tolerance) {
      boolean labelMe = false;
      boolean coco = false;
      boolean geoJson = false;
      for (String f : formats == null ? new String[0] : formats.split(",")) {
        switch (f.trim().toLowerCase(java.util.Locale.ROOT)) {
          case "", "none" -> { }
          case "labelme" -> labelMe = true;
          case "coco" -> coco = true;
          case "geojson" -> geoJson = true;
          default -> throw new IllegalArgumentException("--writeAnnotations takes coco, labelme, geojson or several"
              + " (comma-separated); got '" + f.trim() + "'");
        }
      }
      return new Annotations(labelMe, coco, cocoPolygons, tolerance, geoJson);
    }

    public boolean any() {
      return labelMe || coco || geoJson;
    }
  }

  public SegmentOutputs {
    if (overlayAlpha < 0 || overlayAlpha > 1) {
      throw new IllegalArgumentException("--overlayAlpha must be in [0, 1], got " + overlayAlpha);
    }
    if (overlayQuality < 1 || overlayQuality > 100) {
      throw new IllegalArgumentException("--overlayQuality must be in 1..100, got " + overlayQuality);
    }
    if (!(confidenceThreshold > 0 && confidenceThreshold <= 1)) {
      throw new IllegalArgumentException("--confidenceThreshold must be in (0, 1], got " + confidenceThreshold);
    }
    if (uncertainCount < 0) {
      throw new IllegalArgumentException("--uncertainCount must be >= 0, got " + uncertainCount);
    }
    if (writeUncertainty && !confidence) {
      throw new IllegalArgumentException("--writeUncertainty needs --confidence=true");
    }
  }

  /** Masks, colour masks and overlays (alpha 0.5, quality 90) under {@code output}, for run {@code run}. */
  public static SegmentOutputs to(String output, String run) {
    return new SegmentOutputs(output, run, true, true, false, 0.5f, 90, true, 0.5f, false, 100, Annotations.NONE);
  }

  public SegmentOutputs withColor(boolean write) {
    return new SegmentOutputs(output, run, write, writeOverlays, writeProbabilities, overlayAlpha, overlayQuality,
        confidence, confidenceThreshold, writeUncertainty, uncertainCount, annotations);
  }

  public SegmentOutputs withOverlays(boolean write, float alpha, int quality) {
    return new SegmentOutputs(output, run, writeColor, write, writeProbabilities, alpha, quality, confidence,
        confidenceThreshold, writeUncertainty, uncertainCount, annotations);
  }

  public SegmentOutputs withProbabilities(boolean write) {
    return new SegmentOutputs(output, run, writeColor, writeOverlays, write, overlayAlpha, overlayQuality,
        confidence, confidenceThreshold, writeUncertainty, uncertainCount, annotations);
  }

  /** Confidence statistics (threshold for low-confidence pixels), uncertainty PNGs, and the uncertain.csv length. */
  public SegmentOutputs withConfidence(boolean compute, float threshold, boolean writeMaps, int listed) {
    return new SegmentOutputs(output, run, writeColor, writeOverlays, writeProbabilities, overlayAlpha,
        overlayQuality, compute, threshold, writeMaps, listed, annotations);
  }

  /** Annotation files for labelling tools. */
  public SegmentOutputs withAnnotations(Annotations a) {
    return new SegmentOutputs(output, run, writeColor, writeOverlays, writeProbabilities, overlayAlpha,
        overlayQuality, confidence, confidenceThreshold, writeUncertainty, uncertainCount, a);
  }

  public String uncertaintyUri(String key) {
    return Storage.join(output, UNCERTAINTY + "/" + key + ".png");
  }

  public String labelMeUri(String key) {
    return Storage.join(output, LABELME + "/" + key + ".json");
  }

  public String cocoUri(String key) {
    return Storage.join(output, COCO + "/" + key + ".json");
  }

  /** Every class's regions as a GeoJSON FeatureCollection (in the raster's CRS; pixel coordinates for images). */
  public String geoJsonUri(String key) {
    return Storage.join(output, POLYGONS + "/" + key + ".geojson");
  }

  public String maskUri(String key) {
    return Storage.join(output, MASKS + "/" + key + ".png");
  }

  public String colorUri(String key) {
    return Storage.join(output, COLOR + "/" + key + ".png");
  }

  /**
   * A raster's mask: a tiled GeoTIFF of class ids with the class colours as its palette and the input's
   * georeferencing.
   */
  public String rasterMaskUri(String key) {
    return Storage.join(output, MASKS + "/" + key + ".tif");
  }

  /** A raster's colour mask: a tiled RGB GeoTIFF with the input's georeferencing. */
  public String rasterColorUri(String key) {
    return Storage.join(output, COLOR + "/" + key + ".tif");
  }

  public String overlayUri(String key) {
    return Storage.join(output, OVERLAYS + "/" + key + ".jpg");
  }

  public String probabilitiesUri(String key) {
    return Storage.join(output, PROBABILITIES + "/" + key + ".npy");
  }

  /**
   * Every file this run writes for a raster input (a GeoTIFF read window by window): its mask, colour mask and GeoJSON
   * polygons. Images' other outputs (overlays, probabilities, uncertainty maps, COCO and LabelMe files) are not
   * written for rasters.
   */
  public List<String> rasterOutputsOf(String key) {
    List<String> uris = new ArrayList<>();
    uris.add(rasterMaskUri(key));
    if (writeColor) {
      uris.add(rasterColorUri(key));
    }
    if (annotations.geoJson()) {
      uris.add(geoJsonUri(key));
    }
    return uris;
  }

  /** Every file this run writes for one input; --skipExisting skips an input when all of them exist. */
  public List<String> outputsOf(String key) {
    List<String> uris = new ArrayList<>();
    uris.add(maskUri(key));
    if (writeColor) {
      uris.add(colorUri(key));
    }
    if (writeOverlays) {
      uris.add(overlayUri(key));
    }
    if (writeProbabilities) {
      uris.add(probabilitiesUri(key));
    }
    if (writeUncertainty) {
      uris.add(uncertaintyUri(key));
    }
    if (annotations.labelMe()) {
      uris.add(labelMeUri(key));
    }
    if (annotations.coco()) {
      uris.add(cocoUri(key));
    }
    if (annotations.geoJson()) {
      uris.add(geoJsonUri(key));
    }
    return uris;
  }
}
