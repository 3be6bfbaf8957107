package io.maskbeam.transforms.evaluate;

import java.io.Serializable;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;

/** A rendered best or worst example: its panel file (relative to the output folder) and its scores. */
@DefaultCoder(SerializableCoder.class)
public record ExampleRender(String label, String id, String file, double meanIou, double pixelAccuracy)
    implements Serializable {}
