#!/usr/bin/env bash
# Submits a maskbeam pipeline to Spark 3.5 (Scala 2.12) with runners/spark/target/maskbeam-spark.jar (built by
# 'mvn -B -q package -DskipTests'; Spark itself is provided by the installation). The master can be a cluster or
# local cores, so this is also how the Spark runner runs on one machine:
#
#   SPARK_MASTER=spark://host:7077 templates/spark/submit.sh segment \
#     --model=s3://bucket/models/camvid --input='s3://bucket/photos/**.jpg' --output=s3://bucket/segmented
#   SPARK_MASTER='local[2]' templates/spark/submit.sh segment --model=camvid/model --input='photos/*.jpg' \
#     --output=segmented
#
# The first argument is the command (preprocess, train, segment, evaluate); the rest go to it (and Beam). JDK 17
# needs the module flags below on the driver and on the executors.
set -euo pipefail
: "${SPARK_MASTER:?set SPARK_MASTER, e.g. spark://host:7077, yarn or 'local[2]'}"
[ "$#" -ge 1 ] || { echo "usage: SPARK_MASTER=... $0 COMMAND [ARGS...]" >&2; exit 2; }
command="$1"
shift
here="$(cd "$(dirname "$0")/../.." && pwd)"
jar="${MASKBEAM_SPARK_JAR:-$here/runners/spark/target/maskbeam-spark.jar}"
# shellcheck source=/dev/null
source "$here/templates/spark/jdk17-opens.sh"
exec "${SPARK_SUBMIT:-spark-submit}" --master "$SPARK_MASTER" --deploy-mode client \
  --class io.maskbeam.pipelines.Maskbeam \
  --driver-java-options "$opens" \
  --conf "spark.executor.extraJavaOptions=$opens" \
  --conf "spark.executor.memory=${SPARK_EXECUTOR_MEMORY:-4g}" \
  "$jar" "$command" --runner=SparkRunner --sparkMaster="$SPARK_MASTER" "$@"
