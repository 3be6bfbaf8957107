package io.maskbeam.transforms.preprocess;

import org.apache.beam.sdk.testing.TestPipeline;

/** Beam's TestPipeline outside a JUnit 4 rule: enforcement is set explicitly, which is what the rule would do. */
final class Pipelines {
  private Pipelines() {}

  static TestPipeline create() {
    return TestPipeline.create().enableAbandonedNodeEnforcement(false);
  }
}
