package io.maskbeam.dataset;

/**
 * A serialized DeepLab tf.train.Example and what statistics need to know about it.
 *
 * @param classPixels pixel count per class id of the written mask
 * @param ignorePixels pixels written as the ignore value (includes {@code unknownPixels} under the ignore policy)
 * @param unknownPixels pixels whose raw value or colour the label map did not cover
 * @param orientation the EXIF orientation the image was turned upright by (1: none)
 * @param bands statistics of the raw bands of a raster example (pixels with data), null for RGB examples
 */
public record PreparedExample(
    String id,
    byte[] example,
    String imageFormat,
    int width,
    int height,
    int sourceWidth,
    int sourceHeight,
    long[] classPixels,
    long ignorePixels,
    long unknownPixels,
    boolean imageReencoded,
    int orientation,
    BandStatistics bands) {
  /** Whether no pixel of the written mask counts for any class (every pixel is the ignore value). */
  public boolean allIgnore() {
    return ignorePixels == (long) width * height;
  }
}
