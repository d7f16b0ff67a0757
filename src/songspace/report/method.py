"""The method of a run in words: what each representation and clusterer is, and the VAE objective it trained.

Shared by the HTML report and the paper. The objective is written in HTML and Unicode (no MathJax: the pages work
offline); only the terms of models the run actually trained are shown, with the run's own beta values.
"""

from __future__ import annotations

import html
import math
from typing import Any

from songspace.runfolder import RunData


def clusterer_text(name: str) -> str:
    """What the clusterer registered as ``name`` is, with its reference; "" for one this songspace does not know
    (a run folder written by a plugin)."""
    from songspace import clustering

    return clustering.get(name).text() if name in clustering.names() else ""


def specs(run: RunData) -> dict[str, dict[str, Any]]:
    """What each representation of the run is: the facts the run recorded (summary.json), else the registry's."""
    from songspace import representations as registry

    recorded = run.summary.get("representation_specs")
    out = dict(recorded) if isinstance(recorded, dict) else {}
    for name in registry.names():
        out.setdefault(name, registry.get(name).describe())
    return out


def representations(run: RunData) -> list[dict[str, str]]:
    """One entry per representation of the run, in run order: name, modality, what it is, its space, the labels it
    was given, and its training time (first seed)."""
    train = run.summary.get("train_seconds") if isinstance(run.summary.get("train_seconds"), dict) else {}
    order = [str(r) for r in run.summary.get("representations", []) if isinstance(r, str)]
    order += [str(r.get("representation")) for r in run.metrics.rows]
    facts = specs(run)
    out = []
    for rep in dict.fromkeys(order):
        row = next((r for r in run.metrics.rows if r.get("representation") == rep), {})
        seconds = train.get(rep) if isinstance(train, dict) else None
        out.append({"name": rep, "modality": str(row.get("modality") or ""),
                    "what": str(facts.get(rep, {}).get("description", "")), "space": str(row.get("space") or ""),
                    "conditioned_on": str(row.get("conditioned_on") or "").replace(";", ", "),
                    "train_seconds": f"{float(seconds):.1f}" if isinstance(seconds, (int, float)) else ""})
    return out


def clusterers(run: RunData) -> list[str]:
    names = run.summary.get("clusterers")
    if isinstance(names, list) and names:
        return [str(c) for c in names]
    return list(dict.fromkeys(str(r.get("clusterer")) for r in run.metrics.rows if r.get("clusterer")))


def _model(run: RunData, key: str, default: float | None) -> float | None:
    v = run.config.get("model", {}).get(key, default) if isinstance(run.config.get("model"), dict) else default
    try:
        return float(v) if v is not None else None
    except (TypeError, ValueError):
        return default


def beta_text(value: float | None) -> str:
    return "?" if value is None or math.isnan(value) else f"{value:g}"


def objective_html(run: RunData, *, cite: Any = None) -> str:
    """The VAE objective as HTML paragraphs and numbered equations, for the models this run trained.

    ``cite(key)`` returns the citation markup of a reference key (the paper's); without it, author-year text.
    """
    def c(key: str, text: str) -> str:
        return cite(key) if cite else text

    from songspace import representations as registry

    reps = {r["name"] for r in representations(run)}
    facts = specs(run)
    vaes = {r for r in reps if facts.get(r, {}).get("kl_beta") == "beta"}
    beta_vaes = {r for r in reps if facts.get(r, {}).get("kl_beta") == "beta_vae"}
    beta = _model(run, "beta", 1.0)
    beta_vae = _model(run, "beta_vae", 4.0)
    capacity = _model(run, "capacity_max", None)
    epochs = _model(run, "capacity_epochs", 100.0)
    parts = [
        "<p>Each VAE encodes a track <i>x</i> into a Gaussian posterior <i>q</i><sub>φ</sub>(<i>z</i>|<i>x</i>) = "
        "𝒩(<i>μ</i><sub>φ</sub>(<i>x</i>), diag <i>σ</i><sup>2</sup><sub>φ</sub>(<i>x</i>)) over a latent "
        f"<i>z</i> ∈ ℝ<sup><i>d</i></sup>, with prior <i>p</i>(<i>z</i>) = 𝒩(0, <i>I</i>) "
        f"{c('kingma2014', '(Kingma &amp; Welling, 2014)')}, and is trained to maximise the evidence lower bound "
        "weighted by β:</p>",
        '<div class="eq"><span class="math">ℒ(θ, φ; <i>x</i>) = 𝔼<sub><i>q</i><sub>φ</sub>(<i>z</i>|<i>x</i>)'
        "</sub>[log <i>p</i><sub>θ</sub>(<i>x</i>|<i>z</i>)] − β · <i>D</i><sub>KL</sub>(<i>q</i><sub>φ</sub>"
        '(<i>z</i>|<i>x</i>) ‖ <i>p</i>(<i>z</i>))</span><span class="eqno">(1)</span></div>',
        "<p>With a Gaussian decoder of unit variance the first term is, up to a constant, minus the squared error "
        "Σ<sub><i>j</i></sub>(<i>x</i><sub><i>j</i></sub> − <i>x̂</i><sub><i>j</i></sub>)<sup>2</sup>, and the KL "
        "term has the closed form</p>",
        '<div class="eq"><span class="math"><i>D</i><sub>KL</sub> = ½ Σ<sub><i>i</i>=1</sub><sup><i>d</i></sup> '
        "(<i>μ</i><sub><i>i</i></sub><sup>2</sup> + <i>σ</i><sub><i>i</i></sub><sup>2</sup> − 1 − log "
        '<i>σ</i><sub><i>i</i></sub><sup>2</sup>)</span><span class="eqno">(2)</span></div>',
    ]
    notes = []
    if vaes:
        notes.append(f"β = {beta_text(beta)} for {html.escape(', '.join(sorted(vaes)))}"
                     + (" (the plain VAE)" if beta == 1.0 else ""))
    if beta_vaes:
        text = (f"β = {beta_text(beta_vae)} for the β-VAE ({html.escape(', '.join(sorted(beta_vaes)))}) "
                f"{c('higgins2017', '(Higgins et al., 2017)')}, which trades reconstruction for a more factorised "
                "latent")
        if capacity is not None:
            text += (f"; its KL term is replaced by |<i>D</i><sub>KL</sub> − <i>C</i>| with the capacity <i>C</i> "
                     f"rising linearly from 0 to {beta_text(capacity)} nats over {beta_text(epochs)} epochs "
                     f"{c('burgess2018', '(Burgess et al., 2018)')}")
        notes.append(text)
    for name in sorted(reps & set(registry.names())):
        spec = registry.get(name)
        if spec.objective_note:
            ref = c(spec.cite[0], f"({spec.cite[1]})") if spec.cite else ""
            notes.append(spec.objective_note.replace("{cite}", ref))
    if notes:
        parts.append("<p>In this run: " + "; ".join(notes) + ".</p>")
    parts.append("<p>A track's embedding is its posterior mean <i>μ</i><sub>φ</sub>(<i>x</i>); the weights kept are "
                 "those of the epoch with the lowest validation loss.</p>")
    return "\n".join(parts)
