"""What a rule is, and the read-only view of a stack graph every rule queries.

The view works on the synthesized graph format (`resources.json`): one dict per resource
with urn, type, name, parent, provider, dependencies, options and camelCase inputs. The
policy pack converts the engine's resources into the same dicts, so one set of rule
functions serves both the offline `check` command and `pulumi preview --policy-pack`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, cast

Severity = Literal["mandatory", "advisory"]
Resource = dict[str, Any]


@dataclass(frozen=True)
class Finding:
    """One resource breaking a rule; `message` names the resource and the fix."""

    resource: Resource
    message: str


@dataclass(frozen=True)
class Rule:
    name: str
    """Kebab-case id, as shown by `check` and the policy pack."""
    description: str
    """One line: what must hold and why."""
    severity: Severity
    """mandatory fails `check` and blocks a deployment; advisory only warns."""
    evaluate: Callable[[StackView], Iterable[Finding]]
    """Yields one finding per offending resource."""


def provider_urn(reference: str | None) -> str | None:
    """A provider reference is `<urn>::<id>`; URNs contain `::` too, so cut at the last one."""
    if not reference:
        return None
    return reference.rsplit("::", 1)[0] if reference.count("::") >= 4 else reference


def policy_document(value: Any) -> dict[str, Any] | None:
    """An IAM/S3 policy input as a dict; None when unknown (e.g. computed during a preview)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return cast(dict[str, Any], value) if isinstance(value, dict) else None


def statements(document: dict[str, Any] | None) -> list[dict[str, Any]]:
    if document is None:
        return []
    return [mapping(item) for item in as_list(document.get("Statement")) if isinstance(item, dict)]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return cast(list[Any], value) if isinstance(value, list) else [value]


def mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a mapping, else empty (absent or unknown during a preview)."""
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def truthy(value: Any) -> bool:
    """pulumi-aws passes some booleans as strings ("true"), e.g. launch template EBS flags."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


class StackView:
    """Read-only queries over one stack's resources."""

    def __init__(self, resources: list[Resource]) -> None:
        self.resources = resources
        self._by_urn = {resource["urn"]: resource for resource in resources}

    def of_type(self, *tokens: str) -> Iterator[Resource]:
        return (resource for resource in self.resources if resource["type"] in tokens)

    def by_urn(self, urn: str | None) -> Resource | None:
        return self._by_urn.get(urn) if urn else None

    def provider_of(self, resource: Resource) -> Resource | None:
        return self.by_urn(provider_urn(resource.get("provider")))

    def environment(self) -> str:
        """The stack's environment, from the AWS provider's default `environment` tag.

        Unknown counts as prod, so a stack that hides its environment gets the strict rules.
        """
        for provider in self.of_type("pulumi:providers:aws"):
            tags = mapping(mapping(provider["inputs"].get("defaultTags")).get("tags"))
            if tags.get("environment"):
                return str(tags["environment"])
        return "prod"

    def attached(self, target: Resource, token: str, key: str) -> list[Resource]:
        """Resources of `token` whose input `key` points at `target`.

        With Pulumi a bucket's versioning, encryption and policy are separate resources that
        name the bucket by id. When that id is unknown (a preview before the bucket exists)
        the dependency on the bucket decides instead.
        """
        names = identifiers(target)
        found: list[Resource] = []
        for resource in self.of_type(token):
            value = resource["inputs"].get(key)
            if isinstance(value, str) and value:
                if value in names:
                    found.append(resource)
            elif target["urn"] in resource.get("dependencies", []):
                found.append(resource)
        return found


def identifiers(resource: Resource) -> set[str]:
    """The values other resources use to reference `resource` (its id, name or ARN).

    Offline synthesis gives every resource the id `<logical name>-id`; a real engine gives the
    physical id, which for buckets, roles and repositories is the name input.
    """
    inputs = resource["inputs"]
    candidates = (
        resource.get("id"),
        f"{resource['name']}-id",
        inputs.get("bucket"),
        inputs.get("name"),
        inputs.get("arn"),
    )
    return {value for value in candidates if isinstance(value, str) and value}


def label(resource: Resource) -> str:
    """`type name`, the way a reviewer finds the resource in a preview."""
    return f"{resource['type'].rsplit(':', 1)[-1]} '{resource['name']}'"
