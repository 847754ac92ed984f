#!/usr/bin/env bash
# Usage: cluster-preflight.sh CLUSTER_NAME ENDPOINT — before `pulumi up` touches Kubernetes,
# check that this runner can reach the cluster's API and that its AWS role may log in.
#
# Both fail late and obscurely inside `pulumi up` otherwise: a private (prod) or
# CIDR-restricted (dev) endpoint times out from a runner outside the VPC, and a role without
# an EKS access entry gets "Unauthorized" from every Kubernetes resource.
set -euo pipefail
cluster=${1:?usage: cluster-preflight.sh CLUSTER_NAME ENDPOINT}
endpoint=${2:?usage: cluster-preflight.sh CLUSTER_NAME ENDPOINT}

# Any HTTP answer (even 401/403) proves the network path; only no answer at all is a problem.
if ! curl --silent --insecure --max-time 10 --output /dev/null "$endpoint/version"; then
  echo "::error::this runner cannot reach the EKS API of $cluster at $endpoint." \
    "Run the deploy job on a runner inside the VPC (set the repository variable" \
    "DEPLOY_RUNNER_LABELS_<STACK>, e.g. [\"self-hosted\",\"mlops-$STACK\"]) or, for dev's public" \
    "endpoint, add the runner's egress CIDR to cluster.publicAccessCidrs." >&2
  exit 1
fi

caller=$(aws sts get-caller-identity --query Arn --output text)
# arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION: the role's name, but not its path, which an
# access entry's principal ARN keeps (arn:aws:iam::ACCOUNT:role/some/path/NAME).
role_name=$(sed -E 's#^arn:[^:]+:sts::[0-9]+:assumed-role/([^/]+)/.*$#\1#' <<<"$caller")
# Failures here (AccessDenied, throttling) are reported as they are, not as a missing entry.
entries=$(aws eks list-access-entries --cluster-name "$cluster" --query 'accessEntries[]' \
  --output text)
if ! tr '\t' '\n' <<<"$entries" | grep -Eq ":role/(.+/)?${role_name}\$"; then
  echo "::error::the role $role_name (this job's $caller) has no access entry on $cluster, so" \
    "it cannot deploy to Kubernetes. Add its ARN to cluster.adminRoleArns in" \
    "Pulumi.$STACK.yaml and run one \`pulumi up\` as an admin (see docs/operations.md, Deploying dev and prod for real)." >&2
  exit 1
fi
echo "cluster $cluster: reachable, role $role_name may deploy"
