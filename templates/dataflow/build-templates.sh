#!/usr/bin/env bash
# Builds Maskbeam's Dataflow Flex Templates: one launcher image per template (maskbeam.jar, which carries the Dataflow
# runner, with that template's main class as FLEX_TEMPLATE_JAVA_MAIN_CLASS), the GPU worker image, and one template
# spec per pipeline pointing at its launcher image.
#
#   mvn -B -q package -DskipTests -Pgpu
#   PROJECT=my-project REGION=us-central1 BUCKET=my-bucket templates/dataflow/build-templates.sh
#
# Needs Docker and gcloud. gcloud's flex-template build takes either a prebuilt --image or --env (with an image it
# builds itself), not both, so the main class is baked into each image. Each 'template NAME MAIN_CLASS' line below
# is also what the offline launch test reads.
set -euo pipefail
: "${PROJECT:?set PROJECT}" "${REGION:?set REGION}" "${BUCKET:?set BUCKET}"
here="$(cd "$(dirname "$0")/../.." && pwd)"
image="${IMAGE:-$REGION-docker.pkg.dev/$PROJECT/maskbeam/launcher}"
docker build -f "$here/templates/dataflow/Dockerfile.worker" -t "$image-worker" "$here" && docker push "$image-worker"

template() {
  docker build -f "$here/templates/dataflow/Dockerfile.launcher" --build-arg "MAIN_CLASS=$2" -t "$image-$1" "$here"
  docker push "$image-$1"
  gcloud dataflow flex-template build "gs://$BUCKET/templates/$1.json" --image="$image-$1" --sdk-language=JAVA \
    --metadata-file="$here/templates/dataflow/$1/metadata.json"
}
template preprocess io.maskbeam.pipelines.preprocess.PreprocessPipeline
template train io.maskbeam.pipelines.train.TrainPipeline
template segment io.maskbeam.pipelines.segment.SegmentPipeline
template evaluate io.maskbeam.pipelines.evaluate.EvaluatePipeline
echo "templates in gs://$BUCKET/templates/; worker image $image-worker (pass it as sdkContainerImage for GPU steps)"
