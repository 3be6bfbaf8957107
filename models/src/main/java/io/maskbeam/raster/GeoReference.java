package io.maskbeam.raster;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;
import java.util.OptionalInt;

/**
 * Where a raster lies on the map, as GeoTIFF records it: the model tie points (33922) with the pixel scale (33550), or
 * the model transformation (34264), and the GeoKey directory (34735) with its double (34736) and ASCII (34737)
 * parameters. Outputs carry these tags verbatim, so a mask lies exactly where its input does in any GIS, whatever
 * the CRS; what Maskbeam itself interprets (the affine transform, the EPSG code, linear units) it reads from them.
 *
 * @param pixelScale ModelPixelScale (Sx, Sy, Sz), or null
 * @param tiePoints ModelTiepoint (I, J, K, X, Y, Z)*, or null
 * @param transformation ModelTransformation, 16 values row by row, or null
 * @param geoKeys GeoKeyDirectory as unsigned shorts, or null
 * @param doubleParams GeoDoubleParams, or null
 * @param asciiParams GeoAsciiParams, or null
 */
public record GeoReference(double[] pixelScale, double[] tiePoints, double[] transformation, int[] geoKeys,
    double[] doubleParams, String asciiParams) implements Serializable {

  public static final int TAG_PIXEL_SCALE = 33550;
  public static final int TAG_TIEPOINT = 33922;
  public static final int TAG_TRANSFORMATION = 34264;
  public static final int TAG_GEO_KEYS = 34735;
  public static final int TAG_DOUBLE_PARAMS = 34736;
  public static final int TAG_ASCII_PARAMS = 34737;
  /** GDAL's nodata tag: the value as ASCII. */
  public static final int TAG_GDAL_NODATA = 42113;

  static final int KEY_MODEL_TYPE = 1024;
  static final int KEY_RASTER_TYPE = 1025;
  static final int KEY_GEOGRAPHIC_TYPE = 2048;
  static final int KEY_PROJECTED_TYPE = 3072;
  static final int KEY_LINEAR_UNITS = 3076;

  /** A raster with no georeferencing: pixel coordinates are its only coordinates. */
  public static final GeoReference NONE = new GeoReference(null, null, null, null, null, null);

  public boolean georeferenced() {
    return transformation != null || (tiePoints != null && tiePoints.length >= 6 && pixelScale != null);
  }

  /**
   * The affine transform from pixel-corner coordinates (column, row) to map coordinates, in GDAL's order
   * {@code [x0, dx/dcol, dx/drow, y0, dy/dcol, dy/drow]}, or the identity when the raster is not georeferenced.
   * Rasters flagged PixelIsPoint are shifted half a pixel, as GDAL does, so that (0, 0) is the first pixel's corner.
   */
  public double[] affine() {
    double[] gt;
    if (transformation != null && transformation.length >= 8) {
      gt = new double[] {transformation[3], transformation[0], transformation[1], transformation[7],
          transformation[4], transformation[5]};
    } else if (georeferenced()) {
      double sx = pixelScale[0];
      double sy = pixelScale[1];
      gt = new double[] {tiePoints[3] - tiePoints[0] * sx, sx, 0, tiePoints[4] + tiePoints[1] * sy, 0, -sy};
    } else {
      return new double[] {0, 1, 0, 0, 0, 1};
    }
    if (key(KEY_RASTER_TYPE).orElse(1) == 2) {
      gt[0] -= 0.5 * gt[1] + 0.5 * gt[2];
      gt[3] -= 0.5 * gt[4] + 0.5 * gt[5];
    }
    return gt;
  }

  /** Map coordinates of a pixel-corner position (column, row). */
  public double[] toMap(double column, double row) {
    double[] gt = affine();
    return new double[] {gt[0] + column * gt[1] + row * gt[2], gt[3] + column * gt[4] + row * gt[5]};
  }

  /** The area of one pixel in the CRS's units squared (1 for a raster that is not georeferenced). */
  public double pixelArea() {
    double[] gt = affine();
    return Math.abs(gt[1] * gt[5] - gt[2] * gt[4]);
  }

  /** Whether the CRS is projected (GTModelTypeGeoKey = 1), so that areas are in linear units squared. */
  public boolean projected() {
    return key(KEY_MODEL_TYPE).orElse(0) == 1;
  }

  /** The EPSG code of the projected or geographic CRS, when the GeoKeys give one (32767 means user-defined). */
  public OptionalInt epsg() {
    OptionalInt code = projected() ? key(KEY_PROJECTED_TYPE) : key(KEY_GEOGRAPHIC_TYPE);
    return code.isPresent() && code.getAsInt() > 0 && code.getAsInt() < 32767 ? code : OptionalInt.empty();
  }

  /** The projected CRS's linear unit: metre, foot, US survey foot, or its EPSG unit code; null when not projected. */
  public String linearUnit() {
    if (!projected()) {
      return null;
    }
    int unit = key(KEY_LINEAR_UNITS).orElse(9001); // EPSG CRSs without the key are in metres almost always
    return switch (unit) {
      case 9001 -> "metre";
      case 9002 -> "foot";
      case 9003 -> "US survey foot";
      default -> "EPSG unit " + unit;
    };
  }

  /** The area unit of {@link #pixelArea()}, for reports: "square metre", "square degree", "pixel". */
  public String areaUnit() {
    if (!georeferenced()) {
      return "pixel";
    }
    String unit = linearUnit();
    return unit != null ? "square " + unit : "square CRS unit";
  }

  /** A short GeoKey's value (TIFFTagLocation 0), if the directory has the key. */
  public OptionalInt key(int id) {
    if (geoKeys == null || geoKeys.length < 4) {
      return OptionalInt.empty();
    }
    int n = geoKeys[3];
    for (int i = 0; i < n && 4 + 4 * i + 3 < geoKeys.length; i++) {
      int o = 4 + 4 * i;
      if (geoKeys[o] == id && geoKeys[o + 1] == 0) {
        return OptionalInt.of(geoKeys[o + 3]);
      }
    }
    return OptionalInt.empty();
  }

  /** "EPSG:32633" or a description of what the raster carries, for logs and summaries. */
  public String describe() {
    if (!georeferenced()) {
      return "not georeferenced";
    }
    OptionalInt code = epsg();
    double[] gt = affine();
    return String.format(Locale.ROOT, "%s, origin (%s, %s), pixel %s x %s", code.isPresent()
        ? "EPSG:" + code.getAsInt() : "CRS without an EPSG code", gt[0], gt[3], gt[1], gt[5]);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GeoReference g && Arrays.equals(pixelScale, g.pixelScale)
        && Arrays.equals(tiePoints, g.tiePoints) && Arrays.equals(transformation, g.transformation)
        && Arrays.equals(geoKeys, g.geoKeys) && Arrays.equals(doubleParams, g.doubleParams)
        && java.util.Objects.equals(asciiParams, g.asciiParams);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(Arrays.hashCode(pixelScale), Arrays.hashCode(tiePoints),
        Arrays.hashCode(transformation), Arrays.hashCode(geoKeys), Arrays.hashCode(doubleParams), asciiParams);
  }

  @Override
  public String toString() {
    return "GeoReference[" + describe() + "]";
  }
}
