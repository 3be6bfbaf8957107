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
  void storageNamesAndFaultClassification() {
    assertThat(Storage.stem("s3://b/dir/img.01.png")).isEqualTo("img.01");
    assertThat(Storage.extension("/x/y/Z.JPG")).isEqualTo("jpg");
    assertThat(Storage.join("s3://b/out/", "a")).isEqualTo("s3://b/out/a");
    assertThat(Storage.join("s3://b/out", "a")).isEqualTo("s3://b/out/a");
    assertThat(Storage.classify(new java.io.IOException("wrap", new java.io.FileNotFoundException("x"))))
        .isEqualTo(Storage.Fault.NOT_FOUND);
    assertThat(Storage.classify(new java.nio.file.NoSuchFileException("/a/b"))).isEqualTo(Storage.Fault.NOT_FOUND);
    assertThat(Storage.classify(new RuntimeException("S3Exception: Status Code: 404"))).isEqualTo(Storage.Fault.NOT_FOUND);
    // A local file that exists but may not be read surfaces as FileNotFoundException "(Permission denied)".
    assertThat(Storage.classify(new java.io.FileNotFoundException("/data/a.png (Permission denied)")))
        .isEqualTo(Storage.Fault.ACCESS_DENIED);
    assertThat(Storage.classify(new java.nio.file.AccessDeniedException("/data/a.png")))
        .isEqualTo(Storage.Fault.ACCESS_DENIED);
    assertThat(Storage.classify(new RuntimeException("S3Exception: Access Denied (Status Code: 403)")))
        .isEqualTo(Storage.Fault.ACCESS_DENIED);
    assertThat(Storage.classify(new java.io.FileNotFoundException("/data/dir (Is a directory)")))
        .isEqualTo(Storage.Fault.PERMANENT);
    assertThat(Storage.classify(new IllegalArgumentException("No filesystem found for scheme x")))
        .isEqualTo(Storage.Fault.PERMANENT);
    assertThat(Storage.classify(new java.io.IOException("connection reset"))).isEqualTo(Storage.Fault.TRANSIENT);
    assertThat(Storage.classify(new java.net.SocketTimeoutException("read timed out")))
        .isEqualTo(Storage.Fault.TRANSIENT);
  }
}
