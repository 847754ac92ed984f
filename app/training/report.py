"""The evaluation report a retrain leaves on its run: one self-contained HTML page.

What a reviewer wants to see at a glance: the decision and both scores, each model's
confusion matrix on the same held-out rows (cells shaded by their share of the row), and how
far each feature of the new data moved from the champion's training distribution (PSI, with the
usual 0.1 / 0.25 thresholds as colours). No scripts, no external assets: it opens anywhere.
"""

from __future__ import annotations

import html

import numpy as np

from app.drift import FeatureReference, binned_ks, psi
from app.training.evaluation import Decision, Scores

_MODERATE_PSI = 0.1
_MAJOR_PSI = 0.25


def feature_drift(
    references: dict[str, FeatureReference], features: np.ndarray, names: tuple[str, ...]
) -> dict[str, tuple[float, float]]:
    """PSI and binned KS of each feature of `features` against its reference."""
    drift: dict[str, tuple[float, float]] = {}
    for column, name in enumerate(names):
        reference = references.get(name)
        if reference is None:
            continue
        edges = np.asarray(reference.edges)
        counts = np.bincount(
            np.searchsorted(edges, features[:, column], side="left"), minlength=len(edges) + 1
        )
        actual = counts / max(counts.sum(), 1)
        expected = np.asarray(reference.fractions)
        drift[name] = (psi(expected, actual), binned_ks(expected, actual))
    return drift


def render(
    *,
    model_name: str,
    challenger_version: str,
    champion_version: str | None,
    class_names: tuple[str, ...],
    challenger: Scores,
    champion: Scores | None,
    decision: Decision,
    drift: dict[str, tuple[float, float]],
    holdout_rows: int,
) -> str:
    verdict = "promoted" if decision.promote else "not promoted"
    champion_title = f"champion: version {champion_version}" if champion_version else "champion"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{_e(model_name)} version {_e(challenger_version)}: {verdict}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_e(model_name)}: version {_e(challenger_version)} {verdict}</h1>",
        f"<p class='{'good' if decision.promote else 'bad'}'>{_e(decision.reason)}</p>",
        f"<p>Both models scored on the same {holdout_rows} held-out rows "
        "(neither model trained on them).</p>",
        "<h2>Scores</h2>",
        _score_table(class_names, challenger, champion),
        "<h2>Confusion matrices (rows: true class, columns: predicted)</h2><div class='pair'>",
        _matrix(f"challenger: version {challenger_version}", class_names, challenger),
        _matrix(champion_title, class_names, champion) if champion else "",
        "</div><h2>Feature drift of the new data against the champion's training data</h2>",
        _drift_table(drift),
        "</body></html>",
    ]
    return "".join(parts)


def _score_table(names: tuple[str, ...], challenger: Scores, champion: Scores | None) -> str:
    rows = [("accuracy", challenger.accuracy, champion.accuracy if champion else None)]
    for name in names:
        rows.append(
            (f"recall {name}", challenger.recall[name], champion.recall[name] if champion else None)
        )
        rows.append(
            (
                f"precision {name}",
                challenger.precision[name],
                champion.precision[name] if champion else None,
            )
        )
        rows.append((f"F1 {name}", challenger.f1[name], champion.f1[name] if champion else None))
    body = "".join(
        f"<tr><td>{_e(label)}</td><td>{new:.3f}</td><td>{_number(old)}</td>"
        f"<td class='{_trend(new, old)}'>{'' if old is None else f'{new - old:+.3f}'}</td></tr>"
        for label, new, old in rows
    )
    return (
        "<table><tr><th>metric</th><th>challenger</th><th>champion</th><th>change</th></tr>"
        f"{body}</table>"
    )


def _matrix(title: str, names: tuple[str, ...], scores: Scores) -> str:
    head = "".join(f"<th>{_e(name)}</th>" for name in names)
    rows: list[str] = []
    for i, name in enumerate(names):
        total = max(sum(scores.confusion[i]), 1)
        cells = "".join(
            f"<td style='background:rgba({'40,140,60' if i == j else '200,50,50'},"
            f"{count / total:.2f})'>{count}</td>"
            for j, count in enumerate(scores.confusion[i])
        )
        rows.append(f"<tr><th>{_e(name)}</th>{cells}</tr>")
    return f"<div><h3>{_e(title)}</h3><table><tr><th></th>{head}</tr>{''.join(rows)}</table></div>"


def _drift_table(drift: dict[str, tuple[float, float]]) -> str:
    if not drift:
        return "<p>No champion reference to compare with.</p>"
    rows = "".join(
        f"<tr><td>{_e(name)}</td><td class='{_drift_class(value)}'>{value:.3f}</td>"
        f"<td>{ks:.3f}</td><td><span class='bar {_drift_class(value)}' "
        f"style='width:{min(value / _MAJOR_PSI, 2) * 80:.0f}px'></span></td></tr>"
        for name, (value, ks) in sorted(drift.items(), key=lambda item: -item[1][0])
    )
    return (
        "<table><tr><th>feature</th><th>PSI</th><th>KS</th><th></th></tr>"
        f"{rows}</table><p>PSI under {_MODERATE_PSI} is stable, up to {_MAJOR_PSI} moderate, "
        "above it a major shift.</p>"
    )


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _drift_class(value: float) -> str:
    if value >= _MAJOR_PSI:
        return "bad"
    return "warn" if value >= _MODERATE_PSI else "good"


def _trend(new: float, old: float | None) -> str:
    if old is None or abs(new - old) < 1e-9:
        return ""
    return "good" if new > old else "bad"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}"
    "table{border-collapse:collapse;margin:.5em 1em 1em 0}"
    "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}"
    ".pair{display:flex;gap:2em}.good{color:#1a7f37}.warn{color:#9a6700}.bad{color:#cf222e}"
    ".bar{display:inline-block;height:.8em}.bar.good{background:#1a7f37}"
    ".bar.warn{background:#d4a72c}.bar.bad{background:#cf222e}"
)
