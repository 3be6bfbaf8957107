package io.maskbeam.transforms.preprocess;

import java.io.Serializable;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;

/** A serialized tf.train.Example bound for a split's shards, with its summary for statistics. */
@DefaultCoder(SerializableCoder.class)
public record ExampleRecord(String id, String split, byte[] example, ExampleSummary summary) implements Serializable {}
