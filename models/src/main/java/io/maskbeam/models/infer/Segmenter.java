package io.maskbeam.models.infer;

import io.maskbeam.image.LabelImage;
import io.maskbeam.image.Pixels;
import io.maskbeam.image.Resampler;
import io.maskbeam.image.ResizePolicy;
import io.maskbeam.image.RgbImage;
import java.util.ArrayList;
import java.util.List;

/**
 * How an image becomes a label map: optionally resized to the size the network should see, then run whole (and
 * batched with others of that size) when it fits in one tile, or in overlapping tiles otherwise; probabilities
 * computed at another size are resized back before the arg-max, so masks always have the input's size.
 */
public final class Segmenter {
  /** Labels at the image's size, and its probabilities [h, w, C] when they were asked for and not streamed. */
  public record Result(LabelImage labels, float[] probabilities) {}

  private final ProbabilityModel model;
  private final TiledSegmenter tiler;
  private final ResizePolicy inferenceSize;

  public Segmenter(ProbabilityModel model, int tileSize, int tileOverlap, int tileBatch, ResizePolicy inferenceSize) {
    this.model = model;
    this.tiler = new TiledSegmenter(model, tileSize, tileOverlap, tileBatch);
    this.inferenceSize = inferenceSize;
  }

  public int numClasses() {
    return model.numClasses();
  }

  /** Raw bands per pixel the model takes; 0 for an RGB model. */
  public int inputBands() {
    return model.inputBands();
  }

  /** {width, height} the network sees for an input of this size. */
  public int[] inferenceSize(int width, int height) {
    return inferenceSize.targetSize(width, height);
  }

  /** Whether an input of this size runs whole (and so can share a batch with others of its inference size). */
  public boolean runsWhole(int width, int height) {
    int[] s = inferenceSize(width, height);
    return tiler.fitsInOneTile(s[0], s[1]);
  }

  /**
   * Segments images that all have the same inference size and run whole, in one model call.
   *
   * @param keepProbabilities whether each result carries its probability map
   */
  public List<Result> segmentWhole(List<? extends Pixels> images, boolean keepProbabilities) {
    return segmentWhole(images, keepProbabilities, null);
  }

  /**
   * {@link #segmentWhole(List, boolean)}, feeding each image's probabilities (at its own size) to its accumulator in
   * {@code confidence} (one per image, or null for none).
   */
  public List<Result> segmentWhole(List<? extends Pixels> images, boolean keepProbabilities,
      List<Confidence.Accumulator> confidence) {
    if (images.isEmpty()) {
      return List.of();
    }
    int[] size = inferenceSize(images.get(0).width(), images.get(0).height());
    int iw = size[0];
    int ih = size[1];
    int c = model.numClasses();
    int ch = images.get(0).channels();
    Object batch = Pixels.allocate(images.get(0), images.size() * ih * iw * ch);
    for (int i = 0; i < images.size(); i++) {
      Pixels image = images.get(i);
      int[] s = inferenceSize(image.width(), image.height());
      if (s[0] != iw || s[1] != ih || !tiler.fitsInOneTile(iw, ih)) {
        throw new IllegalArgumentException("a whole-image batch needs one inference size that fits a tile");
      }
      Pixels input = resized(image, iw, ih);
      System.arraycopy(input.samples(), 0, batch, i * ih * iw * ch, ih * iw * ch);
    }
    List<Result> results = new ArrayList<>(images.size());
    boolean sameSize = images.stream().allMatch(im -> im.width() == iw && im.height() == ih);
    if (!keepProbabilities && sameSize) {
      // Only labels (and confidence) wanted, at the network's own size: let the model skip the probability map.
      byte[] labels = confidence == null ? model.labelsOf(batch, images.size(), ih, iw)
          : model.labelsWithConfidenceOf(batch, images.size(), ih, iw, confidence);
      for (int i = 0; i < images.size(); i++) {
        results.add(new Result(new LabelImage(iw, ih,
            java.util.Arrays.copyOfRange(labels, i * ih * iw, (i + 1) * ih * iw)), null));
      }
      return results;
    }
    float[] p = model.probabilitiesOf(batch, images.size(), ih, iw);
    int frame = ih * iw * c;
    for (int i = 0; i < images.size(); i++) {
      Pixels image = images.get(i);
      int w = image.width();
      int h = image.height();
      if (w == iw && h == ih) {
        byte[] labels = ProbabilityMaps.argMax(p, i * frame, w * h, c);
        if (confidence != null) {
          confidence.get(i).accept(p, i * frame, frame);
        }
        float[] own = keepProbabilities ? java.util.Arrays.copyOfRange(p, i * frame, (i + 1) * frame) : null;
        results.add(new Result(new LabelImage(w, h, labels), own));
      } else {
        float[] own = java.util.Arrays.copyOfRange(p, i * frame, (i + 1) * frame);
        float[] back = ProbabilityMaps.resize(own, ih, iw, c, h, w);
        if (confidence != null) {
          confidence.get(i).accept(back, 0, back.length);
        }
        results.add(new Result(new LabelImage(w, h, ProbabilityMaps.argMax(back, 0, w * h, c)),
            keepProbabilities ? back : null));
      }
    }
    return results;
  }

  /**
   * Segments one image, whole or in tiles as its size requires. Probabilities come back in the result for a whole
   * image; a tiled one streams them to {@code sink} (which may be null).
   */
  public Result segment(Pixels image, boolean keepProbabilities, ProbabilitySink sink) {
    if (runsWhole(image.width(), image.height())) {
      Result r = segmentWhole(List.of(image), keepProbabilities || sink != null).get(0);
      if (sink != null) {
        sink.accept(r.probabilities(), 0, r.probabilities().length);
        return new Result(r.labels(), keepProbabilities ? r.probabilities() : null);
      }
      return r;
    }
    return segmentTiled(image, sink);
  }

  /**
   * Segments one image in tiles. Probabilities, when {@code sink} is given, stream to it in row order with
   * bounded memory, except when the image is resized for inference: those are resized back whole first.
   */
  public Result segmentTiled(Pixels image, ProbabilitySink sink) {
    int[] s = inferenceSize(image.width(), image.height());
    if (s[0] == image.width() && s[1] == image.height()) {
      return new Result(tiler.segment(image, sink), null);
    }
    int c = model.numClasses();
    Pixels input = resized(image, s[0], s[1]);
    float[] all = new float[s[0] * s[1] * c];
    int[] filled = {0};
    tiler.segment(input, (data, offset, count) -> {
      System.arraycopy(data, offset, all, filled[0], count);
      filled[0] += count;
    });
    float[] back = ProbabilityMaps.resize(all, s[1], s[0], c, image.height(), image.width());
    if (sink != null) {
      sink.accept(back, 0, back.length);
    }
    return new Result(new LabelImage(image.width(), image.height(),
        ProbabilityMaps.argMax(back, 0, image.width() * image.height(), c)), null);
  }


  private static Pixels resized(Pixels image, int w, int h) {
    return image.width() == w && image.height() == h ? image : Resampler.resize(image, w, h);
  }
}
