package io.maskbeam.pipelines.cli;

import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/** Whether the command waits for its job, common to every pipeline. */
public interface WaitOptions extends PipelineOptions {
  @Description("Wait for the job to finish, showing progress, then print its counts and exit with its code. Default:"
      + " true, except on the DataflowRunner, where the launcher submits the job and returns (as a Flex Template"
      + " launcher must).")
  Boolean getWaitUntilFinish();

  void setWaitUntilFinish(Boolean value);
}
