package io.maskbeam.transforms.common;

import io.maskbeam.core.Failure;
import io.maskbeam.dataset.Manifest;
import java.util.List;
import org.apache.beam.sdk.coders.CoderProvider;
import org.apache.beam.sdk.coders.CoderProviderRegistrar;
import org.apache.beam.sdk.coders.CoderProviders;
import org.apache.beam.sdk.values.TypeDescriptor;

/**
 * Registers the explicit coders of the Beam-free types that flow through Maskbeam's pipelines (found by Beam through
 * {@code META-INF/services}), so no element travels by Java serialization.
 */
public final class MaskbeamCoders implements CoderProviderRegistrar {
  @Override
  public List<CoderProvider> getCoderProviders() {
    return List.of(
        CoderProviders.forCoder(TypeDescriptor.of(Failure.class), FailureCoder.of()),
        CoderProviders.forCoder(TypeDescriptor.of(Manifest.Entry.class), ManifestEntryCoder.of()));
  }
}
