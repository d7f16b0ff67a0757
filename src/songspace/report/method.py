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


def _run_config(run: RunData) -> Any:
    """The run's settings that shape its models (``[model]``, ``[representations]``) as a
    :class:`songspace.config.RunConfig`, old names moved to new ones; None when they do not validate (a run folder
    written by another version)."""
    from songspace.config import RunConfig
    from songspace.renamed_settings import renamed_settings

    try:
        data, _notes = renamed_settings(run.config)
        return RunConfig.model_validate({key: data[key] for key in ("model", "representations") if key in data})
    except ValueError:  # pydantic's ValidationError is one
        return None


def beta_text(value: float | None) -> str:
    return "?" if value is None or math.isnan(value) else f"{value:g}"


def objective_html(run: RunData, *, cite: Any = None) -> str:
    """The VAE objective as HTML paragraphs and numbered equations, for the models this run trained.

    ``cite(key)`` returns the citation markup of a reference key (the paper's); without it, author-year text.
    """
    def c(key: str, text: str) -> str:
        return cite(key) if cite else text

    from songspace import representations as registry

    reps = sorted({r["name"] for r in representations(run)} & set(registry.names()))
    cfg = _run_config(run)
    # the representations with a KL term by the settings it had (its spec's kl_beta read in the run's settings):
    # (beta, capacity_max, capacity_epochs) -> names; None where the run's settings do not say
    by_terms: dict[tuple[Any, Any, Any], list[str]] = {}
    for name in reps:
        if registry.get(name).kl_beta is None:
            continue
        try:
            kl = registry.kl_settings(name, cfg) if cfg is not None else {}
        except ValueError:  # its own settings no longer validate
            kl = {}
        by_terms.setdefault((kl.get("beta"), kl.get("capacity_max"), kl.get("capacity_epochs")), []).append(name)
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
    for (beta, capacity, epochs), names in by_terms.items():
        notes.append(f"β = {beta_text(beta)} for {html.escape(', '.join(names))}"
                     + (" (the plain VAE)" if beta == 1.0 else ""))
        if capacity is not None:
            notes.append(f"for {html.escape(', '.join(names))} the KL term is replaced by |<i>D</i><sub>KL</sub> − "
                         f"<i>C</i>| with the capacity <i>C</i> rising linearly from 0 to {beta_text(capacity)} nats "
                         f"over {beta_text(epochs)} epochs {c('burgess2018', '(Burgess et al., 2018)')}")
    for name in reps:  # each representation's own sentence, once where several share it
        spec = registry.get(name)
        if spec.objective_note:
            ref = c(spec.cite[0], f"({spec.cite[1]})") if spec.cite else ""
            notes.append(spec.objective_note.replace("{cite}", ref))
    notes = list(dict.fromkeys(notes))
    if notes:
        parts.append("<p>In this run: " + "; ".join(notes) + ".</p>")
    parts.append("<p>A track's embedding is its posterior mean <i>μ</i><sub>φ</sub>(<i>x</i>); the weights kept are "
                 "those of the epoch with the lowest validation loss.</p>")
    return "\n".join(parts)
