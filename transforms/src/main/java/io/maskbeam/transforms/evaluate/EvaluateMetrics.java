package io.maskbeam.transforms.evaluate;

/** Names of the Beam metrics of {@code maskbeam evaluate}, shared by producers and the progress line. */
public final class EvaluateMetrics {
  public static final String NAMESPACE = "maskbeam.evaluate";
  public static final String EXAMPLES_EVALUATED = "examples_evaluated";
  public static final String EXAMPLES_FAILED = "examples_failed";

  private EvaluateMetrics() {}
}
