package io.maskbeam.transforms.segment;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.maskbeam.models.infer.Confidence;
import io.maskbeam.transforms.common.CoderFields;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.List;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.DefaultCoder;

/**
 * Per-image class statistics of one segmentation: pixels per class id (the arrays index class ids), as written to
 * {@code stats/} JSON Lines with class names as keys so pandas' {@code read_json(lines=True)} reads them directly.
 * {@code run} names the run that produced them; the summary keeps the newest entry per key. {@code confidence} is
 * null when it was not computed. {@code raster} is set for rasters (GeoTIFFs segmented window by window): pixels
 * without data, which no class counts, and the area of a pixel in the CRS's units.
 */
@DefaultCoder(ImageStats.Coder.class)
public record ImageStats(String key, String input, String run, int width, int height, int orientation,
    long[] classPixels, Confidence confidence, RasterArea raster) {
  public ImageStats(String key, String input, String run, int width, int height, int orientation,
      long[] classPixels) {
    this(key, input, run, width, height, orientation, classPixels, null, null);
  }

  public ImageStats(String key, String input, String run, int width, int height, int orientation,
      long[] classPixels, Confidence confidence) {
    this(key, input, run, width, height, orientation, classPixels, confidence, null);
  }

  /**
   * What a raster adds to its statistics.
   *
   * @param pixelArea the area of one pixel in {@code areaUnit} (1 "pixel" for a raster that is not georeferenced)
   * @param crs "EPSG:32633", or a description when the raster has no EPSG code
   */
  public record RasterArea(long noDataPixels, double pixelArea, String areaUnit, String crs) {}

  /** Pixels that hold data: those the classes count. */
  public long validPixels() {
    return pixels() - (raster == null ? 0 : raster.noDataPixels());
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  public long pixels() {
    return (long) width * height;
  }

  public String toJsonLine(List<String> classNames) {
    ObjectNode node = JSON.createObjectNode();
    node.put("key", key);
    node.put("input", input);
    node.put("run", run);
    node.put("width", width);
    node.put("height", height);
    node.put("orientation", orientation);
    node.put("pixels", pixels());
    ObjectNode counts = node.putObject("classPixels");
    ObjectNode fractions = node.putObject("classFractions");
    for (int c = 0; c < classPixels.length; c++) {
      counts.put(classNames.get(c), classPixels[c]);
      fractions.put(classNames.get(c), validPixels() == 0 ? 0 : (double) classPixels[c] / validPixels());
    }
    if (raster != null) {
      node.put("noDataPixels", raster.noDataPixels());
      node.put("crs", raster.crs());
      node.put("areaUnit", raster.areaUnit());
      node.put("pixelArea", raster.pixelArea());
      ObjectNode areas = node.putObject("classAreas");
      for (int c = 0; c < classPixels.length; c++) {
        areas.put(classNames.get(c), classPixels[c] * raster.pixelArea());
      }
    }
    if (confidence != null) {
      node.putObject("confidence").put("meanMaxProbability", confidence.meanMaxProbability())
          .put("meanEntropy", confidence.meanEntropy())
          .put("lowConfidenceFraction", confidence.lowConfidenceFraction());
    }
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Parses a line written by {@link #toJsonLine}; class names map back to ids. */
  public static ImageStats fromJsonLine(String line, List<String> classNames) {
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not a stats line: " + e.getOriginalMessage());
    }
    long[] counts = new long[classNames.size()];
    JsonNode c = node.path("classPixels");
    for (int i = 0; i < counts.length; i++) {
      counts[i] = c.path(classNames.get(i)).asLong(0);
    }
    JsonNode conf = node.path("confidence");
    RasterArea raster = node.has("areaUnit") ? new RasterArea(node.path("noDataPixels").asLong(),
        node.path("pixelArea").asDouble(), node.path("areaUnit").asText(), node.path("crs").asText()) : null;
    return new ImageStats(node.path("key").asText(), node.path("input").asText(), node.path("run").asText(),
        node.path("width").asInt(), node.path("height").asInt(), node.path("orientation").asInt(1), counts,
        conf.isObject() ? new Confidence(conf.path("meanMaxProbability").asDouble(),
            conf.path("meanEntropy").asDouble(), conf.path("lowConfidenceFraction").asDouble()) : null, raster);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ImageStats s && s.key.equals(key) && s.input.equals(input) && s.run.equals(run)
        && s.width == width && s.height == height && s.orientation == orientation
        && Arrays.equals(s.classPixels, classPixels) && java.util.Objects.equals(s.confidence, confidence)
        && java.util.Objects.equals(s.raster, raster);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(key, input, run, width, height, orientation, Arrays.hashCode(classPixels),
        confidence, raster);
  }

  /** The explicit coder of {@link ImageStats}. */
  public static final class Coder extends AtomicCoder<ImageStats> {
    private static final Coder INSTANCE = new Coder();

    public static Coder of() {
      return INSTANCE;
    }

    /** How {@code @DefaultCoder} finds this coder. */
    public static org.apache.beam.sdk.coders.CoderProvider getCoderProvider() {
      return org.apache.beam.sdk.coders.CoderProviders.forCoder(
          org.apache.beam.sdk.values.TypeDescriptor.of(ImageStats.class), INSTANCE);
    }

    @Override
    public void encode(ImageStats s, OutputStream out) throws IOException {
      CoderFields.putString(out, s.key());
      CoderFields.putString(out, s.input());
      CoderFields.putString(out, s.run());
      CoderFields.putInt(out, s.width());
      CoderFields.putInt(out, s.height());
      CoderFields.putInt(out, s.orientation());
      CoderFields.putLongs(out, s.classPixels());
      CoderFields.putBoolean(out, s.confidence() != null);
      if (s.confidence() != null) {
        CoderFields.putLong(out, Double.doubleToLongBits(s.confidence().meanMaxProbability()));
        CoderFields.putLong(out, Double.doubleToLongBits(s.confidence().meanEntropy()));
        CoderFields.putLong(out, Double.doubleToLongBits(s.confidence().lowConfidenceFraction()));
      }
      CoderFields.putBoolean(out, s.raster() != null);
      if (s.raster() != null) {
        CoderFields.putLong(out, s.raster().noDataPixels());
        CoderFields.putLong(out, Double.doubleToLongBits(s.raster().pixelArea()));
        CoderFields.putString(out, s.raster().areaUnit());
        CoderFields.putString(out, s.raster().crs());
      }
    }

    @Override
    public ImageStats decode(InputStream in) throws IOException {
      String key = CoderFields.getString(in);
      String input = CoderFields.getString(in);
      String run = CoderFields.getString(in);
      int width = CoderFields.getInt(in);
      int height = CoderFields.getInt(in);
      int orientation = CoderFields.getInt(in);
      long[] pixels = CoderFields.getLongs(in);
      Confidence confidence = CoderFields.getBoolean(in) ? new Confidence(
          Double.longBitsToDouble(CoderFields.getLong(in)), Double.longBitsToDouble(CoderFields.getLong(in)),
          Double.longBitsToDouble(CoderFields.getLong(in))) : null;
      RasterArea raster = CoderFields.getBoolean(in) ? new RasterArea(CoderFields.getLong(in),
          Double.longBitsToDouble(CoderFields.getLong(in)), CoderFields.getString(in), CoderFields.getString(in))
          : null;
      return new ImageStats(key, input, run, width, height, orientation, pixels, confidence, raster);
    }

  }
}
