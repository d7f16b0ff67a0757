"""One seed of an experiment: learn every representation, cluster each with every clusterer, score each
clustering, and (when asked) sweep a Beta-VAE's beta. Arrays in, rows out: no files are written here.

The runner calls :func:`run_seed` once per seed, the first seed in its own process (it keeps the models for
figures) and the others side by side in worker processes (:func:`run_seeds`). A seed fixes python's, numpy's
and torch's generators, and every seed trains with one thread (``train.threads``), so a seed gives the same
numbers in the parent and in a worker, and the same numbers on every rerun on the CPU. ``train.threads = 0``
gives each seed the cores left to it instead: faster with one seed, but its numbers then depend on that count.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from songspace import representations as registry
from songspace.clustering import cluster
from songspace.clustering.kmeans import kmeans
from songspace.config import RunConfig
from songspace.errors import ConfigError, SongspaceError
from songspace.evaluation import score_clustering
from songspace.evaluation.metrics import silhouette
from songspace.evaluation.registry import is_metric, score_space
from songspace.parallel import end_workers, one_thread, process_pool
from songspace.representations.base import Inputs, Representation, learn, learn_all

log = logging.getLogger("songspace")

Progress = Callable[[str, int, int], None]


def choose_k(X: np.ndarray, k_range: tuple[int, int] = (2, 12), *, seed: int = 0, sample_size: int = 5000) -> int:
    """The k in ``k_range`` (inclusive) whose K-Means clustering of ``X`` [shape=(n, d)] has the highest silhouette.

    Used only when neither k nor a label to take it from is given.
    """
    lo, hi = k_range[0], min(k_range[1], len(X) - 1)
    if hi < lo:
        raise ConfigError(f"cannot choose k in {k_range} for {len(X)} tracks; set cluster.k explicitly.")
    scores = {k: silhouette(X, kmeans(X, k, seed=seed, n_init=3).labels, sample_size=sample_size, seed=seed)
              for k in range(lo, hi + 1)}
    best = max(scores, key=lambda k: (np.nan_to_num(scores[k], nan=-2.0), -k))
    log.info("chose k = %d by silhouette (%s)", best, ", ".join(f"{k}: {s:.3f}" for k, s in scores.items()))
    return best


@dataclass
class MethodResult:
    """One clustering of one representation."""

    name: str  # "<representation>+<clusterer>"
    rep: Representation
    clusterer: str
    labels: np.ndarray | None  # [shape=(n,)], -1 = noise or not covered (no lyrics); None when it failed
    row: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    model: Any = None  # the fitted ClusterResult.model (the runner saves the first seed's as arrays)


@dataclass
class SeedOutcome:
    """What one seed measured. ``reps`` and ``results`` are kept only where the caller asks (the first seed)."""

    seed: int
    rows: list[dict[str, Any]]  # one per representation x clusterer, with a "seed" column
    sweep: list[dict[str, Any]]  # one per beta of the sweep a representation's settings ask for (beta_vae's sweep)
    notes: list[str]
    train_seconds: dict[str, float]
    reps: list[Representation] | None = None
    results: list[MethodResult] | None = None


def seeds_of(cfg: RunConfig) -> list[int]:
    """The seeds of a run: ``seed``, ``seed + 1``, ... (``n_seeds`` of them)."""
    return [cfg.seed + i for i in range(cfg.n_seeds)]


def cluster_and_score(cfg: RunConfig, rep: Representation, algorithm: str, k: int, common: np.ndarray,
                      labels: dict[str, list[str]]) -> MethodResult:
    """Cluster ``rep`` with ``algorithm`` (seeded by ``cfg.seed``) and score it (one metrics row)."""
    name = f"{rep.name}+{algorithm}"
    base = {"method": name, "representation": rep.name, "clusterer": algorithm, "modality": rep.modality,
            "conditioned_on": ";".join(rep.conditioned_on), "space": rep.space}
    covered = np.ones(len(rep.latent), dtype=bool) if rep.present is None else rep.present
    notes = list(rep.notes)
    diverged = rep.history.diverged if rep.history is not None else ""
    if diverged or not np.isfinite(rep.latent[covered]).all():  # never scored as if it were a result
        why = diverged or "its latent holds NaN or infinite values"
        log.error("%s: %s; not clustered", name, why)
        return MethodResult(name, rep, algorithm, None, {**base, "notes": "; ".join([*notes, f"{why}; not scored"])})
    try:
        options = {"n_init": cfg.cluster.n_init} if algorithm == "kmeans" else {}
        res = cluster(algorithm, rep.latent[covered], k, seed=cfg.seed, sample_size=cfg.cluster.sample_size,
                      **options)
    except SongspaceError as exc:  # e.g. k > n: a row of NaN with the reason, not a crash
        log.error("%s: %s", name, exc)
        return MethodResult(name, rep, algorithm, None, {**base, "notes": "; ".join([*notes, str(exc)])})
    pred = np.full(len(rep.latent), -1, dtype=np.int64)
    pred[covered] = res.labels
    row = {**base, **score_clustering(pred, own_space=rep.latent, common_space=common, labels=labels,
                                      seed=cfg.seed, silhouette_sample=cfg.eval.silhouette_sample)}
    row["cluster_sample_size"] = "" if res.sample_size is None else int(res.sample_size)
    if res.sample_size is not None:
        notes.append(f"{algorithm} fitted on a seeded sample of {res.sample_size} tracks, extended to the rest")
    if not covered.all():
        notes.append(f"{int((~covered).sum())} tracks without lyrics left unassigned (-1, counted as noise)")
    notes += [n for n in (res.notes, row.get("notes", "")) if n]
    row["notes"] = "; ".join(notes)
    return MethodResult(name, rep, algorithm, pred, row, dict(res.params), res.model)


def beta_sweep(cfg: RunConfig, inputs: Inputs, k: int, common: np.ndarray, labels: dict[str, list[str]],
               learned: Sequence[Representation] = ()) -> list[dict[str, Any]]:
    """Train the representation whose settings hold a ``sweep`` (``beta_vae``'s) once per beta of it, that beta
    set as its own (the setting its spec's ``kl_beta`` names), and measure the trade-off: the validation
    reconstruction error and KL at the kept epoch, and the K-Means clustering of its latent scored as usual.
    The representation among ``learned`` (same seed, same settings) stands for its own beta instead of a
    retraining. [] without a sweep."""
    swept = registry.sweeps(cfg)
    if not swept:
        return []
    (name, betas), = swept.items()  # one at most: validate() refuses more
    setting = registry.get(name).kl_beta
    assert setting is not None, f"{name} sweeps no beta of its own"
    own = getattr(registry.settings(name, cfg), setting)
    rows = []
    trained = next((r for r in learned if r.name == name), None)
    for beta in betas:
        c = registry.with_settings(cfg, name, **{setting: beta})
        reuse = trained is not None and beta == own
        rep = trained if reuse else learn(name, inputs, c, {})
        assert rep.history is not None
        kept = (rep.history.val or rep.history.train)[rep.history.best_epoch]
        scored = cluster_and_score(c, rep, "kmeans", k, common, labels).row
        rows.append({"beta": float(beta), "seed": cfg.seed, "reconstruction": kept["reconstruction"],
                     "kl": kept["kl"], **{m: v for m, v in scored.items()
                                          if is_metric(m) and m not in ("noise_fraction", "n_clusters")}})
    return rows


def run_seed(cfg: RunConfig, inputs: Inputs, k: int, common: np.ndarray, labels: dict[str, list[str]], *,
             keep: bool = False, progress: Progress | None = None) -> SeedOutcome:
    """Everything one seed (``cfg.seed``) measures; ``keep`` returns the representations and clusterings too."""
    with one_thread(cfg.train.threads or 1):
        reps, notes = learn_all(inputs, cfg, progress=progress, k=k)
        results = []
        spaces = {}
        for rep in reps:  # how well each space keeps each label together, whatever clusterer is used on it
            covered = np.ones(len(rep.latent), dtype=bool) if rep.present is None else rep.present
            spaces[rep.name] = score_space(rep.latent[covered], {n: [v for v, c in zip(vals, covered, strict=True)
                                                                     if c] for n, vals in labels.items()},
                                           seed=cfg.seed)
        todo = [(r, a) for r in reps for a in cfg.cluster.algorithms]
        for j, (rep, algorithm) in enumerate(todo):
            result = cluster_and_score(cfg, rep, algorithm, k, common, labels)
            result.row.update(spaces[rep.name])
            results.append(result)
            if progress:
                progress("cluster", j + 1, len(todo))
        sweep = beta_sweep(cfg, inputs, k, common, labels, reps)
    rows = [{**r.row, "seed": cfg.seed} for r in results]
    seconds = {r.name: round(r.history.seconds, 2) for r in reps if r.history is not None}
    return SeedOutcome(cfg.seed, rows, sweep, notes, seconds, reps if keep else None, results if keep else None)


def _worker(cfg: RunConfig, inputs: Inputs, mel_path: str | None, k: int, common: np.ndarray,
            labels: dict[str, list[str]]) -> SeedOutcome:
    if mel_path is not None:  # reopen the memory-mapped log-mel here rather than pickle its contents
        inputs = replace(inputs, log_mel=np.load(mel_path, mmap_mode="r"))
    return run_seed(cfg, inputs, k, common, labels)


def _mel_path(log_mel: np.ndarray) -> str | None:
    """The file behind a memory-mapped ``.npy`` array (None for an array in memory)."""
    base = log_mel
    while base is not None and not isinstance(base, np.memmap):
        base = getattr(base, "base", None)
    name = getattr(base, "filename", None)
    if name is None or not str(name).endswith(".npy") or not os.path.exists(name):
        return None
    reopened = np.load(name, mmap_mode="r")
    return str(name) if reopened.shape == log_mel.shape else None


def seed_workers(cfg: RunConfig, n_seeds: int) -> int:
    """How many seeds run side by side: ``train.workers`` (0 = one per core), at most one per seed, and one on a
    GPU (the seeds would share it)."""
    from songspace.training import resolve_device

    if resolve_device(cfg.train.device).type != "cpu":
        return 1
    wanted = cfg.train.workers or os.cpu_count() or 1
    return max(1, min(wanted, n_seeds))


def seed_threads(cfg: RunConfig, workers: int) -> int:
    """CPU threads each seed trains with: ``train.threads``, or with 0 the cores shared out among ``workers``."""
    return cfg.train.threads or max(1, (os.cpu_count() or 1) // max(1, workers))


def run_seeds(cfg: RunConfig, inputs: Inputs, k: int, common: np.ndarray, labels: dict[str, list[str]], *,
              progress: Progress | None = None) -> Iterator[SeedOutcome]:
    """Run every seed of ``cfg``; yields the first seed's outcome (with its models) first, then the others as
    they finish. With more than one worker the other seeds run in worker processes while the first seed runs
    here."""
    seeds = seeds_of(cfg)
    workers = seed_workers(cfg, len(seeds))
    cfg = cfg.model_copy(deep=True)
    cfg.train.threads = seed_threads(cfg, workers)
    at = {s: cfg.model_copy(update={"seed": s}) for s in seeds}
    if workers == 1 or len(seeds) == 1:
        for j, s in enumerate(seeds):
            yield run_seed(at[s], inputs, k, common, labels, keep=j == 0, progress=progress if j == 0 else None)
            if progress:
                progress("seeds", j + 1, len(seeds))
        return
    mel_path = _mel_path(inputs.log_mel)
    payload = replace(inputs, log_mel=np.zeros((0,), np.float32)) if mel_path else inputs
    pool = process_pool(workers, spawn=True)
    try:
        futures = [pool.submit(_worker, at[s], payload, mel_path, k, common, labels) for s in seeds[1:]]
        yield run_seed(at[seeds[0]], inputs, k, common, labels, keep=True, progress=progress)
        done = 1
        if progress:
            progress("seeds", done, len(seeds))
        for fut in as_completed(futures):
            yield fut.result()
            done += 1
            if progress:
                progress("seeds", done, len(seeds))
    except BaseException:  # Ctrl-C or a failed seed: do not wait for the other seeds to finish
        end_workers(pool, grace_s=0.5)
        raise
    pool.shutdown()
