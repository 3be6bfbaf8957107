#!/usr/bin/env bash
# Builds Maskbeam's Dataflow Flex Templates: the launcher image (maskbeam.jar, which carries the Dataflow runner),
# the GPU worker image, and one template spec per pipeline, each naming its main class.
#
#   mvn -B -q package -DskipTests -Pgpu
#   PROJECT=my-project REGION=us-central1 BUCKET=my-bucket templates/dataflow/build-templates.sh
#
# Needs Docker and gcloud. Each 'template NAME MAIN_CLASS' line below is also what the offline launch test reads.
set -euo pipefail
: "${PROJECT:?set PROJECT}" "${REGION:?set REGION}" "${BUCKET:?set BUCKET}"
here="$(cd "$(dirname "$0")/../.." && pwd)"
image="${IMAGE:-$REGION-docker.pkg.dev/$PROJECT/maskbeam/launcher}"
docker build -f "$here/templates/dataflow/Dockerfile.launcher" -t "$image" "$here" && docker push "$image"
docker build -f "$here/templates/dataflow/Dockerfile.worker" -t "$image-worker" "$here" && docker push "$image-worker"

template() {
  gcloud dataflow flex-template build "gs://$BUCKET/templates/$1.json" --image="$image" --sdk-language=JAVA \
    --metadata-file="$here/templates/dataflow/$1/metadata.json" --env="FLEX_TEMPLATE_JAVA_MAIN_CLASS=$2"
}
template preprocess io.maskbeam.pipelines.preprocess.PreprocessPipeline
template train io.maskbeam.pipelines.train.TrainPipeline
template segment io.maskbeam.pipelines.segment.SegmentPipeline
template evaluate io.maskbeam.pipelines.evaluate.EvaluatePipeline
echo "templates in gs://$BUCKET/templates/; worker image $image-worker (pass it as sdkContainerImage for GPU steps)"
