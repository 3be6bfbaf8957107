package io.maskbeam.transforms.evaluate;

import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.LabelImage;
import io.maskbeam.image.Resampler;
import io.maskbeam.image.RgbImage;
import io.maskbeam.labels.LabelClass;
import io.maskbeam.models.eval.ConfusionMatrix;
import io.maskbeam.models.infer.MaskRendering;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;

/**
 * Renders the chosen examples (best and worst) as one JPEG each: image, ground truth and prediction as colour
 * overlays, and the errors (red where wrong, grey where ignored), side by side, each panel at most
 * {@value #PANEL_WIDTH} pixels wide. Only the chosen examples are read again, so the cost does not grow with the
 * data set.
 */
public final class RenderExamples extends PTransform<PCollection<EvalItem>, PCollection<ExampleRender>> {
  public static final String DIR = "examples";
  static final int PANEL_WIDTH = 320;

  private final Observer observer;
  private final List<LabelClass> classes;
  private final String output;
  private final PCollectionView<Map<String, String>> chosen;

  /** @param chosen id to label ("best-01", "worst-02", ...) of the examples to render */
  public RenderExamples(Observer observer, List<LabelClass> classes, String output,
      PCollectionView<Map<String, String>> chosen) {
    this.observer = observer;
    this.classes = List.copyOf(classes);
    this.output = output;
    this.chosen = chosen;
  }

  @Override
  public PCollection<ExampleRender> expand(PCollection<EvalItem> items) {
    return items.apply("RenderChosen", ParDo.of(new RenderFn(observer, classes, output, chosen))
        .withSideInputs(chosen));
  }

  static final class RenderFn extends DoFn<EvalItem, ExampleRender> {
    private final Observer observer;
    private final List<LabelClass> classes;
    private final String output;
    private final PCollectionView<Map<String, String>> chosen;
    private transient boolean opened;

    RenderFn(Observer observer, List<LabelClass> classes, String output, PCollectionView<Map<String, String>> chosen) {
      this.observer = observer;
      this.classes = classes;
      this.output = output;
      this.chosen = chosen;
    }

    @Teardown
    public void teardown() {
      if (opened) {
        observer.close();
      }
    }

    @ProcessElement
    public void process(@Element EvalItem item, ProcessContext context) throws IOException {
      String label = context.sideInput(chosen).get(item.id());
      if (label == null) {
        return;
      }
      if (!opened) {
        observer.open(); // only workers that hold a chosen example load the model
        opened = true;
      }
      Observer.Observation o;
      try {
        o = observer.observe(item);
      } catch (Observer.Unusable e) {
        return; // it was scored a moment ago; a failure now (object deleted meanwhile) just leaves it out
      }
      ConfusionMatrix m = ScoreExamples.confusion(o.truth().labels(), o.prediction().labels(),
          observer.numClasses());
      String file = DIR + "/" + label + ".jpg";
      Storage.write(Storage.join(output, file), ImageCodec.encodeJpeg(panels(o, classes), 90), "image/jpeg");
      context.output(new ExampleRender(label, item.id(), file, m.meanIou(), m.pixelAccuracy()));
    }
  }

  /** Image | truth overlay | prediction overlay | errors, scaled to a common panel width. */
  static RgbImage panels(Observer.Observation o, List<LabelClass> classes) {
    LabelImage truth = o.truth();
    int w = truth.width();
    int h = truth.height();
    RgbImage image = o.image() != null ? o.image() : new RgbImage(w, h, filled(w * h * 3, (byte) 96));
    RgbImage truthOverlay = MaskRendering.overlay(image, MaskRendering.colorize(truth, classes), 0.6f);
    RgbImage predictionOverlay = MaskRendering.overlay(image, MaskRendering.colorize(o.prediction(), classes), 0.6f);
    byte[] errors = new byte[w * h * 3];
    for (int i = 0; i < w * h; i++) {
      int t = truth.labels()[i] & 0xFF;
      boolean ignored = t >= classes.size();
      boolean wrong = !ignored && t != (o.prediction().labels()[i] & 0xFF);
      errors[i * 3] = (byte) (ignored ? 128 : wrong ? 230 : 20);
      errors[i * 3 + 1] = (byte) (ignored ? 128 : wrong ? 40 : 20);
      errors[i * 3 + 2] = (byte) (ignored ? 128 : wrong ? 40 : 20);
    }
    RgbImage[] row = {image, truthOverlay, predictionOverlay, new RgbImage(w, h, errors)};
    int pw = Math.min(PANEL_WIDTH, w);
    int ph = Math.max(1, (int) Math.round((double) h * pw / w));
    int gap = 4;
    int outW = row.length * pw + (row.length - 1) * gap;
    byte[] out = filled(outW * ph * 3, (byte) 255);
    for (int k = 0; k < row.length; k++) {
      RgbImage small = Resampler.resize(row[k], pw, ph);
      for (int y = 0; y < ph; y++) {
        System.arraycopy(small.pixels(), y * pw * 3, out, (y * outW + k * (pw + gap)) * 3, pw * 3);
      }
    }
    return new RgbImage(outW, ph, out);
  }

  private static byte[] filled(int n, byte v) {
    byte[] b = new byte[n];
    java.util.Arrays.fill(b, v);
    return b;
  }
}
