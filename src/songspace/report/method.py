"""The method of a run in words: what each representation and clusterer is, and the VAE objective it trained.

Shared by the HTML report and the paper. The objective is written in HTML and Unicode (no MathJax: the pages work
offline); only the terms of models the run actually trained are shown, with the run's own beta values.
"""

from __future__ import annotations

import html
import math
from typing import Any

from songspace.report.data import RunData

# What each representation is (songspace.representations); a name not listed shows its metrics.csv "space".
REPRESENTATIONS = {
    "vae": "MLP-VAE on the standardised spectral statistics (MFCC means and spreads, their deltas, a coarse "
           "tempogram and loudness dynamics)",
    "conv_vae": "2-D convolutional VAE on log-mel spectrograms",
    "mfcc_vae": "1-D convolutional VAE on MFCC sequences",
    "autoencoder": "plain deterministic autoencoder on the statistics (reconstruction only, no KL term)",
    "beta_vae": "β-VAE on the statistics",
    "beta_conv_vae": "β-VAE on log-mel spectrograms",
    "cvae": "conditional VAE on the statistics, given label columns",
    "poe_vae": "product-of-experts VAE, one encoder per modality present",
    "bimodal_vae": "VAE that reads and rebuilds the statistics and the lyrics (lyrics optional per track)",
    "pca": "baseline: PCA of the statistics to the latent size",
    "features": "baseline: the standardised statistics themselves",
    "mfcc_stats": "baseline: MFCC means and spreads only",
    "log_mel_flat": "baseline: the log-mel spectrogram pooled to 16 frames and flattened",
    "lyrics": "TF-IDF/SVD embedding of the lyrics (words, grapheme n-grams, phonetic keys) beside a language profile",
    "hybrid": "a learned audio latent and the lyrics embedding, block-scaled and weighted",
    "hybrid_features": "the statistics and the lyrics embedding, block-scaled",
    "naive_hybrid": "the statistics and the lyrics embedding concatenated unscaled (shows why scaling matters)",
}
CLUSTERERS = {
    "kmeans": "K-Means with seeded restarts",
    "agglomerative_ward": "agglomerative clustering, Ward linkage",
    "agglomerative_average": "agglomerative clustering, average linkage",
    "dbscan": "DBSCAN, ε from the knee of the k-distance curve (ignores k; leaves noise)",
    "hdbscan": "HDBSCAN (ignores k; leaves noise)",
    "gmm": "Gaussian mixture with full covariances",
}
VAES = ("vae", "conv_vae", "mfcc_vae", "bimodal_vae", "cvae", "poe_vae")
BETA_VAES = ("beta_vae", "beta_conv_vae")


def esc(value: Any) -> str:
    """HTML-escaped text of any value (quotes too: safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def representations(run: RunData) -> list[dict[str, str]]:
    """One entry per representation of the run, in run order: name, modality, what it is, its space, the labels it
    was given, and its training time (first seed)."""
    train = run.summary.get("train_seconds") if isinstance(run.summary.get("train_seconds"), dict) else {}
    order = [str(r) for r in run.summary.get("representations", []) if isinstance(r, str)]
    order += [str(r.get("representation")) for r in run.metrics.rows]
    out = []
    for rep in dict.fromkeys(order):
        row = next((r for r in run.metrics.rows if r.get("representation") == rep), {})
        seconds = train.get(rep) if isinstance(train, dict) else None
        out.append({"name": rep, "modality": str(row.get("modality") or ""),
                    "what": REPRESENTATIONS.get(rep, ""), "space": str(row.get("space") or ""),
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

    reps = {r["name"] for r in representations(run)}
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
    if reps & set(VAES):
        notes.append(f"β = {beta_text(beta)} for {', '.join(sorted(reps & set(VAES)))}"
                     + (" (the plain VAE)" if beta == 1.0 else ""))
    if reps & set(BETA_VAES):
        text = (f"β = {beta_text(beta_vae)} for the β-VAE ({', '.join(sorted(reps & set(BETA_VAES)))}) "
                f"{c('higgins2017', '(Higgins et al., 2017)')}, which trades reconstruction for a more factorised "
                "latent")
        if capacity is not None:
            text += (f"; its KL term is replaced by |<i>D</i><sub>KL</sub> − <i>C</i>| with the capacity <i>C</i> "
                     f"rising linearly from 0 to {beta_text(capacity)} nats over {beta_text(epochs)} epochs "
                     f"{c('burgess2018', '(Burgess et al., 2018)')}")
        notes.append(text)
    if "cvae" in reps:
        notes.append("the conditional VAE encodes <i>q</i><sub>φ</sub>(<i>z</i>|<i>x</i>, <i>c</i>) and decodes "
                     "<i>p</i><sub>θ</sub>(<i>x</i>|<i>z</i>, <i>c</i>) given the one-hot label <i>c</i> "
                     f"{c('sohn2015', '(Sohn et al., 2015)')}: its latent is meant to hold what <i>c</i> does not")
    if "poe_vae" in reps:
        notes.append("the product-of-experts VAE combines one Gaussian expert per modality present, "
                     "<i>q</i>(<i>z</i>|<i>x</i><sub>1..<i>M</i></sub>) ∝ <i>p</i>(<i>z</i>) "
                     "Π<sub><i>m</i></sub> <i>q</i>(<i>z</i>|<i>x</i><sub><i>m</i></sub>), so a track missing lyrics "
                     f"(or a label) still has a posterior {c('wu2018', '(Wu &amp; Goodman, 2018)')}")
    if "autoencoder" in reps:
        notes.append("the plain autoencoder keeps only the reconstruction term (deterministic <i>z</i>)")
    if notes:
        parts.append("<p>In this run: " + "; ".join(notes) + ".</p>")
    parts.append("<p>A track's embedding is its posterior mean <i>μ</i><sub>φ</sub>(<i>x</i>); the weights kept are "
                 "those of the epoch with the lowest validation loss.</p>")
    return "\n".join(parts)
