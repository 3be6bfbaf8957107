package io.maskbeam.raster;

import java.io.Serializable;

/**
 * What a raster file's header says: size, bands, sample type, internal tiling, georeferencing and nodata.
 *
 * @param tileWidth internal tile width, or 0 for a raster stored in strips
 * @param tileHeight internal tile height, or the rows per strip for a raster stored in strips
 * @param noData GDAL_NODATA as written in the file, or null
 */
public record RasterInfo(int width, int height, int bands, SampleType type, int tileWidth, int tileHeight,
    int compression, GeoReference geo, String noData) implements Serializable {

  public long pixels() {
    return (long) width * height;
  }

  /**
   * Whether this TIFF is more than a picture (georeferenced, nodata, samples other than 8-bit, more than 4 bands), so
   * every stage reads it as a raster, band by band and window by window, rather than as an RGB photo.
   */
  public boolean beyondPicture() {
    return geo.georeferenced() || noData != null || type != SampleType.UINT8 || bands > 4;
  }

  /** The nodata value as a number (NaN for "nan"), or null when the file declares none or an unparsable one. */
  public Double noDataValue() {
    if (noData == null || noData.isBlank()) {
      return null;
    }
    try {
      return Double.parseDouble(noData.trim());
    } catch (NumberFormatException e) {
      return noData.trim().equalsIgnoreCase("nan") ? Double.NaN : null;
    }
  }

  /** "20000x20000, 4 bands of uint16, tiles of 256x256, EPSG:32633..." for logs and errors. */
  public String describe() {
    return width + "x" + height + ", " + bands + (bands == 1 ? " band" : " bands") + " of " + type.label() + ", "
        + (tileWidth > 0 ? "tiles of " + tileWidth + "x" + tileHeight : "strips of " + tileHeight + " rows")
        + ", " + geo.describe() + (noData != null ? ", nodata " + noData : "");
  }
}
