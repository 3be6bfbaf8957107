package io.maskbeam.models.train;

import java.io.Serializable;
import java.util.Locale;

/**
 * What shapes the training graph: the network, the loss and the optimizer. The learning rate is fed every step
 * (see {@link LearningRateSchedule}), so it is not here.
 *
 * @param classWeights per-class loss weights, or null for uniform
 */
public record TrainConfig(
    String algorithm,
    String backbone,
    int outputStride,
    int numClasses,
    int ignoreValue,
    int unetDepth,
    int unetWidth,
    boolean transposedUpsampling,
    float[] classWeights,
    Loss loss,
    float focalGamma,
    Optimizer optimizer,
    float momentum,
    boolean nesterov,
    float weightDecay,
    long seed) implements Serializable {

  /** Training losses. */
  public enum Loss {
    CROSS_ENTROPY, DICE, FOCAL;

    public static Loss parse(String s) {
      return switch (s.trim().toLowerCase(Locale.ROOT).replace('_', '-')) {
        case "cross-entropy", "ce", "crossentropy" -> CROSS_ENTROPY;
        case "dice" -> DICE;
        case "focal" -> FOCAL;
        default -> throw new IllegalArgumentException("--loss must be cross-entropy, dice or focal, got '" + s + "'");
      };
    }
  }

  /** Optimizers, named as in SageMaker's semantic segmentation hyperparameters. */
  public enum Optimizer {
    SGD, ADAM, RMSPROP, ADAGRAD;

    public static Optimizer parse(String s) {
      try {
        return valueOf(s.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--optimizer must be sgd, adam, rmsprop or adagrad, got '" + s + "'");
      }
    }
  }

  public TrainConfig {
    if (numClasses < 2) {
      throw new IllegalArgumentException("need at least 2 classes, got " + numClasses);
    }
    if (classWeights != null && classWeights.length != numClasses) {
      throw new IllegalArgumentException(classWeights.length + " class weights for " + numClasses + " classes");
    }
    if (!ALGORITHMS.contains(algorithm)) {
      throw new IllegalArgumentException("--algorithm must be one of " + ALGORITHMS + ", got '" + algorithm + "'");
    }
  }

  public static final java.util.List<String> ALGORITHMS = java.util.List.of("unet", "deeplabv3plus", "fcn", "psp");

  /** The network this configuration builds. */
  public io.maskbeam.models.nn.SegmentationNetwork network() {
    return switch (algorithm) {
      case "unet" -> new io.maskbeam.models.nn.UNet(numClasses, unetDepth, unetWidth, transposedUpsampling);
      case "deeplabv3plus" -> new io.maskbeam.models.nn.DeepLabV3Plus(numClasses,
          io.maskbeam.models.nn.ResNet.parse(backbone, outputStride));
      case "fcn" -> new io.maskbeam.models.nn.Fcn(numClasses, io.maskbeam.models.nn.ResNet.parse(backbone, outputStride));
      case "psp" -> new io.maskbeam.models.nn.PspNet(numClasses, io.maskbeam.models.nn.ResNet.parse(backbone, outputStride));
      default -> throw new IllegalStateException(algorithm);
    };
  }
}
