#!/usr/bin/env bash
# Cloud Scheduler job that launches the segment Flex Template every night, incrementally. Needs gcloud, a service
# account allowed to launch Dataflow jobs (roles/dataflow.developer) and the template built as in
# templates/dataflow/README.md.
set -euo pipefail
: "${PROJECT:?}" "${REGION:?}" "${BUCKET:?}" "${SERVICE_ACCOUNT:?}"
gcloud scheduler jobs create http maskbeam-segment-nightly \
  --project="$PROJECT" --location="$REGION" --schedule="15 2 * * *" --time-zone="Etc/UTC" \
  --uri="https://dataflow.googleapis.com/v1b3/projects/$PROJECT/locations/$REGION/flexTemplates:launch" \
  --http-method=POST --oauth-service-account-email="$SERVICE_ACCOUNT" \
  --message-body="$(cat <<JSON
{
  "launchParameter": {
    "jobName": "maskbeam-segment-nightly",
    "containerSpecGcsPath": "gs://$BUCKET/templates/segment.json",
    "parameters": {
      "model": "gs://$BUCKET/models/camvid",
      "input": "gs://$BUCKET/photos/**.jpg",
      "output": "gs://$BUCKET/segmented",
      "incremental": "true",
      "acceleratorType": "type:nvidia-tesla-t4;count:1;install-nvidia-driver"
    },
    "environment": {"additionalExperiments": ["use_runner_v2"]}
  }
}
JSON
)"
