"""Typed settings for every stage, loaded from TOML and written back, resolved, beside each run's results."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import tomli_w
import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from songspace.errors import ConfigError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class FeatureConfig(Section):
    """Audio decoding and features. Defaults are librosa's, which musicians and MIR papers know."""

    sample_rate: int = Field(22050, gt=0)
    clip_seconds: float = Field(10.0, gt=0)  # the middle of longer tracks; shorter ones are repeated
    min_seconds: float = Field(1.0, ge=0)  # shorter files are skipped as too short
    n_fft: int = Field(2048, gt=0)
    hop_length: int = Field(512, gt=0)
    n_mels: int = Field(128, gt=0)
    fmin: float = Field(0.0, ge=0)
    fmax: float | None = None
    n_mfcc: int = Field(20, gt=0)
    batch_size: int = Field(32, gt=0)  # clips per log-mel batch (on the GPU when there is one)
    workers: int = Field(0, ge=0)  # feature worker processes; 0 = one per core
    file_timeout_s: float = Field(120.0, gt=0)  # a file that takes longer to decode is skipped (hung decoder)
    # Where per-file feature work runs: None = this machine's worker processes; "local:N" = a Dask cluster of N
    # processes here; "tcp://HOST:8786" = an existing Dask cluster (see songspace.distributed).
    scheduler: str | None = None
    # Shared by every run; SONGSPACE_CACHE_DIR overrides the default location.
    cache_dir: str = Field(default_factory=lambda: os.environ.get("SONGSPACE_CACHE_DIR",
                                                                  "~/.cache/songspace/features"))


REPRESENTATIONS = ("vae", "conv_vae", "mfcc_vae", "bimodal_vae", "autoencoder", "beta_vae", "beta_conv_vae", "cvae",
                   "poe_vae", "pca", "features", "mfcc_stats", "log_mel_flat", "lyrics", "hybrid", "hybrid_features",
                   "naive_hybrid")
Representation = Literal["vae", "conv_vae", "mfcc_vae", "bimodal_vae", "autoencoder", "beta_vae", "beta_conv_vae",
                         "cvae", "poe_vae", "pca", "features", "mfcc_stats", "log_mel_flat", "lyrics", "hybrid",
                         "hybrid_features", "naive_hybrid"]
# What a plain `songspace run` compares: every unconditioned method that trains in minutes on a laptop.
DEFAULT_REPRESENTATIONS = ["vae", "conv_vae", "mfcc_vae", "bimodal_vae", "autoencoder", "beta_vae", "pca", "features",
                           "lyrics", "hybrid", "hybrid_features", "naive_hybrid"]
Clusterer = Literal["kmeans", "agglomerative_ward", "agglomerative_average", "dbscan", "hdbscan", "gmm"]


class ModelConfig(Section):
    """Sizes of the learned models (every VAE of a run shares them)."""

    latent_dim: int = Field(16, gt=0)
    hidden_dims: list[int] = [256, 128]  # MLP layers of vae and bimodal_vae
    channels: list[int] | None = None  # conv layers of conv_vae / mfcc_vae; None = the model's default
    time_frames: int = Field(128, gt=0)  # conv models see log-mel pooled to this many frames (speed)
    beta: float = Field(1.0, ge=0)  # weight of the KL term of vae, conv_vae, mfcc_vae, bimodal_vae, cvae, poe_vae
    beta_vae: float = Field(4.0, ge=0)  # beta of beta_vae and beta_conv_vae (> 1: a more factorised latent)
    capacity_max: float | None = Field(None, ge=0)  # Beta-VAE capacity schedule: |KL - C|, C up to this many nats
    capacity_epochs: int = Field(100, gt=0)  # epochs over which C rises from 0 to capacity_max


class MethodsConfig(Section):
    """Which representations a run learns and compares; each is clustered by every ``cluster.algorithms``.

    Audio: vae (MLP-VAE on the spectral statistics), conv_vae (2-D conv VAE on log-mel), mfcc_vae (1-D conv VAE on
    MFCC sequences), pca and features (baselines). Lyrics: lyrics (TF-IDF/SVD + language profile). Both: hybrid
    (``hybrid_audio`` latent + lyrics, block-scaled and weighted), hybrid_features (standardised statistics + lyrics,
    block-scaled), naive_hybrid (the same, concatenated without scaling: shows why scaling matters), bimodal_vae
    (a VAE that reads and rebuilds statistics and lyrics). Lyrics methods are skipped when no track has lyrics.
    """

    representations: list[Representation] = Field(default_factory=lambda: list(DEFAULT_REPRESENTATIONS))
    hybrid_audio: Literal["vae", "conv_vae", "mfcc_vae", "autoencoder", "beta_vae", "pca", "features"] = "vae"
    lyrics_weight: float = Field(1.0, ge=0)  # lyrics block against the audio block (1 = equal total variance)
    lyrics_components: int = Field(32, gt=0)  # SVD dimensions of the lyrics TF-IDF
    # Label columns the cvae is conditioned on. Its scores against these labels are marked in metrics.csv
    # (conditioned_on): they are not unsupervised results.
    condition_on: list[str] = []
    # Label columns poe_vae reads as extra modalities beside audio and lyrics (tracks without a value miss that
    # modality). Marked in metrics.csv like the cvae's conditions. [] = audio and lyrics only.
    poe_labels: list[str] = ["genre"]
    # Betas of the Beta-VAE sweep (beta_sweep.csv, figures/beta_sweep.png); [] = no sweep.
    beta_sweep: list[float] = []


class TrainConfig(Section):
    """The one trainer's settings (Adam, mini-batches, early stopping on a held-out split)."""

    epochs: int = Field(300, gt=0)
    batch_size: int = Field(64, gt=0)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    patience: int = Field(30, gt=0)  # epochs without validation improvement before stopping
    val_fraction: float = Field(0.1, ge=0, lt=1)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = False  # mixed precision (autocast) on CUDA; ignored on the CPU
    workers: int = Field(0, ge=0)  # processes that run seeds side by side on the CPU; 0 = one per core
    # CPU threads each seed trains with. 1: a seed gives the same numbers in any process on any machine's core
    # count; 0 = the cores left to each seed worker (faster with one seed; numbers then depend on that count).
    threads: int = Field(1, ge=0)
    # Checkpoints (songspace.checkpoint): a training stopped and started again goes on where it was saved, and
    # one that finished is not run again. SONGSPACE_CHECKPOINT_DIR overrides the default location.
    resume: bool = True
    checkpoint_minutes: float = Field(5.0, ge=0)  # save a training's state this often (0 = every epoch)
    checkpoint_dir: str = Field(default_factory=lambda: os.environ.get("SONGSPACE_CHECKPOINT_DIR",
                                                                       "~/.cache/songspace/training"))


class ClusterConfig(Section):
    """How many clusters, and with what. k: explicit, or the class count of ``k_label``, or chosen by silhouette.

    DBSCAN and HDBSCAN ignore k: they find their own number of clusters and leave outliers as noise.
    """

    algorithms: list[Clusterer] = ["kmeans", "agglomerative_ward", "agglomerative_average", "dbscan", "hdbscan",
                                   "gmm"]
    k: int | None = Field(None, ge=2)
    k_label: str | None = None  # default: genre when present, else the first label
    k_range: tuple[int, int] = (2, 12)  # searched by silhouette when there is neither k nor a label
    n_init: int = Field(10, gt=0)  # K-Means restarts
    # Above this many tracks agglomerative, dbscan, hdbscan and gmm fit on a seeded sample (the rest are assigned)
    # and kmeans turns to MiniBatchKMeans; None = each method's default (agglomerative 10,000, the others 20,000).
    sample_size: int | None = Field(None, ge=2)


class EvalConfig(Section):
    silhouette_sample: int = Field(10000, gt=0)  # silhouette is O(n^2): above this, a seeded sample
    show: list[str] = []  # metrics.csv columns printed after a run and headlined in the report; [] = a default set


class PlotConfig(Section):
    tsne: bool = True
    umap: bool = True
    max_points: int = Field(5000, gt=0)  # t-SNE/UMAP draw a seeded sample above this


class RunConfig(Section):
    """Everything one run needs. ``labels`` = None means every label column found in the metadata."""

    experiment: str = ""  # a short name shown in tables and reports ("hard"); default: the dataset folder name
    title: str = ""  # the report's title; default: made from the experiment and the dataset
    data: str = ""
    layout: str = "auto"
    out: str = "runs"
    name: str = ""
    seed: int = 0
    n_seeds: int = Field(5, ge=1)  # every model x clusterer cell runs with seeds seed, seed + 1, ...
    labels: list[str] | None = None
    features: FeatureConfig = Field(default_factory=FeatureConfig)
    methods: MethodsConfig = Field(default_factory=MethodsConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    plots: PlotConfig = Field(default_factory=PlotConfig)


SHIPPED = Path(__file__).resolve().parent / "configs"  # default, easy, medium, hard, large (configs/ in the repository)


def config_path(name_or_path: Path | str) -> Path:
    """A config file: a path as given, or the name of a shipped one (``easy``, ``medium``, ``hard``, ``large``,
    ``default``)."""
    p = Path(name_or_path)
    if not p.exists() and p.suffix == "" and (SHIPPED / f"{p.name}.toml").exists():
        return SHIPPED / f"{p.name}.toml"
    return p


def load_config(path: Path | str | None = None, **overrides: Any) -> RunConfig:
    """A :class:`RunConfig` from a TOML file (optional) with ``overrides`` applied on top.

    ``overrides`` use dotted names for nested settings: ``load_config(f, **{"cluster.k": 6, "seed": 1})``.
    """
    data: dict[str, Any] = {}
    if path is not None:
        path = config_path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: config file not found.") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc}).") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not a UTF-8 text file; save the config as UTF-8 TOML.") from exc
        except IsADirectoryError as exc:
            raise ConfigError(f"{path}: is a folder; pass the path of a .toml config file.") from exc
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the config file ({exc.strerror or exc}).") from exc
    for key, value in overrides.items():
        if value is None:
            continue
        *parents, leaf = key.split(".")
        node = data
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        where = f"{path}: " if path else ""
        raise ConfigError(f"{where}invalid settings:\n{exc}") from exc


def dump_config(config: RunConfig) -> str:
    """The resolved config as TOML (unset optional values are left out, so it loads back the same)."""
    return tomli_w.dumps(config.model_dump(mode="json", exclude_none=True))
