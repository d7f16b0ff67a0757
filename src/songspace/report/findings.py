"""What a run's numbers say, as facts the paper's abstract and discussion are written from.

Nothing here is fixed prose about results: every best method, comparison and verdict is computed from
``metrics.csv`` (and ``beta_sweep.csv``). A method trained or conditioned on a label never competes for that
label. Two numbers tie when they differ by less than the analysis' tie margin or than their two standard
deviations added (see :mod:`songspace.evaluation.analysis`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from songspace.evaluation.analysis import best, verdict
from songspace.evaluation.registry import above_chance, conditioned_on, value
from songspace.report.method import specs
from songspace.report.tables import pm
from songspace.runfolder import Row, RunData

MODALITIES = ("audio", "lyrics", "audio+lyrics")




@dataclass
class LabelFinding:
    """What the run found about one label (all NMI unless said)."""

    label: str
    best: Row  # best unsupervised method
    above_chance: bool  # its NMI clears what the same clustering reaches against shuffled labels
    runner_up: Row | None  # best of another representation
    runner_up_verdict: str
    given: Row | None  # best method conditioned on the label (not unsupervised)
    learned: Row | None
    baseline: Row | None
    learned_verdict: str  # learned against baseline
    by_modality: dict[str, Row] = field(default_factory=dict)
    carrier: str | None = None  # the single modality that finds the label best; None when tied or not both run
    modality_tie: bool = False


@dataclass
class Findings:
    labels: list[LabelFinding]
    best_internal: Row | None  # highest common-space silhouette
    learned_wins: int
    learned_losses: int
    learned_ties: int
    noisy: list[Row]  # methods that left tracks as noise
    sweep_best_beta: dict[str, float]  # metric -> beta with the best mean
    sweep_recon_trend: str | None  # "rises", "falls" or "is not monotone" with beta
    learned_names: list[str]
    baseline_names: list[str]


def learned_names(run: RunData) -> list[str]:
    """Representations of the run with a trained encoder (those it trained, and those the registry says learn)."""
    trained = run.summary.get("train_seconds")
    names = set(trained) if isinstance(trained, dict) else set()
    facts = specs(run)
    reps = dict.fromkeys(str(r.get("representation")) for r in run.metrics.rows)
    return [r for r in reps if r in names or facts.get(r, {}).get("learned")]


def baseline_names(run: RunData) -> list[str]:
    facts = specs(run)
    reps = dict.fromkeys(str(r.get("representation")) for r in run.metrics.rows)
    return [r for r in reps if facts.get(r, {}).get("baseline")]


def _label(run: RunData, lab: str, learned: list[str], baselines: list[str]) -> LabelFinding | None:
    col = f"nmi_{lab}"
    rows = run.metrics.rows
    free = [r for r in rows if lab not in conditioned_on(r)]
    top = best(free, col)
    if top is None:
        return None
    other = best([r for r in free if r.get("representation") != top.get("representation")], col)
    runner_verdict = verdict(value(top, col), value(other, col), value(top, f"{col}_std"),
                             value(other, f"{col}_std")) if other else ""
    given = best([r for r in rows if lab in conditioned_on(r)], col)
    mine = best([r for r in free if r.get("representation") in learned], col)
    base = best([r for r in free if r.get("representation") in baselines], col)
    lv = verdict(value(mine, col), value(base, col), value(mine, f"{col}_std"), value(base, f"{col}_std")) \
        if mine and base else ""
    by_modality = {m: b for m in MODALITIES if (b := best([r for r in free if r.get("modality") == m], col))}
    carrier, tie = None, False
    if "audio" in by_modality and "lyrics" in by_modality:
        a, b = by_modality["audio"], by_modality["lyrics"]
        v = verdict(value(a, col), value(b, col), value(a, f"{col}_std"), value(b, f"{col}_std"))
        tie = v == "ties with"
        carrier = None if tie else ("audio" if v == "beats" else "lyrics")
    return LabelFinding(lab, top, above_chance(top, lab), other, runner_verdict, given, mine, base, lv, by_modality,
                        carrier, tie)


def _sweep(run: RunData) -> tuple[dict[str, float], str | None]:
    if run.beta_sweep is None or not run.beta_sweep.rows:
        return {}, None
    rows = sorted(run.beta_sweep.rows, key=lambda r: value(r, "beta"))
    out = {}
    for col in ["silhouette_common", *[f"nmi_{lab}" for lab in run.labels]]:
        b = best(rows, col)
        if b is not None:
            out[col] = value(b, "beta")
    recon = [value(r, "reconstruction") for r in rows if not math.isnan(value(r, "reconstruction"))]
    trend = None
    if len(recon) >= 2:
        steps = [b - a for a, b in zip(recon[:-1], recon[1:], strict=True)]
        trend = "rises" if all(s >= 0 for s in steps) else "falls" if all(s <= 0 for s in steps) \
            else "is not monotone"
    return out, trend


def find(run: RunData) -> Findings:
    """The facts of one run (see the module docstring)."""
    learned = learned_names(run)
    baselines = baseline_names(run)
    labels = [f for lab in run.labels if (f := _label(run, lab, learned, baselines)) is not None]
    wins = sum(f.learned_verdict == "beats" for f in labels)
    losses = sum(f.learned_verdict == "loses to" for f in labels)
    ties = sum(f.learned_verdict == "ties with" for f in labels)
    noisy = [r for r in run.metrics.rows if value(r, "noise_fraction") > 0]
    sweep_best, trend = _sweep(run)
    return Findings(labels, best(run.metrics.rows, "silhouette_common"), wins, losses, ties, noisy, sweep_best,
                    trend, learned, baselines)


def nmi(row: Row, label: str) -> str:
    """``NMI 0.840 ± 0.033`` of ``row`` against ``label``."""
    return f"NMI {pm(row, f'nmi_{label}')}"
