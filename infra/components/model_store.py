"""Model registry storage: a KMS-encrypted, versioned S3 bucket and the app's ECR repository."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.dataset_events import DatasetEvents, DatasetEventsArgs
from infra.contracts import CAPTURE_PREFIX


@dataclass(frozen=True, kw_only=True)
class ModelStoreArgs:
    noncurrent_days: int
    """Days a superseded object version is kept before it expires."""
    protect: bool
    """Protect the bucket, key and repository and keep them on `pulumi destroy`."""
    force_destroy: bool
    """Let a destroy delete a bucket (and repository) that still holds data."""
    access_logging: bool
    """S3 server access logs into a separate log bucket."""
    image_repository: bool
    """Create the ECR repository for the app image."""
    image_retention_count: int
    """Images the repository keeps; older ones expire."""
    key_deletion_days: int
    """KMS key deletion waiting period (7-30)."""
    capture_retention_days: int
    """Days prediction captures and labels (`captures/`) are kept."""
    dataset_event_max_receives: int
    """Receives of a dataset notification before it moves to the dead-letter queue."""
    dataset_prefixes: Mapping[str, str]
    """Each model's dataset prefix; new objects there go to the model's queue."""


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True)


def tls_only_policy(bucket_arn: str, log_source: tuple[str, str] | None = None) -> str:
    """Bucket policy refusing every request that does not arrive over TLS.

    `log_source` (source bucket ARN, account id) makes it an access-log bucket: with
    owner-enforced ownership, ACL grants are ignored, so S3's log delivery service must be
    allowed by policy, and only for that one source bucket in this account.
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    if log_source is not None:
        source_arn, account_id = log_source
        statements.append(
            {
                "Sid": "AllowServerAccessLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/*",
                "Condition": {
                    "ArnLike": {"aws:SourceArn": source_arn},
                    "StringEquals": {"aws:SourceAccount": account_id},
                },
            }
        )
    return _json({"Version": "2012-10-17", "Statement": statements})


class ModelStore(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    repository_url: pulumi.Output[str] | None
    repository_arn: pulumi.Output[str] | None
    dataset_queue_urls: dict[str, pulumi.Output[str]]
    """Each model's SQS queue the bucket notifies of objects created under its dataset."""
    dataset_queue_arns: dict[str, pulumi.Output[str]]
    dataset_dead_letter_queue_urls: dict[str, pulumi.Output[str]]
    """Where notifications a model's trigger kept failing on end up."""

    def __init__(
        self, name: str, args: ModelStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:storage:ModelStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Losing the key makes every model unreadable, losing the bucket loses every model:
        # in prod both refuse deletion and stay in AWS even if the stack is destroyed.
        keep = pulumi.ResourceOptions(
            parent=self, protect=args.protect, retain_on_delete=args.protect
        )

        key = aws.kms.Key(
            f"{name}-key",
            description=f"{name}: model bucket and image repository encryption",
            enable_key_rotation=True,
            deletion_window_in_days=args.key_deletion_days,
            opts=keep,
        )
        aws.kms.Alias(f"{name}-key", name=f"alias/{name}", target_key_id=key.key_id, opts=child)

        bucket = aws.s3.Bucket(f"{name}-models", force_destroy=args.force_destroy, opts=keep)
        self._harden(f"{name}-models", bucket, key, child)
        self._expire_old_versions(name, bucket, args, child)
        if args.access_logging:
            self._access_logs(name, bucket, args, keep, child)

        events = DatasetEvents(
            f"{name}-dataset-events",
            DatasetEventsArgs(
                bucket_id=bucket.id,
                bucket_arn=bucket.arn,
                prefixes=args.dataset_prefixes,
                max_receive_count=args.dataset_event_max_receives,
            ),
            child,
        )
        self.dataset_queue_urls = events.queue_urls
        self.dataset_queue_arns = events.queue_arns
        self.dataset_dead_letter_queue_urls = events.dead_letter_queue_urls

        self.repository_url = None
        self.repository_arn = None
        if args.image_repository:
            self._repository(name, key, args, keep, child)

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.key_arn = key.arn
        self.register_outputs(
            {"bucketName": self.bucket_name, "bucketArn": self.bucket_arn, "keyArn": self.key_arn}
        )

    @staticmethod
    def _expire_old_versions(
        name: str, bucket: aws.s3.Bucket, args: ModelStoreArgs, child: pulumi.ResourceOptions
    ) -> None:
        """A superseded model version goes after `noncurrent_days`; aborted uploads after 7.
        Captures expire after `capture_retention_days`; expiring a current version in a
        versioned bucket only hides it, so its noncurrent version goes a day later (S3 applies
        the shorter of overlapping noncurrent rules)."""
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-models",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-captures",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=CAPTURE_PREFIX),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=args.capture_retention_days
                    ),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=1
                    ),
                ),
            ],
            opts=child,
        )

    @staticmethod
    def _harden(
        name: str,
        bucket: aws.s3.Bucket,
        key: aws.kms.Key | None,
        child: pulumi.ResourceOptions,
        log_source: pulumi.Output[tuple[str, str]] | None = None,
    ) -> None:
        """Versioning, encryption, owner-enforced ownership, all four public-access blocks,
        TLS only: every bucket of the store, models and access logs (audit evidence) alike."""
        aws.s3.BucketVersioning(
            name,
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms" if key else "AES256",
                        kms_master_key_id=key.arn if key else None,
                    ),
                    # S3 Bucket Keys cut KMS request costs by ~99% for busy prefixes.
                    bucket_key_enabled=key is not None,
                )
            ],
            opts=child,
        )
        ModelStore._lock_down(name, bucket, child, log_source)

    @staticmethod
    def _lock_down(
        name: str,
        bucket: aws.s3.Bucket,
        child: pulumi.ResourceOptions,
        log_source: pulumi.Output[tuple[str, str]] | None,
    ) -> None:
        """Owner-enforced ownership, all four public-access blocks, TLS only."""
        aws.s3.BucketOwnershipControls(
            name,
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        block = aws.s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketPolicy(
            name,
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, log_source).apply(
                lambda values: tls_only_policy(values[0], values[1])
            ),
            # S3 rejects policies while the public-access block is being changed.
            opts=pulumi.ResourceOptions(parent=child.parent, depends_on=[block]),
        )

    def _access_logs(
        self,
        name: str,
        bucket: aws.s3.Bucket,
        args: ModelStoreArgs,
        keep: pulumi.ResourceOptions,
        child: pulumi.ResourceOptions,
    ) -> None:
        # S3 server access logs cannot be delivered to an SSE-KMS bucket; SSE-S3 it is.
        logs = aws.s3.Bucket(f"{name}-access-logs", force_destroy=args.force_destroy, opts=keep)
        account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        log_source = pulumi.Output.all(bucket.arn, account_id).apply(lambda v: (v[0], v[1]))
        self._harden(f"{name}-access-logs", logs, None, child, log_source)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-access-logs",
            bucket=logs.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=365),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=30
                    ),
                )
            ],
            opts=child,
        )
        aws.s3.BucketLogging(
            f"{name}-models",
            bucket=bucket.id,
            target_bucket=logs.id,
            target_prefix="models-bucket/",
            opts=child,
        )

    def _repository(
        self,
        name: str,
        key: aws.kms.Key,
        args: ModelStoreArgs,
        keep: pulumi.ResourceOptions,
        child: pulumi.ResourceOptions,
    ) -> None:
        repository = aws.ecr.Repository(
            f"{name}-app",
            name=f"{name}/app",
            # Tags are git SHAs: a tag always names the image that was tested.
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=True
            ),
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(
                    encryption_type="KMS", kms_key=key.arn
                )
            ],
            force_delete=args.force_destroy,
            opts=keep,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-app",
            repository=repository.name,
            policy=_json(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": f"keep the last {args.image_retention_count} images",
                            "selection": {
                                "tagStatus": "any",
                                "countType": "imageCountMoreThan",
                                "countNumber": args.image_retention_count,
                            },
                            "action": {"type": "expire"},
                        }
                    ]
                }
            ),
            opts=child,
        )
        self.repository_url = repository.repository_url
        self.repository_arn = repository.arn
