#!/usr/bin/env bash
# Usage: image-exists.sh REPOSITORY_URL TAG — prints `true` when the ECR repository already
# holds TAG, `false` when it does not, and fails on any other answer.
#
# Tags are immutable, and ECR refuses a second push of a tag even with the same digest: a
# re-run of a deploy, or prod deploying the commit dev already pushed, must skip the push.
set -euo pipefail
url=${1:?usage: image-exists.sh REPOSITORY_URL TAG}
tag=${2:?usage: image-exists.sh REPOSITORY_URL TAG}
repository=${url#*/} # ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME -> NAME

if answer=$(aws ecr describe-images --repository-name "$repository" \
  --image-ids "imageTag=$tag" --output json 2>&1); then
  echo true
elif grep -q ImageNotFoundException <<<"$answer"; then
  echo false
else
  # Never guess: pushing on an unknown answer fails later with a less clear error.
  echo "::error::cannot tell whether $repository:$tag exists: $answer" >&2
  exit 1
fi
