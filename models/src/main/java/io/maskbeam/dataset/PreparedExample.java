package io.maskbeam.dataset;

/**
 * A serialized DeepLab tf.train.Example and what statistics need to know about it.
 *
 * @param classPixels pixel count per class id of the written mask
 * @param ignorePixels pixels written as the ignore value (includes {@code unknownPixels} under the ignore policy)
 * @param unknownPixels pixels whose raw value or colour the label map did not cover
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
    boolean imageReencoded) {}
