package io.maskbeam.templates;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every Dockerfile and launch script under templates/ names files the build produces and classes the jars hold; the
 * jars carry the runners and filesystems their launchers use. A Dockerfile that copies a file no build makes, or a
 * launcher whose main class or runner is missing from its jar, fails here, not on a cloud.
 */
class ShippedArtifactsIT {
  static final Pattern COPY = Pattern.compile("(?m)^COPY\\s+(?!--from)(\\S+)\\s+(\\S+)\\s*$");
  static final Pattern ENV = Pattern.compile("(?m)^ENV\\s+(.+)$");
  static final Pattern ENTRYPOINT = Pattern.compile("(?m)^ENTRYPOINT\\s+\\[\"([^\"]+)\"");
  static final Pattern ARG = Pattern.compile("(?m)^ARG\\s+(\\w+)=(\\S+)\\s*$");
  /** Entry points that come with a base image, not from a COPY. */
  static final List<String> BASE_IMAGE_ENTRY_POINTS = List.of("/opt/google/dataflow/java_template_launcher");

  /** A Dockerfile's text with ${NAME} of its ARG lines replaced by their defaults (the values of a plain build). */
  static String withArgDefaults(String dockerfile) {
    Map<String, String> args = new LinkedHashMap<>();
    Matcher m = ARG.matcher(dockerfile);
    while (m.find()) {
      args.put(m.group(1), m.group(2));
    }
    String out = dockerfile;
    for (Map.Entry<String, String> a : args.entrySet()) {
      out = out.replace("${" + a.getKey() + "}", a.getValue());
    }
    return out;
  }

  static List<Path> dockerfiles() throws IOException {
    try (Stream<Path> s = Files.walk(Shipped.root().resolve("templates"))) {
      return s.filter(p -> p.getFileName().toString().startsWith("Dockerfile")).sorted().toList();
    }
  }

  /** ENV lines as name=value pairs (several per line allowed). */
  static Map<String, String> env(String dockerfile) {
    Map<String, String> env = new LinkedHashMap<>();
    Matcher m = ENV.matcher(withArgDefaults(dockerfile));
    while (m.find()) {
      for (String pair : m.group(1).trim().split("\\s+")) {
        int eq = pair.indexOf('=');
        if (eq > 0) {
          env.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
      }
    }
    return env;
  }

  /** Where each COPY source lands in the image: destination to repository path. */
  static Map<String, Path> copies(String dockerfile) {
    Map<String, Path> copies = new LinkedHashMap<>();
    String text = withArgDefaults(dockerfile);
    assertThat(text.lines().filter(l -> l.startsWith("COPY ") && !l.startsWith("COPY --from")).count())
        .as("every COPY line is one the test reads")
        .isEqualTo(COPY.matcher(text).results().count());
    Matcher m = COPY.matcher(text);
    while (m.find()) {
      copies.put(m.group(2), Shipped.root().resolve(m.group(1)));
    }
    return copies;
  }

  @Test
  void dockerfilesCopyWhatTheBuildMakesAndStartWhatExists() throws Exception {
    List<Path> files = dockerfiles();
    assertThat(files).extracting(p -> Shipped.root().relativize(p).toString()).contains(
        "templates/dataflow/Dockerfile.launcher", "templates/dataflow/Dockerfile.worker",
        "templates/sagemaker/Dockerfile", "templates/vertex/Dockerfile");
    for (Path dockerfile : files) {
      String text = Files.readString(dockerfile);
      Map<String, Path> copies = copies(text);
      for (Map.Entry<String, Path> c : copies.entrySet()) {
        assertThat(c.getValue()).as("%s copies %s, which the build or the repository must hold", dockerfile,
            c.getValue()).exists();
      }
      Matcher entry = ENTRYPOINT.matcher(text);
      // Without an ENTRYPOINT the base image's own starts the container (Beam's SDK harness for the worker).
      if (entry.find() && !BASE_IMAGE_ENTRY_POINTS.contains(entry.group(1))) {
        String point = entry.group(1);
        assertThat(copies).as("%s's entry point %s is a copied file", dockerfile, point).containsKey(point);
        Path script = copies.get(point);
        assertThat(Files.isExecutable(script)).as("%s's entry point %s is executable", dockerfile, script).isTrue();
      }
      Map<String, String> env = env(text);
      if (env.containsKey("FLEX_TEMPLATE_JAVA_MAIN_CLASS")) {
        String classpath = env.get("FLEX_TEMPLATE_JAVA_CLASSPATH");
        assertThat(copies).as("the launcher's classpath %s is a copied file", classpath).containsKey(classpath);
        assertHasMain(copies.get(classpath), env.get("FLEX_TEMPLATE_JAVA_MAIN_CLASS"));
      }
    }
  }

  @Test
  void everyTemplateMainClassIsInTheLauncherJar() throws Exception {
    // Each template's image is the launcher Dockerfile built with its main class as MAIN_CLASS.
    String launcher = Files.readString(Shipped.root().resolve("templates/dataflow/Dockerfile.launcher"));
    assertThat(launcher).containsPattern("(?m)^ENV FLEX_TEMPLATE_JAVA_MAIN_CLASS=\\$\\{MAIN_CLASS}$");
    String script = Files.readString(Shipped.root().resolve("templates/dataflow/build-templates.sh"));
    assertThat(script).contains("--build-arg \"MAIN_CLASS=$2\"");
    assertThat(script.lines().filter(l -> !l.trim().startsWith("#")))
        .as("no command passes --env with a prebuilt --image (gcloud takes one or the other)")
        .noneMatch(l -> l.contains("--env"));
    Map<String, String> templates = FlexTemplateLaunchIT.templates();
    assertThat(templates).containsOnlyKeys("preprocess", "train", "segment", "evaluate");
    for (Map.Entry<String, String> t : templates.entrySet()) {
      assertHasMain(Shipped.jar(), t.getValue());
      assertThat(Shipped.root().resolve("templates/dataflow/" + t.getKey() + "/metadata.json")).exists();
    }
  }

  /** The runners and filesystems each jar's launchers use are registered in it (Beam finds them by service files). */
  @Test
  void jarsCarryTheirRunnersAndFilesystems() throws Exception {
    try (JarFile jar = new JarFile(Shipped.jar().toFile())) {
      assertThat(service(jar, "org.apache.beam.sdk.runners.PipelineRunnerRegistrar"))
          .contains("org.apache.beam.runners.direct.DirectRegistrar$Runner")
          .contains("org.apache.beam.runners.dataflow.DataflowPipelineRegistrar$Runner");
      assertThat(service(jar, "org.apache.beam.sdk.io.FileSystemRegistrar"))
          .contains("org.apache.beam.sdk.extensions.gcp.storage.GcsFileSystemRegistrar")
          .contains("org.apache.beam.sdk.io.aws2.s3.S3FileSystemRegistrar");
      assertThat(service(jar, "org.apache.beam.sdk.coders.CoderProviderRegistrar"))
          .contains("io.maskbeam.transforms.common.MaskbeamCoders");
    }
    Path spark = Shipped.root().resolve("runners/spark/target/maskbeam-spark.jar");
    assertThat(spark).as("the jar templates/spark/submit.sh submits").exists();
    try (JarFile jar = new JarFile(spark.toFile())) {
      assertThat(service(jar, "org.apache.beam.sdk.runners.PipelineRunnerRegistrar"))
          .contains("org.apache.beam.runners.spark.SparkRunnerRegistrar$Runner");
    }
    assertHasMain(spark, "io.maskbeam.pipelines.Maskbeam");
  }

  /**
   * The jar the Dockerfiles run loads ONNX Runtime's natives from itself (the shade filter keeps only linux-x64)
   * and segments with a model exported from PyTorch, as {@code java -jar} starts it.
   */
  @Test
  void theShippedJarsRunOnnxModels(@org.junit.jupiter.api.io.TempDir Path work) throws Exception {
    for (Path jarPath : List.of(Shipped.jar(), Shipped.root().resolve("runners/spark/target/maskbeam-spark.jar"))) {
      try (JarFile jar = new JarFile(jarPath.toFile())) {
        assertThat(jar.getEntry("ai/onnxruntime/native/linux-x64/libonnxruntime.so")).as("%s", jarPath).isNotNull();
        assertThat(jar.stream().map(java.util.jar.JarEntry::getName)
            .filter(n -> n.startsWith("ai/onnxruntime/native/") && !n.startsWith("ai/onnxruntime/native/linux-x64")
                && !n.endsWith("/"))).as("natives for other systems in %s", jarPath).isEmpty();
      }
    }
    Path images = Files.createDirectories(work.resolve("images"));
    Path fixtures = Shipped.root().resolve("models/src/test/resources/onnx");
    for (String name : List.of("a", "b")) {
      Files.copy(fixtures.resolve("images/" + name + ".png"), images.resolve(name + ".png"));
    }
    Path out = work.resolve("out");
    Shipped.Finished run = Shipped.run(List.of(Shipped.java().toString(), "-jar", Shipped.jar().toString(), "segment",
        "--model=" + fixtures.resolve("nchw_float.onnx"), "--input=" + images + "/*.png", "--output=" + out),
        Map.of(), work.resolve("segment.log"), 180);
    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(run.output()).contains("matched 2 = segmented 2 + skipped 0 + failed 0");
    for (String name : List.of("a", "b")) {
      assertThat(pngGrey(out.resolve("masks/" + name + ".png")))
          .isEqualTo(pngGrey(fixtures.resolve("expected/nchw_float." + name + ".png")));
    }
  }

  /** The grey values of an 8-bit PNG. */
  static int[] pngGrey(Path file) throws IOException {
    java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(file.toFile());
    return image.getRaster().getPixels(0, 0, image.getWidth(), image.getHeight(), (int[]) null);
  }

  static List<String> service(JarFile jar, String name) throws IOException {
    var entry = jar.getEntry("META-INF/services/" + name);
    assertThat(entry).as("%s in %s", name, jar.getName()).isNotNull();
    List<String> lines = new ArrayList<>();
    for (String l : new String(jar.getInputStream(entry).readAllBytes(), StandardCharsets.UTF_8).split("\\R")) {
      if (!l.isBlank() && !l.startsWith("#")) {
        lines.add(l.trim());
      }
    }
    return lines;
  }

  /** The class is in the jar and has {@code public static void main(String[])}. */
  static void assertHasMain(Path jar, String className) throws Exception {
    try (JarFile j = new JarFile(jar.toFile())) {
      assertThat(j.getEntry(className.replace('.', '/') + ".class")).as("%s in %s", className, jar).isNotNull();
    }
    try (URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, null)) {
      Class<?> c = Class.forName(className, false, loader);
      var main = c.getMethod("main", String[].class);
      assertThat(java.lang.reflect.Modifier.isStatic(main.getModifiers())).as("%s.main is static", className).isTrue();
    }
  }
}
