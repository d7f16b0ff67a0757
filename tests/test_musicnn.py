"""musicnn in PyTorch (features/musicnn.py), its checkpoint reader (features/tf_checkpoint.py) and its weights
(features/weights.py).

The reference outputs in tests/data/musicnn_reference.npz were computed once by musicnn's own TensorFlow code
(scripts/musicnn_reference.py, versions in its header). The weights come from the musicnn 0.1.0 wheel through
``fetch_musicnn()`` once per session (cached in the weights dir); without a registry or cache those tests skip.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from songspace.errors import CheckpointError, WeightsError
from songspace.features import weights as weights_module
from songspace.features.encoders import AudioEncoder
from songspace.features.musicnn import PATCH_FRAMES, MusicnnEncoder, log_mel, mel_basis, patches_of, tag_names
from songspace.features.tf_checkpoint import read_checkpoint

REFERENCE = Path(__file__).parent / "data" / "musicnn_reference.npz"
MODELS = ("MSD_musicnn", "MTT_musicnn")
TOL = 1e-4  # the bar: max abs difference to musicnn's own outputs


@pytest.fixture(scope="session")
def musicnn_root() -> Path:
    try:
        return weights_module.fetch_musicnn()
    except WeightsError as exc:
        pytest.skip(f"musicnn weights unavailable (no registry and no cached wheel): {exc}")


@pytest.fixture(scope="session")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="session")
def encoders(musicnn_root: Path) -> dict[str, MusicnnEncoder]:
    return {m: MusicnnEncoder(m, device="cpu", weights_dir=musicnn_root / m) for m in MODELS}


def _clips(reference: dict[str, np.ndarray]) -> list[np.ndarray]:
    # librosa.load of a 16-bit WAV gives int16 / 32768 exactly
    return [reference[f"clip{i}"].astype(np.float32) / 32768 for i in range(int(reference["n_clips"]))]


def _reference_input(reference: dict[str, np.ndarray]) -> torch.Tensor:
    """musicnn's input patches: with numpy < 2, ``10000 * float16`` is computed in float32."""
    return torch.from_numpy(np.log10(10000 * reference["mel16"].astype(np.float32) + 1))


@pytest.mark.parametrize("model", MODELS)
def test_network_matches_tensorflow(encoders, reference, model):
    with torch.inference_mode():
        out = encoders[model].network(_reference_input(reference))
    for layer in ("taggram", "penultimate"):
        diff = np.abs(out[layer].numpy() - reference[f"{model}/{layer}"]).max()
        assert diff <= TOL, f"{model} {layer}: max abs difference {diff:.2e}"
    for layer in ("mean_pool", "max_pool"):  # sums over 187 frames of values up to ~100: relative tolerance
        ref = reference[f"{model}/{layer}"]
        np.testing.assert_allclose(out[layer].numpy(), ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


@pytest.mark.parametrize("model", MODELS)
def test_clips_to_outputs_match_tensorflow(encoders, reference, model):
    """End to end from the waveform: the torch log-mel, patching and network against musicnn's extractor."""
    enc = encoders[model]
    patches = torch.cat([enc.patches(clip) for clip in _clips(reference)])
    assert patches.shape == reference["mel16"].shape
    with torch.inference_mode():
        out = enc.network(patches)
    for layer in ("taggram", "penultimate"):
        diff = np.abs(out[layer].numpy() - reference[f"{model}/{layer}"]).max()
        assert diff <= TOL, f"{model} {layer}: max abs difference {diff:.2e}"


def test_spectral_timbral_path_equals_direct_convolution(encoders, reference):
    """The default front end (timbral convolutions through the mel DFT) against the plain convolutions, on the
    reference patches and on louder random ones."""
    net = encoders["MTT_musicnn"].network
    noise = 6 * torch.rand(3, PATCH_FRAMES, 96, generator=torch.Generator().manual_seed(0))
    x = torch.cat([_reference_input(reference), noise])
    with torch.inference_mode():
        spectral, direct = net(x), net(x, direct=True)
    for layer, values in direct.items():
        scale = float(values.abs().max())
        np.testing.assert_allclose(spectral[layer].numpy(), values.numpy(), rtol=1e-5, atol=2e-6 * scale,
                                   err_msg=layer)


def test_log_mel_matches_librosa_float16_rounding(reference):
    """The mel power musicnn rounds to float16: ours (torch, float64) lands on the same float16 value but for rare
    ties at a rounding boundary (librosa computes in float32)."""
    basis = torch.from_numpy(mel_basis())
    ours = torch.cat([patches_of(log_mel(torch.from_numpy(c), basis)) for c in _clips(reference)]).numpy()
    theirs = _reference_input(reference).numpy()
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    assert np.mean(ours == theirs) > 0.8  # the rest: torch's and numpy's float32 log10 differ by an ulp
    assert np.mean(np.abs(ours - theirs) > 1e-5) < 1e-3  # float16 ties: a handful of 89760 values
    np.testing.assert_allclose(ours, theirs, atol=1e-3)  # one float16 step of the mel, through the log


def test_patching_follows_musicnn():
    frames = torch.arange(10 * 96, dtype=torch.float32).reshape(10, 96)
    short = patches_of(frames)  # fewer frames than a patch: repeated to fill one
    assert short.shape == (1, PATCH_FRAMES, 96)
    torch.testing.assert_close(short[0, 10:20], frames)
    basis = torch.from_numpy(mel_basis())
    for seconds, n_patches in ((3.0, 1), (5.9, 1), (6.0, 2), (10.0, 3)):
        y = torch.zeros(int(seconds * 16000))
        mel = log_mel(y, basis)
        assert mel.shape == (1 + y.numel() // 256, 96)
        assert patches_of(mel).shape[0] == n_patches, seconds  # non-overlapping, last partial patch dropped
    with pytest.raises(ValueError, match="empty"):
        patches_of(torch.zeros(0, 96))


@pytest.mark.parametrize(("layer", "pooling", "dim"), [
    ("penultimate", "mean", 200), ("penultimate", "mean+std", 400), ("taggram", "mean", 50),
    ("pooled", "mean", 1506), ("pooled", "mean+std", 3012),
])
def test_embed_shapes(musicnn_root, reference, layer, pooling, dim):
    enc = MusicnnEncoder("MSD_musicnn", layer=layer, pooling=pooling, device="cpu",
                         weights_dir=musicnn_root / "MSD_musicnn")
    assert isinstance(enc, AudioEncoder) and enc.sample_rate == 16000 and enc.dim == dim
    clips = _clips(reference)[:2]
    out = enc.embed(clips)
    assert out.shape == (2, dim) and out.dtype == np.float32 and np.isfinite(out).all()
    if layer == "taggram":
        assert ((out >= 0) & (out <= 1)).all()
    if pooling == "mean":  # clip 1 has two patches: the mean of the reference's two rows
        ref_name = {"penultimate": "penultimate", "taggram": "taggram"}.get(layer)
        if ref_name:
            expected = reference[f"MSD_musicnn/{ref_name}"][reference["clip_index"] == 1].mean(0)
            np.testing.assert_allclose(out[1], expected, atol=TOL)
    assert enc.embed([]).shape == (0, dim)


@pytest.mark.parametrize("batch_patches", [1, 3, 64])
def test_each_clip_alone(musicnn_root, reference, batch_patches):
    """A clip's vector does not depend on the other clips embedded with it (inference-mode batch norm), whether
    their patches share forward passes or not."""
    enc = MusicnnEncoder("MSD_musicnn", pooling="mean+std", device="cpu", batch_patches=batch_patches,
                         weights_dir=musicnn_root / "MSD_musicnn")
    clips = _clips(reference)
    together = enc.embed([clips[2], *clips, clips[0][:20000]])  # the last one shorter than a patch
    for i, clip in enumerate(clips):
        np.testing.assert_allclose(enc.embed([clip])[0], together[i + 1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(together[0], together[3], rtol=1e-5, atol=1e-5)


def test_cache_key_names_everything(encoders, musicnn_root):
    key = encoders["MSD_musicnn"].cache_key()
    assert {"model", "layer", "pooling", "weights", "code_version"} <= set(key)
    assert key["weights"] != encoders["MTT_musicnn"].cache_key()["weights"]
    other = MusicnnEncoder("MSD_musicnn", layer="taggram", pooling="mean+std", device="cpu",
                           weights_dir=musicnn_root / "MSD_musicnn").cache_key()
    assert other["weights"] == key["weights"] and (other["layer"], other["pooling"]) == ("taggram", "mean+std")


def test_tag_names_are_the_wheels(reference):
    for model in MODELS:
        assert tag_names(model) == [str(s) for s in reference[f"{model}/labels"]]
    with pytest.raises(ValueError, match="unknown"):
        tag_names("VGGish")


def test_checkpoint_reader(musicnn_root):
    tensors = read_checkpoint(musicnn_root / "MSD_musicnn" / "variables")
    assert tensors["conv2d/kernel"].shape == (7, 38, 1, 204) and tensors["conv2d/kernel"].dtype == np.float32
    assert tensors["dense_1/kernel"].shape == (200, 50)
    assert np.isfinite(tensors["batch_normalization_9/moving_variance"]).all()


def test_damaged_checkpoint_is_one_clear_error(musicnn_root, tmp_path):
    src = musicnn_root / "MSD_musicnn"
    for name in ("variables.index", "variables.data-00000-of-00001"):
        shutil.copy(src / name, tmp_path / name)
    prefix = tmp_path / "variables"
    index = bytearray((tmp_path / "variables.index").read_bytes())
    index[len(index) // 3] ^= 0xFF  # a flipped byte inside a table block
    (tmp_path / "variables.index").write_bytes(bytes(index))
    with pytest.raises(CheckpointError, match="CRC"):
        read_checkpoint(prefix)
    (tmp_path / "variables.index").write_bytes(bytes(index[:20]))
    with pytest.raises(CheckpointError, match="variables.index"):
        read_checkpoint(prefix)
    shutil.copy(src / "variables.index", tmp_path / "variables.index")
    data = (src / "variables.data-00000-of-00001").read_bytes()
    (tmp_path / "variables.data-00000-of-00001").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="past the end"):
        read_checkpoint(prefix)
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "nothing")


def test_fetch_replaces_a_damaged_cache(musicnn_root, tmp_path, monkeypatch):
    """`songspace weights fetch` (here from the cached files, as a wheel would give them) repairs a damaged copy."""
    monkeypatch.setenv("SONGSPACE_WEIGHTS_DIR", str(tmp_path))
    shutil.copytree(musicnn_root, tmp_path / "musicnn-0.1.0")
    data = tmp_path / "musicnn-0.1.0" / "MSD_musicnn" / "variables.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:1000])
    wheel = tmp_path / "musicnn-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for member in weights_module._MUSICNN_FILES:
            zf.write(musicnn_root / weights_module._checkpoint_name(member), member)
        zf.writestr("musicnn-0.1.0.dist-info/RECORD", "".join(
            f"{m},sha256={d},0\n" for m, d in weights_module._MUSICNN_FILES.items()))
        zf.write(musicnn_root / "LICENSE.md", "musicnn-0.1.0.dist-info/LICENSE.md")
    with pytest.raises(CheckpointError, match="past the end"):
        read_checkpoint(data.parent / "variables")
    weights_module.fetch_musicnn(wheel)
    assert read_checkpoint(data.parent / "variables")["dense/kernel"].shape == (1506, 200)


def test_missing_weights_say_how_to_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("SONGSPACE_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsError, match="songspace weights fetch"):
        weights_module.musicnn_weights("MSD_musicnn")
    with pytest.raises(WeightsError, match="songspace weights fetch"):
        MusicnnEncoder("MSD_musicnn")
    not_a_wheel = tmp_path / "musicnn-0.1.0-py3-none-any.whl"
    not_a_wheel.write_bytes(b"not a zip")
    with pytest.raises(WeightsError, match="not a readable wheel"):
        weights_module.fetch_musicnn(not_a_wheel)
    from songspace.cli import app

    res = CliRunner().invoke(app, ["weights", "fetch", "--wheel", str(tmp_path / "missing.whl")])
    assert res.exit_code == 2 and "no such wheel file" in res.output
    assert not (tmp_path / "musicnn-0.1.0").exists()
