#!/usr/bin/env bash
# Usage: first-model.sh BUCKET MODEL_NAME ALIAS [DATASET_PREFIX [PACKAGED_DATASET]]
# On a stack's first deploy nothing has been promoted yet: start one training Job from the
# model's retrain CronJob (retrain-<model>), seeding its example dataset (PACKAGED_DATASET:
# iris, wine; empty: none) when its DATASET_PREFIX holds no data, so its serving pods, ready
# but empty, get a model to serve. Later deploys find the alias and do nothing. The deploy job
# runs it once per entry of the stack's `models` output.
set -euo pipefail
usage="usage: first-model.sh BUCKET MODEL_NAME ALIAS [DATASET_PREFIX [PACKAGED_DATASET]]"
bucket=${1:?$usage}
model=${2:?$usage}
alias=${3:?$usage}
dataset_prefix=${4:-datasets/iris/}
packaged=${5-iris}

exists() { # exists KEY: 0 when present, 1 when absent (404), fails on any other answer
  local answer
  if answer=$(aws s3api head-object --bucket "$bucket" --key "$1" 2>&1); then return 0; fi
  if grep -qE '\(404\)|Not Found' <<<"$answer"; then return 1; fi
  echo "::error::cannot read s3://$bucket/$1: $answer" >&2
  exit 1
}

has_data() { # has_data PREFIX: 0 when any object lies under it
  local count errors
  errors=$(mktemp)
  # The count alone on stdout: a warning the CLI prints on stderr must not read as data.
  if ! count=$(aws s3api list-objects-v2 --bucket "$bucket" --prefix "$1" --max-items 1 \
    --query 'length(Contents || `[]`)' --output text 2>"$errors"); then
    echo "::error::cannot list s3://$bucket/$1: $(cat "$errors")" >&2
    exit 1
  fi
  rm -f "$errors"
  [ "$count" != "0" ]
}

if exists "models/$model/aliases/$alias.json"; then
  echo "model $model already has a $alias version; nothing to seed"
  exit 0
fi
if ! has_data "$dataset_prefix"; then
  if [ -z "$packaged" ]; then
    echo "::error::model $model has no training data under s3://$bucket/$dataset_prefix and" \
      "lists no packagedDataset to seed: upload its CSV and schema.json there" \
      "(python -m app data upload --file ...), then re-run the deploy" >&2
    exit 1
  fi
  echo "no data under s3://$bucket/$dataset_prefix: uploading the example dataset $packaged"
  MLOPS_BUCKET=$bucket MLOPS_MODEL_NAME=$model MLOPS_DATASET_PREFIX=$dataset_prefix \
    MLOPS_DATASET_KEY="$dataset_prefix$model.csv" MLOPS_PACKAGED_DATASET=$packaged \
    "${PYTHON:-.venv/bin/python}" -m app data upload
fi
# A training of this model already running (an earlier run's first model, or the schedule)
# will promote; a second one would double the GPU nodes and race it. Jobs made from the
# CronJob by hand escape its concurrencyPolicy, so this is checked here.
active=$(kubectl get jobs --namespace training \
  --selector "app.kubernetes.io/component=training,mlops-platform/model=$model" \
  --output jsonpath='{range .items[?(@.status.active)]}{.metadata.name}{"\n"}{end}')
# For the verification after this step: no promoted model is expected while it trains.
[ -n "${GITHUB_OUTPUT:-}" ] && echo "first-training=true" >> "$GITHUB_OUTPUT"
if [ -n "$active" ]; then
  echo "training Job(s) of $model already running, not starting another: $active"
  exit 0
fi
# The attempt too: "Re-run jobs" keeps the run id, and a Job name can be used once.
job="first-$model-${GITHUB_RUN_ID:-$(date +%s)}-${GITHUB_RUN_ATTEMPT:-1}"
kubectl create job "$job" --from="cronjob/retrain-$model" --namespace training
echo "started training Job $job; follow it with: kubectl logs -n training -f job/$job"
