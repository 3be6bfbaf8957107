package io.maskbeam.transforms.common;

import io.maskbeam.dataset.Manifest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;

/** The explicit coder of {@link Manifest.Entry}, registered for the type by {@link MaskbeamCoders}. */
public final class ManifestEntryCoder extends AtomicCoder<Manifest.Entry> {
  private static final ManifestEntryCoder INSTANCE = new ManifestEntryCoder();

  private ManifestEntryCoder() {}

  public static ManifestEntryCoder of() {
    return INSTANCE;
  }

  @Override
  public void encode(Manifest.Entry e, OutputStream out) throws IOException {
    CoderFields.putString(out, e.image());
    CoderFields.putString(out, e.mask());
    CoderFields.putString(out, e.id());
    CoderFields.putString(out, e.split());
  }

  @Override
  public Manifest.Entry decode(InputStream in) throws IOException {
    return new Manifest.Entry(CoderFields.getString(in), CoderFields.getString(in), CoderFields.getString(in),
        CoderFields.getString(in));
  }
}
