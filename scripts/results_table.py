"""The README's result tables, made from a run folder's metrics.csv rather than typed.

    python scripts/results_table.py RUN_DIR [--all]

One row per representation: its best clusterer (by the mean NMI over the labels it was not given; by the
common-space silhouette without labels), mean ± std over the run's seeds, with the common-space silhouette and
Davies-Bouldin, and per label NMI, ARI and the 10-nearest-neighbour agreement of the space. ``--all`` prints every
representation x clusterer row instead. † marks a score against a label the method was given.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from songspace.evaluation.registry import above_chance, as_float
from songspace.runfolder import METRICS, SUMMARY, read_table


def cell(row: dict, col: str, *, given: bool = False, chance_label: str | None = None) -> str:
    v, sd = as_float(row.get(col)), as_float(row.get(f"{col}_std"))
    if math.isnan(v):
        return "–"
    text = f"{v:.3f}" + ("" if math.isnan(sd) else f" ± {sd:.3f}")
    if given:
        text += " †"
    elif chance_label is not None and not above_chance(row, chance_label):
        text += " (chance)"
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--all", action="store_true", help="every representation x clusterer row")
    args = ap.parse_args()
    rows = read_table(args.run / METRICS).rows
    summary = json.loads((args.run / SUMMARY).read_text(encoding="utf-8")) if (args.run / SUMMARY).is_file() else {}
    labels = [str(x) for x in summary.get("labels", [])] or sorted(
        {c[4:] for c in rows[0] if c.startswith("nmi_") and not c.endswith("_std") and "chance" not in c})

    def given(r: dict) -> list[str]:
        return [c for c in str(r.get("conditioned_on") or "").split(";") if c]

    def score(r: dict) -> float:
        free = [as_float(r.get(f"nmi_{lab}")) for lab in labels if lab not in given(r)]
        free = [v for v in free if not math.isnan(v)]
        return sum(free) / len(free) if free else as_float(r.get("silhouette_common"))

    if args.all:
        table = rows
    else:
        table = []
        for rep in dict.fromkeys(str(r["representation"]) for r in rows):
            mine = [r for r in rows if r["representation"] == rep]
            table.append(max(mine, key=lambda r: -math.inf if math.isnan(score(r)) else score(r)))
    head = ["method", "given", "silhouette", "Davies-Bouldin"]
    for lab in labels:
        head += [f"NMI {lab}", f"ARI {lab}", f"10-NN {lab}"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in table:
        cells = [str(r["method"]), ", ".join(given(r)) or "-", cell(r, "silhouette_common"),
                 cell(r, "davies_bouldin_common")]
        for lab in labels:
            g = lab in given(r)
            cells += [cell(r, f"nmi_{lab}", given=g, chance_label=lab), cell(r, f"ari_{lab}", given=g),
                      cell(r, f"knn_{lab}", given=g)]
        print("| " + " | ".join(cells) + " |")
    seeds = summary.get("seeds") or []
    print(f"\n{summary.get('tracks_used', '?')} tracks, k = {summary.get('k', '?')}, {len(seeds) or '?'} seed(s); "
          f"from {args.run / METRICS}")


if __name__ == "__main__":
    main()
