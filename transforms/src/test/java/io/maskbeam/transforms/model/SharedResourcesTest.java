package io.maskbeam.transforms.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SharedResourcesTest {
  static final class Resource implements AutoCloseable {
    static final AtomicInteger OPEN = new AtomicInteger();
    boolean closed;

    Resource() {
      OPEN.incrementAndGet();
    }

    @Override
    public void close() {
      closed = true;
      OPEN.decrementAndGet();
    }
  }

  @Test
  void oneInstancePerKeySharedByEveryUserAndClosedWhenTheLastOneLeaves() throws Exception {
    SharedResources<String, Resource> shared = new SharedResources<>();
    AtomicInteger loads = new AtomicInteger();
    ExecutorService threads = Executors.newFixedThreadPool(8);
    List<Future<Resource>> leases = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      leases.add(threads.submit(() -> shared.acquire("model-v1", k -> {
        loads.incrementAndGet();
        Thread.sleep(5);
        return new Resource();
      }).resource()));
    }
    Resource first = leases.get(0).get();
    for (Future<Resource> f : leases) {
      assertThat(f.get()).isSameAs(first);
    }
    threads.shutdown();
    assertThat(loads).hasValue(1);
    assertThat(shared.users("model-v1")).isEqualTo(32);
    // Another key (a new model version, another thread setting) is another instance.
    Resource other = shared.acquire("model-v2", k -> new Resource()).resource();
    assertThat(other).isNotSameAs(first);
    for (int i = 0; i < 31; i++) {
      shared.release("model-v1");
    }
    assertThat(first.closed).isFalse();
    shared.release("model-v1");
    assertThat(first.closed).isTrue();
    assertThat(shared.users("model-v1")).isZero();
    shared.release("model-v1"); // an extra release is ignored
    shared.release("model-v2");
    assertThat(Resource.OPEN).hasValue(0);
    // A load that fails leaves nothing behind and the next acquire tries again.
    assertThatThrownBy(() -> shared.acquire("broken", k -> {
      throw new java.io.IOException("no such model");
    })).hasMessageContaining("no such model");
    assertThat(shared.users("broken")).isZero();
    Resource repaired = shared.acquire("broken", k -> new Resource()).resource();
    assertThat(repaired.closed).isFalse();
    assertThat(shared.users("broken")).isEqualTo(1);
    shared.release("broken");
    assertThat(repaired.closed).isTrue();
  }
}
