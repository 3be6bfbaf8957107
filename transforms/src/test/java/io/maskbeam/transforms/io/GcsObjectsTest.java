package io.maskbeam.transforms.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.cloud.storage.BlobInfo;
import com.google.cloud.storage.Storage;
import com.google.cloud.storage.contrib.nio.testing.LocalStorageHelper;
import io.maskbeam.transforms.model.ModelReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * gs:// through the storage client, against google-cloud-nio's in-process fake ({@code LocalStorageHelper}): no
 * GCS emulator is installable on these machines.
 */
class GcsObjectsTest {
  @TempDir Path dir;
  Storage fake;

  @BeforeEach
  void fakeStorage() {
    fake = LocalStorageHelper.getOptions().getService();
    GcsObjects.use(fake);
  }

  @AfterEach
  void realStorageAgain() {
    GcsObjects.use(null);
  }

  void put(String name, String content) {
    fake.create(BlobInfo.newBuilder("models", name).build(), content.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void modelsArePinnedAtLaunchCachedByGenerationAndCheckedByChecksum() throws Exception {
    put("camvid/saved_model.pb", "graph");
    put("camvid/variables/variables.index", "index");
    put("camvid/variables/variables.data-00000-of-00001", "weights");
    put("camvid/maskbeam-model.json", "{\"numClasses\": 11}");
    put("other/saved_model.pb", "not this one");

    List<GcsObjects.ObjectVersion> listed = GcsObjects.list("gs://models/camvid");
    assertThat(listed).extracting(GcsObjects.ObjectVersion::name).containsExactly("maskbeam-model.json",
        "saved_model.pb", "variables/variables.data-00000-of-00001", "variables/variables.index");

    Path cache = dir.resolve("cache");
    ModelReference v1 = ModelReference.resolve("gs://models/camvid");
    assertThat(v1.metadata().numClasses()).isEqualTo(11);
    Path first = v1.localCopy(cache);
    assertThat(Files.readString(first.resolve("variables/variables.index"))).isEqualTo("index");
    assertThat(ModelReference.resolve("gs://models/camvid/").localCopy(cache)).isEqualTo(first);

    // Replacing an object makes a new generation: a job launched now pins the new bytes, in a new cache entry.
    put("camvid/saved_model.pb", "graph v2");
    ModelReference v2 = ModelReference.resolve("gs://models/camvid");
    assertThat(v2.fingerprint()).isNotEqualTo(v1.fingerprint());
    Path second = v2.localCopy(cache);
    assertThat(second).isNotEqualTo(first);
    assertThat(Files.readString(second.resolve("saved_model.pb"))).isEqualTo("graph v2");

    // A worker of the job launched before the replacement never gets the new bytes. GCS itself would serve the
    // pinned generation; the in-process fake keeps no old generations and serves the live object, whose checksum
    // is not the pinned one: the worker fails saying the model changed since launch.
    Path fresh = dir.resolve("fresh-cache");
    assertThatThrownBy(() -> v1.localCopy(fresh)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("changed since the job was launched").hasMessageContaining("checksum mismatch");
    assertThat(fresh.resolve(v1.fingerprint())).doesNotExist();

    assertThatThrownBy(() -> ModelReference.resolve("gs://models/missing")).hasMessageContaining("does not exist");
    put("partial/saved_model.pb", "graph");
    put("partial/maskbeam-model.json", "{\"numClasses\": 3}");
    assertThatThrownBy(() -> ModelReference.resolve("gs://models/partial"))
        .hasMessageContaining("missing variables/variables.index, variables/variables.data-*");

    // A download whose bytes do not match the listed checksum is refused.
    List<GcsObjects.ObjectVersion> wrong = List.of(new GcsObjects.ObjectVersion("saved_model.pb", 5, -1,
        GcsObjects.crc32c("something else".getBytes(StandardCharsets.UTF_8))));
    assertThatThrownBy(() -> GcsObjects.download("gs://models/camvid", wrong, dir.resolve("x")))
        .hasMessageContaining("checksum mismatch");
  }

  @Test
  void aBareOnnxFileIsPinnedAloneAndItsConventionsSettledAtLaunch() throws Exception {
    byte[] onnx = Files.readAllBytes(Path.of("../models/src/test/resources/onnx/nchw_float.onnx"));
    fake.create(BlobInfo.newBuilder("models", "zoo/segformer.onnx").build(), onnx);
    put("zoo/unrelated.txt", "another model's notes");
    put("zoo/deeper/model.onnx", "another model");

    ModelReference ref = ModelReference.resolve("gs://models/zoo/segformer.onnx");
    assertThat(ref.format()).isEqualTo(io.maskbeam.models.infer.ModelFormat.ONNX);
    assertThat(ref.files()).extracting(ModelReference.PinnedFile::name).containsExactly("segformer.onnx");
    assertThat(ref.metadata().numClasses()).isEqualTo(4);
    assertThat(ref.metadata().onnx().path("layout").asText()).isEqualTo("NCHW");
    // Files beside it are not part of the model: changing them changes nothing.
    put("zoo/unrelated.txt", "rewritten");
    assertThat(ModelReference.resolve("gs://models/zoo/segformer.onnx").fingerprint()).isEqualTo(ref.fingerprint());
    try (var model = ref.load(io.maskbeam.models.infer.ModelRuntime.defaults().withThreads(1))) {
      assertThat(model.backend()).isEqualTo("onnxruntime");
      assertThat(model.numClasses()).isEqualTo(4);
    }
    assertThatThrownBy(() -> ModelReference.resolve("gs://models/zoo/missing.onnx"))
        .hasMessageContaining("does not exist");
    put("zoo/broken.onnx", "not a model");
    assertThatThrownBy(() -> ModelReference.resolve("gs://models/zoo/broken.onnx"))
        .hasMessageContaining("is not an ONNX model");
  }

  @Test
  void writesCarryContentTypeAndMetadata() {
    GcsObjects.write("gs://out/masks/a.png", new byte[] {1, 2, 3}, "image/png",
        Map.of("maskbeam-model", "gs://models/camvid", "maskbeam-input", "gs://in/a.jpg"));
    assertThat(fake.get("out", "masks/a.png").getContentType()).isEqualTo("image/png");
    assertThat(GcsObjects.metadata("gs://out/masks/a.png")).containsEntry("maskbeam-input", "gs://in/a.jpg");
    // CRC32C of "123456789" is the standard check value 0xE3069283.
    assertThat(GcsObjects.crc32c("123456789".getBytes(StandardCharsets.US_ASCII))).isEqualTo("4waSgw==");
  }
}
