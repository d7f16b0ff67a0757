"""songspace assign: a run saves what places new tracks (state/*.npz), and placing the run's own tracks gives back its
assignments; songspace.clustering.placing rebuilds each clusterer's rule from arrays alone."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import TINY_RUN, make_dataset, tone, write_wav
from songspace import representations as registry
from songspace.assign import assign, plan, why_not_assignable
from songspace.cli import app
from songspace.clustering import cluster
from songspace.clustering.placing import NearestCentroid, Reduced, cluster_state, placer
from songspace.config import load_config
from songspace.errors import ConfigError, RunError

METHODS = ["pca", "features", "mfcc_stats", "log_mel_flat", "vae", "conv_vae", "lyrics"]
ASSIGNABLE = [m for m in METHODS if m != "lyrics"]
CLUSTERERS = ["kmeans", "gmm", "agglomerative_ward", "dbscan"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny run of 12 tracks (3 sound classes), made once for this module."""
    from songspace.runner import run_experiment

    root = tmp_path_factory.mktemp("assign")
    data = make_dataset(root / "data", n=12)
    cache = (root / "cache").as_posix()
    cfg_path = root / "tiny.toml"
    cfg_path.write_text(TINY_RUN + f'cache_dir = "{cache}"\n[representations]\nnames = {json.dumps(METHODS)}\n'
                        '[model]\nlatent_dim = 3\nhidden_dims = [16]\nchannels = [4, 8]\ntime_frames = 16\n'
                        '[train]\nepochs = 3\nbatch_size = 4\nresume = false\n'
                        f'[cluster]\nalgorithms = {json.dumps(CLUSTERERS)}\nk = 3\n'
                        '[plots]\ntsne = false\numap = false\n', encoding="utf-8")
    cfg = load_config(cfg_path, data=str(data), out=str(root / "runs"))
    return run_experiment(cfg).folder


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _data(run_dir: Path) -> Path:
    return Path(json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["dataset"])


def test_a_run_saves_the_state_of_each_assignable_representation_and_clustering(run_dir: Path) -> None:
    for rep in ASSIGNABLE:
        with np.load(run_dir / "state" / f"{rep}.npz", allow_pickle=False) as npz:  # plain arrays, no pickle
            assert {"mean", "scale"} <= set(npz.files) or {"stats_mean", "stats_scale"} <= set(npz.files), rep
        for c in CLUSTERERS:
            with np.load(run_dir / "state" / f"{rep}+{c}.npz", allow_pickle=False) as npz:
                assert str(npz["clusterer"]) == c
    assert not (run_dir / "state" / "lyrics.npz").exists()
    p = plan(run_dir)
    assert set(p.assignable) == {f"{r}+{c}" for r in ASSIGNABLE for c in CLUSTERERS}
    assert "lyrics" in p.reasons["lyrics+kmeans"]


def test_assigning_the_runs_own_tracks_reproduces_its_assignments(run_dir: Path) -> None:
    result = assign(run_dir, _data(run_dir))
    assert result.folder.parent == run_dir / "assigned" and result.n_tracks == 12
    assert "lyrics+kmeans" in result.not_assignable and not result.approximate
    got = {r["track_id"]: r for r in _csv(result.folder / "assignments.csv")}
    want = {r["track_id"]: r for r in _csv(run_dir / "assignments.csv")}
    assert got.keys() == want.keys()
    assert all(got[t]["audio_path"] == want[t]["audio_path"] == f"audio/{t}.wav" for t in got)
    for m in result.methods:
        if m.endswith("+dbscan"):
            continue
        assert [got[t][m] for t in want] == [want[t][m] for t in want], m
        conf = np.array([float(got[t][f"{m}_confidence"]) for t in want])
        assert ((conf >= 0) & (conf <= 1)).all(), m
    # DBSCAN: every core point (a stored point of its state) is placed exactly, with confidence 1
    for rep in ASSIGNABLE:
        latent = np.load(run_dir / "latents" / f"{rep}.npy")
        with np.load(run_dir / "state" / f"{rep}+dbscan.npz", allow_pickle=False) as st:
            core = [i for i, z in enumerate(latent) if np.isclose(st["points"], z, atol=1e-6).all(1).any()]
        assert core, rep
        ids = list(want)
        m = f"{rep}+dbscan"
        assert [got[ids[i]][m] for i in core] == [want[ids[i]][m] for i in core]
        assert all(float(got[ids[i]][f"{m}_confidence"]) > 0.999 for i in core)


def test_new_tracks_are_embedded_as_the_run_embeds_its_own(run_dir: Path) -> None:
    """embed_new of the run's own tracks gives the latents the run saved."""
    from songspace.features import extract_features
    from songspace.models import load_model
    from songspace.representations.base import Inputs
    from songspace.runfolder import read_run_config

    cfg = read_run_config(run_dir)
    paths = sorted((_data(run_dir) / "audio").glob("*.wav"))
    feats = extract_features(paths, [p.stem for p in paths], cfg.features)
    assert feats.n_computed == 0  # the run's feature cache
    inputs = Inputs(stats=np.asarray(feats.stats, np.float32), log_mel=feats.log_mel, n_mfcc=cfg.features.n_mfcc,
                    stat_names=list(feats.stat_names))
    for rep in ASSIGNABLE:
        spec = registry.get(rep)
        with np.load(run_dir / "state" / f"{rep}.npz", allow_pickle=False) as npz:
            state = dict(npz)
        model = load_model(run_dir / "models" / f"{rep}.pt") if spec.learned else None
        Z = spec.embed_new(state, model, inputs)
        np.testing.assert_allclose(Z, np.load(run_dir / "latents" / f"{rep}.npy"), rtol=0, atol=1e-5, err_msg=rep)


def test_new_tracks_get_a_cluster_of_the_run_and_a_confidence(run_dir: Path, tmp_path: Path) -> None:
    new = tmp_path / "new"
    for i, (freq, pulse) in enumerate([(250, 1.5), (700, 4.0), (1600, 9.0), (440, 6.0), (3000, 2.5)]):
        write_wav(new / f"new{i}.wav", tone(freq, 1.5, pulse_hz=pulse, seed=100 + i))
    (new / "broken.wav").write_bytes(b"RIFF not audio")
    result = assign(run_dir, new, out=tmp_path / "out", methods=["vae", "pca+kmeans"])
    assert result.folder.parent == tmp_path / "out"
    assert result.methods == ["vae+kmeans", "vae+gmm", "vae+agglomerative_ward", "vae+dbscan", "pca+kmeans"]
    rows = _csv(result.folder / "assignments.csv")
    assert [r["track_id"] for r in rows] == [f"new{i}" for i in range(5)] and result.problems == 1
    run_rows = _csv(run_dir / "assignments.csv")
    for m in result.methods:
        clusters = {r[m] for r in run_rows} | {"-1"}
        assert all(r[m] in clusters for r in rows), m
        conf = np.array([float(r[f"{m}_confidence"]) for r in rows])
        assert ((conf >= 0) & (conf <= 1)).all(), m
        assert all(float(r[f"{m}_confidence"]) == 0 for r in rows if r[m] == "-1")
    summary = json.loads((result.folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["tracks"] == 5 and summary["methods"] == result.methods


def test_methods_that_cannot_be_assigned_are_refused_by_name(run_dir: Path) -> None:
    with pytest.raises(ConfigError, match="lyrics\\+kmeans is not assignable: reads lyrics"):
        assign(run_dir, _data(run_dir), methods=["lyrics+kmeans"])
    with pytest.raises(ConfigError, match="got 'nosuch\\+kmeans'"):
        assign(run_dir, _data(run_dir), methods=["nosuch+kmeans"])
    with pytest.raises(RunError, match="no such run folder"):
        assign(run_dir / "nope", _data(run_dir))
    assert "conditioned" in why_not_assignable(registry.get("cvae"))
    for name in ("pca", "features", "mfcc_stats", "log_mel_flat", "vae", "autoencoder", "beta_vae", "conv_vae",
                 "mfcc_vae", "beta_conv_vae", "vade", "idec"):
        assert registry.get(name).assignable, name
    for name in ("lyrics", "hybrid", "cvae", "poe_vae", "n2d"):
        assert not registry.get(name).assignable, name


def test_cli_assign_prints_where_and_fails_in_one_line(run_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["assign", str(run_dir), str(_data(run_dir)), "--out", str(tmp_path), "-m", "pca"])
    assert res.exit_code == 0, res.output
    assert "12 track(s) placed by 4 method(s)" in res.output and "assignments.csv" in res.output
    for args, message in ((["assign", str(tmp_path / "none"), str(_data(run_dir))], "no such run folder"),
                          (["assign", str(run_dir), str(_data(run_dir)), "-m", "x+y"], "-m/--method must be"),
                          (["assign", str(run_dir), str(_data(run_dir)), "-m", "lyrics"], "is not assignable")):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        lines = [x for x in res.output.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], res.output


# --- cluster_state: each clusterer's rule rebuilt from arrays -------------------------------------------------------


def _blobs(n: int = 90, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    return (centres[np.arange(n) % 3] + rng.normal(0, 0.8, (n, 2))).astype(np.float32)


def _roundtrip(state: dict) -> dict:
    """Through an npz file read without pickle, as a run folder keeps it."""
    import io

    buf = io.BytesIO()
    np.savez(buf, **state)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as npz:
        return dict(npz)


@pytest.mark.parametrize("name", ["kmeans", "gmm", "agglomerative_ward", "agglomerative_average", "dbscan",
                                  "hdbscan"])
def test_a_saved_clustering_places_points_as_its_fitted_model_does(name: str) -> None:
    X, Y = _blobs(), _blobs(40, seed=1) + np.float32(0.5)
    res = cluster(name, X, 3, seed=0)
    state = _roundtrip(cluster_state(name, res.model, X, res.labels, res.params))
    pred = placer(state)
    labels, conf = pred.place(Y)
    assert np.array_equal(labels, res.model.predict(Y))  # the run's own rule for points it did not fit on
    assert ((conf >= 0) & (conf <= 1)).all() and (conf[labels == -1] == 0).all()
    own, _ = pred.place(X)
    if name == "dbscan":  # core points exactly (a border point takes the nearest core point's cluster)
        core = res.model.predict(X) == res.labels
        assert np.array_equal(own[core], res.labels[core])
    else:
        assert np.array_equal(own, res.labels)  # the run's own points get their clusters back
    far, far_conf = pred.place(np.array([[100.0, 100.0]]))
    if name in ("dbscan", "hdbscan"):
        assert far[0] == -1 and far_conf[0] == 0


@pytest.mark.parametrize("name", ["agglomerative_ward", "agglomerative_average"])
def test_a_tree_gives_its_own_points_their_clusters_where_the_nearest_centroid_would_not(name: str) -> None:
    rng = np.random.default_rng(0)
    X = (np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])[np.arange(90) % 3] + rng.normal(0, 2.0, (90, 2)))
    res = cluster(name, X.astype(np.float32), 3, seed=0)
    assert (res.model.predict(X) != res.labels).any()  # the tree put a point nearer another centroid
    own, conf = placer(_roundtrip(cluster_state(name, res.model, X, res.labels))).place(X)
    assert np.array_equal(own, res.labels) and ((conf >= 0) & (conf <= 1)).all()
    assert (conf[res.model.predict(X) != res.labels] == 0).all()


def test_centroid_confidence_is_one_on_a_centroid_and_zero_half_way() -> None:
    fitted = NearestCentroid(np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0]]), np.arange(3))  # a K-Means's
    state = cluster_state("kmeans", fitted, np.zeros((1, 2)), np.zeros(1))
    labels, conf = placer(state).place(np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.0], [9.0, 9.0]]))
    assert labels.tolist() == [0, 0, 0, 2] or labels.tolist() == [0, 1, 0, 2]
    np.testing.assert_allclose(conf[:3], [1.0, 0.0, 1 - 0.5 / 1.5])


def test_a_density_clustering_on_a_reduction_is_kept_approximately_in_the_space() -> None:
    """A UMAP reduction cannot be saved as arrays: the run's points keep their labels, new points take the nearest
    one's label within its neighbourhood radius, and the state says it is approximate."""

    class Reducer:  # what a fitted UMAP looks like to the placer (its transform is never called here)
        n_neighbors = 5

    X = _blobs()
    labels = np.where(np.arange(len(X)) % 10 == 0, -1, np.arange(len(X)) % 3)
    reduced = Reduced(Reducer(), X, X[:, :1], labels)
    state = _roundtrip(cluster_state("hdbscan", reduced, X, labels, {"min_samples": 5}))
    assert bool(state["approximate"])
    own, _ = placer(state).place(X)
    assert np.array_equal(own, labels)
    far, conf = placer(state).place(np.array([[50.0, -50.0]]))
    assert far[0] == -1 and conf[0] == 0
    with pytest.raises(ValueError, match=r"'kmeans': its fitted model \(object\) cannot be saved"):
        cluster_state("kmeans", object(), X, labels)  # a model it cannot read: an error, never a silent None


@pytest.mark.parametrize(("name", "edit", "problem"), [
    ("kmeans", {"centroids": np.zeros((3, 7))}, r"array 'centroids' has shape \(3, 7\), expected \(n, 2\)"),
    ("kmeans", {"classes": np.array([0, 1])}, r"array 'classes' has shape \(2,\), expected \(3,\)"),
    ("agglomerative_ward", {"labels": np.full(90, 7)}, "'labels' holds clusters that 'classes' does not list"),
    ("gmm", {"means": np.full((3, 2), np.nan)}, "array 'means' holds NaN or infinite values"),
    ("gmm", {"weights": None}, "no array 'weights'"),
    ("gmm", {"covariance_type": np.array("round")}, "unknown covariance_type 'round'"),
    ("hdbscan", {"radius": np.ones(4)}, r"array 'radius' has shape \(4,\), expected \(\) or \(90,\)"),
    ("dbscan", {"points": np.array(["a", "b"])}, "array 'points' holds <U1 values, not numbers"),
    ("kmeans", {"dim": np.array("two")}, "'dim' is not a whole number"),
    ("kmeans", {"kind": np.array("octree")}, "unknown clustering state kind 'octree'"),
])
def test_a_damaged_saved_clustering_is_refused_naming_what_is_wrong(name: str, edit: dict, problem: str) -> None:
    """A hand-edited or damaged state file: one ValueError saying what does not fit, never a numpy or scikit-learn
    error from inside the placer (``songspace assign`` names the file beside it)."""
    X = _blobs()
    res = cluster(name, X, 3, seed=0)
    state = _roundtrip(cluster_state(name, res.model, X, res.labels, res.params))
    placer(state)  # intact: accepted
    for key, value in edit.items():
        if value is None:
            del state[key]
        else:
            state[key] = value
    with pytest.raises(ValueError, match=problem):
        placer(state)
