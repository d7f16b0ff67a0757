"""Tiny generated audio and dataset folders shared by the tests."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

SR = 22050


def tone(freq: float, seconds: float = 1.5, *, sr: int = SR, pulse_hz: float = 2.0, seed: int = 0) -> np.ndarray:
    """A pulsing tone with a little noise: real enough to give non-degenerate features. [shape=(n,)]"""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    env = 0.5 * (1 + np.sin(2 * np.pi * pulse_hz * t))
    y = 0.3 * env * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)
    return y.astype(np.float32)


def write_wav(path: Path, y: np.ndarray, sr: int = SR) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y, sr)
    return path


def write_metadata(root: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    columns = columns or list(rows[0])
    path = root / "metadata.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)
    return path


def make_dataset(root: Path, n: int = 12, *, seconds: float = 1.5) -> Path:
    """``n`` tracks in three sound classes (low/mid/high pitch, slow/medium/fast pulse), two languages."""
    rows = []
    for i in range(n):
        g = i % 3
        tid = f"t{i:02d}"
        write_wav(root / "audio" / f"{tid}.wav",
                  tone([220, 660, 1760][g] * (1 + 0.02 * (i % 5)), seconds, pulse_hz=[1.5, 4, 9][g], seed=i))
        rows.append({"track_id": tid, "title": f"song {i}", "artist": f"artist {i % 4}",
                     "language": ["en", "bn"][i % 2], "genre": ["low", "mid", "high"][g]})
        if i % 2:
            (root / "lyrics").mkdir(exist_ok=True)
            (root / "lyrics" / f"{tid}.txt").write_text("আমি তোমার গান গাই\nami tomar gan gai\n", encoding="utf-8")
    write_metadata(root, rows)
    return root


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "data")


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests away from the user's caches and matplotlib's display."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("SONGSPACE_DEMO_DIR", str(tmp_path_factory.getbasetemp() / "demo-cache"))
    monkeypatch.setenv("SONGSPACE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "feature-cache"))
    # Training checkpoints are per test: a test that trains twice and compares must not find its first training.
    monkeypatch.setenv("SONGSPACE_CHECKPOINT_DIR", str(tmp_path_factory.mktemp("training")))


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tiny tensors train faster on one thread (and the suite must stay quick on 2 shared cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# The start of every tiny run config in the tests: one seed, short clips, few mels, one feature worker. Tests
# append their own [features] keys first (this ends inside [features]), then their other tables.
TINY_RUN = """
n_seeds = 1
[features]
clip_seconds = 1.5
n_mels = 32
workers = 1
"""


# Four well-separated Gaussian blobs in 8-d, shared by the clustering and estimator tests.
BLOB_N, BLOB_D, BLOB_K = 160, 8, 4


@pytest.fixture(scope="session")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=BLOB_N, centers=BLOB_K, n_features=BLOB_D, cluster_std=1.0, center_box=(-10, 10),
                      random_state=0)
    return X.astype(np.float32), y


def tiny_run(root: Path, *, n: int = 9, representations: tuple[str, ...] = ("pca", "vae"),
             clusterers: tuple[str, ...] = ("kmeans", "gmm"), extra: str = "",
             edit_data: Callable[[Path], object] | None = None, **settings: Any) -> Path:
    """A finished tiny run folder of ``n`` generated tracks (about 10 s): for the commands that read a run.
    ``edit_data`` changes the dataset folder before the run; ``settings`` are config keys (``labels=[...]``)."""
    import json

    from songspace.config import load_config
    from songspace.runner import run_experiment

    data = make_dataset(root / "data", n=n)
    if edit_data is not None:
        edit_data(data)
    cfg_path = root / "tiny.toml"
    cfg_path.write_text(TINY_RUN + f'cache_dir = "{(root / "cache").as_posix()}"\n'
                        f'[representations]\nnames = {json.dumps(list(representations))}\n'
                        '[model]\nlatent_dim = 3\nhidden_dims = [16]\n[train]\nepochs = 2\nbatch_size = 4\n'
                        f'resume = false\n[cluster]\nalgorithms = {json.dumps(list(clusterers))}\nk = 3\n'
                        '[plots]\ntsne = false\numap = false\n' + extra, encoding="utf-8")
    cfg = load_config(cfg_path, data=str(data), out=str(root / "runs"), **settings)
    return run_experiment(cfg).folder


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny run (pca and vae, K-Means and GMM, 9 tracks) for the whole session: copy it before changing it."""
    return tiny_run(tmp_path_factory.mktemp("finished_run"))


BENGALI_TOPICS = {  # two topics of Bengali lyrics over one shared stock of little words: one language only
    "rain": "বৃষ্টি নদী মেঘ আকাশ ঝড় জল পাহাড় বন সবুজ মাটি ঢেউ নৌকা শ্রাবণ বাদল কদম ভেজা".split(),
    "love": "ভালোবাসা হৃদয় প্রেম চোখ স্বপ্ন রাত চাঁদ তারা মন হাসি কান্না বুকে প্রিয়া পরশ মিলন বিরহ".split(),
}
BENGALI_SHARED = "আমি তুমি আর এই সেই কোথায় যে না কেন শুধু আজ".split()


def make_bengali_topics(root: Path, n: int = 16) -> Path:
    """``n`` tracks whose lyrics are all Bengali, half about rain, half about love (label ``topic``); the audio is
    one tone for all, so only the words can tell the topics apart."""
    rng = np.random.default_rng(7)
    rows = []
    for i in range(n):
        topic = ["rain", "love"][i % 2]
        tid = f"b{i:02d}"
        write_wav(root / "audio" / f"{tid}.wav", tone(440, 1.5, seed=i))
        lines = [" ".join([*rng.choice(BENGALI_TOPICS[topic], 4), *rng.choice(BENGALI_SHARED, 2)]) for _ in range(6)]
        (root / "lyrics").mkdir(exist_ok=True)
        (root / "lyrics" / f"{tid}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        rows.append({"track_id": tid, "title": f"gan {i}", "topic": topic})
    write_metadata(root, rows)
    return root
