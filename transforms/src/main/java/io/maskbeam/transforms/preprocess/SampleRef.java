package io.maskbeam.transforms.preprocess;

import java.io.Serializable;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;

/** An image and its mask, matched by a layout, with the split it belongs to. */
@DefaultCoder(SerializableCoder.class)
public record SampleRef(String id, String imageUri, String maskUri, String split) implements Serializable {}
