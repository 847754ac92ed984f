"""The one query API over a stack's resource graph: the rules, cost, diagram, diff, preview,
verify and the tests all ask their questions through `ResourceGraph`.

A graph is a list of resources in the synthesized format (`resources.json`): one dict per
resource with urn, type, name, parent, provider, dependencies, options and camelCase inputs.
Offline synthesis writes it, the policy pack converts the engine's resources into it, and a
`pulumi stack export` holds it too, with each resource's physical `id` and its `outputs`.
"""

from __future__ import annotations

from typing import Any

from infra_tools.inputs import mapping
from infra_tools.type_tokens import AWS_PROVIDER, HELM_PREFIX, KUBERNETES_PREFIX, PROVIDER_PREFIX

Resource = dict[str, Any]
# Kubernetes types that are not API objects: providers and Helm releases (rendered in-cluster).
_NOT_API_OBJECTS = (HELM_PREFIX, PROVIDER_PREFIX)


class ResourceLookupError(LookupError):
    """A query for exactly one resource found none, or several."""


class ResourceGraph:
    """Read-only queries over one stack's resources (and its outputs, when known)."""

    def __init__(
        self, resources: list[Resource], outputs: dict[str, Any] | None = None, stack: str = ""
    ) -> None:
        self.resources = resources
        self.outputs: dict[str, Any] = outputs if outputs is not None else {}
        self.stack = stack
        self._by_urn = {resource["urn"]: resource for resource in resources}

    def _where(self) -> str:
        return f"stack {self.stack}" if self.stack else "the graph"

    def of_type(self, *tokens: str) -> list[Resource]:
        """Every resource of any of `tokens`, in registration order."""
        return [resource for resource in self.resources if resource["type"] in tokens]

    def one(self, token: str, name: str | None = None) -> Resource:
        """The single resource of `token` (named `name` when given); raises otherwise."""
        found = [r for r in self.of_type(token) if name is None or r["name"] == name]
        if len(found) != 1:
            named = f" named {name}" if name else ""
            raise ResourceLookupError(
                f"{self._where()}: expected one {token}{named}, found "
                f"{[resource['name'] for resource in found]}"
            )
        return found[0]

    def get(self, urn: str | None) -> Resource | None:
        """The resource with `urn`, or None (also for no urn: a root's parent, say)."""
        return self._by_urn.get(urn) if urn else None

    def by_urn(self, urn: str) -> Resource:
        """The resource with `urn`; raises when the graph has none."""
        resource = self.get(urn)
        if resource is None:
            raise ResourceLookupError(f"{self._where()}: no resource with urn {urn}")
        return resource

    def provider_of(self, resource: Resource) -> Resource | None:
        return self.get(provider_urn(resource.get("provider")))

    def aws_provider(self) -> Resource:
        """The stack's AWS provider (the first, when a stack declares several)."""
        providers = self.of_type(AWS_PROVIDER)
        if not providers:
            raise ResourceLookupError(f"{self._where()} declares no AWS provider")
        return providers[0]

    def default_tags(self) -> dict[str, str]:
        """Tags the AWS provider puts on every resource it creates."""
        tags = mapping(mapping(self.aws_provider()["inputs"].get("defaultTags")).get("tags"))
        return {str(key): str(value) for key, value in tags.items()}

    def environment(self) -> str:
        """The stack's environment, from the AWS provider's default `environment` tag.

        Unknown counts as prod, so a stack that hides its environment gets the strict rules.
        """
        for provider in self.of_type(AWS_PROVIDER):
            tags = mapping(mapping(provider["inputs"].get("defaultTags")).get("tags"))
            if tags.get("environment"):
                return str(tags["environment"])
        return "prod"

    def dependents(self, resource: Resource, token: str) -> list[Resource]:
        """Resources of `token` that depend on `resource` (e.g. a bucket's policy)."""
        return [r for r in self.of_type(token) if resource["urn"] in r.get("dependencies", [])]

    def dependency(self, resource: Resource, token: str) -> Resource | None:
        """The one resource of `token` that `resource` depends on, if exactly one."""
        depends_on = resource.get("dependencies", [])
        found = [r for r in self.of_type(token) if r["urn"] in depends_on]
        return found[0] if len(found) == 1 else None

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

    def manifests(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every Kubernetes object declared through pulumi-kubernetes, as kubectl would see it
        (only those of `kind` when given)."""
        objects: list[dict[str, Any]] = []
        for resource in self.resources:
            token = resource["type"]
            if not token.startswith(KUBERNETES_PREFIX) or token.startswith(_NOT_API_OBJECTS):
                continue
            inputs = resource["inputs"]
            if "apiVersion" in inputs and "kind" in inputs:
                objects.append(inputs)
        return [m for m in objects if kind is None or m["kind"] == kind]

    def manifest(self, kind: str, name: str) -> dict[str, Any]:
        """The single Kubernetes object of `kind` named `name`; raises otherwise."""
        found = [m for m in self.manifests(kind) if mapping(m.get("metadata")).get("name") == name]
        if len(found) != 1:
            raise ResourceLookupError(
                f"{self._where()}: expected one {kind} {name}, found {len(found)}"
            )
        return found[0]


def provider_urn(reference: str | None) -> str | None:
    """A provider reference is `<urn>::<id>`; URNs contain `::` too, so cut at the last one."""
    if not reference:
        return None
    return reference.rsplit("::", 1)[0] if reference.count("::") >= 4 else reference


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
