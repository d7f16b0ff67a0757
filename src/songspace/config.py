"""Typed settings for every stage, loaded from TOML and written back, resolved, beside each run's results.

One module on purpose (about 520 lines, more than a module usually needs): every setting shared by a run's stages
is read and checked here, with the allowed range in each message, so that ``configs/default.toml`` and this file
read side by side; every message about a setting is worded here (:func:`setting_errors`), for the command line and
for code alike; and the longest part, the check that the feature settings can run (the mel filterbank's
arithmetic), belongs with those settings. What is not shared lives elsewhere: a representation's own settings in
its module (its ``Params``, ``[representations.params.<name>]``), old names of settings in
:mod:`songspace.renamed_settings`.

A schema only: it imports nothing of songspace above it. The names a config refers to (representations,
clusterers) belong to their registries, which check them and their own settings: ``validate(cfg)`` in
:mod:`songspace.representations` and :mod:`songspace.clustering`, called by :func:`songspace.settings.load`.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from songspace.errors import ConfigError
from songspace.renamed_settings import renamed_settings


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# What the feature code can run; FeatureConfig refuses the rest with the allowed range in its message.
SAMPLE_RATE_RANGE = (4000, 192000)  # Hz: telephone speech up to high-resolution studio audio
# Seconds: below 0.5 s the rhythm statistics (beat lags of 0.1 to 4 s) see almost nothing; above 10 minutes the
# cached log-mel of one track passes 6 MB and a batch of clips no longer fits in memory.
CLIP_SECONDS_RANGE = (0.5, 600.0)
N_FFT_RANGE = (256, 65536)  # samples per frame: 12 ms to 3 s at 22050 Hz
# FFT bins at most this far apart: wider bins cannot tell the notes of the octave 200-400 Hz apart, where the
# spectral contrast and chroma of the statistics start (bins 375 Hz apart leave that octave empty: NaN).
MAX_BIN_HZ = 200.0
# Log-mel values of one clip (n_mels x frames): 2^24 float16 values = 32 MB cached per track (the default is
# 128 x 431 = 55k); hop_length = 1 on a long clip would ask for gigabytes per track.
MAX_LOG_MEL_VALUES = 1 << 24
# STFT values of one clip ((1 + n_fft / 2) x frames), held in memory by every feature worker: 2^26 complex values
# = 512 MB (the default is 1025 x 431 = 0.4M; a 10-minute clip at 44.1 kHz is 53M).
MAX_STFT_VALUES = 1 << 26
MAX_WORKERS = 1024  # processes; more is a typo, and would fork one per file


# Upper bounds of the model, training and run sizes: far above any sensible setting, below what fails late (after the
# features are computed) or asks for more memory than a machine has (10^9 SVD components: 22 GiB).
MAX_WIDTH = 4096  # latent_dim, a hidden layer's units, conv channels, time frames, SVD components
MAX_LAYERS = 16
MAX_EPOCHS = 100_000
MAX_BETA = 1e6
MAX_SEEDS = 100  # each seed reruns every method: 100 is hours on a real collection already
MAX_SEED = 2**32 - 1
Width = Annotated[int, Field(gt=0, le=MAX_WIDTH)]


def _in_range(name: str, value: float, bounds: tuple[float, float], unit: str = "") -> float:
    lo, hi = bounds
    if not lo <= value <= hi:
        raise ValueError(f"{name} = {value:g}{unit} is outside the allowed range {lo:g}..{hi:g}{unit}"
                         if isinstance(value, float) else
                         f"{name} = {value}{unit} is outside the allowed range {lo}..{hi}{unit}")
    return value


def _folder_setting(name: str, value: str) -> str:
    """``value`` when it can name a folder: not empty, no NUL, and neither it nor a parent is an existing file."""
    if not value.strip() or "\x00" in value:
        raise ValueError(f"{name} = {value!r} does not name a folder")
    path = Path(value).expanduser()
    for p in (path, *path.parents):
        try:
            if p.exists():
                if not p.is_dir():
                    raise ValueError(f"{name} = {value!r}: {p} is a file, not a folder; point {name} at a folder")
                break
        except OSError:  # cannot be looked at (permissions): the run says so when it writes there
            break
    return value


def _slaney_hz(mel: np.ndarray) -> np.ndarray:
    """Hz of Slaney mel values (librosa's default mel scale: linear to 1 kHz, logarithmic above)."""
    f_sp, min_log_mel, logstep = 200.0 / 3, 15.0, np.log(6.4) / 27.0
    return np.where(mel < min_log_mel, f_sp * mel, 1000.0 * np.exp(logstep * (mel - min_log_mel)))


def _slaney_mel(hz: float) -> float:
    f_sp, logstep = 200.0 / 3, np.log(6.4) / 27.0
    return hz / f_sp if hz < 1000.0 else 15.0 + float(np.log(hz / 1000.0)) / logstep


def empty_mel_bands(*, sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> int:
    """How many bands of librosa's mel filterbank (Slaney) hold no FFT bin: a triangle from edge ``i`` to edge
    ``i + 2`` has a non-zero weight only where a bin frequency lies strictly inside it."""
    edges = _slaney_hz(np.linspace(_slaney_mel(fmin), _slaney_mel(fmax), n_mels + 2))
    bins = np.linspace(0.0, sr / 2.0, 1 + n_fft // 2)
    inside = np.searchsorted(bins, edges[2:], side="left") - np.searchsorted(bins, edges[:-2], side="right")
    return int(np.sum(inside <= 0))


def max_mel_bands(*, sr: int, n_fft: int, fmin: float, fmax: float) -> int:
    """The most mel bands that all hold an FFT bin at these settings (0 when not even one does)."""
    lo, hi = 0, 1 + n_fft // 2  # a band needs a bin of its own at the low end: never more bands than bins
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if empty_mel_bands(sr=sr, n_fft=n_fft, n_mels=mid, fmin=fmin, fmax=fmax) == 0:
            lo = mid
        else:
            hi = mid - 1
    return lo


class FeatureConfig(Section):
    """Audio decoding and features. Defaults are librosa's, which musicians and MIR papers know.

    Settings the feature code cannot run are refused, with the allowed range: see :data:`SAMPLE_RATE_RANGE`,
    :data:`CLIP_SECONDS_RANGE`, :data:`N_FFT_RANGE`, :data:`MAX_BIN_HZ`, :data:`MAX_STFT_VALUES`,
    :data:`MAX_LOG_MEL_VALUES`;
    ``min_seconds <= clip_seconds``, ``hop_length <= n_fft <= samples of a clip``,
    ``fmin < fmax <= sample_rate / 2``, every mel band holding an FFT bin, ``n_mfcc <= n_mels``.
    """

    model_config = ConfigDict(allow_inf_nan=False)

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
    workers: int = Field(0, ge=0, le=MAX_WORKERS)  # feature worker processes; 0 = one per core
    file_timeout_s: float = Field(120.0, gt=0)  # a file that takes longer to decode is skipped (hung decoder)
    # Where per-file feature work runs: None = this machine's worker processes; "local:N" = a Dask cluster of N
    # processes here; "tcp://HOST:8786" = an existing Dask cluster (see songspace.distributed).
    scheduler: str | None = None
    # Shared by every run; SONGSPACE_CACHE_DIR overrides the default location.
    cache_dir: str = Field(default_factory=lambda: os.environ.get("SONGSPACE_CACHE_DIR",
                                                                  "~/.cache/songspace/features"))

    @field_validator("sample_rate")
    @classmethod
    def _sample_rate(cls, v: int) -> int:
        return int(_in_range("sample_rate", v, SAMPLE_RATE_RANGE, " Hz"))

    @field_validator("clip_seconds")
    @classmethod
    def _clip_seconds(cls, v: float) -> float:
        return _in_range("clip_seconds", v, CLIP_SECONDS_RANGE, " s")

    @field_validator("n_fft")
    @classmethod
    def _n_fft(cls, v: int) -> int:
        return int(_in_range("n_fft", v, N_FFT_RANGE))

    @field_validator("cache_dir")
    @classmethod
    def _cache_dir(cls, v: str) -> str:
        return _folder_setting("cache_dir", v)

    @model_validator(mode="after")
    def _runnable(self) -> FeatureConfig:
        samples = int(round(self.clip_seconds * self.sample_rate))
        if self.min_seconds > self.clip_seconds:
            raise ValueError(f"min_seconds = {self.min_seconds:g} s must be at most clip_seconds = "
                             f"{self.clip_seconds:g} s (allowed: 0..{self.clip_seconds:g} s): only the clip is decoded,"
                             " so a longer minimum would skip every file")
        if self.hop_length > self.n_fft:
            raise ValueError(f"hop_length = {self.hop_length} must be at most n_fft = {self.n_fft} (allowed: "
                             f"1..{self.n_fft}); a larger hop skips samples between frames")
        if self.n_fft > samples:
            raise ValueError(f"n_fft = {self.n_fft} is longer than one clip (sample_rate x clip_seconds = {samples} "
                             f"samples; allowed: {N_FFT_RANGE[0]}..{samples}); lower n_fft or raise clip_seconds")
        if self.sample_rate / self.n_fft > MAX_BIN_HZ:
            least = max(N_FFT_RANGE[0], math.ceil(self.sample_rate / MAX_BIN_HZ))
            raise ValueError(f"n_fft = {self.n_fft} at sample_rate = {self.sample_rate} Hz gives FFT bins "
                             f"{self.sample_rate / self.n_fft:.0f} Hz apart, more than {MAX_BIN_HZ:g} Hz (allowed: "
                             f"n_fft {least}..{N_FFT_RANGE[1]} at this rate); raise n_fft")
        frames = 1 + samples // self.hop_length
        if (1 + self.n_fft // 2) * frames > MAX_STFT_VALUES:
            raise ValueError(f"the spectrogram of one clip would hold (1 + n_fft / 2) x frames = "
                             f"{1 + self.n_fft // 2} x {frames} values, more than {MAX_STFT_VALUES} (512 MB in each "
                             "feature worker); raise hop_length, or lower clip_seconds or n_fft")
        if self.n_mels * frames > MAX_LOG_MEL_VALUES:
            raise ValueError(f"n_mels x frames = {self.n_mels} x {frames} log-mel values per clip, more than "
                             f"{MAX_LOG_MEL_VALUES} (32 MB cached per track); raise hop_length, or lower clip_seconds "
                             "or n_mels")
        nyquist = self.sample_rate / 2
        fmax = nyquist if self.fmax is None else self.fmax
        if not 0 < fmax <= nyquist:
            raise ValueError(f"fmax = {fmax:g} Hz is outside the allowed range 0..{nyquist:g} Hz (sample_rate / 2)")
        if self.fmin >= fmax:
            raise ValueError(f"fmin = {self.fmin:g} Hz must be below fmax = {fmax:g} Hz (allowed: 0..{fmax:g} Hz)")
        empty = empty_mel_bands(sr=self.sample_rate, n_fft=self.n_fft, n_mels=self.n_mels, fmin=self.fmin, fmax=fmax)
        if empty:
            most = max_mel_bands(sr=self.sample_rate, n_fft=self.n_fft, fmin=self.fmin, fmax=fmax)
            raise ValueError(f"n_mels = {self.n_mels} is too many for n_fft = {self.n_fft} at sample_rate = "
                             f"{self.sample_rate} Hz and fmin..fmax = {self.fmin:g}..{fmax:g} Hz: {empty} "
                             f"mel band(s) would hold no FFT bin (allowed: 1..{most}); lower n_mels, raise n_fft or "
                             "widen fmin..fmax")
        if self.n_mfcc > self.n_mels:
            raise ValueError(f"n_mfcc = {self.n_mfcc} is more than n_mels = {self.n_mels} (allowed: 1..{self.n_mels}): "
                             "the MFCCs are a DCT of the mel bands")
        return self




class ModelConfig(Section):
    """Sizes of the learned models (every VAE of a run shares them)."""

    model_config = ConfigDict(allow_inf_nan=False)  # beta = inf makes every loss NaN

    latent_dim: int = Field(16, gt=0, le=MAX_WIDTH)
    hidden_dims: list[Width] = Field([256, 128], max_length=MAX_LAYERS)  # MLP layers of vae and bimodal_vae
    channels: list[Width] | None = Field(None, max_length=MAX_LAYERS)  # conv layers of conv_vae / mfcc_vae; None =
    # the model's default
    time_frames: int = Field(128, gt=0, le=MAX_WIDTH)  # conv models see log-mel pooled to this many frames (speed)
    # weight of the KL term of the VAEs whose spec's kl_beta is model.beta (the Beta-VAEs set their own)
    beta: float = Field(1.0, ge=0, le=MAX_BETA)


class RepresentationsConfig(Section):
    """Which representations a run learns and compares (``names``), and their settings; each is clustered by every
    ``cluster.algorithms``, and a representation with a clusterer is a *method* (a row of metrics.csv).

    The names are those of the registry (:mod:`songspace.representations`, one module each, described in
    ``configs/default.toml``). Lyrics representations are skipped, with a note, when no track has lyrics.
    """

    # The registry's default set (the representations whose spec says default=True; a test keeps the two equal), in
    # the order a plain run's tables list them.
    names: list[str] = ["vae", "vade", "n2d", "pca", "features", "features_musicnn", "lyrics", "hybrid_features",
                        "language", "facets"]
    lyrics_weight: float = Field(1.0, ge=0, le=1e6)  # lyrics block against the audio block (1 = equal total variance)
    lyrics_components: int = Field(32, gt=0, le=MAX_WIDTH)  # SVD dimensions of the lyrics TF-IDF
    # A representation's own settings, [representations.params.<name>], checked against the parameters it declares
    # (the labels cvae and poe_vae are given, hybrid's audio, the Beta-VAEs' beta and its sweep among them).
    params: dict[str, dict[str, Any]] = {}

    @field_validator("names")
    @classmethod
    def _once(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?|mps")  # what train.device may name


class TrainConfig(Section):
    """The one trainer's settings (Adam, mini-batches, early stopping on a held-out split)."""

    model_config = ConfigDict(allow_inf_nan=False)

    epochs: int = Field(300, gt=0, le=MAX_EPOCHS)
    batch_size: int = Field(64, gt=0, le=1 << 20)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    patience: int = Field(30, gt=0, le=MAX_EPOCHS)  # epochs without validation improvement before stopping
    val_fraction: float = Field(0.1, ge=0, lt=1)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = False  # mixed precision (autocast) on CUDA; ignored on the CPU
    workers: int = Field(0, ge=0, le=MAX_WORKERS)  # processes that run seeds side by side on the CPU; 0 = one per core
    # CPU threads each seed trains with. 1: a seed gives the same numbers in any process on any machine's core
    # count; 0 = the cores left to each seed worker (faster with one seed; numbers then depend on that count).
    threads: int = Field(1, ge=0, le=MAX_WORKERS)
    # Checkpoints (songspace.checkpoint): a training stopped and started again goes on where it was saved, and
    # one that finished is not run again. SONGSPACE_CHECKPOINT_DIR overrides the default location.
    resume: bool = True
    checkpoint_minutes: float = Field(5.0, ge=0)  # save a training's state this often (0 = every epoch)
    checkpoint_dir: str = Field(default_factory=lambda: os.environ.get("SONGSPACE_CHECKPOINT_DIR",
                                                                       "~/.cache/songspace/training"))

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if not DEVICE.fullmatch(v.strip()):
            raise ValueError(f"device = {v!r} is not one of auto, cpu, cuda, cuda:N (N = 0, 1, ...), mps")
        return v.strip()

    @field_validator("checkpoint_dir")
    @classmethod
    def _checkpoint_dir(cls, v: str) -> str:
        return _folder_setting("checkpoint_dir", v)


class ClusterConfig(Section):
    """How many clusters, and with what. k: explicit, or the class count of ``k_label``, or chosen by silhouette.

    DBSCAN and HDBSCAN ignore k: they find their own number of clusters and leave outliers as noise.
    """

    # The default four: each earns its time on realistic music (agglomerative average linkage and DBSCAN are one
    # option away; DBSCAN adds nothing HDBSCAN does not find on the development collection).
    algorithms: list[str] = ["kmeans", "agglomerative_ward", "gmm", "hdbscan"]
    k: int | None = Field(None, ge=2)
    k_label: str | None = None  # default: genre when present, else the first label
    k_range: tuple[int, int] = (2, 12)  # searched by silhouette when there is neither k nor a label
    n_init: int = Field(10, gt=0, le=1000)  # K-Means restarts
    # Above this many tracks agglomerative, dbscan, hdbscan and gmm fit on a seeded sample (the rest are assigned)
    # and kmeans turns to MiniBatchKMeans; None = each method's default (dbscan and hdbscan 2,000, their UMAP
    # reduction included; agglomerative 10,000; the others 20,000).
    sample_size: int | None = Field(None, ge=2)

    @field_validator("algorithms")
    @classmethod
    def _once(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class EvalConfig(Section):
    silhouette_sample: int = Field(10000, gt=0, le=1_000_000)  # silhouette is O(n^2): above this, a seeded sample
    show: list[str] = []  # metrics.csv columns printed after a run and headlined in the report; [] = a default set


class PlotConfig(Section):
    # headline: t-SNE/UMAP and cluster composition for the methods the tables headline (the best per label and the
    # baselines); all: for every representation and method (many figures: slow on a default run)
    figures: Literal["headline", "all"] = "headline"
    tsne: bool = True
    umap: bool = True
    max_points: int = Field(5000, gt=0, le=1_000_000)  # t-SNE/UMAP draw a seeded sample above this


class RunConfig(Section):
    """Everything one run needs. ``labels`` = None means every label column found in the metadata."""

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        """Old names of settings are still read, with a warning, until the next release: see
        :mod:`songspace.renamed_settings`."""
        if not isinstance(data, dict):
            return data
        data, notes = renamed_settings(data)
        for note in notes:
            logging.getLogger("songspace").warning("config: %s", note)
        return data

    experiment: str = ""  # a short name shown in tables and reports ("hard"); default: the dataset folder name
    title: str = ""  # the report's title; default: made from the experiment and the dataset
    data: str = ""
    layout: str = "auto"
    out: str = "runs"
    name: str = ""
    seed: int = Field(0, ge=0, le=MAX_SEED)  # numpy and torch take seeds 0 .. 2^32 - 1
    n_seeds: int = Field(5, ge=1, le=MAX_SEEDS)  # every model x clusterer cell runs with seeds seed, seed + 1, ...
    labels: list[str] | None = None
    max_labels: int = Field(8, ge=1)  # label columns scored at most (the first found, `labels` first); others listed
    features: FeatureConfig = Field(default_factory=FeatureConfig)
    representations: RepresentationsConfig = Field(default_factory=RepresentationsConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    plots: PlotConfig = Field(default_factory=PlotConfig)

    @field_validator("data", "out", "name", "layout")
    @classmethod
    def _no_nul(cls, v: str) -> str:
        if "\x00" in v:
            raise ValueError("holds a NUL byte, which no file name can hold")
        return v

    @field_validator("n_seeds")
    @classmethod
    def _last_seed(cls, v: int, info: ValidationInfo) -> int:
        seed = info.data.get("seed", 0)
        if seed + v - 1 > MAX_SEED:
            raise ValueError(f"seed + n_seeds - 1 = {seed + v - 1} is above {MAX_SEED}, the largest seed numpy and "
                             f"torch take (allowed: n_seeds 1..{MAX_SEED - seed + 1} with seed = {seed})")
        return v


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
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # -sig: editors on Windows write a BOM
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
        except RecursionError as exc:  # tomllib recurses into nested arrays and tables
            raise ConfigError(f"{path}: values nested too deeply to be a songspace config.") from exc
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
        raise ConfigError("\n".join(setting_errors(exc, where=path))) from exc


def dump_config(config: RunConfig) -> str:
    """The resolved config as TOML (unset optional values are left out, so it loads back the same)."""
    return tomli_w.dumps(config.model_dump(mode="json", exclude_none=True))


# --- the wording of every message about a setting -------------------------------------------------------------


def _shown(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


def requirement(err: Mapping[str, Any]) -> str:
    """What a pydantic error (one of ``ValidationError.errors()``) says the value must be, in a few words:
    ``must be at least 2 (got 0)``."""
    kind, ctx, got = err.get("type", ""), err.get("ctx") or {}, err.get("input")
    given = f" (got {_shown(got)})"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}{given}"
    if kind == "greater_than":
        gt = ctx["gt"]
        whole = isinstance(gt, int) and isinstance(got, int)
        return (f"must be at least {gt + 1}" if whole else f"must be greater than {gt}") + given
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}{given}"
    if kind == "less_than":
        return f"must be less than {ctx['lt']}{given}"
    if kind in ("literal_error", "enum"):
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"must be one of {', '.join(choices)}{given}"
    if kind.startswith("int_"):
        return f"must be a whole number{given}"
    if kind.startswith("float_"):
        return f"must be a number{given}"
    if kind.startswith("bool_"):
        return f"must be true or false{given}"
    if kind == "missing":
        return "is required"
    if kind == "value_error":
        return f"is not valid: {ctx.get('error', err.get('msg', ''))}"
    msg = str(err.get("msg", "is not valid"))
    return f"is not valid: {msg[:1].lower() + msg[1:]}{given}"


def _close_setting(loc: tuple[Any, ...], model: Any = None) -> str:
    """`` (did you mean cluster.k?)`` for a mistyped setting, else ``""``."""
    model = RunConfig if model is None else model
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    match = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f" (did you mean {'.'.join([*map(str, loc[:-1]), match[0]])}?)" if match else ""


def setting_errors(exc: ValidationError, given: Mapping[str, tuple[str, Any]] | None = None,
                   where: Path | str | None = None, *, prefix: tuple[str, ...] = (),
                   model: type[BaseModel] | None = None) -> list[str]:
    """One sentence per invalid setting of ``exc``: the option as typed when the command line set it (``given``:
    config key -> (option as typed, value); ``--k must be at least 2 (got 0)``), else the config file ``where``
    and the setting's key (``bad.toml: cluster.k must be at least 2 (got 0)``).

    ``prefix`` and ``model`` place the errors of a part of the config validated on its own (a representation's
    ``params``): its key and the pydantic model that part is.
    """
    lines = []
    for err in exc.errors():
        loc = (*prefix, *err.get("loc", ()))
        key = ".".join(str(p) for p in loc if isinstance(p, str))
        option, value = (given or {}).get(key, ("", None))
        if option and value is not None:
            lines.append(f"{option} {requirement(err)}")
        elif err.get("type") == "extra_forbidden":
            close = _close_setting(tuple(err.get("loc", ())), model) if model is not None else _close_setting(loc)
            lines.append(f"{f'{where}: ' if where else ''}unknown setting {key}{close}; every setting is listed in "
                         "configs/default.toml")
        else:
            lines.append(f"{f'{where}: ' if where else ''}{f'{key} ' if key else ''}{requirement(err)}")
    return lines
