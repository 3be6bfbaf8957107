package io.maskbeam.transforms.preprocess;

import java.io.Serializable;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;

/** What statistics need of one written example, without its bytes. */
@DefaultCoder(SerializableCoder.class)
public record ExampleSummary(
    String split,
    int sourceWidth,
    int sourceHeight,
    int width,
    int height,
    long[] classPixels,
    long ignorePixels,
    long unknownPixels,
    boolean reencoded,
    long exampleBytes)
    implements Serializable {}
