"""Representations: every way a run turns tracks into vectors before they are clustered.

Audio: ``vae`` (MLP-VAE on the standardised spectral statistics), ``conv_vae`` (2-D convolutional VAE on
log-mel spectrograms), ``mfcc_vae`` (1-D convolutional VAE on MFCC sequences), ``autoencoder`` (plain,
deterministic), ``beta_vae`` / ``beta_conv_vae`` (Beta-VAE on the statistics / on log-mel), and the baselines
``pca`` (PCA of the statistics to the latent size), ``features`` (the statistics themselves), ``mfcc_stats``
(MFCC means and spreads only) and ``log_mel_flat`` (the log-mel pooled in time and flattened).
Lyrics: ``lyrics`` (TF-IDF/SVD embedding beside the language profile, block-scaled), defined only for tracks
with lyrics. Both: ``hybrid`` (an audio latent and the lyrics, block-scaled and weighted, see
:mod:`songspace.fusion`), ``hybrid_features`` (the statistics and the lyrics, block-scaled),
``naive_hybrid`` (the same, concatenated as they are), ``bimodal_vae`` (a VAE that reads and rebuilds
statistics and lyrics, lyrics optional per track) and ``poe_vae`` (one encoder per modality, a product of
experts over those present: audio, lyrics and optionally label columns).

Labels enter only where a configuration asks for them by name: ``cvae`` is conditioned on
``methods.condition_on`` and ``poe_vae`` reads ``methods.poe_labels`` as modalities. Such a representation
lists those labels in ``conditioned_on``, and its scores against them are not unsupervised results. Every
other representation is learned without labels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from songspace.checkpoint import training_key
from songspace.config import RunConfig
from songspace.features.text import TextFeatureSet
from songspace.fusion import Block, fuse, variance_shares
from songspace.models import VAE, build_model
from songspace.models.cvae import one_hot
from songspace.training import (
    History,
    RowDataset,
    SpectrogramDataset,
    embed,
    read_rows,
    resolve_device,
    seed_everything,
    time_pool,
    train,
)

log = logging.getLogger(__name__)

AUDIO = "audio"
LYRICS = "lyrics"
BOTH = "audio+lyrics"
CONDITIONED = "conditioned"
LYRICS_METHODS = ("lyrics", "hybrid", "hybrid_features", "naive_hybrid", "bimodal_vae")  # need lyrics
USES_LYRICS = (*LYRICS_METHODS, "poe_vae")  # poe_vae reads lyrics where there are any
# Model registry name of each learned representation.
MODEL_OF = {"vae": "mlp_vae", "conv_vae": "conv_vae", "mfcc_vae": "mfcc_conv_vae", "bimodal_vae": "bimodal_vae",
            "autoencoder": "autoencoder", "beta_vae": "beta_vae", "beta_conv_vae": "beta_conv_vae", "cvae": "cvae",
            "poe_vae": "poe_vae"}
FLAT_FRAMES = 16  # log_mel_flat: 128 mels x 16 frames = 2048 values per track (0.6 s per frame of a 10 s clip)

TrainProgress = Callable[[str, int, int], None]


@dataclass
class Inputs:
    """What the representations are learned from, one row per usable track."""

    stats: np.ndarray  # [shape=(n, n_stats)] spectral statistics
    log_mel: np.ndarray  # [shape=(n, n_mels, n_frames)] dB, may be a float16 memmap
    lyrics: TextFeatureSet | None = None  # None: no track has lyrics (or lyrics are not used)
    n_mfcc: int = 20
    stat_names: list[str] | None = None  # names of the stats columns (mfcc_stats picks the MFCC ones)
    # Label values of the columns a configuration asks a method to use (cvae's condition_on, poe_vae's
    # poe_labels), "" = unknown; no other label is ever passed here.
    conditions: dict[str, list[str]] = field(default_factory=dict)

    def standardised_stats(self) -> np.ndarray:
        return StandardScaler().fit_transform(np.asarray(self.stats, dtype=np.float64)).astype(np.float32)

    def lyrics_block(self) -> np.ndarray:
        """Lyrics embedding beside the language profile, each block-scaled: [shape=(n, d)], zeros without lyrics."""
        assert self.lyrics is not None
        lyr = self.lyrics
        return fuse([Block("words", lyr.embedding, lyr.present),
                     Block("language", language_vector(lyr.profile, lyr.profile_names), lyr.present)])


def language_vector(profile: np.ndarray, names: list[str]) -> np.ndarray:
    """Which language each lyric is in, whatever the script it is written in. [shape=(n, n_languages)]

    The language-ID probabilities of the profile, with the romanised-Bangla score moved onto Bangla: a song
    in romanised Bangla is Bangla. Script shares are left out on purpose: they say how a song is written,
    and would pull romanised Bangla away from Bengali-script Bangla and towards English.
    """
    cols = [i for i, n in enumerate(names) if n.startswith("lang_")]
    probs = np.asarray(profile, dtype=np.float32)[:, cols]
    if "romanised_bangla" in names and "lang_bn" in names:
        r = np.clip(np.asarray(profile, dtype=np.float32)[:, names.index("romanised_bangla")], 0.0, 1.0)[:, None]
        probs = probs * (1.0 - r)
        probs[:, [names[i] for i in cols].index("lang_bn")] += r[:, 0]
    return probs


@dataclass
class Representation:
    """One representation of the tracks. ``present`` marks the rows it covers (None: all)."""

    name: str
    modality: str
    latent: np.ndarray  # [shape=(n, d)]
    space: str  # what the vectors are, for tables and figure titles
    learned: bool = False
    present: np.ndarray | None = None
    model: VAE | None = None
    history: History | None = None
    dataset: RowDataset | None = None  # what the model was trained on (for reconstructions)
    notes: list[str] = field(default_factory=list)
    conditioned_on: list[str] = field(default_factory=list)  # labels it was given: scores on them are not unsupervised


def common_space(inputs: Inputs) -> np.ndarray:
    """The space every clustering is also scored in: the standardised statistics, beside the lyrics block
    when lyrics are used (block-scaled, so that neither modality dominates the distances)."""
    stats = inputs.standardised_stats()
    if inputs.lyrics is None:
        return stats
    return fuse([Block("audio", stats), Block("lyrics", inputs.lyrics_block(), inputs.lyrics.present)])


def _train_vae(name: str, dataset: RowDataset, cfg: RunConfig, progress: TrainProgress | None,
               **model_kwargs) -> tuple[VAE, History, np.ndarray]:
    seed_everything(cfg.seed)  # initial weights too, not only the training loop
    kwargs: dict = {"latent_dim": cfg.model.latent_dim}
    if name in ("beta_vae", "beta_conv_vae"):
        kwargs.update(beta=cfg.model.beta_vae, capacity_max=cfg.model.capacity_max,
                      capacity_epochs=cfg.model.capacity_epochs)
    elif name != "autoencoder":
        kwargs["beta"] = cfg.model.beta
    model = build_model(MODEL_OF[name], input_shape=dataset.item_shape, **kwargs, **model_kwargs)
    cb = (lambda e, n, _t: progress(f"train {name}", e, n)) if progress else None
    hist = train(model, dataset, cfg.train, seed=cfg.seed, progress=cb,
                 checkpoint=checkpoint_path(name, dataset, cfg, {**kwargs, **model_kwargs}))
    return model, hist, embed(model, dataset)


def checkpoint_path(name: str, dataset: RowDataset, cfg: RunConfig, model_kwargs: dict) -> Path | None:
    """Where the training of ``name`` on ``dataset`` under ``cfg`` keeps its checkpoint (None: train.resume off)."""
    if not cfg.train.resume:
        return None
    settings = cfg.train.model_dump(include={"epochs", "batch_size", "lr", "weight_decay", "patience", "val_fraction",
                                              "amp"})
    device = resolve_device(cfg.train.device).type
    if device == "cpu":  # a parallel reduction adds in another order with another thread count
        settings["threads"] = torch.get_num_threads()
    key = training_key(MODEL_OF[name], model_kwargs, settings, cfg.seed, device, dataset.fingerprint())
    return Path(cfg.train.checkpoint_dir).expanduser() / f"{name}-seed{cfg.seed}-{key}.pt"


def mfcc_columns(names: list[str] | None, n_stats: int) -> np.ndarray:
    """Indices of the MFCC means and standard deviations among the statistics (the first 40 when unnamed)."""
    if names is None:
        return np.arange(min(40, n_stats))
    return np.array([i for i, n in enumerate(names) if n.startswith("mfcc") and n.endswith(("_mean", "_std"))])


def flat_log_mel(log_mel: np.ndarray, *, frames: int = FLAT_FRAMES, batch_size: int = 256) -> np.ndarray:
    """Log-mel pooled to ``frames`` time frames and flattened, read in slices (a memmap stays on disk).

    Returns np.ndarray [shape=(n, n_mels * frames), dtype=float32], dB. At 100k tracks and 128 mels this is
    0.8 GB: the size of the baseline itself.
    """
    n = len(log_mel)
    n_mels = np.shape(log_mel[0])[0] if n else 0
    out = np.empty((n, n_mels * frames), dtype=np.float32)
    for start in range(0, n, batch_size):
        chunk = read_rows(log_mel, slice(start, start + batch_size)).astype(np.float32)
        pooled = time_pool(chunk, frames)
        if pooled.shape[-1] < frames:  # shorter than ``frames``: repeat the last frame
            pooled = np.concatenate([pooled, np.repeat(pooled[..., -1:], frames - pooled.shape[-1], -1)], -1)
        out[start:start + len(chunk)] = pooled.reshape(len(chunk), -1)
    return out


def _standardise(X: np.ndarray) -> np.ndarray:
    return StandardScaler().fit_transform(np.asarray(X, dtype=np.float64)).astype(np.float32)


def learn(name: str, inputs: Inputs, cfg: RunConfig, learned: dict[str, Representation], *,
          progress: TrainProgress | None = None) -> Representation:
    """Learn one representation (``learned`` holds those already made, for the hybrids)."""
    n_latent = cfg.model.latent_dim
    if name == "features":
        X = inputs.standardised_stats()
        return Representation(name, AUDIO, X, f"standardised spectral statistics ({X.shape[1]}-d)")
    if name == "mfcc_stats":
        cols = mfcc_columns(inputs.stat_names, inputs.stats.shape[1])
        X = _standardise(np.asarray(inputs.stats)[:, cols])
        return Representation(name, AUDIO, X, f"standardised MFCC means and standard deviations ({X.shape[1]}-d)")
    if name == "log_mel_flat":
        X = _standardise(flat_log_mel(inputs.log_mel))
        return Representation(name, AUDIO, X, f"log-mel pooled to {FLAT_FRAMES} frames, flattened, standardised "
                              f"({X.shape[1]}-d)")
    if name == "pca":
        X = inputs.standardised_stats()
        d = min(n_latent, X.shape[0], X.shape[1])
        Z = PCA(n_components=d, random_state=cfg.seed).fit_transform(X).astype(np.float32)
        return Representation(name, AUDIO, Z, f"PCA of the standardised statistics ({d}-d)")
    if name in ("vae", "autoencoder", "beta_vae"):
        X = inputs.standardised_stats()
        model, hist, Z = _train_vae(name, RowDataset(X), cfg, progress, hidden_dims=cfg.model.hidden_dims)
        what = {"vae": "MLP-VAE posterior means", "autoencoder": "plain autoencoder codes",
                "beta_vae": f"Beta-VAE (beta {cfg.model.beta_vae:g}) posterior means"}[name]
        return Representation(name, AUDIO, Z, f"{what} ({n_latent}-d)", True, None, model, hist, RowDataset(X))
    if name in ("conv_vae", "mfcc_vae", "beta_conv_vae"):
        ds = SpectrogramDataset(inputs.log_mel, frames=cfg.model.time_frames,
                                n_mfcc=inputs.n_mfcc if name == "mfcc_vae" else None).fit_standardisation()
        kw = {} if cfg.model.channels is None else {"channels": cfg.model.channels}
        model, hist, Z = _train_vae(name, ds, cfg, progress, **kw)
        what = {"conv_vae": "conv VAE on log-mel", "mfcc_vae": "conv VAE on MFCC sequences",
                "beta_conv_vae": f"conv Beta-VAE (beta {cfg.model.beta_vae:g}) on log-mel"}[name]
        return Representation(name, AUDIO, Z, f"{what}, posterior means ({n_latent}-d)", True, None,
                              model, hist, ds)
    if name == "cvae":
        if not cfg.methods.condition_on:
            raise ValueError("cvae needs methods.condition_on (the label columns it is conditioned on)")
        C = np.concatenate([one_hot(inputs.conditions[c])[0] for c in cfg.methods.condition_on], axis=1)
        X = np.concatenate([inputs.standardised_stats(), C], axis=1)
        model, hist, Z = _train_vae(name, RowDataset(X), cfg, progress, hidden_dims=cfg.model.hidden_dims,
                                    cond_dim=C.shape[1])
        given = ", ".join(cfg.methods.condition_on)
        return Representation(name, CONDITIONED, Z, f"conditional VAE given {given}, posterior means ({n_latent}-d)",
                              True, None, model, hist, RowDataset(X),
                              notes=[f"conditioned on {given}: its scores against {given} are not unsupervised"],
                              conditioned_on=list(cfg.methods.condition_on))
    if name == "poe_vae":
        return _learn_poe(inputs, cfg, progress)
    if inputs.lyrics is None:
        raise ValueError(f"{name} needs lyrics")
    lyr = inputs.lyrics
    if name == "lyrics":
        X = inputs.lyrics_block()
        return Representation(name, LYRICS, X, f"lyrics TF-IDF/SVD + language profile ({X.shape[1]}-d)",
                              present=lyr.present.copy())
    if name == "hybrid":
        audio_name = cfg.methods.hybrid_audio
        if audio_name not in learned:
            learned[audio_name] = learn(audio_name, inputs, cfg, learned, progress=progress)
        blocks = [Block("audio", learned[audio_name].latent), Block("lyrics", inputs.lyrics_block(), lyr.present)]
        weights = [1.0, cfg.methods.lyrics_weight]
        X = fuse(blocks, weights)
        shares = variance_shares(blocks, weights)
        return Representation(name, BOTH, X, f"{audio_name} latent + lyrics, block-scaled, lyrics weight "
                              f"{cfg.methods.lyrics_weight:g} ({X.shape[1]}-d)", False,
                              notes=[_shares_note(shares)])
    if name in ("hybrid_features", "naive_hybrid"):
        stats = inputs.standardised_stats()
        naive = name == "naive_hybrid"
        if naive:  # what a first attempt does: the statistics and the lyrics embedding side by side
            blocks = [Block("audio", stats), Block("lyrics", lyr.embedding, lyr.present)]
        else:
            blocks = [Block("audio", stats), Block("lyrics", inputs.lyrics_block(), lyr.present)]
        weights = None if naive else [1.0, cfg.methods.lyrics_weight]
        X = fuse(blocks, weights, scale=not naive)
        shares = variance_shares(blocks, weights, scale=not naive)
        how = "concatenated unscaled" if naive else "block-scaled"
        return Representation(name, BOTH, X, f"statistics + lyrics, {how} ({X.shape[1]}-d)",
                              notes=[_shares_note(shares)])
    if name == "bimodal_vae":
        block = inputs.lyrics_block()
        X = np.concatenate([inputs.standardised_stats(), block, lyr.present[:, None].astype(np.float32)], axis=1)
        model, hist, Z = _train_vae(name, RowDataset(X), cfg, progress, hidden_dims=cfg.model.hidden_dims,
                                    lyrics_dim=block.shape[1], lyrics_weight=cfg.methods.lyrics_weight)
        return Representation(name, BOTH, Z, f"audio + lyrics VAE posterior means ({n_latent}-d)", True, None,
                              model, hist, RowDataset(X))
    raise ValueError(f"unknown representation {name!r}")


def _learn_poe(inputs: Inputs, cfg: RunConfig, progress: TrainProgress | None) -> Representation:
    """Product-of-experts VAE over audio, lyrics (when any track has them) and the ``poe_labels`` columns."""
    blocks: dict[str, np.ndarray] = {"audio": inputs.standardised_stats()}
    present: dict[str, np.ndarray] = {"audio": np.ones(len(inputs.stats), dtype=bool)}
    if inputs.lyrics is not None and inputs.lyrics.present.any():
        blocks["lyrics"], present["lyrics"] = inputs.lyrics_block(), inputs.lyrics.present.astype(bool)
    categorical = []
    for label in cfg.methods.poe_labels:
        onehot, _classes = one_hot(inputs.conditions[label])
        blocks[label], present[label] = onehot, onehot.any(axis=1)
        categorical.append(label)
    dims = {m: b.shape[1] for m, b in blocks.items()}
    X = np.concatenate([*blocks.values(), *[p[:, None].astype(np.float32) for p in present.values()]], axis=1)
    X = X.astype(np.float32)
    model, hist, Z = _train_vae("poe_vae", RowDataset(X), cfg, progress, dims=dims, categorical=categorical,
                                hidden_dims=cfg.model.hidden_dims)
    modalities = " + ".join(dims)
    notes = [f"modalities {modalities}; present: " + ", ".join(f"{m} {p.mean():.0%}" for m, p in present.items())]
    if categorical:
        notes.append(f"reads {', '.join(categorical)} as input: its scores against {', '.join(categorical)} are "
                     "not unsupervised")
    modality = CONDITIONED if categorical else (BOTH if "lyrics" in dims else AUDIO)
    return Representation("poe_vae", modality, Z, f"product-of-experts VAE over {modalities}, joint posterior means "
                          f"({cfg.model.latent_dim}-d)", True, None, model, hist, RowDataset(X), notes=notes,
                          conditioned_on=categorical)


def _shares_note(shares: dict[str, float]) -> str:
    return "variance share " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items())


def learn_all(inputs: Inputs, cfg: RunConfig, *,
              progress: TrainProgress | None = None) -> tuple[list[Representation], list[str]]:
    """Every representation of ``cfg.methods.representations`` that the inputs allow, in that order, and
    notes on those skipped (lyrics methods when no track has lyrics)."""
    learned: dict[str, Representation] = {}
    skipped: list[str] = []
    notes: list[str] = []
    for name in cfg.methods.representations:
        if name in LYRICS_METHODS and (inputs.lyrics is None or not inputs.lyrics.present.any()):
            skipped.append(name)
            continue
        if name == "cvae" and not cfg.methods.condition_on:
            notes.append("cvae skipped: methods.condition_on names no label column to condition on")
            continue
        if name not in learned:
            learned[name] = learn(name, inputs, cfg, learned, progress=progress)
    order = [n for n in cfg.methods.representations if n in learned]
    order += [n for n in learned if n not in order]  # an audio latent learned only for the hybrid
    if skipped:
        notes.append(f"no track has lyrics: {', '.join(skipped)} skipped; audio representations only")
    return [learned[n] for n in order], notes
