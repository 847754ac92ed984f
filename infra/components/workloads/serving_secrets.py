"""The model server's Secrets: the API keys it accepts and the key it signs prediction ids with,
mounted together, read-only, as one file each in SECRETS_DIR."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.components.workloads import common
from infra.contracts import API_KEYS_FILE_NAME, MODEL_SERVER, PREDICTION_ID_KEY_FILE_NAME

SECRETS_VOLUME = "secrets"
PREDICTION_ID_KEY_LENGTH = 48
"""Letters and digits only: about 285 bits, over the app's minimum of 32 characters."""


def api_keys_secret(
    name: str,
    namespace: pulumi.Input[str],
    api_keys: pulumi.Input[str],
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Secret:
    return k8s.core.v1.Secret(
        f"{name}-api-keys",
        metadata=common.metadata(f"{MODEL_SERVER}-api-keys", namespace, labels),
        type="Opaque",
        # One key per line, the format of the app's MLOPS_API_KEYS_FILE.
        string_data={
            API_KEYS_FILE_NAME: pulumi.Output.from_input(api_keys).apply(
                lambda value: "\n".join(key.strip() for key in value.split(","))
            )
        },
        opts=opts,
    )


def prediction_id_key_secret(
    name: str,
    namespace: pulumi.Input[str],
    labels: dict[str, str],
    parent: pulumi.Resource,
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Secret:
    """The key every replica signs and checks prediction ids with (a feedback label names the
    prediction it is for): generated once, kept in the state as a secret, and the same for
    every pod and every `pulumi up` until the resource is replaced."""
    key = random.RandomPassword(
        f"{name}-prediction-id-key",
        length=PREDICTION_ID_KEY_LENGTH,
        special=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return k8s.core.v1.Secret(
        f"{name}-prediction-id-key",
        metadata=common.metadata(
            f"{MODEL_SERVER}-{PREDICTION_ID_KEY_FILE_NAME}", namespace, labels
        ),
        type="Opaque",
        string_data={PREDICTION_ID_KEY_FILE_NAME: key.result},
        opts=opts,
    )


def secrets_volume(secrets: Sequence[k8s.core.v1.Secret]) -> k8s.core.v1.VolumeArgs:
    """Every Secret in one read-only directory (SECRETS_DIR), one file per key."""
    return k8s.core.v1.VolumeArgs(
        name=SECRETS_VOLUME,
        projected=k8s.core.v1.ProjectedVolumeSourceArgs(
            default_mode=0o440,
            sources=[
                k8s.core.v1.VolumeProjectionArgs(
                    secret=k8s.core.v1.SecretProjectionArgs(
                        name=secret.metadata.apply(lambda m: m.name or "")
                    )
                )
                for secret in secrets
            ],
        ),
    )
