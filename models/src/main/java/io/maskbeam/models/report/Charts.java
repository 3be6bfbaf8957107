package io.maskbeam.models.report;

import io.maskbeam.models.eval.ConfusionMatrix;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;

/** PNG charts of training and evaluation, drawn headless with XChart. */
public final class Charts {
  static {
    // Charts are drawn on servers and CI machines without a display.
    System.setProperty("java.awt.headless", "true");
  }

  private Charts() {}

  /** Training loss and validation mIoU per epoch, on two y axes. */
  public static void trainingCurves(Path png, List<Integer> epochs, List<Double> loss, List<Double> meanIou)
      throws IOException {
    XYChart chart = new XYChartBuilder().width(800).height(450).title("Training").xAxisTitle("epoch").build();
    chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
    chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
    chart.setYAxisGroupTitle(0, "train loss");
    chart.setYAxisGroupTitle(1, "val mIoU");
    chart.addSeries("train loss", epochs, loss).setYAxisGroup(0);
    List<Integer> iouEpochs = new ArrayList<>();
    List<Double> iou = new ArrayList<>();
    for (int i = 0; i < epochs.size(); i++) {
      if (!meanIou.get(i).isNaN()) {
        iouEpochs.add(epochs.get(i));
        iou.add(meanIou.get(i));
      }
    }
    if (!iou.isEmpty()) {
      chart.addSeries("val mIoU", iouEpochs, iou).setYAxisGroup(1);
    }
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
  }

  /** The confusion matrix as a heat map of row-normalised shares (each truth row sums to 1). */
  public static void confusionMatrix(Path png, ConfusionMatrix matrix, List<String> classNames) throws IOException {
    int n = matrix.numClasses();
    List<Number[]> cells = new ArrayList<>();
    for (int t = 0; t < n; t++) {
      long row = 0;
      for (int p = 0; p < n; p++) {
        row += matrix.get(t, p);
      }
      for (int p = 0; p < n; p++) {
        double share = row == 0 ? 0 : (double) matrix.get(t, p) / row;
        cells.add(new Number[] {p, t, Math.round(share * 1000) / 1000.0});
      }
    }
    int side = Math.max(500, 60 + 45 * n);
    HeatMapChart chart = new HeatMapChartBuilder().width(side + 120).height(side).title("Confusion matrix (rows: truth)")
        .xAxisTitle("predicted").yAxisTitle("truth").build();
    chart.getStyler().setShowValue(n <= 20);
    chart.getStyler().setMin(0);
    chart.getStyler().setMax(1);
    chart.getStyler().setRangeColors(new Color[] {new Color(255, 255, 255), new Color(66, 133, 244), new Color(13, 71, 161)});
    chart.getStyler().setXAxisLabelRotation(45);
    chart.addSeries("share", classNames, classNames, cells);
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
  }

  /** The share of pixels of each class over a collection, as bars. */
  public static void classDistribution(Path png, double[] fractions, List<String> classNames) throws IOException {
    bars(png, "Class distribution (share of pixels)", "share", fractions, classNames, null);
  }

  /** IoU per class as bars. */
  public static void classIou(Path png, double[] iou, List<String> classNames) throws IOException {
    bars(png, "IoU per class", "IoU", iou, classNames, 1.0);
  }

  /** One bar per class (NaN drawn as 0), from 0 to {@code yMax} (null: fitted). */
  private static void bars(Path png, String title, String yTitle, double[] values, List<String> classNames,
      Double yMax) throws IOException {
    CategoryChart chart = new CategoryChartBuilder().width(Math.max(600, 60 * values.length)).height(450)
        .title(title).yAxisTitle(yTitle).build();
    chart.getStyler().setLegendVisible(false);
    chart.getStyler().setYAxisMin(0.0);
    if (yMax != null) {
      chart.getStyler().setYAxisMax(yMax);
    }
    chart.getStyler().setXAxisLabelRotation(45);
    List<Double> list = new ArrayList<>();
    for (double v : values) {
      list.add(Double.isNaN(v) ? 0 : v);
    }
    chart.addSeries(yTitle, classNames, list);
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
  }
}
