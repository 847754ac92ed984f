"""The explicit AWS provider every AWS resource of the stack is created with."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.config import PROJECT, StackConfig


def aws_provider(config: StackConfig) -> aws.Provider:
    """One provider per stack: its region, account guard, default tags and (locally) endpoints.

    Default tags put project/environment/owner/cost-center on every taggable resource, so
    no component can forget them.
    """
    settings = config.aws
    return aws.Provider(
        "aws",
        aws.ProviderArgs(
            region=settings.region,
            profile=settings.profile,
            allowed_account_ids=settings.allowed_account_ids or None,
            default_tags=aws.ProviderDefaultTagsArgs(tags=config.tags(PROJECT)),
            endpoints=[aws.ProviderEndpointArgs(**endpoint) for endpoint in settings.endpoints]
            or None,
            skip_credentials_validation=settings.skip_credentials_validation,
            skip_requesting_account_id=settings.skip_requesting_account_id,
            skip_metadata_api_check=settings.skip_metadata_api_check,
            s3_use_path_style=settings.s3_use_path_style,
            access_key=settings.access_key,
            secret_key=pulumi.Output.secret(settings.secret_key) if settings.secret_key else None,
        ),
    )
