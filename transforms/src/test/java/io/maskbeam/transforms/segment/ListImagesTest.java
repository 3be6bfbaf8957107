package io.maskbeam.transforms.segment;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ListImagesTest {
  @TempDir Path dir;

  @Test
  void listsGlobsAndManifestLinesExcludingTheOutputAndReportingBadLines() throws Exception {
    Path images = Files.createDirectories(dir.resolve("images/sub"));
    Files.write(dir.resolve("images/a.png"), new byte[] {1});
    Files.write(images.resolve("b.jpg"), new byte[] {1});
    Path out = Files.createDirectories(dir.resolve("images/out/masks"));
    Files.write(out.resolve("a.png"), new byte[] {1}); // an earlier run's mask: never an input
    Files.writeString(dir.resolve("images/list.jsonl"), String.join("\n",
        "{\"image\": \"sub/b.jpg\"}",
        "{\"source-ref\": \"" + dir.resolve("elsewhere/c.png") + "\"}",
        "",
        "not json",
        "{\"label\": 3}") + "\n");

    String root = ListImages.defaultRoot(List.of(dir + "/images/**"), dir + "/images/list.jsonl");
    assertThat(root).isEqualTo(dir.toAbsolutePath() + "/images/");
    TestPipeline p = TestPipeline.create().enableAbandonedNodeEnforcement(false);
    PCollectionTuple listed = p.apply(ListImages.matching(List.of(dir + "/images/**.{png,jpg}"))
        .withManifest(dir + "/images/list.jsonl").withRoot(root).excludingPrefix(dir + "/images/out"));
    String base = dir.toAbsolutePath().toString();
    PAssert.that(listed.get(ListImages.INPUTS)).satisfies(inputs -> {
      List<String> keys = new ArrayList<>();
      inputs.forEach(in -> keys.add(in.key() + "=" + in.uri().substring(base.length())));
      assertThat(keys).containsExactlyInAnyOrder(
          "a=/images/a.png", "sub/b=/images/sub/b.jpg", "sub/b=/images/sub/b.jpg",
          base.substring(1) + "/elsewhere/c=/elsewhere/c.png");
      return null;
    });
    PAssert.that(listed.get(ListImages.FAILURES)).satisfies(errors -> {
      List<String> reasons = new ArrayList<>();
      errors.forEach(e -> reasons.add(e.reason() + ": " + e.message()));
      assertThat(reasons).hasSize(2).allMatch(r -> r.startsWith("INVALID_MANIFEST_LINE"));
      assertThat(String.join("\n", reasons)).contains("not json").contains("no \"image\" or \"source-ref\" field");
      return null;
    });
    p.run().waitUntilFinish();
  }
}
