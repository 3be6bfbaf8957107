package io.maskbeam.transforms.segment;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class OutputNamesTest {
  @Test
  void keysAreRelativeToTheRootWithoutExtension() {
    assertThat(OutputNames.keyOf("s3://b/photos/2024/a.jpg", "s3://b/photos/")).isEqualTo("2024/a");
    assertThat(OutputNames.keyOf("/data/in/x.tar.png", "/data/in/")).isEqualTo("x.tar");
    // Outside the root: the whole path, scheme dropped, still unique and relative.
    assertThat(OutputNames.keyOf("gs://other/p/q.png", "s3://b/photos/")).isEqualTo("other/p/q");
    assertThat(OutputNames.globRoot("s3://b/photos/**/*.jpg")).isEqualTo("s3://b/photos/");
    assertThat(OutputNames.globRoot("/data/in/img_??.png")).isEqualTo("/data/in/");
    assertThat(OutputNames.commonRoot(List.of("s3://b/photos/a/", "s3://b/photos/b/"))).isEqualTo("s3://b/photos/");
    assertThat(OutputNames.commonRoot(List.of("s3://b/x/", "s3://c/x/"))).isEmpty();
  }

  @Test
  void noNameLeavesTheOutputPrefix() {
    for (String hostile : List.of("../../etc/passwd", "/etc/passwd", "a/../../b", "./.hidden", "..", "a//b",
        "c:\\windows\\system32", "x/\u0000y", "..\\..\\up")) {
      String key = OutputNames.sanitize(hostile);
      assertThat(key).as(hostile).doesNotStartWith("/").doesNotContain("..").doesNotContain("\\")
          .doesNotContain("//").doesNotContain("\u0000");
      for (String segment : key.split("/")) {
        assertThat(segment).as(hostile).isNotEmpty().doesNotStartWith(".");
      }
    }
    // Changed names carry a hash of the original, so two hostile names never meet.
    assertThat(OutputNames.sanitize("a?b")).startsWith("a_b-").isNotEqualTo(OutputNames.sanitize("a*b"));
    assertThat(OutputNames.sanitize("a_b")).isEqualTo("a_b");
    assertThat(OutputNames.sanitize("street scene #1")).matches("street scene _1-[0-9a-f]{8}");
    assertThat(OutputNames.sanitize("caf\u00e9/ok")).matches("caf_/ok-[0-9a-f]{8}");
    assertThat(OutputNames.sanitize("x".repeat(300))).hasSizeLessThan(220);
  }

  @Test
  void inputsSharingAKeyGetDistinctNamesAndRepeatsAreSetAside() {
    List<SegmentInput> inputs = List.of(
        new SegmentInput("/in/sub/a.png", "sub/a", 1, 1),
        new SegmentInput("/in/sub/a.jpg", "sub/a", 1, 1),
        new SegmentInput("/in/sub/b.png", "sub/b", 1, 1),
        new SegmentInput("/in/sub/b.png", "sub/b", 1, 1));
    SegmentImages.Resolved r = SegmentImages.resolveKeys(inputs);
    assertThat(r.unique()).extracting(SegmentInput::key).containsExactlyInAnyOrder("sub/a_jpg", "sub/a_png", "sub/b");
    assertThat(r.repeated()).extracting(SegmentInput::uri).containsExactly("/in/sub/b.png");
    // The same inputs in another order resolve the same way (a retried group must name things identically).
    SegmentImages.Resolved again = SegmentImages.resolveKeys(List.of(inputs.get(1), inputs.get(3), inputs.get(0)));
    assertThat(again.unique()).extracting(SegmentInput::key).containsExactlyInAnyOrder("sub/a_jpg", "sub/a_png", "sub/b");
  }

  @Test
  void statsLinesRoundTripAndSummariesAddUp() {
    List<String> names = List.of("road", "sky", "car");
    ImageStats a = new ImageStats("k1", "/in/k1.png", "r1", 4, 2, 1, new long[] {6, 2, 0});
    ImageStats b = new ImageStats("k2", "/in/k2.png", "r1", 2, 2, 6, new long[] {0, 1, 3});
    ImageStats parsed = ImageStats.fromJsonLine(a.toJsonLine(names), names);
    assertThat(parsed.classPixels()).containsExactly(6, 2, 0);
    assertThat(parsed.key()).isEqualTo("k1");
    assertThat(a.toJsonLine(names)).contains("\"classFractions\":{\"road\":0.75,\"sky\":0.25,\"car\":0.0}");
    CollectionSummary.CombineFn fn = new CollectionSummary.CombineFn(3);
    CollectionSummary left = fn.addInput(fn.createAccumulator(), a);
    CollectionSummary right = fn.addInput(fn.createAccumulator(), b);
    CollectionSummary all = fn.extractOutput(fn.mergeAccumulators(List.of(left, right)));
    assertThat(all.images()).isEqualTo(2);
    assertThat(all.pixels()).isEqualTo(12);
    assertThat(all.classPixels(0)).isEqualTo(6);
    assertThat(all.imagesWithClass(1)).isEqualTo(2);
    assertThat(all.meanImageFraction(2)).isEqualTo((0 + 0.75) / 2);
  }
}
