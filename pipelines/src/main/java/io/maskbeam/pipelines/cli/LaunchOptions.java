package io.maskbeam.pipelines.cli;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;

/** How a pipeline over inputs is launched and judged, common to preprocess, segment and evaluate. */
public interface LaunchOptions extends WaitOptions {
  @Description("A finished job whose failed inputs exceed this fraction of its inputs exits with code 4 (the failed"
      + " inputs are in the dead-letter output either way). Default 1: only when every input failed.")
  @Default.Double(1.0)
  Double getMaxFailedFraction();

  void setMaxFailedFraction(Double value);
}
