package io.maskbeam.models.train;

import io.maskbeam.models.nn.DeepLabV3Plus;
import io.maskbeam.models.nn.Fcn;
import io.maskbeam.models.nn.PspNet;
import io.maskbeam.models.nn.ResNet;
import io.maskbeam.models.nn.SegmentationNetwork;
import io.maskbeam.models.nn.UNet;
import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What shapes the training graph: the network, the loss and the optimizer, each its own typed part. The learning
 * rate is fed every step (see {@link LearningRateSchedule}), so it is not here.
 */
public record TrainConfig(Network network, int numClasses, int ignoreValue, LossSpec loss, OptimizerSpec optimizer,
    long seed, InputSpec input) implements Serializable {
  public static final List<String> ALGORITHMS = List.of("unet", "deeplabv3plus", "fcn", "psp");

  /** A configuration for RGB photos. */
  public TrainConfig(Network network, int numClasses, int ignoreValue, LossSpec loss, OptimizerSpec optimizer,
      long seed) {
    this(network, numClasses, ignoreValue, loss, optimizer, seed, InputSpec.RGB);
  }

  /**
   * What the network takes: 8-bit RGB photos (normalised with ImageNet's statistics, the convention of pretrained
   * backbones), or N raw bands of a sample type, each normalised with the mean and standard deviation of the
   * training data ({@code dataset.json}), inside the graph, so the exported model takes raw samples.
   *
   * @param sourceBands the 1-based bands of the source rasters, in channel order (null for RGB)
   * @param mean per channel, null for RGB
   * @param std per channel, null for RGB
   */
  public record InputSpec(int channels, String dtype, int[] sourceBands, float[] mean, float[] std)
      implements Serializable {
    public static final InputSpec RGB = new InputSpec(3, "uint8", null, null, null);

    public InputSpec {
      if (channels < 1) {
        throw new IllegalArgumentException("--inputChannels must be positive, got " + channels);
      }
      if ((mean == null) != (std == null) || (mean != null && (mean.length != channels || std.length != channels))) {
        throw new IllegalArgumentException("band normalisation needs a mean and a std for each of " + channels
            + " channels");
      }
    }

    /** Whether the network takes raw bands (float32, normalised in the graph) rather than 8-bit RGB. */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean rawBands() {
      return mean != null;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof InputSpec i && i.channels == channels && i.dtype.equals(dtype)
          && Arrays.equals(i.sourceBands, sourceBands) && Arrays.equals(i.mean, mean) && Arrays.equals(i.std, std);
    }

    @Override
    public int hashCode() {
      return channels * 31 + Arrays.hashCode(mean);
    }
  }

  public TrainConfig {
    if (input == null) {
      input = InputSpec.RGB;
    }
    if (numClasses < 2) {
      throw new IllegalArgumentException("need at least 2 classes, got " + numClasses);
    }
    if (loss.classWeights() != null && loss.classWeights().length != numClasses) {
      throw new IllegalArgumentException(loss.classWeights().length + " class weights for " + numClasses
          + " classes");
    }
  }

  /** The network architecture, without its class count. */
  public sealed interface Network extends Serializable permits UNetSpec, ResNetHeadSpec {
    /** The {@code --algorithm} name. */
    String algorithm();

    SegmentationNetwork build(int numClasses);
  }

  /** A U-Net: {@code depth} 2x poolings, {@code width} channels at full resolution. */
  public record UNetSpec(int depth, int width, boolean transposedUpsampling) implements Network {
    public UNetSpec {
      if (depth < 1 || depth > 6) {
        throw new IllegalArgumentException("--unetDepth must be in 1..6, got " + depth);
      }
      if (width < 1) {
        throw new IllegalArgumentException("--unetWidth must be positive, got " + width);
      }
    }

    @Override
    @com.fasterxml.jackson.annotation.JsonProperty("algorithm") // not a component: written to the metadata too
    public String algorithm() {
      return "unet";
    }

    @Override
    public SegmentationNetwork build(int numClasses) {
      return new UNet(numClasses, depth, width, transposedUpsampling);
    }
  }

  /** DeepLab v3+, FCN or PSPNet on a ResNet backbone. */
  public record ResNetHeadSpec(String algorithm, String backbone, int outputStride) implements Network {
    public ResNetHeadSpec {
      if (!ALGORITHMS.contains(algorithm) || algorithm.equals("unet")) {
        throw new IllegalArgumentException("a ResNet head is deeplabv3plus, fcn or psp, got '" + algorithm + "'");
      }
      ResNet.parse(backbone, outputStride); // checks both
    }

    public ResNet resnet() {
      return ResNet.parse(backbone, outputStride);
    }

    @Override
    public SegmentationNetwork build(int numClasses) {
      ResNet resnet = resnet();
      return switch (algorithm) {
        case "deeplabv3plus" -> new DeepLabV3Plus(numClasses, resnet);
        case "fcn" -> new Fcn(numClasses, resnet);
        case "psp" -> new PspNet(numClasses, resnet);
        default -> throw new IllegalStateException(algorithm);
      };
    }
  }

  /** A network from the command line's names. */
  public static Network network(String algorithm, String backbone, int outputStride, int unetDepth, int unetWidth,
      boolean transposedUpsampling) {
    String a = algorithm.trim().toLowerCase(Locale.ROOT);
    if (!ALGORITHMS.contains(a)) {
      throw new IllegalArgumentException("--algorithm must be one of " + ALGORITHMS + ", got '" + algorithm + "'");
    }
    return a.equals("unet") ? new UNetSpec(unetDepth, unetWidth, transposedUpsampling)
        : new ResNetHeadSpec(a, backbone, outputStride);
  }

  /**
   * The loss.
   *
   * @param classWeights per-class loss weights, or null for uniform
   */
  public record LossSpec(Loss kind, float[] classWeights, float focalGamma) implements Serializable {
    public static LossSpec crossEntropy() {
      return new LossSpec(Loss.CROSS_ENTROPY, null, 2f);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof LossSpec l && l.kind == kind && Arrays.equals(l.classWeights, classWeights)
          && l.focalGamma == focalGamma;
    }

    @Override
    public int hashCode() {
      return 31 * kind.hashCode() + Arrays.hashCode(classWeights);
    }
  }

  /**
   * The optimizer and its regularisation.
   *
   * @param rmsDecay rmsprop's decay of the squared-gradient average (SageMaker's gamma1)
   */
  public record OptimizerSpec(Optimizer kind, float momentum, boolean nesterov, float weightDecay, float rmsDecay)
      implements Serializable {
    public OptimizerSpec {
      if (momentum < 0 || momentum >= 1) {
        throw new IllegalArgumentException("--momentum must be in [0, 1), got " + momentum);
      }
      if (weightDecay < 0) {
        throw new IllegalArgumentException("--weightDecay must be >= 0, got " + weightDecay);
      }
      if (rmsDecay < 0 || rmsDecay >= 1) {
        throw new IllegalArgumentException("the rmsprop decay must be in [0, 1), got " + rmsDecay);
      }
    }

    /** rmsprop's usual decay, 0.9. */
    public OptimizerSpec(Optimizer kind, float momentum, boolean nesterov, float weightDecay) {
      this(kind, momentum, nesterov, weightDecay, 0.9f);
    }
  }

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

  /** The network this configuration builds. */
  public SegmentationNetwork buildNetwork() {
    return network.build(numClasses);
  }

  public String algorithm() {
    return network.algorithm();
  }
}
