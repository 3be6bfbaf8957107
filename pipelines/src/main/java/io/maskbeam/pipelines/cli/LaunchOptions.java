package io.maskbeam.pipelines.cli;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/** How a pipeline is launched and judged, common to preprocess, segment and evaluate. */
public interface LaunchOptions extends PipelineOptions {
  @Description("Wait for the job to finish, showing progress, then print its counts and exit with its code. Default:"
      + " true, except on the DataflowRunner, where the launcher submits the job and returns (as a Flex Template"
      + " launcher must).")
  Boolean getWaitUntilFinish();

  void setWaitUntilFinish(Boolean value);

  @Description("A finished job whose failed inputs exceed this fraction of its inputs exits with code 4 (the failed"
      + " inputs are in the dead-letter output either way). Default 1: only when every input failed.")
  @Default.Double(1.0)
  Double getMaxFailedFraction();

  void setMaxFailedFraction(Double value);
}
