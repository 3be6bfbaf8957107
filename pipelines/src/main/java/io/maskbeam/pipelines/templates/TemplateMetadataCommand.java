package io.maskbeam.pipelines.templates;

import io.maskbeam.pipelines.cli.Console;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code maskbeam template-metadata PIPELINE}: prints the Dataflow Flex Template metadata.json of a pipeline. */
@Command(name = "template-metadata", mixinStandardHelpOptions = true,
    description = "Prints the Dataflow Flex Template metadata.json of a pipeline (preprocess, train, segment,"
        + " evaluate), generated from its options.")
public final class TemplateMetadataCommand implements Callable<Integer>, Console {
  @Parameters(index = "0", description = "preprocess, train, segment or evaluate.")
  String pipeline;

  PrintStream out = System.out;

  @Override
  public void printTo(PrintStream stream) {
    this.out = stream;
  }

  @Override
  public Integer call() {
    out.print(FlexTemplateMetadata.json(pipeline));
    return 0;
  }
}
