package io.maskbeam.raster;

import io.maskbeam.image.RgbImage;
import java.awt.image.Raster;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;

/**
 * How a raster's bands become the three 8-bit channels an RGB model takes: which bands, in which order (1-based, as
 * GDAL numbers them), the linear range mapped onto 0..255 for samples wider than 8 bits, and which value means
 * "no data". Nothing is guessed: a 16-bit or float raster without a range, or a raster with fewer bands than asked
 * for, is refused with the flag that fixes it.
 *
 * @param bands 1-based band numbers, one per model channel; null: bands 1, 2, 3
 * @param low per channel, the sample value mapped to 0; null for 8-bit rasters read as they are
 * @param high per channel, the sample value mapped to 255
 * @param noData the nodata value overriding the file's GDAL_NODATA, or null to use the file's
 */
public record BandMapping(int[] bands, double[] low, double[] high, Double noData) implements Serializable {
  /** Bands 1, 2, 3 as they are; nodata from the file. */
  public static final BandMapping DEFAULT = new BandMapping(null, null, null, null);

  /** The label written for pixels with no data (and GDAL_NODATA of the masks). */
  public static final int NO_DATA_LABEL = 255;

  /**
   * From the command line's {@code --bands=4,3,2}, {@code --bandRange=0,3000} (all channels) or
   * {@code --bandRange=0,3000,0,3000,0,2500} (one pair per channel), and {@code --nodata=0}; blanks mean defaults.
   */
  public static BandMapping parse(String bandsFlag, String rangeFlag, String noDataFlag) {
    int[] bands = null;
    if (bandsFlag != null && !bandsFlag.isBlank()) {
      bands = Arrays.stream(bandsFlag.split(",")).map(String::trim).mapToInt(s -> {
        try {
          return Integer.parseInt(s);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("--bands takes 1-based band numbers such as 4,3,2; got '" + bandsFlag
              + "'");
        }
      }).toArray();
      for (int b : bands) {
        if (b < 1) {
          throw new IllegalArgumentException("--bands numbers bands from 1, as GDAL does; got " + b);
        }
      }
    }
    double[] low = null;
    double[] high = null;
    if (rangeFlag != null && !rangeFlag.isBlank()) {
      double[] v;
      try {
        v = Arrays.stream(rangeFlag.split(",")).map(String::trim).mapToDouble(Double::parseDouble).toArray();
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--bandRange takes LOW,HIGH or three LOW,HIGH pairs; got '" + rangeFlag
            + "'");
      }
      if (v.length != 2 && v.length != 6) {
        throw new IllegalArgumentException("--bandRange takes LOW,HIGH or three LOW,HIGH pairs; got " + v.length
            + " numbers");
      }
      if (bands != null && bands.length != 3) {
        throw new IllegalArgumentException("--bandRange maps bands onto the 8-bit channels of an RGB model, which"
            + " takes 3 bands; --bands names " + bands.length + " (a model trained on raw bands needs no range)");
      }
      low = new double[3];
      high = new double[3];
      for (int c = 0; c < 3; c++) {
        low[c] = v.length == 2 ? v[0] : v[2 * c];
        high[c] = v.length == 2 ? v[1] : v[2 * c + 1];
        if (!(high[c] > low[c])) {
          throw new IllegalArgumentException("--bandRange needs HIGH > LOW, got " + low[c] + "," + high[c]);
        }
      }
    }
    Double noData = null;
    if (noDataFlag != null && !noDataFlag.isBlank()) {
      noData = noDataFlag.trim().equalsIgnoreCase("nan") ? Double.NaN : Double.parseDouble(noDataFlag.trim());
    }
    return new BandMapping(bands, low, high, noData);
  }

  /** Whether nothing was asked for: bands 1, 2, 3 as they are, nodata from the file. */
  public boolean isDefault() {
    return bands == null && low == null && noData == null;
  }

  /** The 1-based bands read, one per channel (for an RGB model: 1, 2, 3 unless named). */
  public int[] channels() {
    return bands == null ? new int[] {1, 2, 3} : bands.clone();
  }

  /** This mapping reading {@code defaults} when no {@code --bands} was given (a band model's training bands). */
  public BandMapping withDefaultBands(int[] defaults) {
    return bands != null || defaults == null ? this : new BandMapping(defaults.clone(), low, high, noData);
  }

  /**
   * Why this mapping cannot feed an RGB model from a raster like {@code info}, or null when it can: too few bands,
   * or samples wider than 8 bits and no range.
   */
  public String mismatch(RasterInfo info) {
    if (bands != null && bands.length != 3) {
      return "--bands names " + bands.length + " bands, but the model takes 3 RGB channels";
    }
    if (bands == null && info.bands() < 3) {
      return "a " + info.bands() + "-band raster and a 3-channel model: pass --bands (such as 1,1,1 to repeat a grey"
          + " band)";
    }
    for (int b : channels()) {
      if (b > info.bands()) {
        return "--bands asks for band " + b + " of a " + info.bands() + "-band raster";
      }
    }
    if (low == null && info.type() != SampleType.UINT8) {
      return "a " + info.type().label() + " raster needs --bandRange=LOW,HIGH: the model takes 8-bit channels and"
          + " Maskbeam does not guess a stretch";
    }
    return null;
  }

  /**
   * Why this mapping cannot feed a model trained on {@code modelBands} raw bands of {@code modelType} from a raster
   * like {@code info}, or null when it can: another band count, a band the raster lacks, another sample type (the
   * model's normalisation was measured on that type's scale).
   */
  public String bandMismatch(RasterInfo info, int modelBands, SampleType modelType) {
    int[] c = bands == null ? null : bands;
    if (c == null) {
      if (info.bands() != modelBands) {
        return "the model was trained on " + modelBands + " bands, the raster has " + info.bands()
            + " (pass --bands to choose " + modelBands + ")";
      }
    } else if (c.length != modelBands) {
      return "--bands names " + c.length + " bands, the model was trained on " + modelBands;
    } else {
      for (int b : c) {
        if (b > info.bands()) {
          return "--bands asks for band " + b + " of a " + info.bands() + "-band raster";
        }
      }
    }
    if (modelType != null && info.type() != modelType) {
      return "the model was trained on " + modelType.label() + " samples, the raster holds " + info.type().label()
          + " (its normalisation would not fit)";
    }
    return null;
  }

  /** One window as raw bands, NaN where a pixel holds no data, with which pixels those are. */
  public record BandWindow(io.maskbeam.image.BandImage image, boolean[] noData, int noDataPixels) {}

  /**
   * Reads the mapping's bands (all of the raster's when none were named) of a window as they are, the input of a
   * model trained on raw bands; no range applies.
   */
  public BandWindow toBands(Raster raster, RasterInfo info) {
    int w = raster.getWidth();
    int h = raster.getHeight();
    int[] channels = bands != null ? bands : java.util.stream.IntStream.rangeClosed(1, info.bands()).toArray();
    int n = channels.length;
    float[] out = new float[w * h * n];
    NoData noData = read(raster, channels, noDataFor(info), (p, c, v) -> out[p * n + c] = (float) v);
    if (noData.mask() != null) {
      for (int p = 0; p < noData.mask().length; p++) {
        if (noData.mask()[p]) {
          Arrays.fill(out, p * n, (p + 1) * n, Float.NaN);
        }
      }
    }
    return new BandWindow(new io.maskbeam.image.BandImage(w, h, n, out), noData.mask(), noData.pixels());
  }

  /** Receives sample {@code v} of pixel {@code p} (row-major) for channel {@code c}. */
  private interface SampleSink {
    void put(int p, int c, double v);
  }

  /** Which pixels of a window hold no data (null when none do), and how many. */
  private record NoData(boolean[] mask, int pixels) {}

  /**
   * Hands every sample of {@code channels} (1-based bands) of a window to {@code sink} and finds the pixels with no
   * data: those whose every channel read equals {@code nd} (GDAL's rule for each band, applied to the channels used).
   */
  private static NoData read(Raster raster, int[] channels, Double nd, SampleSink sink) {
    int w = raster.getWidth();
    int h = raster.getHeight();
    boolean[] mask = nd == null ? null : new boolean[w * h];
    if (mask != null) {
      Arrays.fill(mask, true);
    }
    double[] samples = new double[w];
    for (int c = 0; c < channels.length; c++) {
      for (int y = 0; y < h; y++) {
        raster.getSamples(raster.getMinX(), raster.getMinY() + y, w, 1, channels[c] - 1, samples);
        for (int x = 0; x < w; x++) {
          int p = y * w + x;
          if (mask != null && mask[p] && !isNoData(samples[x], nd)) {
            mask[p] = false;
          }
          sink.put(p, c, samples[x]);
        }
      }
    }
    int count = 0;
    if (mask != null) {
      for (boolean m : mask) {
        count += m ? 1 : 0;
      }
    }
    return new NoData(count == 0 ? null : mask, count);
  }

  private static boolean isNoData(double v, Double nd) {
    return nd.isNaN() ? Double.isNaN(v) : v == nd;
  }

  /** The nodata value in effect for this raster: the flag's, else the file's, else none. */
  public Double noDataFor(RasterInfo info) {
    return noData != null ? noData : info.noDataValue();
  }

  /** One window as the model's RGB input, with which pixels hold no data. */
  public record Window(RgbImage image, boolean[] noData, int noDataPixels) {}

  /**
   * Maps a window read by {@link RasterSource#read}. A pixel holds no data when every band read equals the nodata
   * value (GDAL's rule for each band, applied to the channels used).
   */
  public Window toRgb(Raster raster, RasterInfo info) {
    String why = mismatch(info);
    if (why != null) {
      throw new IllegalArgumentException(why);
    }
    int w = raster.getWidth();
    int h = raster.getHeight();
    byte[] rgb = new byte[w * h * 3];
    double[] lo = new double[3];
    double[] scale = new double[3];
    for (int c = 0; c < 3; c++) {
      lo[c] = low == null ? 0 : low[c];
      scale[c] = low == null ? 1 : 255.0 / (high[c] - lo[c]);
    }
    NoData noData = read(raster, channels(), noDataFor(info), (p, c, v) -> {
      double mapped = (v - lo[c]) * scale[c];
      rgb[p * 3 + c] = (byte) (Double.isNaN(mapped) ? 0 : Math.max(0, Math.min(255, Math.round(mapped))));
    });
    return new Window(new RgbImage(w, h, rgb), noData.mask(), noData.pixels());
  }

  /** "bands 4,3,2, 0..3000 to 0..255, nodata from the file" for logs and summaries. */
  public String describe() {
    int[] c = channels();
    return String.format(Locale.ROOT, "bands %s%s%s", Arrays.stream(c).mapToObj(Integer::toString)
        .collect(java.util.stream.Collectors.joining(",")),
        low == null ? "" : String.format(Locale.ROOT, ", %s..%s (channel 1) to 0..255", low[0], high[0]),
        noData == null ? "" : ", nodata " + noData);
  }
}
