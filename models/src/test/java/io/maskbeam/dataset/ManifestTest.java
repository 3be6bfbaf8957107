package io.maskbeam.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The one manifest parser: both schemas, relative URIs, splits, and clear messages for unusable lines. */
class ManifestTest {
  @Test
  void readsBothSchemasAndResolvesRelativeUris() throws Exception {
    Manifest.Entry e = Manifest.parse("{\"image\": \"img/a.png\", \"mask\": \"../ann/a.png\", \"id\": \"x\","
        + " \"split\": \"Validation\"}", "/data/set/list.jsonl");
    assertThat(e).isEqualTo(new Manifest.Entry("/data/set/img/a.png", "/data/ann/a.png", "x", "Validation"));
    Manifest.Entry s = Manifest.parse("{\"source-ref\": \"s3://b/i/a.jpg\", \"road-ref\": \"s3://b/m/a.png\","
        + " \"road-ref-metadata\": {}}", "s3://b/lists/m.jsonl");
    assertThat(s).isEqualTo(new Manifest.Entry("s3://b/i/a.jpg", "s3://b/m/a.png", null, null));
    assertThat(Manifest.parse("{\"image\": \"../x/./a.png\"}", "gs://b/l/m.jsonl").image())
        .isEqualTo("gs://b/x/a.png");
    String relative = Manifest.parse("{\"image\": \"a.png\"}", "lists/m.jsonl").image();
    assertThat(relative).isEqualTo(Path.of("lists/a.png").toAbsolutePath().normalize().toString());
    assertThat(Manifest.parse("   ", "m.jsonl")).isNull();
  }

  @Test
  void unusableLinesSayWhyAndShowTheLine() {
    assertThatThrownBy(() -> Manifest.parse("not json", "m")).hasMessageContaining("not JSON")
        .hasMessageContaining("line: not json");
    assertThatThrownBy(() -> Manifest.parse("[1, 2]", "m")).hasMessageContaining("not a JSON object");
    assertThatThrownBy(() -> Manifest.parse("{\"label\": 3}", "m"))
        .hasMessageContaining("no \"image\" or \"source-ref\" field");
    String longLine = "{\"x\": \"" + "y".repeat(500) + "\"}";
    assertThatThrownBy(() -> Manifest.parse(longLine, "m")).hasMessageEndingWith("...");
  }
}
