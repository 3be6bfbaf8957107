package io.maskbeam.transforms.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import org.junit.jupiter.api.Test;

class S3CompatibleClientBuilderFactoryTest {

  private static SdkHttpRequest filtered(String headerValue) {
    SdkHttpRequest.Builder b = SdkHttpRequest.builder().uri(URI.create("http://127.0.0.1:1/b/k")).method(SdkHttpMethod.PUT);
    if (headerValue != null) {
      b.putHeader(S3CompatibleClientBuilderFactory.BUCKET_KEY_HEADER, headerValue);
    }
    SdkHttpRequest request = b.build();
    Context.ModifyHttpRequest context = new Context.ModifyHttpRequest() {
      @Override
      public SdkHttpRequest httpRequest() {
        return request;
      }

      @Override
      public java.util.Optional<software.amazon.awssdk.core.sync.RequestBody> requestBody() {
        return java.util.Optional.empty();
      }

      @Override
      public java.util.Optional<software.amazon.awssdk.core.async.AsyncRequestBody> asyncRequestBody() {
        return java.util.Optional.empty();
      }

      @Override
      public software.amazon.awssdk.core.SdkRequest request() {
        return null;
      }
    };
    return new S3CompatibleClientBuilderFactory.DropDisabledBucketKeyHeader()
        .modifyHttpRequest(context, new ExecutionAttributes());
  }

  @Test
  void dropsOnlyTheDefaultFalseBucketKeyHeader() {
    assertThat(filtered("false").firstMatchingHeader(S3CompatibleClientBuilderFactory.BUCKET_KEY_HEADER)).isEmpty();
    assertThat(filtered("true").firstMatchingHeader(S3CompatibleClientBuilderFactory.BUCKET_KEY_HEADER)).contains("true");
    assertThat(filtered(null).headers()).isEmpty();
  }

  @Test
  void storageNamesAndNotFoundDetection() {
    assertThat(Storage.stem("s3://b/dir/img.01.png")).isEqualTo("img.01");
    assertThat(Storage.extension("/x/y/Z.JPG")).isEqualTo("jpg");
    assertThat(Storage.join("s3://b/out/", "a")).isEqualTo("s3://b/out/a");
    assertThat(Storage.join("s3://b/out", "a")).isEqualTo("s3://b/out/a");
    assertThat(Storage.isNotFound(new java.io.IOException("wrap", new java.io.FileNotFoundException("x")))).isTrue();
    assertThat(Storage.isNotFound(new java.io.IOException("connection reset"))).isFalse();
  }
}
