package io.maskbeam.pipelines.cli;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.List;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.Validation;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.UsageMessageSpec;

/**
 * A picocli command whose options are read from a Beam {@code PipelineOptions} interface, so one interface defines
 * a pipeline's flags for the command line, Beam's parser and template metadata alike. Unknown options are left to
 * Beam (runner flags such as {@code --runner}, {@code --project}, {@code --sparkMaster} pass through).
 */
public final class OptionsCommand {
  private OptionsCommand() {}

  public static CommandSpec spec(String name, String description, Class<? extends PipelineOptions> options) {
    CommandSpec spec = CommandSpec.create().name(name);
    spec.usageMessage(new UsageMessageSpec().description(description).footer(
        "",
        "Beam options pass through, e.g. --runner=DirectRunner (default), SparkRunner",
        "or DataflowRunner, and that runner's own flags.",
        "s3://: --awsRegion, --endpoint, --s3PathStyleAccess=true (S3-compatible stores).",
        "gs://: --project and Application Default Credentials."));
    spec.mixinStandardHelpOptions(true);
    spec.parser().unmatchedArgumentsAllowed(true).unmatchedOptionsArePositionalParams(false);
    for (Method getter : getters(options)) {
      String property = propertyName(getter);
      Description d = getter.getAnnotation(Description.class);
      String defaultValue = defaultValue(getter);
      boolean required = getter.getAnnotation(Validation.Required.class) != null;
      String text = (d == null ? "" : d.value())
          + (defaultValue != null ? " Default: " + defaultValue + "." : "")
          + (required ? " Required." : "");
      Class<?> type = getter.getReturnType();
      OptionSpec.Builder option = OptionSpec.builder("--" + property)
          .description(text)
          .paramLabel(type == Boolean.class ? "true|false" : "<" + property + ">")
          .type(type == Boolean.class ? Boolean.class : type)
          .required(false);
      if (type == Boolean.class) {
        option.arity("0..1");
      }
      spec.addOption(option.build());
    }
    return spec;
  }

  /**
   * The getters of the interface and of Maskbeam's own interfaces it extends (not Beam's), sorted by property name.
   */
  public static List<Method> getters(Class<?> options) {
    java.util.Map<String, Method> byName = new java.util.TreeMap<>();
    collect(options, byName);
    return List.copyOf(byName.values());
  }

  private static void collect(Class<?> type, java.util.Map<String, Method> byName) {
    if (!type.getName().startsWith("io.maskbeam.")) {
      return;
    }
    Arrays.stream(type.getDeclaredMethods())
        .filter(m -> (m.getName().startsWith("get") || m.getName().startsWith("is")) && m.getParameterCount() == 0)
        .forEach(m -> byName.putIfAbsent(propertyName(m), m));
    for (Class<?> parent : type.getInterfaces()) {
      collect(parent, byName);
    }
  }

  public static String propertyName(Method getter) {
    String n = getter.getName().startsWith("is") ? getter.getName().substring(2) : getter.getName().substring(3);
    return Character.toLowerCase(n.charAt(0)) + n.substring(1);
  }

  public static String defaultValue(Method getter) {
    if (getter.getAnnotation(Default.String.class) != null) {
      return getter.getAnnotation(Default.String.class).value();
    }
    if (getter.getAnnotation(Default.Integer.class) != null) {
      return Integer.toString(getter.getAnnotation(Default.Integer.class).value());
    }
    if (getter.getAnnotation(Default.Long.class) != null) {
      return Long.toString(getter.getAnnotation(Default.Long.class).value());
    }
    if (getter.getAnnotation(Default.Double.class) != null) {
      return Double.toString(getter.getAnnotation(Default.Double.class).value());
    }
    if (getter.getAnnotation(Default.Boolean.class) != null) {
      return Boolean.toString(getter.getAnnotation(Default.Boolean.class).value());
    }
    return null;
  }
}
