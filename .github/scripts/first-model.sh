#!/usr/bin/env bash
# Usage: first-model.sh BUCKET MODEL_NAME ALIAS — on a stack's first deploy nothing has been
# promoted yet: start one training Job from the retrain CronJob (seeding the example dataset
# when the bucket has none) so the serving pods, ready but empty, get a model to serve.
# Later deploys find the alias and do nothing.
set -euo pipefail
bucket=${1:?usage: first-model.sh BUCKET MODEL_NAME ALIAS}
model=${2:?usage: first-model.sh BUCKET MODEL_NAME ALIAS}
alias=${3:?usage: first-model.sh BUCKET MODEL_NAME ALIAS}
dataset_key=${DATASET_KEY:-datasets/iris/iris.csv}

exists() { # exists KEY: 0 when present, 1 when absent (404), fails on any other answer
  local answer
  if answer=$(aws s3api head-object --bucket "$bucket" --key "$1" 2>&1); then return 0; fi
  if grep -qE '\(404\)|Not Found' <<<"$answer"; then return 1; fi
  echo "::error::cannot read s3://$bucket/$1: $answer" >&2
  exit 1
}

if exists "models/$model/aliases/$alias.json"; then
  echo "model $model already has a $alias version; nothing to seed"
  exit 0
fi
if ! exists "$dataset_key"; then
  echo "no dataset at s3://$bucket/$dataset_key: uploading the example dataset"
  MLOPS_BUCKET=$bucket "${PYTHON:-.venv/bin/python}" -m app data upload --key "$dataset_key"
fi
# A training already running (an earlier run's first model, or the schedule) will promote;
# a second one would double the GPU nodes and race it. Jobs made from the CronJob by hand
# escape its concurrencyPolicy, so this is checked here.
active=$(kubectl get jobs --namespace training --selector app.kubernetes.io/component=training \
  --output jsonpath='{range .items[?(@.status.active)]}{.metadata.name}{"\n"}{end}')
# For the verification after this step: no promoted model is expected while it trains.
[ -n "${GITHUB_OUTPUT:-}" ] && echo "first-training=true" >> "$GITHUB_OUTPUT"
if [ -n "$active" ]; then
  echo "training Job(s) already running, not starting another: $active"
  exit 0
fi
# The attempt too: "Re-run jobs" keeps the run id, and a Job name can be used once.
job="first-model-${GITHUB_RUN_ID:-$(date +%s)}-${GITHUB_RUN_ATTEMPT:-1}"
kubectl create job "$job" --from=cronjob/retrain --namespace training
echo "started training Job $job; follow it with: kubectl logs -n training -f job/$job"
