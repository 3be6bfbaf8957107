package io.maskbeam.transforms.segment;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Incremental runs: what an earlier run recorded decides what the next run segments. */
class IncrementalStateTest {
  @TempDir Path dir;

  private static SegmentInput input(String name, long size, long modified) {
    return new SegmentInput("/photos/" + name + ".jpg", name, size, modified);
  }

  @Test
  void onlyNewOrChangedInputsAreSegmentedAndTheNewestRecordCounts() throws Exception {
    // Two earlier runs. "a" was recorded by both: the older record matches today's listing, the newer does not,
    // so it changed after the older run and must be segmented again. "b" changed back and forth: its newest
    // record matches. "c" is unchanged since its only record; "d" changed size; "e" is new.
    Path state = Files.createDirectories(dir.resolve("state"));
    Files.writeString(state.resolve("20261201-000000-aaaa-00000-of-00001.jsonl"), String.join("\n",
        IncrementalState.line(input("a", 10, 100), "20261201-000000-aaaa"),
        IncrementalState.line(input("b", 99, 999), "20261201-000000-aaaa"),
        IncrementalState.line(input("c", 30, 300), "20261201-000000-aaaa"),
        IncrementalState.line(input("d", 40, 400), "20261201-000000-aaaa")) + "\n");
    Files.writeString(state.resolve("20261202-000000-bbbb-00000-of-00001.jsonl"), String.join("\n",
        IncrementalState.line(input("a", 11, 110), "20261202-000000-bbbb"),
        IncrementalState.line(input("b", 20, 200), "20261202-000000-bbbb")) + "\n");
    List<String> files;
    try (Stream<Path> s = Files.list(state)) {
      files = s.map(Path::toString).sorted().toList();
    }

    TestPipeline p = TestPipeline.create().enableAbandonedNodeEnforcement(false);
    PCollection<SegmentInput> listed = p.apply(Create.of(input("a", 10, 100), input("b", 20, 200),
        input("c", 30, 300), input("d", 41, 400), input("e", 50, 500)));
    PCollectionTuple split = listed.apply(IncrementalState.filterUnchanged().withStateFiles(files));
    PAssert.that(split.get(IncrementalState.CHANGED)).containsInAnyOrder(input("a", 10, 100),
        input("d", 41, 400), input("e", 50, 500));
    PAssert.that(split.get(IncrementalState.UNCHANGED)).containsInAnyOrder("b", "c");
    p.run().waitUntilFinish();
  }

  @Test
  void withoutStateEverythingIsChangedAndWhatARunWritesIsReadBack() throws Exception {
    TestPipeline first = TestPipeline.create().enableAbandonedNodeEnforcement(false);
    PCollection<SegmentInput> listed = first.apply(Create.of(input("x", 1, 2), input("y", 3, 4)));
    PCollectionTuple split = listed.apply(IncrementalState.filterUnchanged());
    PAssert.that(split.get(IncrementalState.CHANGED)).containsInAnyOrder(input("x", 1, 2), input("y", 3, 4));
    PAssert.that(split.get(IncrementalState.UNCHANGED)).empty();
    PCollection<String> written = split.get(IncrementalState.CHANGED)
        .apply(IncrementalState.write(dir.toString(), "20261202-120000-cccc"));
    PAssert.that(written).satisfies(names -> {
      names.forEach(n -> assertThat(n).contains("state").contains("20261202-120000-cccc").endsWith(".jsonl"));
      return null;
    });
    first.run().waitUntilFinish();

    List<String> files = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir.resolve("state"))) {
      s.map(Path::toString).forEach(files::add);
    }
    assertThat(files).isNotEmpty();
    TestPipeline second = TestPipeline.create().enableAbandonedNodeEnforcement(false);
    PCollectionTuple again = second.apply(Create.of(input("x", 1, 2), input("y", 3, 5)))
        .apply(IncrementalState.filterUnchanged().withStateFiles(files));
    PAssert.that(again.get(IncrementalState.CHANGED)).containsInAnyOrder(input("y", 3, 5));
    PAssert.that(again.get(IncrementalState.UNCHANGED)).containsInAnyOrder("x");
    second.run().waitUntilFinish();
  }
}
