package io.maskbeam.pipelines.train;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.Validation;

/**
 * Options of {@code maskbeam train}. Where they overlap, names and defaults are the camelCase of SageMaker's
 * semantic segmentation hyperparameters.
 */
public interface TrainOptions extends io.maskbeam.pipelines.cli.WaitOptions,
    io.maskbeam.pipelines.cli.PrecisionOptions {
  @Description("Folder written by 'maskbeam preprocess' (dataset.json and <split>-*.tfrecord shards); local, gs:// or s3://.")
  @Validation.Required
  String getData();

  void setData(String value);

  @Description("Output folder: model/ (SavedModel + maskbeam-model.json), metrics.jsonl, checkpoints/. A gs:// or"
      + " s3:// output trains in a local staging folder and uploads model/ and metrics.jsonl at the end. Required,"
      + " except on Vertex AI custom training, where the model goes to $AIP_MODEL_DIR.")
  String getOutput();

  void setOutput(String value);

  @Description("Network: unet, deeplabv3plus, fcn or psp.")
  @Default.String("unet")
  String getAlgorithm();

  void setAlgorithm(String value);

  @Description("Backbone of deeplabv3plus, fcn and psp: resnet-50 or resnet-101.")
  @Default.String("resnet-50")
  String getBackbone();

  void setBackbone(String value);

  @Description("Output stride of the ResNet backbone: 16 or 8 (8 is finer and about 3x slower).")
  @Default.Integer(16)
  Integer getOutputStride();

  void setOutputStride(Integer value);

  @Description("U-Net depth: the number of 2x poolings (the input stride is 2^depth).")
  @Default.Integer(4)
  Integer getUnetDepth();

  void setUnetDepth(Integer value);

  @Description("U-Net channels at full resolution, doubling per level.")
  @Default.Integer(32)
  Integer getUnetWidth();

  void setUnetWidth(Integer value);

  @Description("U-Net upsampling: transposed (learned 2x2 transposed convolution) or bilinear (resize + 3x3 conv).")
  @Default.String("transposed")
  String getUpsampling();

  void setUpsampling(String value);

  @Description("Passes over the training split.")
  @Default.Integer(10)
  Integer getEpochs();

  void setEpochs(Integer value);

  @Description("Initial learning rate.")
  @Default.Float(0.001f)
  Float getLearningRate();

  void setLearningRate(Float value);

  @Description("Learning-rate schedule: poly, step, cosine or constant.")
  @Default.String("poly")
  String getLrScheduler();

  void setLrScheduler(String value);

  @Description("step schedule: factor applied every --lrSchedulerStepEpochs epochs.")
  @Default.Float(0.1f)
  Float getLrSchedulerFactor();

  void setLrSchedulerFactor(Float value);

  @Description("step schedule: epochs between reductions.")
  @Default.Integer(10)
  Integer getLrSchedulerStepEpochs();

  void setLrSchedulerStepEpochs(Integer value);

  @Description("Steps of linear learning-rate warm-up.")
  @Default.Integer(0)
  Integer getWarmupSteps();

  void setWarmupSteps(Integer value);

  @Description("Training batch size.")
  @Default.Integer(16)
  Integer getMiniBatchSize();

  void setMiniBatchSize(Integer value);

  @Description("Validation batch size (images of equal size are batched).")
  @Default.Integer(16)
  Integer getValidationMiniBatchSize();

  void setValidationMiniBatchSize(Integer value);

  @Description("Optimizer: sgd, adam, rmsprop or adagrad.")
  @Default.String("sgd")
  String getOptimizer();

  void setOptimizer(String value);

  @Description("Momentum of sgd (and rmsprop).")
  @Default.Float(0.9f)
  Float getMomentum();

  void setMomentum(Float value);

  @Description("rmsprop: decay of the running average of squared gradients (SageMaker's gamma1).")
  @Default.Float(0.9f)
  Float getRmsDecay();

  void setRmsDecay(Float value);

  @Description("Nesterov momentum for sgd.")
  @Default.Boolean(false)
  Boolean getNesterov();

  void setNesterov(Boolean value);

  @Description("L2 weight decay on convolution kernels.")
  @Default.Float(0.0001f)
  Float getWeightDecay();

  void setWeightDecay(Float value);

  @Description("Loss: cross-entropy, dice or focal.")
  @Default.String("cross-entropy")
  String getLoss();

  void setLoss(String value);

  @Description("Focal loss gamma.")
  @Default.Float(2f)
  Float getFocalGamma();

  void setFocalGamma(Float value);

  @Description("Class weights: none, median-frequency (from dataset.json) or comma-separated values.")
  @Default.String("none")
  String getClassWeights();

  void setClassWeights(String value);

  @Description("Square training crop; a multiple of the network stride. Smaller images are padded with ignore.")
  @Default.Integer(240)
  Integer getCropSize();

  void setCropSize(Integer value);

  @Description("Random scaling range of augmentation: smallest factor.")
  @Default.Float(0.5f)
  Float getMinScale();

  void setMinScale(Float value);

  @Description("Random scaling range of augmentation: largest factor.")
  @Default.Float(2.0f)
  Float getMaxScale();

  void setMaxScale(Float value);

  @Description("Random horizontal flips.")
  @Default.Boolean(true)
  Boolean getFlip();

  void setFlip(Boolean value);

  @Description("Photometric jitter strength (brightness, contrast, saturation), 0 to turn off.")
  @Default.Float(0.1f)
  Float getJitter();

  void setJitter(Float value);

  @Description("Stop when validation mIoU stops improving.")
  @Default.Boolean(false)
  Boolean getEarlyStopping();

  void setEarlyStopping(Boolean value);

  @Description("Epochs before early stopping may stop a run.")
  @Default.Integer(5)
  Integer getEarlyStoppingMinEpochs();

  void setEarlyStoppingMinEpochs(Integer value);

  @Description("Epochs without improvement before stopping.")
  @Default.Integer(4)
  Integer getEarlyStoppingPatience();

  void setEarlyStoppingPatience(Integer value);

  @Description("mIoU gain that counts as an improvement.")
  @Default.Float(0f)
  Float getEarlyStoppingTolerance();

  void setEarlyStoppingTolerance(Float value);

  @Description("Checkpoint every N steps (0: at the end of each epoch only).")
  @Default.Integer(0)
  Integer getCheckpointEverySteps();

  void setCheckpointEverySteps(Integer value);

  @Description("Continue a stopped run from the checkpoint in --output.")
  @Default.Boolean(false)
  Boolean getResume();

  void setResume(Boolean value);

  @Description("Start from the weights of a model exported by an earlier run (same classes and network).")
  String getInitModel();

  void setInitModel(String value);

  @Description("ImageNet weights for the ResNet backbone of deeplabv3plus, fcn or psp: a Keras HDF5 weights file (e.g."
      + " resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5) on local disk. Nothing is downloaded.")
  String getPretrainedWeights();

  void setPretrainedWeights(String value);

  @Description("Seed of initialisation, shuffling and augmentation.")
  @Default.Long(1L)
  Long getSeed();

  void setSeed(Long value);

  @Description("Hyperparameter grid trained as parallel trials in a Beam pipeline, e.g."
      + " 'learningRate=0.001,0.0003;optimizer=adam,sgd' (the cartesian product; each trial writes output/trial-N/).")
  String getTrials();

  void setTrials(String value);

  @Description("Accelerator resource hint for the training step when it runs as a Beam pipeline, e.g."
      + " 'type:nvidia-tesla-t4;count:1;install-nvidia-driver' (Dataflow then gives that step a GPU worker pool).")
  String getAcceleratorType();

  void setAcceleratorType(String value);

  @Description("Threads decoding and augmenting batches (0: one per core).")
  @Default.Integer(0)
  Integer getDataThreads();

  void setDataThreads(Integer value);

  @Description("Channels the network takes. 0 (default) follows the data: 3 for photos, N for examples of N raster"
      + " bands (dataset.json's bands); another value must agree with it.")
  @Default.Integer(0)
  Integer getInputChannels();

  void setInputChannels(Integer value);

  @Description("Devices of the machine that trains, one tower each on a slice of every batch (--miniBatchSize must"
      + " divide evenly): 0 (default) uses every visible GPU, else 1. More than exist is refused before training.")
  @Default.Integer(0)
  Integer getDevices();

  void setDevices(Integer value);

  @Description("With several devices, normalise batch norm with the statistics of the whole batch gathered across"
      + " towers (SageMaker's syncbn), instead of each tower's own slice.")
  @Default.Boolean(false)
  Boolean getSyncBatchNorm();

  void setSyncBatchNorm(Boolean value);
}
