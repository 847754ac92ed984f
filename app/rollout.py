"""Shadow rollouts: judge a candidate version on the live comparisons the servers counted
(app.serving.shadow), then promote it or end it.

`judge` is the whole decision, a pure function of the policy, the evidence and the time the
rollout has run; `step` applies it once to an alias (what `python -m app models rollout`
runs, every few minutes on the cluster). The evidence comes from Prometheus (every replica,
restarts included) or, without one, from scraping the servers' `/metrics` directly.
"""

from __future__ import annotations

import logging
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, Field, ValidationError

from app.errors import AppError
from app.registry import AliasRecord

log = logging.getLogger(__name__)

Action = Literal["promote", "rollback", "hold", "none"]


class RolloutEvidenceError(AppError):
    """The live comparisons cannot be read; nothing is decided."""

    status_code = 503
    code = "rollout_evidence_unavailable"


@dataclass(frozen=True)
class RolloutPolicy:
    hold_seconds: float
    """Least time a rollout runs before it is promoted."""
    min_agreement: float
    """Least share of compared rows where the candidate predicts the served class."""
    min_comparisons: int
    """Live requests compared needed before judging either way."""
    timeout_seconds: float
    """A rollout still short of `min_comparisons` by then is ended: not enough traffic."""


@dataclass(frozen=True)
class Evidence:
    agreed: float
    """Rows on which the candidate predicted the served version's class."""
    disagreed: float
    errors: float
    """Candidate failures (load or predict)."""
    requests: float
    """Live requests it scored: what `min_comparisons` counts, so that one large batch (or
    the same row sent many times in one) cannot settle a rollout."""

    @property
    def compared(self) -> float:
        """Rows compared."""
        return self.agreed + self.disagreed

    @property
    def agreement(self) -> float:
        return self.agreed / self.compared if self.compared else math.nan


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str
    version: str | None = None


def judge(policy: RolloutPolicy, evidence: Evidence, elapsed_seconds: float) -> tuple[Action, str]:
    """What to do with a rollout that has run `elapsed_seconds` and gathered `evidence`."""
    if evidence.errors > 0:
        return "rollback", f"the candidate failed {evidence.errors:.0f} time(s) on live requests"
    enough = evidence.requests >= policy.min_comparisons
    seen = f"{evidence.compared:.0f} live rows of {evidence.requests:.0f} requests"
    if enough and evidence.agreement < policy.min_agreement:
        return "rollback", (
            f"agreement {evidence.agreement:.3f} with the served version is below "
            f"{policy.min_agreement:g} over {seen}"
        )
    if not enough:
        if elapsed_seconds >= policy.timeout_seconds:
            return "rollback", (
                f"only {evidence.requests:.0f} of the {policy.min_comparisons} live requests "
                f"needed in {elapsed_seconds:.0f}s (timeout {policy.timeout_seconds:.0f}s): "
                "not enough traffic to judge it"
            )
        return "hold", (
            f"{evidence.requests:.0f} of {policy.min_comparisons} live requests compared so far"
        )
    if elapsed_seconds < policy.hold_seconds:
        return "hold", (
            f"agreement {evidence.agreement:.3f} over {seen} holds; "
            f"{elapsed_seconds:.0f}s of the {policy.hold_seconds:.0f}s hold have passed"
        )
    return "promote", (
        f"agreement {evidence.agreement:.3f} over {seen} held for "
        f"{elapsed_seconds:.0f}s with no errors"
    )


class EvidenceSource(Protocol):
    def evidence(self, model_name: str, version: str, since: datetime, now: datetime) -> Evidence:
        """The comparisons and errors of `version` counted since the rollout started."""
        ...


class PrometheusEvidence:
    """Counters of every replica from Prometheus' HTTP API (`increase` over the rollout's
    lifetime, so restarted pods' counts are kept); series carry the scrape's `model` label."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def evidence(self, model_name: str, version: str, since: datetime, now: datetime) -> Evidence:
        window = f"{max(60, math.ceil((now - since).total_seconds()))}s"
        selector = f'model="{model_name}",model_version="{version}"'
        by_outcome = self._query(
            f"sum by (outcome) (increase(mlops_shadow_comparisons_total{{{selector}}}[{window}]))"
        )
        errors = self._query(f"sum(increase(mlops_shadow_errors_total{{{selector}}}[{window}]))")
        requests = self._query(
            f"sum(increase(mlops_shadow_requests_total{{{selector}}}[{window}]))"
        )
        counts = {row.metric.get("outcome", ""): row.count for row in by_outcome}
        return Evidence(
            agreed=counts.get("agree", 0.0),
            disagreed=counts.get("disagree", 0.0),
            errors=sum(row.count for row in errors),
            requests=sum(row.count for row in requests),
        )

    def _query(self, promql: str) -> list[_Sample]:
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310
                answer = _Answer.model_validate_json(response.read())
        except (urllib.error.URLError, OSError, ValidationError) as exc:
            raise RolloutEvidenceError(
                f"cannot query Prometheus at {self.url} ({str(exc).strip()[:300]}); nothing was "
                "decided. Check MLOPS_PROMETHEUS_URL and that this pod may reach it"
            ) from None
        if answer.status != "success" or answer.data is None:
            raise RolloutEvidenceError(
                f"Prometheus at {self.url} refused {promql!r}: {answer.error}; nothing was decided"
            )
        return answer.data.result


class _Sample(BaseModel):
    """One instant-vector sample of Prometheus' query API: labels, and [time, "value"]."""

    metric: dict[str, str] = Field(default_factory=dict)
    value: tuple[float, str]

    @property
    def count(self) -> float:
        parsed = float(self.value[1])
        return parsed if math.isfinite(parsed) else 0.0


class _Data(BaseModel):
    result: list[_Sample] = Field(default_factory=list[_Sample])


class _Answer(BaseModel):
    status: str
    data: _Data | None = None
    error: str | None = None


class ScrapedEvidence:
    """Counters read straight from the servers' `/metrics` (the embedded default: no
    Prometheus). Counts since each server began this rollout (a server drops a rollout's
    series when it ends); a restarted server's are lost, which only delays a decision."""

    def __init__(self, urls: list[str], timeout: float = 10.0) -> None:
        self.urls = urls
        self.timeout = timeout

    def evidence(self, model_name: str, version: str, since: datetime, now: datetime) -> Evidence:
        del model_name, since, now  # one server per model; counters start with the rollout
        agreed = disagreed = errors = requests = 0.0
        for url in self.urls:
            for family in text_string_to_metric_families(self._scrape(url)):
                for sample in family.samples:
                    if sample.labels.get("model_version") != version:
                        continue
                    if sample.name == "mlops_shadow_comparisons_total":
                        if sample.labels.get("outcome") == "agree":
                            agreed += sample.value
                        else:
                            disagreed += sample.value
                    elif sample.name == "mlops_shadow_errors_total":
                        errors += sample.value
                    elif sample.name == "mlops_shadow_requests_total":
                        requests += sample.value
        return Evidence(agreed, disagreed, errors, requests)

    def _scrape(self, url: str) -> str:
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310
                return response.read().decode()
        except (urllib.error.URLError, OSError, UnicodeDecodeError) as exc:
            raise RolloutEvidenceError(
                f"cannot read {url} ({exc}); nothing was decided. Pass the model server's "
                "metrics URL with --metrics-url, or set MLOPS_PROMETHEUS_URL"
            ) from None


class RolloutRegistry(Protocol):
    """What a rollout step needs of a registry (the bucket's store or the tracked one)."""

    def find_alias(self, alias: str) -> tuple[AliasRecord | None, str | None]: ...

    def end_shadow(self, alias: str, version: str, promote: bool) -> AliasRecord: ...


def step(
    registry: RolloutRegistry,
    model_name: str,
    alias: str,
    policy: RolloutPolicy,
    source: EvidenceSource,
    now: datetime,
) -> Verdict:
    """Judge the alias's rollout once and apply the verdict (promote or end it)."""
    record, _ = registry.find_alias(alias)
    if record is None or record.shadow is None:
        return Verdict("none", f"no rollout is running on alias {alias!r} of {model_name}")
    rollout = record.shadow
    elapsed = (now - rollout.started_at).total_seconds()
    evidence = source.evidence(model_name, rollout.version, rollout.started_at, now)
    action, reason = judge(policy, evidence, elapsed)
    if action in ("promote", "rollback"):
        registry.end_shadow(alias, rollout.version, promote=action == "promote")
    log.info(
        "rollout judged",
        extra={
            "model": model_name,
            "alias": alias,
            "version": rollout.version,
            "served_version": record.version,
            "action": action,
            "reason": reason,
        },
    )
    return Verdict(action, reason, rollout.version)
