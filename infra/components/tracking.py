"""Experiment tracking and model registry: MLflow on the cluster, PostgreSQL on RDS.

The database sits in the private subnets behind a security group that admits PostgreSQL from
the cluster's security group only (nodes and, with the VPC CNI, every pod). Its master password
exists only in the Secrets Manager secret RDS manages and rotates (`manage_master_user_password`),
encrypted with the platform key: it is never a stack-file value, a Pulumi config value or in
the state. The server's IRSA role may read that one secret and touch `mlflow/` of the model
bucket, nothing else. Artifacts are proxied by the server (`--serve-artifacts`), so clients
need no S3 access of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.components import iam
from infra.components.iam import ClusterOidc, ServiceAccountRole, ServiceAccountRoleArgs
from infra.components.workloads import common
from infra.components.workloads.namespaces import pod_security_labels
from infra.components.workloads.network_policies import network_policy
from infra.components.workloads.tracking_pod import (
    ServerSettings,
    deployment_spec,
    network_rules,
    service_spec,
)
from infra.contracts import TRACKING_NAMESPACE, TRACKING_SERVER

COMPONENT = "tracking"
DB_NAME = "mlflow"
DB_USER = "mlflow"
POSTGRES_PORT = 5432
# RDS writes PostgreSQL's log to this group; created first, with retention and the log key,
# so that RDS does not create one that keeps logs forever, unencrypted.
LOG_EXPORTS = ["postgresql"]


@dataclass(frozen=True, kw_only=True)
class TrackingDatabase:
    """The RDS PostgreSQL instance."""

    instance_class: str
    """RDS instance class, e.g. db.t4g.micro."""
    storage_gib: int
    """gp3 storage, encrypted with the platform key."""
    engine_version: str
    """PostgreSQL major ("17", minors follow automatically) or exact version."""
    multi_az: bool
    """A standby in a second zone."""
    deletion_protection: bool
    """RDS refuses deletion; Pulumi protects the instance and keeps it on destroy."""
    backup_retention_days: int
    """Days of automated backups."""
    skip_final_snapshot: bool
    """Delete without a last snapshot."""


@dataclass(frozen=True, kw_only=True)
class TrackingArgs:
    k8s_provider: pulumi.ProviderResource
    """Provider of the EKS cluster the server runs on."""
    oidc: ClusterOidc
    """The cluster's OIDC provider, which the server's IRSA role trusts."""
    vpc_id: pulumi.Input[str]
    """VPC of the database."""
    vpc_cidr: str
    """The VPC's range: the server's only PostgreSQL destination."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets the database may be placed in (one per zone)."""
    cluster_security_group_id: pulumi.Input[str]
    """The cluster's security group (nodes and pods): the only PostgreSQL client."""
    key_arn: pulumi.Input[str]
    """The platform key: database storage, its managed secret and the model bucket."""
    bucket: pulumi.Input[str]
    """Model bucket; the server keeps artifacts under `mlflow/` of it."""
    bucket_arn: pulumi.Input[str]
    """ARN of the model bucket, for the server's role."""
    region: str
    """Region of the bucket and the secret."""
    log_key_arn: pulumi.Input[str]
    """KMS key of the database's log group (the stack's LogStore key)."""
    log_retention_days: int
    """Days the database's log group keeps events."""
    image: pulumi.Input[str]
    """Full reference of the tracking server image."""
    replicas: int
    """Server pods; above 1 they spread over zones behind a PodDisruptionBudget."""
    workers: int
    """Server processes per pod."""
    resources: common.PodResources
    """Requests and limits of each pod."""
    database: TrackingDatabase
    """The RDS instance."""
    after: Sequence[pulumi.Resource]
    """What the Kubernetes objects wait for (node pools and add-ons); the database does not."""


class Tracking(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    db_address: pulumi.Output[str]
    db_secret_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: TrackingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:tracking:Tracking", name, None, opts)
        database = self._declare_database(name, args)
        self.db_address = database.address
        self.db_secret_arn = database.master_user_secrets.apply(
            lambda secrets: (secrets[0].secret_arn or "") if secrets else ""
        )
        role = self._declare_role(name, args)
        self.role_arn = role.role_arn
        self.namespace = self._declare_server(name, args, database, role)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "dbAddress": self.db_address,
                "dbSecretArn": self.db_secret_arn,
                "roleArn": self.role_arn,
            }
        )

    def _declare_database(self, name: str, args: TrackingArgs) -> aws.rds.Instance:
        child = pulumi.ResourceOptions(parent=self)
        db = args.database
        identifier = f"{name}-db"
        subnets = aws.rds.SubnetGroup(
            f"{name}-db",
            subnet_ids=args.subnet_ids,
            description=f"{identifier}: private subnets",
            opts=child,
        )
        group = aws.ec2.SecurityGroup(
            f"{name}-db",
            vpc_id=args.vpc_id,
            description=f"{identifier}: PostgreSQL from the cluster only",
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-db-from-cluster",
            security_group_id=group.id,
            referenced_security_group_id=args.cluster_security_group_id,
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            description="PostgreSQL from the cluster's nodes and pods",
            opts=child,
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-db",
            name=f"/aws/rds/instance/{identifier}/{LOG_EXPORTS[0]}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.log_key_arn,
            opts=child,
        )
        keep = pulumi.ResourceOptions(
            parent=self,
            protect=db.deletion_protection,
            retain_on_delete=db.deletion_protection,
            depends_on=[logs],
        )
        return aws.rds.Instance(
            f"{name}-db",
            identifier=identifier,
            engine="postgres",
            engine_version=db.engine_version,
            auto_minor_version_upgrade=True,
            instance_class=db.instance_class,
            allocated_storage=db.storage_gib,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.key_arn,
            db_name=DB_NAME,
            username=DB_USER,
            # RDS generates the password, keeps it in Secrets Manager under the platform key
            # and rotates it (every 7 days by default); no password input exists anywhere.
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.key_arn,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[group.id],
            publicly_accessible=False,
            multi_az=db.multi_az,
            deletion_protection=db.deletion_protection,
            backup_retention_period=db.backup_retention_days,
            skip_final_snapshot=db.skip_final_snapshot,
            final_snapshot_identifier=None if db.skip_final_snapshot else f"{identifier}-final",
            copy_tags_to_snapshot=True,
            enabled_cloudwatch_logs_exports=LOG_EXPORTS,
            opts=keep,
        )

    def _declare_role(self, name: str, args: TrackingArgs) -> ServiceAccountRole:
        policy = pulumi.Output.all(args.bucket_arn, args.key_arn, self.db_secret_arn).apply(
            lambda arns: iam.policy_document(
                iam.tracking_statements(str(arns[0]), str(arns[1]), str(arns[2]))
            )
        )
        return ServiceAccountRole(
            name,
            ServiceAccountRoleArgs(
                oidc=args.oidc,
                namespace=TRACKING_NAMESPACE,
                service_account=TRACKING_SERVER,
                policy=policy,
                managed_policy_arns=(),
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _declare_server(
        self, name: str, args: TrackingArgs, database: aws.rds.Instance, role: ServiceAccountRole
    ) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(
            provider=args.k8s_provider, parent=self, depends_on=list(args.after)
        )
        created = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=TRACKING_NAMESPACE,
                labels={
                    "app.kubernetes.io/part-of": common.PART_OF,
                    **pod_security_labels("restricted"),
                },
            ),
            opts=child,
        )
        namespace = created.metadata.apply(lambda m: m.name or "")
        labels = common.labels(TRACKING_SERVER, COMPONENT)
        selector = common.selector(TRACKING_SERVER, COMPONENT)
        account = common.irsa_service_account(
            f"{name}-sa", TRACKING_SERVER, namespace, labels, role.role_arn, child
        )
        settings = ServerSettings(
            image=args.image,
            region=args.region,
            bucket=args.bucket,
            workers=args.workers,
            secret_arn=self.db_secret_arn,
            db_host=database.address,
            db_port=database.port,
            db_name=DB_NAME,
            resources=args.resources,
        )
        spread = args.replicas > 1
        account_name = account.metadata.apply(lambda m: m.name or "")
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=common.metadata(TRACKING_SERVER, namespace, labels),
            spec=deployment_spec(settings, account_name, labels, args.replicas),
            opts=child,
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=common.metadata(TRACKING_SERVER, namespace, labels),
            spec=service_spec(selector),
            opts=child,
        )
        self._declare_policies(name, args, namespace, labels, selector, spread, child)
        return namespace

    @staticmethod
    def _declare_policies(
        name: str,
        args: TrackingArgs,
        namespace: pulumi.Output[str],
        labels: dict[str, str],
        selector: dict[str, str],
        spread: bool,
        child: pulumi.ResourceOptions,
    ) -> None:
        ingress, egress = network_rules(args.vpc_cidr, POSTGRES_PORT)
        network_policy(
            f"{name}-netpol", namespace, labels, ingress=ingress, egress=egress, opts=child
        )
        if spread:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata=common.metadata(TRACKING_SERVER, namespace, labels),
                spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                    max_unavailable=1,
                    selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                ),
                opts=child,
            )
