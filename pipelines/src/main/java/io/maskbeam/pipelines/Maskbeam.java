package io.maskbeam.pipelines;

import io.maskbeam.pipelines.cli.Console;
import io.maskbeam.pipelines.bench.BenchCommand;
import io.maskbeam.pipelines.cli.OptionsCommand;
import io.maskbeam.pipelines.cli.PipelineArgs;
import io.maskbeam.pipelines.demo.DemoCommand;
import io.maskbeam.pipelines.evaluate.EvaluateOptions;
import io.maskbeam.pipelines.evaluate.EvaluatePipeline;
import io.maskbeam.pipelines.preprocess.PreprocessOptions;
import io.maskbeam.pipelines.preprocess.PreprocessPipeline;
import io.maskbeam.pipelines.segment.SegmentOptions;
import io.maskbeam.pipelines.segment.SegmentPipeline;
import io.maskbeam.pipelines.train.TrainCommand;
import io.maskbeam.pipelines.train.TrainOptions;
import io.maskbeam.pipelines.train.TrainPipeline;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;

/** The {@code maskbeam} command line. */
public final class Maskbeam {
  public static final String VERSION = "0.1.0-SNAPSHOT";

  /** Exit codes (documented in the README). */
  public static final int OK = 0;
  /** The job failed (or could not be started for a reason other than its arguments). */
  public static final int FAILED = 1;
  /** A usage error: the message says which flag or input to fix. Nothing was started. */
  public static final int USAGE = 2;
  /** evaluate --thresholds: the job succeeded, and the model failed its quality gate (see blessing.json). */
  public static final int NOT_BLESSED = 3;
  /** The job finished, but more of its inputs failed than --maxFailedFraction allows (or all of them). */
  public static final int INPUTS_FAILED = 4;

  private Maskbeam() {}

  /** Held so the JDK cannot collect the configured loggers (and with them their levels). */
  private static final java.util.List<java.util.logging.Logger> QUIET_LOGGERS = new java.util.ArrayList<>();

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /**
   * Beam logs every file it opens and finalizes at INFO; on a console that buries the progress line. Warnings
   * stay visible. {@code -Djava.util.logging.config.file=...} still overrides this.
   */
  static synchronized void quietLibraryLogging() {
    if (System.getProperty("java.util.logging.config.file") != null || !QUIET_LOGGERS.isEmpty()) {
      return;
    }
    // One line per record, like the rest of the console output (the JDK's default takes two).
    if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
      System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s %3$s: %5$s%6$s%n");
    }
    for (String name : new String[] {"org.apache.beam", "org.apache.spark", "org.apache.hadoop", "io.netty"}) {
      java.util.logging.Logger logger = java.util.logging.Logger.getLogger(name);
      logger.setLevel(java.util.logging.Level.WARNING);
      QUIET_LOGGERS.add(logger);
    }
    // Beam warns when it cleans a temporary folder that a single-shard write already removed: harmless noise.
    java.util.logging.Logger sink = java.util.logging.Logger.getLogger("org.apache.beam.sdk.io.FileBasedSink");
    sink.setLevel(java.util.logging.Level.SEVERE);
    QUIET_LOGGERS.add(sink);
  }

  static CommandLine commandLine() {
    CommandSpec root = CommandSpec.create().name("maskbeam").version("maskbeam " + VERSION);
    root.mixinStandardHelpOptions(true);
    root.usageMessage().description(
        "Semantic image segmentation at scale on Apache Beam: preprocess datasets into TFRecords, train, segment.",
        "Run 'maskbeam COMMAND --help' for a command's options.");
    CommandLine cli = new CommandLine(root);
    cli.addSubcommand("preprocess", new CommandLine(OptionsCommand.spec("preprocess",
        "Images and masks (local, gs://, s3://) to sharded DeepLab TFRecords, dataset.json and rejected/.",
        PreprocessOptions.class)));
    cli.addSubcommand("train", new CommandLine(OptionsCommand.spec("train",
        "Trains a segmentation network (U-Net) on preprocessed shards; exports a SavedModel with metadata.",
        TrainOptions.class)));
    cli.addSubcommand("segment", new CommandLine(OptionsCommand.spec("segment",
        "Segments an image collection (local, gs://, s3://) with a trained model: masks, colour masks, overlays,"
            + " probabilities, per-image stats, summary.json/csv and errors/.",
        SegmentOptions.class)));
    cli.addSubcommand("evaluate", new CommandLine(OptionsCommand.spec("evaluate",
        "Scores predictions (of --model, or existing --predictions) against ground truth (--data shards or --masks):"
            + " metrics.json, confusion matrix and IoU plots, and an HTML report with the best and worst examples.",
        EvaluateOptions.class)));
    cli.addSubcommand("serve", new CommandLine(new io.maskbeam.pipelines.serve.ServeCommand()));
    cli.addSubcommand("sagemaker-train", new CommandLine(new io.maskbeam.pipelines.train.SageMakerTraining()));
    cli.addSubcommand("template-metadata",
        new CommandLine(new io.maskbeam.pipelines.templates.TemplateMetadataCommand()));
    cli.addSubcommand("demo", new CommandLine(new DemoCommand()));
    cli.addSubcommand("bench", new CommandLine(new BenchCommand()));
    return cli;
  }

  /** Runs the command line; returns the exit code. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    quietLibraryLogging();
    CommandLine cli = commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    ParseResult parsed;
    try {
      parsed = cli.parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      err.println("error: " + e.getMessage());
      e.getCommandLine().usage(err);
      return USAGE;
    }
    if (CommandLine.printHelpIfRequested(parsed)) {
      return OK;
    }
    ParseResult sub = parsed.subcommand();
    if (sub == null) {
      cli.usage(out);
      return USAGE;
    }
    if (CommandLine.printHelpIfRequested(sub)) {
      return OK;
    }
    String name = sub.commandSpec().name();
    String[] rest = Arrays.copyOfRange(args, Arrays.asList(args).indexOf(name) + 1, args.length);
    try {
      if (name.equals("preprocess")) {
        PreprocessOptions options = PipelineArgs.parse(rest, PreprocessOptions.class);
        return PreprocessPipeline.execute(options, out);
      }
      if (name.equals("segment")) {
        SegmentOptions options = SegmentPipeline.parse(rest);
        return SegmentPipeline.execute(options, out);
      }
      if (name.equals("evaluate")) {
        EvaluateOptions options = PipelineArgs.parse(rest, EvaluateOptions.class);
        return EvaluatePipeline.execute(options, out);
      }
      if (name.equals("train")) {
        TrainOptions options = PipelineArgs.parse(rest, TrainOptions.class);
        if (TrainPipeline.wanted(options)) {
          return TrainPipeline.execute(rest, options, out);
        }
        TrainCommand.execute(options, out);
        return OK;
      }
      Object command = sub.commandSpec().userObject();
      if (command instanceof Console console) {
        console.printTo(out);
      }
      if (command instanceof Callable<?> callable) {
        Object code = callable.call();
        return code instanceof Integer i ? i : OK;
      }
      throw new IllegalStateException("no handler for " + name);
    } catch (IllegalArgumentException e) {
      err.println("error: " + e.getMessage());
      if (debug()) {
        e.printStackTrace(err);
      }
      return USAGE;
    } catch (Exception e) {
      err.println("error: " + describe(e));
      if (debug()) {
        e.printStackTrace(err);
      } else {
        err.println("(set MASKBEAM_DEBUG=1 for the full stack trace)");
      }
      return FAILED;
    }
  }

  /** Whether stack traces are wanted ({@code MASKBEAM_DEBUG=1} or {@code -Dmaskbeam.debug=true}). */
  static boolean debug() {
    String env = System.getenv("MASKBEAM_DEBUG");
    return Boolean.getBoolean("maskbeam.debug") || (env != null && !env.isBlank() && !env.equals("0"));
  }

  /** A command's arguments with the command in front (for the pipelines' own main methods). */
  public static String[] withCommand(String command, String[] args) {
    String[] all = new String[args.length + 1];
    all[0] = command;
    System.arraycopy(args, 0, all, 1, args.length);
    return all;
  }

  /** A failure's own message and the innermost cause, which is where Beam puts what went wrong in a DoFn. */
  public static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root == e) {
      return String.valueOf(e.getMessage());
    }
    // A refusal raised inside a DoFn reaches here wrapped by the runner, whose message repeats it: say it once.
    if (root instanceof IllegalArgumentException && root.getMessage() != null
        && String.valueOf(e.getMessage()).contains(root.getMessage())) {
      return root.getMessage();
    }
    return e.getMessage() + "\n  caused by: " + root;
  }
}
