package io.maskbeam.transforms.segment;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How images wait for their batch: by inference size, flushed by count and by the bytes held. */
class BatchesTest {
  @Test
  void aBatchRunsWhenFullAndTheRestAtTheEnd() {
    List<List<String>> runs = new ArrayList<>();
    SegmentImages.Batches<String> batches = new SegmentImages.Batches<>(3, Long.MAX_VALUE, runs::add);
    for (String s : List.of("a1", "b1", "a2", "a3", "b2", "a4")) {
      batches.add(s.substring(0, 1), s, 10);
    }
    assertThat(runs).containsExactly(List.of("a1", "a2", "a3"));
    batches.flushAll();
    assertThat(runs).containsExactly(List.of("a1", "a2", "a3"), List.of("b1", "b2"), List.of("a4"));
  }

  @Test
  void overTheByteBoundTheLargestPendingBatchRunsFirst() {
    List<List<String>> runs = new ArrayList<>();
    SegmentImages.Batches<String> batches = new SegmentImages.Batches<>(100, 250, runs::add);
    batches.add("small", "s1", 50);
    batches.add("large", "l1", 100);
    batches.add("large", "l2", 100);
    assertThat(runs).isEmpty(); // 250 held: at the bound, not over it
    batches.add("small", "s2", 50);
    // 300 > 250: the large batch (200 bytes) runs, the small one (100) waits.
    assertThat(runs).containsExactly(List.of("l1", "l2"));
    batches.add("small", "s3", 200);
    assertThat(runs).containsExactly(List.of("l1", "l2"), List.of("s1", "s2", "s3"));
    batches.flushAll();
    assertThat(runs).hasSize(2);
  }
}
