"""What every representation is built from and returns, and the pieces several of them share.

:class:`Inputs` holds the run's features (one row per usable track), :class:`Context` what a spec's ``build``
receives, :class:`Representation` what it returns. :func:`learn` builds one representation by name from the
registry, :func:`learn_all` those a config asks for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

from songspace.checkpoint import training_key
from songspace.config import RunConfig
from songspace.errors import EncoderUnavailable
from songspace.features.spectral import time_pool
from songspace.features.text import TextFeatureSet
from songspace.fusion import Block, fuse
from songspace.models import VAE, build_model
from songspace.parallel import read_rows
from songspace.representations import RepresentationSpec, conditions, get, kl_settings, settings
from songspace.training import History, RowDataset, embed, resolve_device, seed_everything, train

log = logging.getLogger(__name__)

TrainProgress = Callable[[str, int, int], None]


@dataclass
class Inputs:
    """What the representations are learned from, one row per usable track."""

    stats: np.ndarray  # [shape=(n, n_stats)] spectral statistics
    log_mel: np.ndarray  # [shape=(n, n_mels, n_frames)] dB, may be a float16 memmap
    lyrics: TextFeatureSet | None = None  # None: no track has lyrics (or lyrics are not used)
    n_mfcc: int = 20
    stat_names: list[str] | None = None  # names of the stats columns (mfcc_stats picks the MFCC ones)
    # Label values of the columns a configuration asks a representation to use (a spec's ``conditioned_by``), "" =
    # unknown; no other label is ever passed here.
    conditions: dict[str, list[str]] = field(default_factory=dict)
    # Pretrained encoders' vectors, by the name of the representation that reads them (``musicnn``): [shape=(n, d)],
    # NaN rows for files the encoder could not read; ``unavailable`` says why an encoder asked for could not be used.
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)

    def embedding(self, name: str) -> np.ndarray:
        """The vectors of the encoder that representation ``name`` reads; EncoderUnavailable saying why not."""
        if name in self.embeddings:
            return self.embeddings[name]
        raise EncoderUnavailable(self.unavailable.get(name) or f"{name}: its encoder's vectors were not computed "
                                 "for this run")

    def standardised_stats(self) -> np.ndarray:
        return standardise(self.stats)

    def lyrics_block(self) -> np.ndarray:
        """Lyrics embedding beside the language profile, each block-scaled: [shape=(n, d)], zeros without lyrics."""
        assert self.lyrics is not None
        lyr = self.lyrics
        return fuse([Block("words", lyr.embedding, lyr.present),
                     Block("language", language_vector(lyr.profile, lyr.profile_names), lyr.present)])


def standardise(X: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per column. [shape=(n, d), dtype=float32]"""
    return StandardScaler().fit_transform(np.asarray(X, dtype=np.float64)).astype(np.float32)


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
    """One representation of the tracks. ``present`` marks the rows it covers (None: all). What it is (its modality,
    learned or not) is its spec's: :attr:`spec`."""

    name: str
    latent: np.ndarray  # [shape=(n, d)]
    space: str  # what the vectors are, for tables and figure titles
    present: np.ndarray | None = None
    model: VAE | None = None
    history: History | None = None
    dataset: RowDataset | None = None  # what the model was trained on (for reconstructions)
    notes: list[str] = field(default_factory=list)
    conditioned_on: list[str] = field(default_factory=list)  # labels it was given: scores on them are not unsupervised
    # fitted arrays that turn new tracks into this space (a scaler's mean and scale, PCA's components), filled by
    # ``build`` where its spec's ``save_state`` reads them
    state: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def spec(self) -> RepresentationSpec:
        """The registry's declaration of this representation (a variant's is its base's, renamed)."""
        return get(self.name)

    @property
    def modality(self) -> str:
        return self.spec.modality


@dataclass
class Context:
    """What a spec's ``build`` receives: the inputs, the run's settings, the representations already made (a
    fusion reads them through :meth:`need`) and a progress callback for trainings."""

    inputs: Inputs
    cfg: RunConfig
    learned: dict[str, Representation]
    progress: TrainProgress | None = None
    k: int | None = None  # the run's number of clusters (deep-clustering models size their mixture by it)
    name: str = ""  # the representation being built (a variant ``vae@musicnn`` builds with its base's ``build``)

    def need(self, name: str) -> Representation:
        """The representation ``name``, learned now if it has not been yet."""
        if name not in self.learned:
            self.learned[name] = learn(name, self.inputs, self.cfg, self.learned, progress=self.progress, k=self.k)
        return self.learned[name]

    def need_audio(self, name: str, fallback: str = "features") -> tuple[Representation, list[str]]:
        """The audio representation ``name`` for a fusion's audio block, or ``fallback`` with a note when ``name``
        reads an encoder that cannot be had here (weights not fetched): a fusion never fails for want of one."""
        try:
            return self.need(name), []
        except EncoderUnavailable as exc:
            return self.need(fallback), [f"{name} unavailable ({exc}); its block is {fallback} instead"]

    def params(self, name: str) -> Any:
        """The representation's own settings (``[representations.params.<name>]`` over its defaults)."""
        own = settings(name, self.cfg)
        assert own is not None, f"{name} declares no params"
        return own

    def kl_settings(self) -> dict[str, Any]:
        """The KL settings of the model of the representation being built (:func:`songspace.representations.
        kl_settings`): its beta, and the capacity schedule where it has one; {} without a KL term."""
        return kl_settings(self.name, self.cfg)

    def train_model(self, name: str, dataset: RowDataset, *, model: str | None = None,
                    **model_kwargs: Any) -> tuple[VAE, History, np.ndarray]:
        """Build the model of representation ``name`` (its spec's, or ``model``) on ``dataset``, train it with the
        one trainer (checkpointed) and embed the dataset. ``model_kwargs`` beyond ``latent_dim`` are the model's."""
        cfg = self.cfg
        model_name = model or get(name).model
        assert model_name is not None, f"{name} names no model"
        seed_everything(cfg.seed)  # initial weights too, not only the training loop
        kwargs: dict[str, Any] = {"latent_dim": cfg.model.latent_dim, **model_kwargs}
        net = build_model(model_name, input_shape=dataset.item_shape, **kwargs)
        cb = (lambda e, n, _t: self.progress(f"train {name}", e, n)) if self.progress else None
        hist = train(net, dataset, cfg.train, seed=cfg.seed, progress=cb,
                     checkpoint=checkpoint_path(name, dataset, cfg, kwargs, model=model_name))
        return net, hist, embed(net, dataset)


def fit_deep_clustering(ctx: Context, fit: Callable[..., tuple], **settings: Any
                        ) -> tuple[Any, History, np.ndarray, np.ndarray, RowDataset, int, dict[str, np.ndarray], str]:
    """The shared build of the deep-clustering representations (``vade``, ``idec``, and their variants, named by
    ``ctx.name``): ``fit`` (a :mod:`songspace.deep_clustering` function) on the representation's input (the
    standardised statistics by default) with the run's k (or the representation's ``n_clusters``), checkpointed.
    Returns (model, history, latent, cluster probabilities, the dataset it trained on, k, the input's state, a
    phrase naming the input for the space)."""
    from songspace.representations._inputs import model_input

    name = ctx.name
    cfg, params = ctx.cfg, ctx.params(name)
    k = params.n_clusters or ctx.k or 10
    X, state, of = model_input(ctx)
    ds = RowDataset(X)
    sizes = {"latent_dim": cfg.model.latent_dim, "hidden_dims": cfg.model.hidden_dims, "n_clusters": k,
             "pretrain_epochs": params.pretrain_epochs}
    if getattr(params, "pretrain_noise", 0.0):  # only when set: a plain run keeps its checkpoint names
        settings = {**settings, "pretrain_noise": params.pretrain_noise}
    cb = (lambda stage, e, n: ctx.progress(f"train {name} ({stage})", e, n)) if ctx.progress else None
    model, hist, Z, probs = fit(X, train_cfg=cfg.train, seed=cfg.seed, progress=cb,
                                checkpoint=checkpoint_path(name, ds, cfg, {**sizes, **settings},
                                                           model=get(name).model), **sizes, **settings)
    return model, hist, Z, probs, ds, k, state, of


def checkpoint_path(name: str, dataset: RowDataset, cfg: RunConfig, model_kwargs: dict,
                    *, model: str | None = None) -> Path | None:
    """Where the training of ``name`` on ``dataset`` under ``cfg`` keeps its checkpoint (None: train.resume off)."""
    if not cfg.train.resume:
        return None
    settings = cfg.train.model_dump(include={"epochs", "batch_size", "lr", "weight_decay", "patience", "val_fraction",
                                              "amp"})
    device = resolve_device(cfg.train.device).type
    if device == "cpu":  # a parallel reduction adds in another order with another thread count
        settings["threads"] = torch.get_num_threads()
    key = training_key(model or get(name).model or name, model_kwargs, settings, cfg.seed, device,
                       dataset.fingerprint())
    return Path(cfg.train.checkpoint_dir).expanduser() / f"{name}-seed{cfg.seed}-{key}.pt"


def common_space(inputs: Inputs) -> np.ndarray:
    """The space every clustering is also scored in: the standardised statistics, beside the lyrics block
    when lyrics are used (block-scaled, so that neither modality dominates the distances)."""
    stats = inputs.standardised_stats()
    if inputs.lyrics is None:
        return stats
    return fuse([Block("audio", stats), Block("lyrics", inputs.lyrics_block(), inputs.lyrics.present)])


def mfcc_columns(names: list[str] | None, n_stats: int) -> np.ndarray:
    """Indices of the MFCC means and standard deviations among the statistics (the first 40 when unnamed)."""
    if names is None:
        return np.arange(min(40, n_stats))
    return np.array([i for i, n in enumerate(names) if n.startswith("mfcc") and n.endswith(("_mean", "_std"))])


def flat_log_mel(log_mel: np.ndarray, *, frames: int, batch_size: int = 256) -> np.ndarray:
    """Log-mel pooled to ``frames`` time frames and flattened, read in slices (a memmap stays on disk).

    Returns np.ndarray [shape=(n, n_mels * frames), dtype=float32], dB. At 100k tracks, 128 mels and 16 frames
    this is 0.8 GB: the size of the baseline itself.
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


def shares_note(shares: dict[str, float]) -> str:
    return "variance share " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items())


def learn(name: str, inputs: Inputs, cfg: RunConfig, learned: dict[str, Representation], *,
          progress: TrainProgress | None = None, k: int | None = None) -> Representation:
    """Build the representation registered as ``name`` (``learned`` holds those already made, for fusions; ``k`` is
    the run's number of clusters)."""
    spec = get(name)
    if spec.needs_lyrics and inputs.lyrics is None:
        raise ValueError(f"{name} needs lyrics")
    rep = spec.build(Context(inputs, cfg, learned, progress, k, name))
    rep.name = name  # a variant is built by its base's build
    return rep


def learn_all(inputs: Inputs, cfg: RunConfig, *, progress: TrainProgress | None = None,
              k: int | None = None) -> tuple[list[Representation], list[str]]:
    """Every representation of ``cfg.representations.names`` that the inputs allow, in that order, and
    notes on those skipped (lyrics representations when no track has lyrics, conditioned ones given no label)."""
    learned: dict[str, Representation] = {}
    skipped: list[str] = []
    notes: list[str] = []
    for name in cfg.representations.names:
        spec = get(name)
        if spec.needs_lyrics and (inputs.lyrics is None or not inputs.lyrics.present.any()):
            skipped.append(name)
            continue
        if spec.conditions_required and not conditions(name, cfg):
            notes.append(f"{name} skipped: representations.params.{name}.{spec.conditioned_by} names no label column "
                         "to condition on")
            continue
        if name not in learned:
            try:
                learned[name] = learn(name, inputs, cfg, learned, progress=progress, k=k)
            except EncoderUnavailable as exc:  # weights not fetched, library missing: this one only
                notes.append(f"{name} skipped: {exc}")
    order = [n for n in cfg.representations.names if n in learned]
    order += [n for n in learned if n not in order]  # an audio latent learned only for a fusion
    if skipped:
        notes.append(f"no track has lyrics: {', '.join(skipped)} skipped; audio representations only")
    return [learned[n] for n in order], notes
