package io.maskbeam.transforms.io;

import org.apache.beam.sdk.io.aws2.options.S3ClientBuilderFactory;
import org.apache.beam.sdk.io.aws2.options.S3Options;
import org.apache.beam.sdk.io.aws2.s3.DefaultS3ClientBuilderFactory;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/**
 * Beam's S3 client, made to work with S3-compatible stores as well as AWS.
 *
 * <p>Two differences from {@link DefaultS3ClientBuilderFactory}: path-style addressing when
 * {@code --s3PathStyleAccess=true} (Beam has no switch for it), and Beam 2.70's
 * {@code x-amz-server-side-encryption-bucket-key-enabled: false} header on multipart and copy requests is dropped,
 * because several S3-compatible servers answer 501 Not Implemented to it. "false" is AWS's default, so dropping it
 * changes nothing on AWS.
 */
public class S3CompatibleClientBuilderFactory implements S3ClientBuilderFactory {
  static final String BUCKET_KEY_HEADER = "x-amz-server-side-encryption-bucket-key-enabled";

  @Override
  public S3ClientBuilder createBuilder(S3Options options) {
    S3ClientBuilder builder = new DefaultS3ClientBuilderFactory().createBuilder(options);
    boolean pathStyle = options.as(S3CompatibilityOptions.class).getS3PathStyleAccess();
    if (pathStyle) {
      builder.forcePathStyle(true);
    }
    ClientOverrideConfiguration existing = builder.overrideConfiguration();
    ClientOverrideConfiguration.Builder override =
        existing == null ? ClientOverrideConfiguration.builder() : existing.toBuilder();
    builder.overrideConfiguration(override.addExecutionInterceptor(new DropDisabledBucketKeyHeader()).build());
    return builder;
  }

  /** Removes the bucket-key header only when it carries AWS's default value "false". */
  static final class DropDisabledBucketKeyHeader implements ExecutionInterceptor {
    @Override
    public SdkHttpRequest modifyHttpRequest(Context.ModifyHttpRequest context, ExecutionAttributes attributes) {
      SdkHttpRequest request = context.httpRequest();
      return request.firstMatchingHeader(BUCKET_KEY_HEADER)
          .filter("false"::equalsIgnoreCase)
          .map(v -> request.toBuilder().removeHeader(BUCKET_KEY_HEADER).build())
          .orElse(request);
    }
  }
}
