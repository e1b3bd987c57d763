"""The champion: one of the three models, chosen on validation and promoted through a gate.

The candidate is the model with the best validation score (the selection metric; never a test
score). It is promoted only if, on test balanced accuracy, it beats the majority baseline by at
least `margin`, and, when an earlier champion exists, it is not worse than that champion on
the same test rows by more than `tolerance`. Otherwise the earlier champion stays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from superstore_assets.pipeline import config

GATE_METRIC = "balanced_accuracy"


@dataclass
class Gate:
    """The two conditions of promotion, with their numbers."""

    candidate: str
    candidate_score: float  # test balanced accuracy
    baseline_score: float
    margin: float
    earlier: str | None = None  # the earlier champion's model name, if any
    earlier_score: float | None = None  # its test balanced accuracy on the same rows
    tolerance: float = 0.0

    @property
    def beats_baseline(self) -> bool:
        return self.candidate_score - self.baseline_score >= self.margin

    @property
    def holds_against_earlier(self) -> bool:
        return self.earlier_score is None or (
            self.candidate_score >= self.earlier_score - self.tolerance
        )

    @property
    def passed(self) -> bool:
        return self.beats_baseline and self.holds_against_earlier

    def sentences(self) -> list[str]:
        """Each condition in words, with its numbers."""
        found = [
            f"{self.candidate} scores {self.candidate_score:.4f} test {GATE_METRIC} against the "
            f"majority baseline's {self.baseline_score:.4f}: "
            f"{self.candidate_score - self.baseline_score:+.4f}, "
            f"{'at least' if self.beats_baseline else 'less than'} the margin {self.margin:g}"
        ]
        if self.earlier_score is not None:
            difference = self.candidate_score - self.earlier_score
            verdict = "within" if self.holds_against_earlier else "beyond"
            found.append(
                f"against the earlier champion ({self.earlier}, {self.earlier_score:.4f} on the "
                f"same test rows): {difference:+.4f}, {verdict} the tolerance {self.tolerance:g}"
            )
        return found

    def to_json(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def validation_scores(models: dict[str, Any], validation: pd.DataFrame, metric: str) -> dict:
    """Each model's score on the validation rows, by the selection metric."""
    from sklearn.metrics import get_scorer

    scorer = get_scorer(metric)
    x, y = validation[list(config.FEATURES)], validation[config.TARGET]
    return {name: float(scorer(model, x, y)) for name, model in models.items()}


def candidate_of(scores: dict[str, float]) -> str:
    """The best validation score; a tie goes to the model listed first in config.MODEL_SPECS."""
    return max(scores, key=lambda name: (scores[name], -list(scores).index(name)))


def test_score(model: Any, test: pd.DataFrame) -> float:
    """Balanced accuracy on the test rows."""
    from sklearn.metrics import balanced_accuracy_score

    predicted = model.predict(test[list(config.FEATURES)])
    return float(balanced_accuracy_score(test[config.TARGET], predicted))


@dataclass
class ModelCard:
    """What a person needs to trust a model: which, from what, how good, on what inputs."""

    model: str
    title: str
    params: dict
    dataset: str
    dataset_sha256: str
    code_version: str
    run_id: str
    trained: str  # ISO 8601, UTC
    selection: dict  # the validation scores that chose it
    test_metrics: dict
    baseline_metrics: dict
    features: list[str] = field(default_factory=lambda: list(config.FEATURES))

    def to_json(self) -> dict:
        return asdict(self)

    def markdown(self) -> str:
        """The card for people: a title, the facts, and the metrics beside the baseline."""
        chosen = ", ".join(f"{name} {score:.4f}" for name, score in self.selection.items())
        lines = [
            f"### Champion: {self.title} (`{self.model}`)",
            "",
            f"- parameters: `{self.params}`",
            f"- chosen on validation ({chosen})",
            f"- dataset: {self.dataset} (SHA-256 `{self.dataset_sha256[:12]}…`)",
            f"- code version: `{self.code_version[:12]}`; run `{self.run_id}`",
            f"- trained {self.trained}",
            f"- features: {', '.join(self.features)}",
            "",
            "| test metric | champion | majority baseline |",
            "|---|---|---|",
        ]
        for metric, value in self.test_metrics.items():
            lines.append(f"| {metric} | {value:.4f} | {self.baseline_metrics.get(metric, 0):.4f} |")
        return "\n".join(lines)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
