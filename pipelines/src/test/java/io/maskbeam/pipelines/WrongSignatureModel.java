package io.maskbeam.pipelines;

import java.nio.file.Files;
import java.nio.file.Path;
import org.tensorflow.Graph;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/**
 * A valid SavedModel with Maskbeam metadata and a variable (so it has the files of a trained model) whose serving
 * signature is not Maskbeam's (input "x", output "y").
 */
final class WrongSignatureModel {
  private WrongSignatureModel() {}

  static Path write(Path dir) throws Exception {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class);
      var y = tf.math.mul(x, tf.variable(tf.constant(2f)));
      try (Session s = new Session(g)) {
        s.initialize();
        SavedModelBundle.exporter(dir.toString()).withSession(s)
            .withSignature(Signature.builder().key("serving_default").input("x", x).output("y", y).build())
            .export();
      }
    }
    Files.writeString(dir.resolve("maskbeam-model.json"), "{\"numClasses\": 3}");
    return dir;
  }
}
