"""The written analysis of a run: sentences built from the measured numbers, never fixed prose.

Input is the list of ``metrics.csv`` rows (dicts with ``method``, ``representation``, ``clusterer``,
``modality``, ``conditioned_on`` and metric columns, with ``<col>_std`` over seeds when there are several).
Output is Markdown: which method finds each label best, which modality carries which label, where learned
representations beat or lose to the baselines, and what the density clusterers left as noise. A method
conditioned on a label (``conditioned_on``) never counts as the best unsupervised match to that label.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from songspace.evaluation.registry import (
    CHANCE_MARGIN,
    above_chance,
    conditioned_on,
    lower_is_better,
    spread,
    value,
)


def _is(rep: str, what: str) -> bool:
    """Whether the registered representation ``rep`` is ``learned`` / a ``baseline`` (unknown names are neither)."""
    from songspace import representations as registry

    return registry.exists(rep) and bool(getattr(registry.get(rep), what))

# A difference in NMI/silhouette below this is reported as a tie: one seed cannot resolve it. With several
# seeds, a difference within the two standard deviations added is a tie too.
TIE = 0.02

Row = Mapping[str, Any]


def best(rows: Sequence[Row], col: str) -> Row | None:
    """The row with the best defined value of ``col`` (the lowest where lower is better); None when none has one."""
    scored = [r for r in rows if not math.isnan(value(r, col))]
    if not scored:
        return None
    low = lower_is_better(col)
    return max(scored, key=lambda r: -value(r, col) if low else value(r, col))





def _pm(row: Row, col: str) -> str:
    """``0.840 ± 0.033`` (the mean alone when there is no spread)."""
    sd = spread(row, col)
    return f"{value(row, col):.3f}" + ("" if math.isnan(sd) else f" ± {sd:.3f}")


def _share(x: float) -> str:
    """``25%``; ``0.3%`` under one percent (not a rounded ``0%`` for a few noise tracks)."""
    return f"{x:.0%}" if x >= 0.01 or x == 0 else f"{x:.1%}"


def degenerate_reasons(row: Row) -> str | None:
    """Why a clustering found one cluster or none, or left most tracks as noise: the density clusterers' notes
    that say so (see ``songspace.clustering.density.DEGENERATE``), and the tracks a lyrics method could not place,
    joined; "no reason recorded" when the numbers show it but no note explains it; None when the row is none of
    those."""
    from songspace.clustering.density import DEGENERATE

    notes = str(row.get("notes") or "").split("; ")
    why = [n.split(":", 1)[1].strip() for n in notes if n.startswith(DEGENERATE)]
    n_clusters, noise = value(row, "n_clusters"), value(row, "noise_fraction")
    if not why and not n_clusters < 2 and not noise > 0.5:  # NaN (a failed row) compares False: not listed
        return None
    why += [n for n in notes if "left unassigned" in n]  # tracks a lyrics method cannot place count as noise
    return "; ".join(why) or "no reason recorded"


def verdict(a: float, b: float, sa: float = math.nan, sb: float = math.nan) -> str:
    """``beats`` / ``loses to`` / ``ties with`` / ``cannot be compared with``: ``a`` (± ``sa``) against ``b``
    (± ``sb``); a difference under ``TIE`` or within the two standard deviations added is a tie."""
    if math.isnan(a) or math.isnan(b):
        return "cannot be compared with"
    noise = (0.0 if math.isnan(sa) else sa) + (0.0 if math.isnan(sb) else sb)
    if abs(a - b) < max(TIE, noise):
        return "ties with"
    return "beats" if a > b else "loses to"


def analyse(rows: Sequence[Row], label_names: Sequence[str], *, n_tracks: int, n_with_lyrics: int | None = None,
            seeds: int = 1) -> str:
    """Markdown analysis of one run's metrics rows.

    Parameters
    ----------
    rows : the ``metrics.csv`` rows.
    label_names : the label columns scored (``nmi_<label>`` columns).
    n_tracks, n_with_lyrics : collection size and how many tracks have lyrics (None: lyrics not used).
    seeds : number of seeds the numbers average over (1: single run, differences under 0.02 called ties).
    """
    rows = [r for r in rows if r.get("representation")]
    out = ["# What this run found", ""]
    lyr = "" if n_with_lyrics is None else f", {n_with_lyrics} with lyrics"
    out.append(f"{n_tracks} tracks{lyr}; {len(rows)} clusterings "
               f"({len({r['representation'] for r in rows})} representations x "
               f"{len({r['clusterer'] for r in rows})} clusterers); "
               + ("one seed, so differences under 0.02 are called ties." if seeds == 1
                  else f"means ± standard deviations over {seeds} seeds; differences within the two standard "
                       "deviations added (or under 0.02) are called ties."))
    out.append("")

    for label in label_names:
        col = f"nmi_{label}"
        free = [r for r in rows if label not in conditioned_on(r)]
        first = best(free, col)
        if first is None:
            continue
        out.append(f"## {label}")
        out.append("")
        if above_chance(first, label):
            out.append(f"- Best unsupervised match to `{label}`: **{first['method']}** (NMI {_pm(first, col)}, "
                       f"ARI {_pm(first, f'ari_{label}')}, purity {_pm(first, f'purity_{label}')}; the same "
                       f"clustering against shuffled labels: NMI {value(first, f'nmi_chance_{label}'):.3f}).")
        else:
            out.append(f"- No method finds `{label}` clearly above chance: the highest NMI, {_pm(first, col)} "
                       f"(**{first['method']}**), is within {CHANCE_MARGIN} of (or under twice) the "
                       f"{value(first, f'nmi_chance_{label}'):.3f} the same clustering reaches against shuffled "
                       "labels.")
        given = best([r for r in rows if label in conditioned_on(r)], col)
        if given is not None:
            out.append(f"- Not counted: **{given['method']}** was given `{label}` (conditioned on it) and reaches "
                       f"NMI {_pm(given, col)}; that is not an unsupervised result.")
        by_modality = {}
        for m in ("audio", "lyrics", "audio+lyrics"):
            b = best([r for r in free if r.get("modality") == m], col)
            if b is not None:
                by_modality[m] = b
        if len(by_modality) > 1:
            parts = [f"{m} {_pm(b, col)} ({b['method']})" for m, b in by_modality.items()]
            out.append(f"- Best NMI per modality: {', '.join(parts)}.")
            top = max(by_modality, key=lambda m: value(by_modality[m], col))
            single = [m for m in by_modality if m != "audio+lyrics"]
            if len(single) == 2:
                a, b = (value(by_modality[m], col) for m in single)
                sa, sb = (spread(by_modality[m], col) for m in single)
                if verdict(a, b, sa, sb) != "ties with":
                    carrier = single[0] if a > b else single[1]
                    out.append(f"- `{label}` is carried mostly by the **{carrier}** "
                               f"({max(a, b):.3f} against {min(a, b):.3f}).")
                else:
                    out.append(f"- Audio and lyrics find `{label}` equally well ({a:.3f} and {b:.3f}).")
            if "audio+lyrics" in by_modality and top == "audio+lyrics":
                out.append("- Fusing both modalities gives the best result for this label.")
        out.append("")

    out.append("## Learned representations against the baselines")
    out.append("")
    pretrained = [rep for rep in dict.fromkeys(r["representation"] for r in rows) if _is(rep, "pretrained")]
    if pretrained:
        out.append(f"Baselines include pretrained spaces ({', '.join(pretrained)}): encoders trained elsewhere, on "
                   "other music, and not on this collection; a learned space is compared with them too.")
        out.append("")
    learned = [rep for rep in dict.fromkeys(r["representation"] for r in rows) if _is(rep, "learned")]
    if not learned:
        out.append("No learned representation was run.")
    wins = losses = 0
    for rep in learned:
        mine = [r for r in rows if r["representation"] == rep]
        given = conditioned_on(mine[0])
        modality = mine[0].get("modality")
        bases = [b for b in rows if _is(b["representation"], "baseline") and b.get("modality") == modality] or \
            [b for b in rows if _is(b["representation"], "baseline")]
        if not bases:
            continue
        parts = []
        for col, what in [*((f"nmi_{lab}", f"{lab} NMI") for lab in label_names if lab not in given),
                          ("silhouette_common", "common-space silhouette")]:
            a, b = best(mine, col), best(bases, col)
            if a is None or b is None:
                continue
            said = verdict(value(a, col), value(b, col), spread(a, col), spread(b, col))
            if col.startswith("nmi_"):
                wins += said == "beats"
                losses += said == "loses to"
            parts.append(f"{said} them on {what} ({_pm(a, col)} with {a['clusterer']} against "
                         f"{_pm(b, col)} for {b['method']})")
        names = ", ".join(dict.fromkeys(b["representation"] for b in bases))
        out.append(f"- **{rep}** (best over clusterers) against the baselines (best of {names}): "
                   + "; ".join(parts) + ".")
    if learned:
        out.append("")
        out.append(f"Counting label NMIs, learned representations beat the best baseline {wins} time(s) and lose "
                   f"{losses} time(s). "
                   + ("A learned space earns its cost here." if wins > losses else
                      ("On this collection the baselines are as good or better: "
                       + ("a pretrained encoder or the summary statistics already separate"
                          if pretrained else "the summary statistics already separate")
                       + " what the labels describe, and a model trained on few tracks adds noise.")
                      if losses > wins else "Neither side is consistently better."))
    out.append("")

    unplaced = [r for r in rows if r.get("modality") == "lyrics" and value(r, "noise_fraction") > 0]
    if unplaced:
        share = value(unplaced[0], "noise_fraction")
        out.append(f"Lyrics-only methods cannot place tracks without lyrics: {share:.0%} "
                   "of the tracks are left unassigned there (counted as noise).")
        out.append("")
    degenerate = {id(r): why for r in rows if (why := degenerate_reasons(r)) is not None}
    noisy = [r for r in rows if value(r, "noise_fraction") > 0 and r.get("modality") != "lyrics"
             and id(r) not in degenerate]
    if degenerate or noisy:
        out.append("## Noise")
        out.append("")
        for r in rows:
            if id(r) in degenerate:
                n = value(r, "n_clusters")  # a mean over seeds when there are several
                found = "no cluster" if n == 0 else "one cluster" if n == 1 else f"{n:.3g} clusters"
                out.append(f"- **{r['method']}** found {found} and left {_share(value(r, 'noise_fraction'))} of the "
                           f"tracks as noise. Why: {degenerate[id(r)]}.")
        for r in noisy:
            out.append(f"- {r['method']} left {_share(value(r, 'noise_fraction'))} of the tracks as noise "
                       "(counted as wrongly assigned in purity; left out of the internal metrics).")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
