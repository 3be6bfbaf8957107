package io.maskbeam.pipelines.cli;

import io.maskbeam.labels.LabelMap;
import io.maskbeam.labels.LabelMaps;
import io.maskbeam.transforms.io.Storage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** Resolves {@code --labelMap}: a preset name, inline JSON, or a JSON file on any Beam filesystem. */
public final class LabelMapResolver {
  private LabelMapResolver() {}

  public static LabelMap resolve(String spec) {
    if (spec == null || spec.isBlank()) {
      throw new IllegalArgumentException("--labelMap is required: a preset (" + String.join(", ", LabelMaps.presetNames())
          + "), a JSON file or inline JSON");
    }
    if (LabelMaps.isPresetOrInline(spec)) {
      return LabelMaps.fromPresetOrInline(spec);
    }
    byte[] bytes;
    try {
      bytes = Storage.readAll(spec.trim());
    } catch (Storage.NotFoundException e) {
      throw new IllegalArgumentException("--labelMap '" + spec + "' is neither a preset (" + String.join(", ",
          LabelMaps.presetNames()) + "), inline JSON, nor an existing file");
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read --labelMap file '" + spec + "': " + e.getMessage(), e);
    }
    return LabelMaps.parse(new String(bytes, StandardCharsets.UTF_8), Storage.stem(spec));
  }
}
