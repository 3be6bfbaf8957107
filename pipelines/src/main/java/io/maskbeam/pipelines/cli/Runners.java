package io.maskbeam.pipelines.cli;

import org.apache.beam.runners.dataflow.DataflowRunner;
import org.apache.beam.runners.dataflow.options.DataflowPipelineOptions;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.sdk.options.PipelineOptions;

/** What a pipeline's runner implies for launching it. */
public final class Runners {
  private Runners() {}

  /** Whether the job runs in this JVM on Beam's DirectRunner (workers can share this process's model). */
  public static boolean isDirect(PipelineOptions options) {
    return DirectRunner.class.isAssignableFrom(options.getRunner());
  }

  /**
   * Whether the runner executes the job outside this process, so the launcher may return once it is submitted
   * (Dataflow). The Spark runner runs the job inside its driver, which must stay alive.
   */
  public static boolean isRemote(PipelineOptions options) {
    return DataflowRunner.class.isAssignableFrom(options.getRunner());
  }

  /** Whether Dataflow is only writing a job spec (a template, or a Flex Template launch) rather than a job. */
  public static boolean writesTemplate(PipelineOptions options) {
    return isRemote(options) && options.as(DataflowPipelineOptions.class).getTemplateLocation() != null;
  }

  /** Whether the launcher should wait for the job: {@code --waitUntilFinish}, else unless the runner is remote. */
  public static boolean waits(PipelineOptions options) {
    Boolean explicit = options.as(WaitOptions.class).getWaitUntilFinish();
    if (writesTemplate(options)) {
      return false; // a template's result cannot be waited on or queried
    }
    return explicit != null ? explicit : !isRemote(options);
  }
}
