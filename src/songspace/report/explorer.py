"""explorer.html of a run folder: its latent spaces to browse and listen to, opened from disk, offline.

Reads ``assignments.csv``, ``latents/*.npy``, ``projections/*.npz`` (and, when present, ``summary.json`` and
``metrics.csv``), writes a short clip of each shown track into ``clips/<row>.ogg`` and the page into
``explorer.html`` (both through :class:`~songspace.runfolder.RunFolder`), which refers to the clips by relative
path: the folder can be moved or zipped whole. Nothing else in the run folder is written or changed.

Memory and time stay bounded on a large collection: ``assignments.csv`` is streamed twice (count, then keep the
shown rows), latents are memory-mapped and only the sampled rows read, and at most ``max_points`` points per view
are drawn and given a clip. Old run folders (no ``audio_path``, no ``projections/``, no ``summary.json``) still
give a page: without projections a t-SNE of a sample is computed here (O(m log m) in the sample, not the
collection); without audio paths points have no clip and say so.
"""

from __future__ import annotations

import io
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

from songspace.errors import AudioDecodeError, ConfigError, RunError
from songspace.features.audio import load_clip
from songspace.runfolder import (
    CLIPS,
    EXPLORER_HTML,
    RunFolder,
    audio_source,
    label_columns,
    load_latent,
    load_projection,
    method_representations,
    read_assignment_rows,
    read_summary,
    scan_assignments,
    view_sources,
)
from songspace.visualisation.explorer import ExplorerData, ExplorerPoint, ExplorerView, explorer_html
from songspace.visualisation.figures import project_2d

log = logging.getLogger(__name__)

CLIP_SR = 16000  # plenty to recognise a song; keeps 2000 eight-second clips near 30 MB
MAX_CLIP_WARNINGS = 10  # then one count: a moved audio folder should not flood the log with 2000 lines
CLIP_NAME = re.compile(r"^\d+\.ogg$")  # the clips this module writes (and may delete)


def _pick(candidates: np.ndarray, chosen: set[int], max_points: int, seed: int) -> np.ndarray:
    """Positions in ``candidates`` of at most ``max_points`` rows, rows already shown in another view first, so
    that views share their points (and their clips). [shape=(<= max_points,)]"""
    if len(candidates) <= max_points:
        return np.arange(len(candidates))
    rng = np.random.default_rng(seed)
    known = np.flatnonzero(np.isin(candidates, np.fromiter(chosen, dtype=np.int64, count=len(chosen))))
    if len(known) >= max_points:
        return np.sort(rng.choice(known, size=max_points, replace=False))
    rest = np.setdiff1d(np.arange(len(candidates)), known, assume_unique=True)
    return np.sort(np.concatenate([known, rng.choice(rest, size=max_points - len(known), replace=False)]))


def _write_clip(src: Path, folder: RunFolder, rel: str, clip_seconds: float) -> str | None:
    """The middle ``clip_seconds`` of ``src`` (or all of it when shorter), mono at 16 kHz, as OGG Vorbis in ``rel``.

    Returns None when written, else why not (for the log).
    """
    try:
        seconds = min(clip_seconds, float(sf.info(str(src)).duration))
    except Exception:  # a format libsndfile cannot read: load_clip goes through audioread, which finds out
        seconds = clip_seconds
    try:
        y = load_clip(src, sr=CLIP_SR, clip_seconds=max(seconds, 0.1), min_seconds=0.05)
    except AudioDecodeError as exc:
        return str(exc)
    buf = io.BytesIO()
    try:
        sf.write(buf, np.clip(y, -1.0, 1.0), CLIP_SR, format="OGG", subtype="VORBIS")
        folder.write_bytes(rel, buf.getvalue())
    except Exception as exc:  # an encoder error, or RunError (disk full) naming the file
        return f"{rel}: cannot write this clip ({type(exc).__name__}: {exc})"
    return None


def _write_clips(run_dir: Path, rows: dict[int, dict[str, str]], clip_seconds: float,
                 dataset: str | None) -> dict[int, str]:
    """A clip per row that names a decodable audio file inside the run's dataset folder: row -> URL relative to
    explorer.html.

    Threads, one per core: decoding, resampling and Vorbis encoding run in C with the GIL released (about 50 ms
    a clip on one core; 2000 clips take under a minute on two).
    """
    folder = RunFolder.open(run_dir)
    clips_dir = run_dir / CLIPS
    wanted = sorted((i, p) for i, r in rows.items() if (p := audio_source(r.get("audio_path", ""), dataset)))
    urls: dict[int, str] = {}
    if wanted and clip_seconds > 0:
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            done = pool.map(lambda job: _write_clip(job[1], folder, f"{CLIPS}/{job[0]}.ogg", clip_seconds), wanted)
            failed = 0
            for k, ((i, _), why) in enumerate(zip(wanted, done, strict=True)):
                if why is None:
                    urls[i] = f"{CLIPS}/{i}.ogg"
                else:
                    failed += 1
                    if failed <= MAX_CLIP_WARNINGS:
                        log.warning("explorer: no clip for row %d of assignments.csv: %s", i, why)
                if (k + 1) % 500 == 0:
                    log.info("explorer clips: %d of %d", k + 1, len(wanted))
        if failed > MAX_CLIP_WARNINGS:
            log.warning("explorer: %d tracks in all have no clip (%d more not listed); if the audio was moved since "
                        "the run, their points say so but the rest of the page works", failed,
                        failed - MAX_CLIP_WARNINGS)
    if clips_dir.is_dir():  # clips of an earlier page that this one no longer shows
        for f in clips_dir.iterdir():
            if CLIP_NAME.match(f.name) and int(f.stem) not in urls:
                f.unlink()
    return urls


def _cluster_ids(rows: dict[int, dict[str, str]], method: str, idx: np.ndarray) -> np.ndarray | None:
    """Cluster id of each row of ``idx`` under ``method``, -1 = noise or not placed; None when it failed."""
    values = [rows[int(i)].get(method, "") for i in idx]
    if not any(values):
        return None  # empty column: the method failed
    ids = np.full(len(idx), -1, dtype=np.int64)
    for j, v in enumerate(values):
        try:
            ids[j] = int(float(v))
        except ValueError:
            pass
    return ids


def _subtitle(n_shown: int, n_total: int, n_clips: int, dataset: str) -> str:
    shown = f"{n_shown:,} tracks" if n_shown == n_total else f"{n_shown:,} of {n_total:,} tracks (seeded sample)"
    clips = f"{n_clips:,} with an audio clip" if n_clips else "no audio clips (the run does not record audio paths)"
    return " · ".join(x for x in (dataset, shown, clips) if x)


def write_explorer(run_dir: Path, *, max_points: int = 2000, clip_seconds: float = 8.0, seed: int = 0) -> Path:
    """Write ``explorer.html`` and ``clips/`` into the run folder ``run_dir``; return the page's path.

    Parameters
    ----------
    run_dir : Path
        A run folder (see ``songspace.runner``).
    max_points : int
        Most points drawn per view; a larger projection or collection is sampled (seeded), the same rows in
        every view where the run's projections allow it.
    clip_seconds : float
        Length of each track's clip, taken from the middle of the track; 0 writes no clips.
    seed : int
        Fixes the sample and any t-SNE computed here.

    Raises
    ------
    RunError
        ``run_dir`` has no readable ``assignments.csv``, or the page or its clips cannot be written.
    ConfigError
        ``max_points`` < 1 or ``clip_seconds`` < 0.
    """
    if max_points < 1 or clip_seconds < 0:
        raise ConfigError(f"write_explorer: max_points must be >= 1 and clip_seconds >= 0 (got {max_points} and "
                          f"{clip_seconds}); pass e.g. max_points=2000, clip_seconds=8.")
    run_dir = Path(run_dir)
    table = scan_assignments(run_dir)
    if not table.columns:
        raise RunError(f"{table.path}: empty file (no header); the run did not finish. Rerun the experiment.")
    summary = read_summary(run_dir)
    methods = method_representations(run_dir, table.columns, summary)
    labels = label_columns(table.columns, methods, summary)
    order = [str(r) for r in summary.get("representations", []) if isinstance(r, str)]

    # Choose each view's points before reading any row: then only the shown rows are read.
    chosen: set[int] = set()
    planned: list[tuple[str, str, np.ndarray, np.ndarray | None, str]] = []  # rep, proj, rows, xy, note
    for rep, proj, npz in view_sources(run_dir, order):
        if npz is not None:
            loaded = load_projection(npz, table.n_rows)
            if loaded is None:
                continue
            index, xy = loaded
            keep = _pick(index, chosen, max_points, seed)
            planned.append((rep, proj, index[keep], xy[keep], ""))
        else:
            z = load_latent(run_dir, rep, table.n_rows)
            if z is None:
                continue
            sample = np.arange(table.n_rows)[_pick(np.arange(table.n_rows), chosen, max_points, seed)]
            planned.append((rep, proj, sample, None, "t-SNE computed for this page (the run saved no projection)"))
        chosen.update(int(i) for i in planned[-1][2])

    rows = read_assignment_rows(table, chosen)
    order_rows = sorted(chosen)
    position = {r: k for k, r in enumerate(order_rows)}
    try:
        dataset = str(summary["dataset"]) if summary.get("dataset") else None
        urls = _write_clips(run_dir, rows, clip_seconds, dataset) if "audio_path" in table.columns else {}
    except OSError as exc:
        raise RunError(f"{run_dir / CLIPS}: cannot write the explorer's clips ({exc}); check the folder's "
                       "permissions and free space, or pass clip_seconds=0.") from exc
    points = [ExplorerPoint(track_id=rows[r].get("track_id") or str(r), title=rows[r].get("title", ""),
                            artist=rows[r].get("artist", ""), labels={n: rows[r].get(n, "") for n in labels},
                            clip=urls.get(r)) for r in order_rows]

    views = []
    for rep, proj, idx, xy, note in planned:
        if xy is None:
            z = load_latent(run_dir, rep, table.n_rows)
            log.info("explorer: computing a t-SNE of %s on %d points", rep, len(idx))
            xy = project_2d(np.asarray(z[idx], dtype=np.float32), "tsne", seed=seed)
        clusters = {m: ids for m, r in methods.items() if r == rep
                    and (ids := _cluster_ids(rows, m, idx)) is not None}
        views.append(ExplorerView(representation=rep, technique=proj, xy=xy, clusters=clusters, note=note,
                                  points=np.array([position[int(i)] for i in idx], dtype=np.int64)))
    if not views:
        log.warning("%s: no latents/*.npy or projections/*.npz to draw; explorer.html says so", run_dir)

    name = summary.get("title") or summary.get("experiment") or run_dir.name
    dataset = Path(str(summary["dataset"])).name if summary.get("dataset") else ""
    data = ExplorerData(points=points, views=views, label_names=labels, title=f"{name} — latent space explorer",
                        subtitle=_subtitle(len(points), table.n_rows, len(urls), dataset))
    RunFolder.open(run_dir).write_text(EXPLORER_HTML, explorer_html(data))
    out = run_dir / EXPLORER_HTML
    log.info("explorer: %s (%d points, %d views, %d clips)", out, len(points), len(views), len(urls))
    return out
