"""features/hf_encoder.py: tiny randomly initialised transformers models, saved to a temp folder and embedded from
there. Nothing is downloaded (HF_HUB_OFFLINE is set before transformers is imported)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # read by huggingface_hub at import: these tests never reach the hub
# where transformers copies a model's own code (read at import): a temp folder, not ~/.cache/huggingface
os.environ.setdefault("HF_MODULES_CACHE", os.path.join(tempfile.gettempdir(), "songspace-tests-hf-modules"))
transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from songspace.errors import ConfigError, EncoderError  # noqa: E402
from songspace.features import hf_encoder  # noqa: E402
from songspace.features.encoders import AudioEncoder  # noqa: E402
from songspace.features.hf_encoder import HFEncoder  # noqa: E402

SR = 16000
HIDDEN = 16
# float32 GEMMs of different batch shapes sum in different orders (STYLE.md §8): per-clip vectors agree to this
ATOL, RTOL = 2e-5, 1e-4


def _clips(n: int, seconds: float = 1.0, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(int(SR * seconds)) / SR
    return [(0.3 * np.sin(2 * np.pi * rng.uniform(100, 2000) * t) + 0.05 * rng.standard_normal(t.size))
            .astype(np.float32) for _ in range(n)]


def _save_wav2vec2(folder: Path, kind: str = "wav2vec2", seed: int = 0) -> Path:
    torch.manual_seed(seed)
    sizes = dict(hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                 conv_dim=(8, 8), conv_kernel=(10, 8), conv_stride=(10, 8),  # 1 s at 16 kHz: 200 frames
                 num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    if kind == "hubert":
        model = transformers.HubertModel(transformers.HubertConfig(**sizes))
    else:
        model = transformers.Wav2Vec2Model(transformers.Wav2Vec2Config(**sizes))
    model.save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SR, do_normalize=True).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def w2v_dir(tmp_path_factory) -> Path:
    return _save_wav2vec2(tmp_path_factory.mktemp("w2v"))


@pytest.fixture(scope="module")
def w2v(w2v_dir) -> HFEncoder:
    return HFEncoder(str(w2v_dir), device="cpu")


def test_wav2vec2_shapes_and_protocol(w2v, w2v_dir):
    assert isinstance(w2v, AudioEncoder)
    assert w2v.sample_rate == SR and w2v.dim == HIDDEN
    out = w2v.embed(_clips(3))
    assert out.shape == (3, HIDDEN) and out.dtype == np.float32 and np.isfinite(out).all()
    assert not np.allclose(out[0], out[1], atol=1e-3)  # different clips, different vectors


def test_hubert_loads_through_the_same_path(tmp_path):
    enc = HFEncoder(str(_save_wav2vec2(tmp_path, "hubert")), device="cpu")
    assert enc.sample_rate == SR and enc.embed(_clips(2)).shape == (2, HIDDEN)


def test_layer_choice(w2v_dir, w2v):
    clips = _clips(2)
    last = w2v.embed(clips)
    # hidden_states[-1] is the output of the last block, which is last_hidden_state for wav2vec2
    np.testing.assert_allclose(HFEncoder(str(w2v_dir), layer=-1).embed(clips), last, atol=ATOL, rtol=RTOL)
    first = HFEncoder(str(w2v_dir), layer=0).embed(clips)
    assert first.shape == last.shape and not np.allclose(first, last, atol=1e-3)
    assert HFEncoder(str(w2v_dir), layer="1").cache_key()["layer"] == 1
    with pytest.raises(ConfigError, match="layer 7 out of range"):
        HFEncoder(str(w2v_dir), layer=7)
    with pytest.raises(ConfigError, match="integer or 'last'"):
        HFEncoder(str(w2v_dir), layer="middle")


def test_mean_std_pooling(w2v_dir, w2v):
    clips = _clips(2)
    both = HFEncoder(str(w2v_dir), pooling="mean+std")
    out = both.embed(clips)
    assert both.dim == 2 * HIDDEN and out.shape == (2, 2 * HIDDEN)
    np.testing.assert_allclose(out[:, :HIDDEN], w2v.embed(clips), atol=ATOL, rtol=RTOL)
    assert (out[:, HIDDEN:] > 0).all()  # standard deviations over 200 frames of a random net
    with pytest.raises(ConfigError, match="unknown pooling"):
        HFEncoder(str(w2v_dir), pooling="max")


def test_each_clip_alone(w2v_dir, w2v):
    clips = _clips(5, seed=1)
    together = w2v.embed(clips)
    alone = np.concatenate([w2v.embed([c]) for c in clips])
    np.testing.assert_allclose(together, alone, atol=ATOL, rtol=RTOL)
    # other batch sizes, and a clip of another length in the same call, change nothing either
    small = HFEncoder(str(w2v_dir), batch_size=2).embed(clips + _clips(1, seconds=1.5))
    np.testing.assert_allclose(small[:5], together, atol=ATOL, rtol=RTOL)


def test_hub_id_from_the_cache(monkeypatch, tmp_path, w2v_dir):
    """A hub id resolves in the Hugging Face cache (offline); its key names the snapshot's commit."""
    huggingface_hub = pytest.importorskip("huggingface_hub")
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--songspace-tests--tiny-w2v"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name in ("config.json", "model.safetensors", "preprocessor_config.json"):
        (snapshot / name).write_bytes((w2v_dir / name).read_bytes())
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    enc = HFEncoder("songspace-tests/tiny-w2v")
    key = enc.cache_key()
    assert key["model"] == "songspace-tests/tiny-w2v" and key["revision"] == commit
    clips = _clips(2)
    np.testing.assert_allclose(enc.embed(clips), HFEncoder(str(w2v_dir)).embed(clips), atol=ATOL, rtol=RTOL)
    with pytest.raises(EncoderError, match="songspace-tests/absent: cannot load a model config"):
        HFEncoder("songspace-tests/absent")


def test_long_clips_are_cut_into_windows(monkeypatch, w2v_dir):
    monkeypatch.setattr(hf_encoder, "SEQUENCE_WINDOW_S", 0.5)
    enc = HFEncoder(str(w2v_dir))
    assert enc.cache_key()["window"] == SR // 2
    clip = _clips(1, seconds=1.0)[0]
    halves = enc.embed([clip[: SR // 2], clip[SR // 2:]])
    # mean pooling over the frames of two equal windows is the mean of the two windows' means
    np.testing.assert_allclose(enc.embed([clip])[0], halves.mean(0), atol=ATOL, rtol=RTOL)


def test_cache_key(w2v_dir, tmp_path):
    folder = _save_wav2vec2(tmp_path / "m")
    a, b = HFEncoder(str(folder)).cache_key(), HFEncoder(str(folder)).cache_key()
    assert a == b and a["model"] == str(folder.resolve()) and len(a["weights_sha256"]) == 64
    assert {"layer", "pooling", "code", "sample_rate"} <= a.keys()
    assert HFEncoder(str(folder), pooling="mean+std").cache_key() != a
    model = transformers.Wav2Vec2Model.from_pretrained(folder)
    with torch.no_grad():
        model.feature_projection.projection.weight[0, 0] += 0.01
    model.save_pretrained(folder)
    assert HFEncoder(str(folder)).cache_key()["weights_sha256"] != a["weights_sha256"]


def test_ast_windows(tmp_path):
    torch.manual_seed(0)
    config = transformers.ASTConfig(hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=2,
                                    intermediate_size=32, patch_size=16, frequency_stride=16, time_stride=16,
                                    max_length=64, num_mel_bins=32)
    transformers.ASTModel(config).save_pretrained(tmp_path)
    transformers.ASTFeatureExtractor(num_mel_bins=32, max_length=64, sampling_rate=SR).save_pretrained(tmp_path)
    enc = HFEncoder(str(tmp_path), pooling="mean+std")
    assert enc.sample_rate == SR and enc.dim == 2 * HIDDEN
    assert enc.cache_key()["window"] == 400 + 63 * 160  # 64 fbank frames: 0.655 s
    clips = _clips(3, seconds=1.0)  # two windows each (the second overlaps the first)
    together = enc.embed(clips)
    np.testing.assert_allclose(together, np.concatenate([enc.embed([c]) for c in clips]), atol=ATOL, rtol=RTOL)
    one_window = enc._window
    short = enc.embed([c[:one_window] for c in clips])
    assert not np.allclose(short, together, atol=1e-4)  # the second window counts


def test_clap_audio_tower(tmp_path):
    torch.manual_seed(0)
    audio = dict(spec_size=64, num_mel_bins=64, window_size=4, patch_size=4, patch_stride=[4, 4], depths=[1, 1],
                 num_attention_heads=[2, 2], patch_embeds_hidden_size=8, hidden_size=HIDDEN, enable_fusion=False)
    text = dict(vocab_size=50, hidden_size=HIDDEN, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    transformers.ClapModel(transformers.ClapConfig(text_config=text, audio_config=audio, projection_dim=8)
                           ).save_pretrained(tmp_path)
    # as laion/clap-htsat-unfused, scaled down: 1-s windows, 51 mel frames (the tower takes up to 64)
    transformers.ClapFeatureExtractor(feature_size=64, sampling_rate=SR, hop_length=320, max_length_s=1,
                                      fft_window_size=1024, frequency_max=SR // 2, truncation="rand_trunc",
                                      padding="repeatpad").save_pretrained(tmp_path)
    enc = HFEncoder(str(tmp_path))
    assert enc.dim == HIDDEN and enc.cache_key()["window"] == SR
    clips = _clips(3, seconds=1.5)  # two windows each: a longer clip is never randomly cropped
    together = enc.embed(clips)
    np.testing.assert_allclose(together, enc.embed(clips), atol=0, rtol=0)  # same path, same batch: deterministic
    np.testing.assert_allclose(together, np.concatenate([enc.embed([c]) for c in clips]), atol=ATOL, rtol=RTOL)
    first = HFEncoder(str(tmp_path), layer=0, pooling="mean+std")
    assert first.dim == 2 * 8 and first.embed(clips).shape == (3, 16)  # the patch embeddings: 8 wide


def test_whisper_encoder_drops_padding_frames(tmp_path):
    torch.manual_seed(0)
    config = transformers.WhisperConfig(vocab_size=64, d_model=HIDDEN, encoder_layers=2, decoder_layers=1,
                                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                                        decoder_ffn_dim=32, num_mel_bins=16, max_source_positions=100,
                                        max_target_positions=16, pad_token_id=1, bos_token_id=2, eos_token_id=3,
                                        decoder_start_token_id=2, begin_suppress_tokens=None, suppress_tokens=None)
    transformers.WhisperModel(config).save_pretrained(tmp_path)
    transformers.WhisperFeatureExtractor(feature_size=16, chunk_length=2, sampling_rate=SR).save_pretrained(tmp_path)
    enc = HFEncoder(str(tmp_path))
    assert enc.dim == HIDDEN and enc.cache_key()["window"] == 2 * SR
    clip = _clips(1, seconds=1.0)[0]
    assert enc._frames([clip])[0].shape == (50, HIDDEN)  # 1 s of a 2-s window: 50 of 100 encoder frames
    assert enc._frames([np.tile(clip, 2)])[0].shape == (100, HIDDEN)
    assert enc.embed([clip, np.tile(clip, 3)]).shape == (2, HIDDEN)


_REMOTE_CONFIG = """from transformers import HubertConfig


class TinyMertConfig(HubertConfig):
    model_type = "tiny_mert"
"""
_REMOTE_MODEL = """from transformers import HubertModel
from transformers.modeling_outputs import BaseModelOutput

from .configuration_tiny_mert import TinyMertConfig


class TinyMertModel(HubertModel):
    config_class = TinyMertConfig


class OldStyleMertModel(HubertModel):
    \"""As MERT's own code: its forward, written for transformers 4, returns no hidden states under 5.\"""
    config_class = TinyMertConfig

    def forward(self, input_values, attention_mask=None, output_hidden_states=None, return_dict=None):
        hidden = self.feature_projection(self.feature_extractor(input_values).transpose(1, 2))
        return BaseModelOutput(last_hidden_state=self.encoder(hidden)[0])
"""


def _save_remote_code_model(folder: Path, w2v_dir: Path, model_class: str) -> Path:
    """The tiny wav2vec2 weights under a model type of its own, with its code in the folder (as MERT ships)."""
    folder.mkdir(exist_ok=True)
    for name in ("model.safetensors", "preprocessor_config.json"):
        (folder / name).write_bytes((w2v_dir / name).read_bytes())
    config = json.loads((w2v_dir / "config.json").read_text())
    config.update(model_type="tiny_mert", architectures=[model_class],
                  auto_map={"AutoConfig": "configuration_tiny_mert.TinyMertConfig",
                            "AutoModel": f"modeling_tiny_mert.{model_class}"})
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "configuration_tiny_mert.py").write_text(_REMOTE_CONFIG)
    (folder / "modeling_tiny_mert.py").write_text(_REMOTE_MODEL)
    return folder


def test_trust_remote_code(tmp_path, w2v_dir):
    """A model that ships its own code (as MERT does) loads only with trust_remote_code."""
    _save_remote_code_model(tmp_path, w2v_dir, "TinyMertModel")
    with pytest.raises(EncoderError, match="runs its own Python code.*trust_remote_code"):
        HFEncoder(str(tmp_path))
    enc = HFEncoder(str(tmp_path), trust_remote_code=True)
    clips = _clips(2)
    # the same weights as the wav2vec2 folder through a HuBERT subclass: the same architecture, the same vectors
    np.testing.assert_allclose(enc.embed(clips), HFEncoder(str(w2v_dir)).embed(clips), atol=ATOL, rtol=RTOL)
    assert enc.cache_key()["weights_sha256"] != HFEncoder(str(w2v_dir)).cache_key()["weights_sha256"]


def test_hidden_states_from_hooks(tmp_path, w2v_dir):
    """A model whose forward returns no hidden states: read at the encoder's layers, indexed as transformers does."""
    old = _save_remote_code_model(tmp_path / "old", w2v_dir, "OldStyleMertModel")
    clips = _clips(2)
    for layer in (0, 1, 2, -1):
        np.testing.assert_allclose(HFEncoder(str(old), layer=layer, trust_remote_code=True).embed(clips),
                                   HFEncoder(str(w2v_dir), layer=layer).embed(clips), atol=ATOL, rtol=RTOL)
    with pytest.raises(ConfigError, match="layer 3 out of range"):
        HFEncoder(str(old), layer=3, trust_remote_code=True)


def test_error_clip_too_short(w2v):
    with pytest.raises(EncoderError, match="the model failed on 1 clip"):
        w2v.embed([np.zeros(5, dtype=np.float32)])
    assert w2v.embed([]).shape == (0, HIDDEN)


def test_error_transformers_missing(monkeypatch, w2v_dir):
    monkeypatch.setitem(sys.modules, "transformers", None)  # import transformers -> ImportError
    with pytest.raises(EncoderError, match=r"pip install 'songspace\[pretrained\]'"):
        HFEncoder(str(w2v_dir))


def test_error_not_a_model(tmp_path):
    (tmp_path / "song.wav").write_bytes(b"RIFF")
    with pytest.raises(EncoderError, match="not a Hugging Face model folder"):
        HFEncoder(str(tmp_path))
    with pytest.raises(EncoderError, match="no such model folder"):
        HFEncoder(str(tmp_path / "missing" / "model"))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(EncoderError, match="cannot load a model config"):
        HFEncoder(str(tmp_path))


def test_error_audio_model_without_preprocessor(tmp_path, w2v_dir):
    (tmp_path / "config.json").write_bytes((w2v_dir / "config.json").read_bytes())
    with pytest.raises(EncoderError, match=r"wav2vec2 model without preprocessor_config.*Wav2Vec2FeatureExtractor"):
        HFEncoder(str(tmp_path))


def test_error_text_model(tmp_path):
    config = transformers.BertConfig(vocab_size=50, hidden_size=HIDDEN, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=32)
    transformers.BertModel(config).save_pretrained(tmp_path)
    with pytest.raises(EncoderError, match="not an audio model"):
        HFEncoder(str(tmp_path))
    # even with an audio preprocessor beside it, a network that takes token ids is refused
    transformers.Wav2Vec2FeatureExtractor(sampling_rate=SR).save_pretrained(tmp_path)
    with pytest.raises(EncoderError, match="not an audio model"):
        HFEncoder(str(tmp_path))


def test_a_run_with_a_local_model_and_assign(tmp_path, w2v_dir):
    """``pretrained`` end to end: a run reads the folder's model, a VAE learns on it beside the statistics, and
    ``assign`` puts the run's own tracks back in their clusters through the same model."""
    import csv

    from conftest import make_dataset
    from songspace.assign import assign
    from songspace.runner import run_experiment
    from songspace.settings import load

    data = make_dataset(tmp_path / "data", n=9)
    cfg = load(None, data=str(data), out=str(tmp_path / "runs"), n_seeds=1,
               **{"representations.names": ["pretrained", "vae@features+pretrained"],
                  "representations.params": {"pretrained": {"model": str(w2v_dir), "layer": 1}},
                  "features.clip_seconds": 1.5, "features.n_mels": 32, "features.workers": 1,
                  "model.latent_dim": 3, "model.hidden_dims": [8], "train.epochs": 2,
                  "cluster.algorithms": ["kmeans"], "plots.umap": False, "plots.tsne": False})
    result = run_experiment(cfg)

    def rows(path):
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))

    metrics = {r["method"]: r for r in rows(result.folder / "metrics.csv")}
    assert {"pretrained+kmeans", "vae@features+pretrained+kmeans"} <= set(metrics)
    space = metrics["pretrained+kmeans"]["space"]
    assert f"({HIDDEN}-d)" in space and "layer 1" in space
    placed = assign(result.folder, data)
    assert set(placed.methods) == {"pretrained+kmeans", "vae@features+pretrained+kmeans"}
    run_rows = {r["track_id"]: r for r in rows(result.folder / "assignments.csv")}
    for r in rows(placed.folder / "assignments.csv"):
        for m in placed.methods:
            assert r[m] == run_rows[r["track_id"]][m], m
