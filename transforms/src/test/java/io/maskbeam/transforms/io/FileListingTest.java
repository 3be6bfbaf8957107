package io.maskbeam.transforms.io;

import static org.assertj.core.api.Assertions.assertThat;

import io.maskbeam.core.FailureReason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Listing local globs when links loop, dangle or alias, and names hold odd characters. */
class FileListingTest {
  @TempDir Path dir;

  static Map<String, String> byPath(Path root, List<FileListing.Entry> entries) {
    Map<String, String> out = new TreeMap<>();
    for (FileListing.Entry e : entries) {
      out.put(root.relativize(Path.of(e.uri())).toString(), e.isFile() ? "file" : e.problem().name());
    }
    return out;
  }

  @Test
  void aLinkToAnAncestorIsReportedOnceAndNotFollowed() throws Exception {
    Path r = Files.createDirectories(dir.resolve("r"));
    Files.write(r.resolve("a.png"), new byte[] {1});
    Files.createDirectories(r.resolve("sub"));
    Files.write(r.resolve("sub/b.png"), new byte[] {2});
    Files.createSymbolicLink(r.resolve("loop"), Path.of("."));
    Files.createSymbolicLink(r.resolve("sub/up"), Path.of(".."));
    List<FileListing.Entry> entries = FileListing.list(r + "/**");
    assertThat(byPath(r, entries)).containsExactlyInAnyOrderEntriesOf(Map.of(
        "a.png", "file", "sub/b.png", "file", "loop", "LINK_LOOP", "sub/up", "LINK_LOOP"));
  }

  @Test
  void danglingAndSelfLinksAreProblemsAndAFileReachedTwiceIsOneInput() throws Exception {
    Path r = Files.createDirectories(dir.resolve("r"));
    Files.write(r.resolve("a.png"), new byte[] {1});
    Files.createSymbolicLink(r.resolve("gone.png"), r.resolve("missing.png"));
    Files.createSymbolicLink(r.resolve("self.png"), Path.of("self.png"));
    Files.createSymbolicLink(r.resolve("alias.png"), Path.of("a.png"));
    Path other = Files.createDirectories(dir.resolve("other"));
    Files.write(other.resolve("c.png"), new byte[] {3});
    Files.createSymbolicLink(r.resolve("linked"), other);
    Map<String, String> got = byPath(r, FileListing.list(r + "/**.png"));
    assertThat(got).containsEntry("gone.png", "BROKEN_LINK").containsEntry("self.png", "LINK_LOOP")
        .containsEntry("linked/c.png", "file");
    // a.png and alias.png are one file: the first listed is the input, the other a duplicate.
    assertThat(List.of(got.get("a.png"), got.get("alias.png"))).containsExactlyInAnyOrder("file",
        FailureReason.DUPLICATE_INPUT.name());
    assertThat(got).hasSize(5);
  }

  @Test
  void brokenLinksAndLoopsTheGlobDoesNotNameAreNotInputs() throws Exception {
    Path r = Files.createDirectories(dir.resolve("r"));
    Files.write(r.resolve("a.png"), new byte[] {1});
    Files.createSymbolicLink(r.resolve("thumbs.db"), r.resolve("missing.db"));
    Files.createSymbolicLink(r.resolve("self.db"), Path.of("self.db"));
    Files.createSymbolicLink(r.resolve("gone.png"), r.resolve("missing.png"));
    assertThat(byPath(r, FileListing.list(r + "/*.png"))).containsExactlyInAnyOrderEntriesOf(Map.of(
        "a.png", "file", "gone.png", "BROKEN_LINK"));
    // A looping folder link is reported where the glob names it, and never followed.
    Files.createSymbolicLink(r.resolve("loop"), Path.of("."));
    assertThat(byPath(r, FileListing.list(r + "/**.png"))).containsExactlyInAnyOrderEntriesOf(Map.of(
        "a.png", "file", "gone.png", "BROKEN_LINK"));
    assertThat(byPath(r, FileListing.list(r + "/**"))).containsEntry("loop", "LINK_LOOP")
        .containsEntry("thumbs.db", "BROKEN_LINK").containsEntry("self.db", "LINK_LOOP");
  }

  @Test
  void namesWithNewlinesAndSpacesMatchEveryGlobForm() throws Exception {
    Path r = Files.createDirectories(dir.resolve("r/deep"));
    Files.write(r.resolve("new\nline.png"), new byte[] {1});
    Files.write(r.resolve("with space.png"), new byte[] {1});
    Files.write(r.resolve("notes.txt"), new byte[] {1});
    Path root = dir.resolve("r");
    assertThat(byPath(root, FileListing.list(root + "/**")).keySet()).containsExactlyInAnyOrder(
        "deep/new\nline.png", "deep/with space.png", "deep/notes.txt");
    assertThat(byPath(root, FileListing.list(root + "/*/*.png")).keySet()).containsExactlyInAnyOrder(
        "deep/new\nline.png", "deep/with space.png");
    assertThat(byPath(root, FileListing.list(root + "/**.{png,jpg}"))).hasSize(2);
    assertThat(FileListing.list(root + "/*.png")).as("one level only").isEmpty();
    assertThat(FileListing.countFiles(r.resolve("with space.png").toString())).isEqualTo(1);
  }
}
