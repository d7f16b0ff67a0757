"""Seed aggregation: one row per method from one row per method and seed, with the mean and the spread.

Every model x clusterer cell runs with several seeds (each seed fixes python's, numpy's and torch's generators, so
it reproduces exactly on the CPU). A table then gives the mean of each metric beside ``<metric>_std``, the sample
standard deviation over seeds (ddof = 1; NaN with one seed). Seeds where a metric is undefined (NaN: one cluster,
too few points) are left out of that metric's mean; ``n_seeds`` counts the seeds that ran.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from songspace.evaluation.registry import as_float


def mean_std(values: Sequence[Any]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1) of the defined values; NaN where there are too few."""
    x = np.array([as_float(v) for v in values], dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan
    return float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else math.nan


def aggregate_seeds(rows: Sequence[Mapping[str, Any]], numeric: Sequence[str], *,
                    key: str = "method") -> list[dict[str, Any]]:
    """One row per ``key`` (in first-seen order) with the mean of each ``numeric`` column and ``<col>_std``.

    Other columns are taken from the first seed's row, except ``notes``, which keeps each distinct note once, and
    ``seed``, which is dropped; ``n_seeds`` is the number of rows of that key.
    """
    groups: dict[Any, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r[key], []).append(r)
    out = []
    for group in groups.values():
        row: dict[str, Any] = {k: v for k, v in group[0].items() if k not in numeric and k != "seed"}
        row["n_seeds"] = len(group)
        for col in numeric:
            if not any(col in r for r in group):
                continue
            row[col], row[f"{col}_std"] = mean_std([r.get(col) for r in group])
        if any("notes" in r for r in group):
            notes: list[str] = []
            for r in group:
                for note in str(r.get("notes") or "").split("; "):
                    if note and note not in notes:
                        notes.append(note)
            row["notes"] = "; ".join(notes)
        out.append(row)
    return out


def with_std(columns: Sequence[str], numeric: Sequence[str]) -> list[str]:
    """``columns`` with ``<col>_std`` after each numeric one: the column order of an aggregated table."""
    out: list[str] = []
    for c in columns:
        out.append(c)
        if c in numeric:
            out.append(f"{c}_std")
    return out
