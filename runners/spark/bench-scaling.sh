#!/usr/bin/env bash
# Benchmark (not a test): bulk segmentation on a local Spark standalone cluster with 1 and then 2 one-core
# workers, same images; prints images/s and the ratio. Needs the build: mvn -B -q install -DskipTests
#   runners/spark/bench-scaling.sh MODEL_DIR [IMAGES_DIR] [COUNT] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")"
model="$1"; images="${2:-../../../shared/datasets/camvid/train}"; count="${3:-240}"; repeats="${4:-2}"
here="$PWD"
# From the project root: .mvn/maven.config names its settings file relative to it.
(cd ../.. && mvn -B -q -pl runners/spark dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$here/target/bench-classpath.txt" >/dev/null)
# shellcheck source=/dev/null
source "../../templates/spark/jdk17-opens.sh"
# shellcheck disable=SC2086
exec java $opens -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" \
  -Dmaskbeam.sparkHome="$PWD/../spark-home/target/spark-home" -Dmaskbeam.sparkJar="$PWD/target/maskbeam-spark.jar" \
  -Dmaskbeam.jdkOpens="$opens" io.maskbeam.runners.spark.SparkScalingBench "$model" "$images" "$count" "$repeats"
