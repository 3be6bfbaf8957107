package io.maskbeam.models.infer;

import io.maskbeam.image.InvalidImageException;
import io.maskbeam.image.LabelImage;
import io.maskbeam.raster.BandMapping;
import io.maskbeam.raster.RasterInfo;
import io.maskbeam.raster.RasterSource;
import java.io.IOException;

/**
 * Segments a raster of any size window by window: each window's core is read with a margin of context around it,
 * segmented (whole, or in tiles by the {@link Segmenter}'s own band-wise stitching when the window is larger than a
 * tile), and only its core is kept, so that no window's border pixels, which see less context, reach the output.
 * Memory is bounded by one window whatever the raster's size: the raster is never read or held whole.
 *
 * <p>Cores are multiples of the output's tile size, so each window hands the sink whole output tiles.
 */
public final class RasterSegmenter {
  /** Receives the labels of each window's core, in row-major window order. */
  public interface LabelSink {
    void accept(int x, int y, int width, int height, byte[] labels) throws IOException;
  }

  /** Pixels per class over the raster, pixels with no data, and how many windows ran. */
  public record Summary(long[] classPixels, long noDataPixels, int windows) {}

  private final Segmenter segmenter;
  private final int window;
  private final int margin;

  /**
   * @param window the core size of a window, a multiple of the output tile size
   * @param margin pixels of context read around each core
   */
  public RasterSegmenter(Segmenter segmenter, int window, int margin) {
    if (window < 16 || margin < 0) {
      throw new IllegalArgumentException("window " + window + ", margin " + margin);
    }
    this.segmenter = segmenter;
    this.window = window;
    this.margin = margin;
  }

  /**
   * The core size that makes a window with its margins exactly one inference tile ({@code tileSize}), rounded down
   * to a multiple of {@code outputTile} (at least one output tile).
   */
  public static int coreFor(int tileSize, int tileOverlap, int outputTile) {
    return Math.max(outputTile, (tileSize - 2 * tileOverlap) / outputTile * outputTile);
  }

  public int window() {
    return window;
  }

  public int margin() {
    return margin;
  }

  /**
   * Segments the whole raster; labels of pixels with no data are {@link BandMapping#NO_DATA_LABEL}.
   *
   * @throws InvalidImageException when a window cannot be decoded (named in the message)
   */
  public Summary segment(RasterSource source, BandMapping mapping, LabelSink sink) throws InvalidImageException,
      IOException {
    return segment(source, mapping, sink, 0, source.info().height());
  }

  /**
   * Segments the windows whose cores start in rows [fromRow, toRow): a stripe of the raster, so that one raster's
   * stripes can run on several workers. {@code fromRow} is a multiple of the window size.
   */
  public Summary segment(RasterSource source, BandMapping mapping, LabelSink sink, int fromRow, int toRow)
      throws InvalidImageException, IOException {
    RasterInfo info = source.info();
    if (fromRow % window != 0 || fromRow < 0 || toRow <= fromRow) {
      throw new IllegalArgumentException("rows " + fromRow + ".." + toRow + " for windows of " + window);
    }
    boolean raw = segmenter.inputBands() > 0;
    String why = raw ? mapping.bandMismatch(info, segmenter.inputBands(), null) : mapping.mismatch(info);
    if (why != null) {
      throw new IllegalArgumentException(why);
    }
    int classes = segmenter.numClasses();
    long[] counts = new long[classes];
    long noData = 0;
    int windows = 0;
    for (int y0 = fromRow; y0 < Math.min(toRow, info.height()); y0 += window) {
      int ch = Math.min(window, info.height() - y0);
      for (int x0 = 0; x0 < info.width(); x0 += window) {
        int cw = Math.min(window, info.width() - x0);
        int ex = Math.max(0, x0 - margin);
        int ey = Math.max(0, y0 - margin);
        int ew = Math.min(info.width(), x0 + cw + margin) - ex;
        int eh = Math.min(info.height(), y0 + ch + margin) - ey;
        java.awt.image.Raster window = source.read(ex, ey, ew, eh);
        BandMapping.Window in = raw ? null : mapping.toRgb(window, info);
        BandMapping.BandWindow bands = raw ? mapping.toBands(window, info) : null;
        boolean[] noDataMask = raw ? bands.noData() : in.noData();
        int noDataPixels = raw ? bands.noDataPixels() : in.noDataPixels();
        byte[] core = new byte[cw * ch];
        if (noDataMask != null && noDataPixels == ew * eh) {
          // Nothing to see: no model call.
          java.util.Arrays.fill(core, (byte) BandMapping.NO_DATA_LABEL);
          noData += (long) cw * ch;
        } else {
          LabelImage labels = segmenter.segment(raw ? bands.image() : in.image(), false, null).labels();
          byte[] all = labels.labels();
          for (int y = 0; y < ch; y++) {
            int from = (y0 - ey + y) * ew + (x0 - ex);
            for (int x = 0; x < cw; x++) {
              if (noDataMask != null && noDataMask[from + x]) {
                core[y * cw + x] = (byte) BandMapping.NO_DATA_LABEL;
                noData++;
              } else {
                int label = all[from + x] & 0xff;
                core[y * cw + x] = (byte) label;
                counts[label]++;
              }
            }
          }
        }
        windows++;
        sink.accept(x0, y0, cw, ch, core);
      }
    }
    return new Summary(counts, noData, windows);
  }
}
