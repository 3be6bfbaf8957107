package io.maskbeam.pipelines.cli;

import io.maskbeam.transforms.io.S3CompatibilityOptions;
import io.maskbeam.transforms.io.S3CompatibleClientBuilderFactory;
import java.util.Arrays;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.aws2.options.S3Options;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/** Turns command-line arguments into Beam options, with Maskbeam's defaults for storage and the DirectRunner. */
public final class PipelineArgs {
  private PipelineArgs() {}

  /**
   * Like {@link #parse} but ignoring options no registered interface declares: for arguments handed on to a
   * worker (a training trial), which may carry the launching runner's flags.
   */
  public static <T extends PipelineOptions> T parseLenient(String[] args, Class<T> optionsClass) {
    return parse(args, optionsClass, false);
  }

  public static <T extends PipelineOptions> T parse(String[] args, Class<T> optionsClass) {
    return parse(args, optionsClass, true);
  }

  private static <T extends PipelineOptions> T parse(String[] args, Class<T> optionsClass, boolean strict) {
    PipelineOptionsFactory.register(S3CompatibilityOptions.class);
    PipelineOptionsFactory.register(optionsClass);
    T options;
    try {
      PipelineOptionsFactory.Builder builder = PipelineOptionsFactory.fromArgs(args);
      options = (strict ? builder : builder.withoutStrictParsing()).withValidation().as(optionsClass);
    } catch (IllegalArgumentException e) {
      throw explainRunner(e);
    }
    applyDefaults(options, args);
    return options;
  }

  /**
   * Beam's "Unknown 'runner'" names the runners of this jar only; say which artifact runs the one asked for.
   */
  static IllegalArgumentException explainRunner(IllegalArgumentException e) {
    String m = String.valueOf(e.getMessage());
    if (m.startsWith("Unknown 'runner' specified") && m.toLowerCase(java.util.Locale.ROOT).contains("spark")) {
      return new IllegalArgumentException(m + ". The Spark runner is not in maskbeam.jar (Spark is provided by a"
          + " Spark installation): submit runners/spark/target/maskbeam-spark.jar with spark-submit, e.g."
          + " SPARK_MASTER='local[2]' templates/spark/submit.sh segment --model=... (see the README, Deploy: Spark)",
          e);
    }
    return e;
  }

  /**
   * S3 goes through a client that also speaks to S3-compatible stores; the DirectRunner skips its per-element
   * immutability and encodability checks (test aids that re-encode every element) unless asked for, and does not
   * block in {@code run()}.
   */
  public static void applyDefaults(PipelineOptions options, String[] args) {
    if (!mentions(args, "s3ClientFactoryClass")) {
      options.as(S3Options.class).setS3ClientFactoryClass(S3CompatibleClientBuilderFactory.class);
    }
    DirectOptions direct = options.as(DirectOptions.class);
    if (!mentions(args, "enforceImmutability")) {
      direct.setEnforceImmutability(false);
    }
    if (!mentions(args, "enforceEncodability")) {
      direct.setEnforceEncodability(false);
    }
    if (!mentions(args, "blockOnRun")) {
      // run() returns at once, so the command line can show progress while the job runs.
      direct.setBlockOnRun(false);
    }
    FileSystems.setDefaultPipelineOptions(options);
  }

  private static boolean mentions(String[] args, String option) {
    return Arrays.stream(args).anyMatch(a -> a.startsWith("--" + option + "=") || a.equals("--" + option));
  }
}
