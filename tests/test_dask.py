"""Feature extraction on a Dask cluster (songspace.distributed): equal to the run without it, and absent without it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import tone, write_wav
from songspace.config import FeatureConfig
from songspace.distributed import check_scheduler
from songspace.errors import ConfigError
from songspace.features import extract_features


def cfg_for(root: Path, **kw) -> FeatureConfig:
    return FeatureConfig(**{"cache_dir": str(root / "cache"), "clip_seconds": 1.0, "n_mels": 32, "workers": 2,
                            "batch_size": 3, **kw})


def test_without_a_scheduler_nothing_of_dask_is_imported(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav", tone(440, 1.5))
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        import songspace.runner, songspace.cli  # everything a run imports
        from songspace.config import FeatureConfig
        from songspace.features import extract_features
        cfg = FeatureConfig(cache_dir={str(tmp_path / "cache")!r}, clip_seconds=1.0, n_mels=32, workers=1)
        feats = extract_features([Path({str(tmp_path / "a.wav")!r})], ["a"], cfg, device="cpu")
        assert feats.track_ids == ["a"]
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_scheduler_is_checked() -> None:
    assert check_scheduler("local:2") == "local:2"
    assert check_scheduler("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    for bad in ("local:0", "local", "10.0.0.5:8786", "tcp:/x"):
        with pytest.raises(ConfigError, match="expected \"local:N\""):
            check_scheduler(bad)
    with pytest.raises(ConfigError, match="expected"):
        extract_features([Path("x.wav")], ["x"], cfg_for(Path("/nonexistent")), scheduler="localhost")


def test_two_worker_cluster_equals_the_serial_path_exactly(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    paths = [write_wav(tmp_path / f"{i}.wav", tone(250 + 80 * i, 1.5, seed=i)) for i in range(6)]
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt garbage")
    paths.insert(3, broken)
    ids = [p.stem for p in paths]
    serial = extract_features(paths, ids, cfg_for(tmp_path / "serial"), device="cpu")
    on_dask = extract_features(paths, ids, cfg_for(tmp_path / "dask"), device="cpu", scheduler="local:2")
    assert on_dask.track_ids == serial.track_ids and len(on_dask.track_ids) == 6
    assert [(p.path, p.reason) for p in on_dask.failed] == [(p.path, p.reason) for p in serial.failed]
    np.testing.assert_array_equal(np.asarray(on_dask.log_mel), np.asarray(serial.log_mel))
    np.testing.assert_array_equal(np.asarray(on_dask.stats), np.asarray(serial.stats))
    assert on_dask.n_computed == 7
    # The cache it wrote is the one a run without Dask reads: nothing to compute, failure included.
    again = extract_features(paths, ids, cfg_for(tmp_path / "dask"), device="cpu")
    assert again.n_computed == 0 and again.n_cached == 7
