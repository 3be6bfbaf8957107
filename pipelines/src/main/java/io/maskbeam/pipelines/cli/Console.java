package io.maskbeam.pipelines.cli;

import java.io.PrintStream;

/**
 * A subcommand that prints to the stream the command line was given ({@code Maskbeam.run(args, out, err)}), not to
 * whatever {@code System.out} was when it was built: how an embedding program or a test reads what it said.
 */
public interface Console {
  void printTo(PrintStream out);
}
