package io.maskbeam.transforms.io;

import org.apache.beam.sdk.io.aws2.options.S3Options;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;

/** Options for S3-compatible object stores (MinIO, Ceph RGW, S3Proxy, ...), on top of Beam's {@link S3Options}. */
public interface S3CompatibilityOptions extends S3Options {
  @Description("Address buckets by path (http://endpoint/bucket/key) rather than by virtual host; most S3-compatible"
      + " stores reached through --endpoint need this.")
  @Default.Boolean(false)
  Boolean getS3PathStyleAccess();

  void setS3PathStyleAccess(Boolean value);
}
