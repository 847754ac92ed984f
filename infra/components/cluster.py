"""The EKS control plane: private-by-default API, KMS-encrypted secrets, access entries, IRSA."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.components.iam import ClusterOidc, service_trust_policy

CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
# Networking add-ons must exist before nodes can become Ready; the others run on nodes and
# are installed once the node groups exist (see ClusterAddons).
NETWORK_ADDONS = ("vpc-cni", "kube-proxy")
VPC_CNI_CONFIGURATION = {
    # The VPC CNI enforces NetworkPolicies only when asked to; without this every policy the
    # workloads declare would be accepted and silently ignored.
    "enableNetworkPolicy": "true",
    # /28 prefixes instead of single secondary IPs per ENI: a node's pod limit is then set by
    # its size (110 below 30 vCPUs) instead of its ENIs (17 on dev's t3.medium, which the
    # system add-ons, monitoring and a DaemonSet per node already fill). The kubelet's max
    # pods must follow: our launch templates name no AMI, so EKS computes max pods for each
    # managed node group from this add-on's settings (capped at 110 below 30 vCPUs, 250
    # above) and passes it to nodeadm in the NodeConfig it merges into the user data; a
    # template with its own AMI would have to set maxPods itself. EKS reads the setting when
    # it launches nodes, so the add-on comes before every node group (the check's
    # nodes-after-prefix-delegation rule), and nodes launched before it keep the small limit.
    "env": {"ENABLE_PREFIX_DELEGATION": "true", "WARM_PREFIX_TARGET": "1"},
}


@dataclass(frozen=True, kw_only=True)
class EksClusterArgs:
    version: str
    """Kubernetes minor version, e.g. "1.33"."""
    region: str
    """Region, for the kubeconfig's token command."""
    profile: str | None
    """AWS CLI profile for the kubeconfig's token command (the stack's `aws:profile`); None:
    the standard credential chain, as in CI."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets of the control plane's network interfaces."""
    service_cidr: str
    """Kubernetes service IP range."""
    endpoint_public_access: bool
    """Expose the API endpoint publicly (to public_access_cidrs only)."""
    public_access_cidrs: Sequence[str]
    """Ranges allowed to a public endpoint."""
    control_plane_logging: bool
    """Ship control-plane logs to CloudWatch."""
    log_retention_days: int
    """Days to keep control-plane logs."""
    log_key_arn: pulumi.Input[str] | None
    """KMS key of the control-plane log group (the stack's LogStore key); None: AWS-owned."""
    admin_role_arns: Sequence[str]
    """IAM roles given cluster-admin through access entries."""
    deletion_protection: bool
    """Refuse `DeleteCluster` until turned off."""


class EksCluster(pulumi.ComponentResource):
    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    kubernetes_provider: k8s.Provider
    oidc: ClusterOidc
    security_group_id: pulumi.Output[str]
    network_addons: list[aws.eks.Addon]

    def __init__(
        self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:cluster:EksCluster", name, None, opts)
        ready = self._setup_control_plane_prerequisites(name, args)
        cluster = self._setup_cluster(name, args, ready)
        issuer = cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer or "")  # type: ignore[index]
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=["sts.amazonaws.com"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._setup_admin_access(name, args, cluster)
        self.network_addons = self._setup_network_addons(name, cluster)

        self.name = cluster.name
        self.endpoint = cluster.endpoint
        self.oidc = ClusterOidc(provider_arn=oidc.arn, issuer_url=issuer)
        self.security_group_id = cluster.vpc_config.apply(
            lambda vpc: vpc.cluster_security_group_id or ""
        )
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                cluster.name, cluster.endpoint, cluster.certificate_authority.data
            ).apply(
                lambda parts: kubeconfig(
                    str(parts[0]), str(parts[1]), str(parts[2]), args.region, args.profile
                )
            )
        )
        self.kubernetes_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, opts=pulumi.ResourceOptions(parent=self)
        )
        self.register_outputs(
            {
                "clusterName": self.name,
                "clusterEndpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _setup_control_plane_prerequisites(
        self, name: str, args: EksClusterArgs
    ) -> tuple[aws.iam.Role, aws.kms.Key, list[pulumi.Resource]]:
        """The control plane's role, the key of its secrets, and what must exist before it."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-control-plane",
            assume_role_policy=service_trust_policy("eks.amazonaws.com"),
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-control-plane",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )
        secrets_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"{name}: envelope encryption of Kubernetes secrets",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=child,
        )
        depends: list[pulumi.Resource] = [attachment]
        if args.control_plane_logging:
            # Created first so EKS writes into a group with a retention, not a forever one.
            depends.append(
                aws.cloudwatch.LogGroup(
                    f"{name}-control-plane",
                    name=f"/aws/eks/{name}/cluster",
                    retention_in_days=args.log_retention_days,
                    kms_key_id=args.log_key_arn,
                    opts=child,
                )
            )
        return role, secrets_key, depends

    def _setup_cluster(
        self,
        name: str,
        args: EksClusterArgs,
        ready: tuple[aws.iam.Role, aws.kms.Key, list[pulumi.Resource]],
    ) -> aws.eks.Cluster:
        role, secrets_key, depends = ready
        return aws.eks.Cluster(
            name,
            name=name,
            version=args.version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=args.endpoint_public_access,
                public_access_cidrs=list(args.public_access_cidrs) or None,
            ),
            kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(
                service_ipv4_cidr=args.service_cidr
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"],
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn),
            ),
            enabled_cluster_log_types=CONTROL_PLANE_LOGS if args.control_plane_logging else [],
            access_config=aws.eks.ClusterAccessConfigArgs(
                # Access entries only: no aws-auth ConfigMap to drift or be edited by hand.
                authentication_mode="API",
                # The identity running `pulumi up` must reach the API to install the add-ons.
                bootstrap_cluster_creator_admin_permissions=True,
            ),
            # Add-ons are managed below, versioned by EKS for this Kubernetes version.
            bootstrap_self_managed_addons=False,
            deletion_protection=args.deletion_protection,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )

    def _setup_admin_access(
        self, name: str, args: EksClusterArgs, cluster: aws.eks.Cluster
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        for index, admin in enumerate(args.admin_role_arns):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{index}",
                cluster_name=cluster.name,
                principal_arn=admin,
                type="STANDARD",
                opts=child,
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{index}",
                cluster_name=cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=CLUSTER_ADMIN_POLICY,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=child,
            )

    def _setup_network_addons(self, name: str, cluster: aws.eks.Cluster) -> list[aws.eks.Addon]:
        return [
            aws.eks.Addon(
                f"{name}-{addon}",
                cluster_name=cluster.name,
                addon_name=addon,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="PRESERVE",
                configuration_values=(
                    json.dumps(VPC_CNI_CONFIGURATION) if addon == "vpc-cni" else None
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for addon in NETWORK_ADDONS
        ]


def kubeconfig(
    cluster_name: str, endpoint: str, ca_data: str, region: str, profile: str | None = None
) -> str:
    """A kubeconfig that fetches short-lived tokens with the AWS CLI: no static credential.

    With `aws:profile` set, the AWS provider deploys as that profile; the token command must
    too, or it signs in as the default identity, which may have no access entry (Unauthorized).
    """
    token_command: dict[str, object] = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "aws",
        "args": [
            *("eks", "get-token", "--cluster-name", cluster_name),
            *("--region", region, "--output", "json"),
        ],
    }
    if profile:
        token_command["env"] = [{"name": "AWS_PROFILE", "value": profile}]
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster_name,
                    "cluster": {"server": endpoint, "certificate-authority-data": ca_data},
                }
            ],
            "contexts": [
                {"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}
            ],
            "current-context": cluster_name,
            "users": [{"name": cluster_name, "user": {"exec": token_command}}],
        }
    )
