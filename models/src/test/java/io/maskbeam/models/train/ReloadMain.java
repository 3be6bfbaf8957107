package io.maskbeam.models.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TUint8;

/**
 * Run in a fresh JVM by the tests: loads an exported SavedModel with nothing but TensorFlow Java, runs its serving
 * signature on raw uint8 images and writes the classes as text. Args: model dir, images file, n, h, w, output file.
 */
public final class ReloadMain {
  public static void main(String[] args) throws Exception {
    byte[] images = Files.readAllBytes(Path.of(args[1]));
    int n = Integer.parseInt(args[2]);
    int h = Integer.parseInt(args[3]);
    int w = Integer.parseInt(args[4]);
    try (SavedModelBundle model = SavedModelBundle.loader(args[0]).withTags("serve").load();
        TUint8 x = TUint8.tensorOf(Shape.of(n, h, w, 3), DataBuffers.of(images, true, false));
        Result r = model.function("serving_default").call(Map.of("images", x))) {
      TInt32 classes = (TInt32) r.get("classes").orElseThrow();
      int[] out = new int[n * h * w];
      classes.copyTo(DataBuffers.of(out, false, false));
      StringBuilder sb = new StringBuilder();
      for (int v : out) {
        sb.append(v).append('\n');
      }
      Files.writeString(Path.of(args[5]), sb);
    }
  }
}
