#!/usr/bin/env bash
# Retraining chain for scheduled jobs: preprocess the labelled data -> train a candidate (from the production
# model's weights by default) -> evaluate it against the production model on the same validation data -> promote it
# only when the quality gate blesses it -> segment new images incrementally with whichever model is in production.
#
# Every step is a maskbeam command, so each runs on the DirectRunner here or on Spark/Dataflow with RUNNER_ARGS.
# The production model is only ever replaced by a blessed candidate, in two renames (the old one is kept beside
# it as PRODUCTION.previous-<time>), so a failed or unblessed run leaves it untouched.
#
# Environment:
#   MASKBEAM        how to run maskbeam (default: java -jar maskbeam.jar next to this script's repository build)
#   IMAGES, MASKS   labelled data (folders or globs), LABEL_MAP its label map (preset, file or JSON)
#   PREPROCESS_ARGS extra preprocess flags (default: --validationFraction=0.2, the split the gate is judged on)
#   PRODUCTION      the production model folder (local; promote by other means on object storage)
#   WORK            a folder for this run's data, candidate and evaluation
#   INPUT, OUTPUT   images to segment and where (segment --incremental keeps state there)
#   THRESHOLDS      the gate (default: meanIou.delta>=-0.01)
#   TRAIN_ARGS      extra train flags (epochs, crop size...; the network must be the production model's when
#                   starting from it), INIT_FROM_PRODUCTION=false to train from scratch
#   RUNNER_ARGS     extra flags for every step (e.g. --runner=SparkRunner --sparkMaster=...)
# Exit code: 0 promoted (or kept) and segmented; 3 candidate not blessed (production kept, segmentation still run);
# anything else: a step failed, and nothing after it ran.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
MASKBEAM="${MASKBEAM:-java -jar $here/pipelines/target/maskbeam.jar}"
: "${IMAGES:?}" "${MASKS:?}" "${LABEL_MAP:?}" "${PRODUCTION:?}" "${WORK:?}" "${INPUT:?}" "${OUTPUT:?}"
THRESHOLDS="${THRESHOLDS:-meanIou.delta>=-0.01}"
read -r -a train_args <<< "${TRAIN_ARGS:-}"
read -r -a preprocess_args <<< "${PREPROCESS_ARGS:---validationFraction=0.2}"
read -r -a runner_args <<< "${RUNNER_ARGS:-}"
read -r -a maskbeam <<< "$MASKBEAM"
run() { echo "+ maskbeam $*" >&2; "${maskbeam[@]}" "$@" "${runner_args[@]}"; }

mkdir -p "$WORK"
run preprocess --images="$IMAGES" --masks="$MASKS" --labelMap="$LABEL_MAP" --output="$WORK/data" \
  "${preprocess_args[@]}"
init=()
if [ "${INIT_FROM_PRODUCTION:-true}" = true ]; then
  init=(--initModel="$PRODUCTION")
fi
run train --data="$WORK/data" --output="$WORK/candidate" "${init[@]}" "${train_args[@]}"

set +e
run evaluate --model="$WORK/candidate/model" --baselineModel="$PRODUCTION" --data="$WORK/data" \
  --output="$WORK/evaluation" --thresholds="$THRESHOLDS"
verdict=$?
set -e
case "$verdict" in
  0)
    stamp="$(date -u +%Y%m%dT%H%M%SZ)"
    rm -rf "$PRODUCTION.next"
    cp -r "$WORK/candidate/model" "$PRODUCTION.next"
    mv "$PRODUCTION" "$PRODUCTION.previous-$stamp"
    mv "$PRODUCTION.next" "$PRODUCTION"
    echo "promoted: $WORK/candidate/model is now $PRODUCTION (previous kept as $PRODUCTION.previous-$stamp)" >&2
    ;;
  3)
    echo "not blessed: $PRODUCTION kept; see $WORK/evaluation/blessing.json" >&2
    ;;
  *)
    echo "evaluation failed (exit $verdict): $PRODUCTION kept, nothing segmented" >&2
    exit "$verdict"
    ;;
esac
run segment --model="$PRODUCTION" --input="$INPUT" --output="$OUTPUT" --incremental=true
exit "$verdict"
