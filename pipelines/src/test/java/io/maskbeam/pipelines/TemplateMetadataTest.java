package io.maskbeam.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.maskbeam.pipelines.cli.OptionsCommand;
import io.maskbeam.pipelines.templates.FlexTemplateMetadata;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.Validation;
import org.junit.jupiter.api.Test;

/** The Flex Template metadata files match the pipelines' options exactly. */
class TemplateMetadataTest {
  static final Path TEMPLATES = Path.of("..", "templates", "dataflow");

  @Test
  void everyTemplateMatchesItsOptionsInterface() throws Exception {
    for (var entry : FlexTemplateMetadata.PIPELINES.entrySet()) {
      String pipeline = entry.getKey();
      Class<? extends PipelineOptions> options = entry.getValue();
      Path file = TEMPLATES.resolve(pipeline).resolve("metadata.json");
      // The committed file is what the generator writes today (regenerate with 'maskbeam template-metadata').
      assertThat(Files.readString(file)).as("%s is up to date", file).isEqualTo(FlexTemplateMetadata.json(pipeline));

      JsonNode metadata = TestData.JSON.readTree(Files.readString(file));
      assertThat(metadata.path("name").asText()).isNotBlank();
      assertThat(metadata.path("description").asText()).isNotBlank();
      Set<String> parameters = new HashSet<>();
      List<String> args = new ArrayList<>();
      java.util.Map<String, Method> getters = new java.util.HashMap<>();
      for (Method getter : OptionsCommand.getters(options)) {
        getters.put(OptionsCommand.propertyName(getter), getter);
      }
      for (JsonNode p : metadata.path("parameters")) {
        String name = p.path("name").asText();
        parameters.add(name);
        assertThat(p.path("label").asText()).as(name).isNotBlank();
        assertThat(p.path("helpText").asText()).as(name).isNotBlank();
        String sample = null;
        for (JsonNode regex : p.path("regexes")) {
          Pattern compiled = Pattern.compile(regex.asText());
          // A value other than the option's default, so arriving with the default would not pass for arriving.
          sample = compiled.pattern().contains("true|false") ? notDefault(getters.get(name))
              : compiled.pattern().contains("gs|s3") ? "gs://bucket/x" : "37";
          assertThat(compiled.matcher(sample).matches()).as("%s sample %s", name, sample).isTrue();
        }
        args.add("--" + name + "=" + (sample != null ? sample : "x7"));
      }
      // No required option is missing or optional, and none is unknown to the options interface.
      for (Method getter : OptionsCommand.getters(options)) {
        String name = OptionsCommand.propertyName(getter);
        assertThat(parameters).as("%s declares %s", pipeline, name).contains(name);
        boolean required = getter.getAnnotation(Validation.Required.class) != null;
        for (JsonNode p : metadata.path("parameters")) {
          if (p.path("name").asText().equals(name)) {
            assertThat(p.path("isOptional").asBoolean()).as("%s %s optional", pipeline, name).isEqualTo(!required);
          }
        }
      }
      // Every parameter, given as the launcher would, arrives in the options with the value given: a parameter
      // name that Beam maps elsewhere, or a type the regex does not describe, fails here.
      PipelineOptionsFactory.register(options);
      PipelineOptions parsed = PipelineOptionsFactory.fromArgs(args.toArray(String[]::new)).as(options);
      int checked = 0;
      for (Method getter : OptionsCommand.getters(options)) {
        String name = OptionsCommand.propertyName(getter);
        String given = args.stream().filter(a -> a.startsWith("--" + name + "=")).findFirst().orElseThrow()
            .substring(name.length() + 3);
        Object value = getter.invoke(parsed);
        if (value instanceof Number number) {
          assertThat(number.doubleValue()).as("%s %s", pipeline, name).isEqualTo(Double.parseDouble(given));
        } else {
          assertThat(String.valueOf(value)).as("%s %s", pipeline, name).isEqualTo(given);
        }
        checked++;
      }
      assertThat(checked).as(pipeline).isEqualTo(parameters.size());
    }
  }

  /** "false" for a boolean option that defaults to true, else "true". */
  private static String notDefault(Method getter) {
    org.apache.beam.sdk.options.Default.Boolean d = getter == null ? null
        : getter.getAnnotation(org.apache.beam.sdk.options.Default.Boolean.class);
    return d != null && d.value() ? "false" : "true";
  }
}
