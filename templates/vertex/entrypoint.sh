#!/bin/sh
# Vertex AI runs the container's command: 'serve' (the default) for prediction, 'train ...' for custom training.
#   serve: the model of $AIP_STORAGE_URI on $AIP_HTTP_PORT, all interfaces, Vertex's health and predict routes
#   anything else: maskbeam itself, e.g. 'train --data=gs://...' (AIP_MODEL_DIR, AIP_CHECKPOINT_DIR and
#   AIP_TENSORBOARD_LOG_DIR are honoured)
set -e
jar="${MASKBEAM_JAR:-/opt/maskbeam/maskbeam.jar}"
command="${1:-serve}"
[ "$#" -gt 0 ] && shift
case "$command" in
  serve) exec java $JAVA_OPTS -jar "$jar" serve --host=0.0.0.0 "$@" ;;
  *) exec java $JAVA_OPTS -jar "$jar" "$command" "$@" ;;
esac
