package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import io.maskbeam.dataset.TestImages;
import io.maskbeam.image.ImageCodec;
import io.maskbeam.image.LabelImage;
import io.maskbeam.models.train.SegmentationGraph;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.SessionFunction;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TString;

/**
 * The exported model's {@code serving_bytes} signature, called as TF Serving's REST API calls it for
 * {@code {"instances": [{"b64": ...}, ...]}}: a string tensor of N encoded images (of different sizes and formats)
 * in, N PNG masks and N rows of class fractions out. Its masks are the ones {@code segment} writes.
 */
class ServingBytesTest {
  @TempDir Path work;

  @Test
  void encodedImagesInPngMasksOutAsSegmentWritesThem() throws Exception {
    Path model = CamVidModel.get();
    Path images = Files.createDirectories(work.resolve("images"));
    List<String> names = CamVidModel.names("val", 2);
    byte[] png = Files.readAllBytes(TestData.camvid().resolve("val").resolve(names.get(0)));
    byte[] jpeg = TestImages.rgbJpeg(200, 136, 11);
    Files.write(images.resolve("a.png"), png);
    Files.write(images.resolve("b.jpg"), jpeg);
    TestData.Run run = TestData.cli("segment", "--model=" + model, "--input=" + images + "/*",
        "--output=" + work.resolve("out"), "--writeColor=false", "--writeOverlays=false");
    assertThat(run.exitCode()).as(run.err()).isZero();

    try (SavedModelBundle bundle = SavedModelBundle.loader(model.toString()).withTags("serve").load()) {
      SessionFunction bytes = bundle.function(SegmentationGraph.BYTES_KEY);
      assertThat(bytes.signature().getInputs()).containsOnlyKeys("image_bytes");
      assertThat(bytes.signature().getOutputs()).containsOnlyKeys("mask_png_bytes", "class_fractions");
      try (TString in = TString.tensorOfBytes(NdArrays.vectorOfObjects(png, jpeg));
          Result out = bytes.call(java.util.Map.of("image_bytes", in))) {
        TString masks = (TString) out.get("mask_png_bytes").orElseThrow();
        TFloat32 fractions = (TFloat32) out.get("class_fractions").orElseThrow();
        assertThat(masks.shape().asArray()).containsExactly(2);
        assertThat(fractions.shape().asArray()).containsExactly(2, CamVidModel.CLASSES);
        String[] keys = {"a", "b"};
        for (int i = 0; i < 2; i++) {
          LabelImage served = ImageCodec.decodeLabels(masks.asBytes().getObject(i));
          LabelImage segmented = ImageCodec.decodeLabels(Files.readAllBytes(work.resolve("out/masks/" + keys[i]
              + ".png")));
          assertThat(served.width()).isEqualTo(segmented.width());
          assertThat(served.labels()).as("mask of %s", keys[i]).isEqualTo(segmented.labels());
          double sum = 0;
          long[] counts = new long[CamVidModel.CLASSES];
          for (byte b : segmented.labels()) {
            counts[b & 0xFF]++;
          }
          for (int c = 0; c < CamVidModel.CLASSES; c++) {
            float f = fractions.getFloat(i, c);
            assertThat((double) f).isCloseTo((double) counts[c] / segmented.labels().length,
                org.assertj.core.data.Offset.offset(1e-5));
            sum += f;
          }
          assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
        }
      }
    }
  }
}
