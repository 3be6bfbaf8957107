#!/usr/bin/env bash
# Submits 'maskbeam segment' to a Spark 3.5 (Scala 2.12) cluster with runners/spark/target/maskbeam-spark.jar
# (built by 'mvn -B -q package -DskipTests'; Spark itself is provided by the cluster).
#
#   SPARK_MASTER=spark://host:7077 templates/spark/submit-segment.sh \
#     --model=s3://bucket/models/camvid --input='s3://bucket/photos/**.jpg' --output=s3://bucket/segmented \
#     --awsRegion=eu-west-1
#
# Any extra arguments go to 'maskbeam segment' (and Beam). JDK 17 needs the module flags below on the driver and
# on the executors. The same pattern runs the other pipelines: replace 'segment' with preprocess, evaluate or train.
set -euo pipefail
: "${SPARK_MASTER:?set SPARK_MASTER, e.g. spark://host:7077 or yarn}"
here="$(cd "$(dirname "$0")/../.." && pwd)"
jar="${MASKBEAM_SPARK_JAR:-$here/runners/spark/target/maskbeam-spark.jar}"
# shellcheck source=/dev/null
source "$here/templates/spark/jdk17-opens.sh"
exec spark-submit --master "$SPARK_MASTER" --deploy-mode client \
  --class io.maskbeam.pipelines.Maskbeam \
  --driver-java-options "$opens" \
  --conf "spark.executor.extraJavaOptions=$opens" \
  --conf "spark.executor.memory=${SPARK_EXECUTOR_MEMORY:-4g}" \
  "$jar" segment --runner=SparkRunner --sparkMaster="$SPARK_MASTER" "$@"
