#!/bin/sh
# SageMaker starts its containers as 'docker run IMAGE train' and 'docker run IMAGE serve'.
#   train: hyperparameters and channels from /opt/ml/input, the model to /opt/ml/model (maskbeam sagemaker-train)
#   serve: the model from /opt/ml/model on port 8080 or $SAGEMAKER_BIND_TO_PORT, all interfaces (maskbeam serve)
# Any other command runs maskbeam itself (e.g. 'segment ...' for a processing job).
set -e
jar="${MASKBEAM_JAR:-/opt/maskbeam/maskbeam.jar}"
command="${1:-serve}"
[ "$#" -gt 0 ] && shift
case "$command" in
  train) exec java $JAVA_OPTS -jar "$jar" sagemaker-train "$@" ;;
  serve) exec java $JAVA_OPTS -jar "$jar" serve --host=0.0.0.0 "$@" ;;
  *) exec java $JAVA_OPTS -jar "$jar" "$command" "$@" ;;
esac
