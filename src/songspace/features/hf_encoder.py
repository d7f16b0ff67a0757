"""``pretrained``: any audio encoder that Hugging Face ``transformers`` loads, as an :class:`AudioEncoder`.

A model is a local folder written by ``save_pretrained`` or a hub id (``m-a-p/MERT-v1-95M``) that ``transformers``
finds in its own cache or downloads (it honours ``HF_HUB_OFFLINE=1``). What works: models whose feature extractor
takes a waveform and has a sampling rate, and whose network takes ``input_values`` or ``input_features``:

- wav2vec2 / HuBERT / WavLM / data2vec-audio / MERT (``trust_remote_code=True``): frame sequences, windows of up
  to :data:`SEQUENCE_WINDOW_S` seconds;
- AST: fixed windows of ``max_length`` fbank frames (10.24 s), 2-D patch tokens;
- CLAP: its audio tower (HTSAT), fixed 10-s windows, 2-D patch tokens;
- Whisper: its encoder, fixed 30-s windows, padding frames dropped before pooling.

A clip longer than the model's window is cut into full windows (the last one ends at the clip's end, overlapping
the one before); a shorter clip is padded by the feature extractor as the model expects. A track's vector pools the
frames (or patch tokens) of all its windows. Windows of equal length are batched; nothing is padded across clips and
the models run in eval mode, so a clip's vector depends on that clip alone. Padding frames are dropped before
pooling where frames are time steps (Whisper pads every window to 30 s); AST and CLAP pool their 2-D patch tokens,
padding included, as their own classifiers do.

``transformers`` is an optional dependency (``pip install 'songspace[pretrained]'``); it is imported when an
:class:`HFEncoder` is built.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from songspace.errors import ConfigError, EncoderError
from songspace.features.encoders import POOLINGS, pool

CODE_VERSION = 1  # bump when a change here changes the vectors (windows, pooling, frame masking)
_INPUT_NAMES = ("input_values", "input_features")  # waveform (wav2vec2, AST) or spectrogram (Whisper, CLAP) input
_SKIP_IN_DIGEST = (".md", ".txt", ".gitattributes")  # model cards and notes do not change the vectors
SEQUENCE_WINDOW_S = 30.0  # wav2vec2-style models take any length, but attention memory grows with its square


class HFEncoder:
    """An audio model from ``transformers``, read at one layer and pooled over frames.

    Parameters
    ----------
    model : str
        A folder written by ``save_pretrained`` (weights, ``config.json``, ``preprocessor_config.json``) or a
        Hugging Face hub id.
    layer : int or "last"
        ``"last"``: the model's ``last_hidden_state``; an int indexes ``hidden_states`` (0: the embeddings before
        the first block, negative counts from the end).
    pooling : {"mean", "mean+std"}
        Over all frames (or patch tokens) of a clip's windows.
    device : str, optional
        A torch device; default ``cuda`` when available, else ``cpu``.
    trust_remote_code : bool
        Allow models that ship their own Python code (MERT). Off by default: that code runs on this machine.
    batch_size : int
        Windows per forward pass.

    Raises
    ------
    EncoderError
        ``transformers`` is missing, ``model`` is not a model, or not an audio model.
    ConfigError
        ``layer`` or ``pooling`` is out of range.
    """

    def __init__(
        self,
        model: str,
        layer: int | str = "last",
        pooling: str = "mean",
        device: str | None = None,
        trust_remote_code: bool = False,
        batch_size: int = 8,
    ) -> None:
        if pooling not in POOLINGS:
            raise ConfigError(f"pretrained: unknown pooling {pooling!r}; choose from: {', '.join(POOLINGS)}")
        self.layer = _parse_layer(layer)
        self.pooling = pooling
        self.batch_size = max(1, int(batch_size))
        self.trust_remote_code = bool(trust_remote_code)
        torch, transformers = _import_transformers()
        self._torch = torch
        self.model, local = _resolve(model)
        self._transformers_version = transformers.__version__
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))

        bars = transformers.utils.logging.is_progress_bar_enabled()
        transformers.utils.logging.disable_progress_bar()  # a bar per checkpoint load: noise in a run's log
        try:
            self._extractor = _load_extractor(transformers, self.model, self.trust_remote_code)
            net = _load_network(torch, transformers, self.model, self.trust_remote_code)
        finally:
            if bars:
                transformers.utils.logging.enable_progress_bar()
        self.sample_rate = int(self._extractor.sampling_rate)
        fixed = _window_samples(self._extractor)  # the model's own input length, if it has one
        self._window = fixed or int(SEQUENCE_WINDOW_S * self.sample_rate)
        self._net = net.to(self.device).eval()
        self._forward_params = set(inspect.signature(self._net.forward).parameters)
        # Sequence models (wav2vec2 family, Whisper): frames are time steps and padding frames can be dropped.
        self._frame_mask = "attention_mask" in self._forward_params
        self._digest = _folder_digest(Path(self.model)) if local else {"revision": _hub_revision(self.model)}
        probe = np.zeros(fixed or self.sample_rate, dtype=np.float32)  # one window, or a second
        self._dim = int(self.embed([probe]).shape[1])

    @property
    def dim(self) -> int:
        """Length of one track's vector (the layer's width, doubled by ``mean+std``)."""
        return self._dim

    def cache_key(self) -> dict[str, Any]:
        """Model path or id, a digest of its files (local) or its hub commit, layer, pooling, sample rate, window,
        the ``transformers`` version and this module's code version: JSON-serialisable."""
        return {
            "encoder": "pretrained",
            "model": self.model,
            **self._digest,
            "layer": self.layer,
            "pooling": self.pooling,
            "sample_rate": self.sample_rate,
            "window": self._window,
            "transformers": self._transformers_version,
            "code": CODE_VERSION,
        }

    def embed(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """One pooled vector per clip.

        Parameters
        ----------
        clips : sequence of np.ndarray [shape=(n,)]
            Mono float32 waveforms at :attr:`sample_rate`.

        Returns
        -------
        np.ndarray [shape=(len(clips), dim), dtype=float32]
        """
        if len(clips) == 0:
            return np.zeros((0, self._dim), dtype=np.float32)
        pieces: list[tuple[int, np.ndarray]] = []  # (clip index, window)
        for i, clip in enumerate(clips):
            y = np.asarray(clip, dtype=np.float32).reshape(-1)
            if y.size == 0:
                raise EncoderError(f"pretrained {self.model}: clip {i} is empty; decode at least a second of audio")
            pieces.extend((i, w) for w in _windows(y, self._window))
        frames: list[list[np.ndarray]] = [[] for _ in clips]
        def size(k: int) -> int:
            return pieces[k][1].size

        for _, same in itertools.groupby(sorted(range(len(pieces)), key=size), key=size):  # no padding in a batch
            same = list(same)
            for start in range(0, len(same), self.batch_size):
                batch = same[start:start + self.batch_size]
                for k, f in zip(batch, self._frames([pieces[k][1] for k in batch]), strict=True):
                    frames[pieces[k][0]].append(f)
        out = np.stack([pool(np.concatenate(f), self.pooling) for f in frames]).astype(np.float32)
        if not np.isfinite(out).all():
            raise EncoderError(f"pretrained {self.model}: non-finite vectors; check the clips (NaN samples?)")
        return out

    def _frames(self, windows: list[np.ndarray]) -> list[np.ndarray]:
        """Frames of equal-length windows at the chosen layer: one [shape=(n_frames, d)] float32 array each."""
        torch = self._torch
        kwargs: dict[str, Any] = {"sampling_rate": self.sample_rate, "return_tensors": "pt"}
        if self._frame_mask:
            kwargs["return_attention_mask"] = True
        features = self._extractor(windows, **kwargs)
        inputs = {k: v.to(self.device) for k, v in features.items() if k in _INPUT_NAMES}
        if "is_longer" in self._forward_params:  # CLAP: no window exceeds the model's length, so no fusion
            inputs["is_longer"] = torch.zeros((len(windows), 1), dtype=torch.bool, device=self.device)
        with torch.inference_mode():
            try:
                if self.layer == "last":
                    hidden = self._net(**inputs).last_hidden_state
                else:
                    states = self._net(**inputs, output_hidden_states=True).hidden_states
                    if states is None:
                        states = self._hooked_hidden_states(inputs)
                    n = len(states)
                    if not -n <= self.layer < n:
                        raise ConfigError(f"pretrained {self.model}: layer {self.layer} out of range; it has "
                                          f"hidden states 0..{n - 1} (or -{n}..-1), or use 'last'")
                    hidden = states[self.layer]
            except RuntimeError as e:  # a clip shorter than the model's receptive field, out of memory, ...
                raise EncoderError(f"pretrained {self.model}: the model failed on {len(windows)} clip(s) of "
                                   f"{windows[0].size} samples ({_first_line(e)}); give clips of a second or more, "
                                   "or a smaller batch_size") from None
        if hidden.dim() == 4:  # CLAP's tower: [batch, channels, freq, time] maps; every position is a frame
            hidden = hidden.flatten(2).transpose(1, 2)
        hidden = hidden.float().cpu().numpy()
        n_out = hidden.shape[1]
        valid = [n_out] * len(windows)
        mask = features.get("attention_mask") if self._frame_mask else None
        if mask is not None:  # Whisper pads every window to 30 s: keep the frames that cover the audio
            n_in = mask.shape[-1]
            valid = [min(n_out, max(1, math.ceil(int(m.sum()) * n_out / n_in))) for m in mask]
        return [hidden[b, :v] for b, v in enumerate(valid)]


    def _hooked_hidden_states(self, inputs: dict[str, Any]) -> tuple[Any, ...]:
        """Hidden states recorded by hooks on ``encoder.layers``: the first layer's input, then each layer's output.

        For models whose own code returns none: MERT's code, written for transformers 4, overrides the forward
        pass that transformers 5 records hidden states in.
        """
        layers = getattr(getattr(self._net, "encoder", None), "layers", None)
        if not isinstance(layers, self._torch.nn.ModuleList) or len(layers) == 0:
            raise EncoderError(f"pretrained {self.model}: the model returns no hidden states and has no "
                               "encoder.layers to read them from; use layer = 'last'")
        states: list[Any] = []

        def first_input(module: Any, args: tuple, kwargs: dict) -> None:
            states.append(args[0] if args else kwargs["hidden_states"])

        def output(module: Any, args: tuple, out: Any) -> None:
            states.append(out[0] if isinstance(out, tuple) else out)

        handles = [layers[0].register_forward_pre_hook(first_input, with_kwargs=True)]
        handles += [layer.register_forward_hook(output) for layer in layers]
        try:
            self._net(**inputs)
        finally:
            for handle in handles:
                handle.remove()
        return tuple(states)


def _parse_layer(layer: int | str) -> int | str:
    if isinstance(layer, bool):
        raise ConfigError(f"pretrained: layer must be an integer or 'last', not {layer!r}")
    if isinstance(layer, int) or layer == "last":
        return layer
    try:
        return int(layer)
    except (TypeError, ValueError):
        raise ConfigError(f"pretrained: layer must be an integer or 'last', not {layer!r}") from None


def _import_transformers() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as e:
        raise EncoderError(f"the pretrained encoder needs transformers ({e}); "
                           "install it with: pip install 'songspace[pretrained]'") from None
    return torch, transformers


def _resolve(model: str) -> tuple[str, bool]:
    """The model's absolute folder (local: True) or its hub id (False)."""
    path = Path(model).expanduser()
    if path.exists():
        if not path.is_dir() or not (path / "config.json").is_file():
            raise EncoderError(f"{path}: not a Hugging Face model folder (no config.json); give a folder written "
                               "by save_pretrained or a hub id such as facebook/hubert-base-ls960")
        return str(path.resolve()), True
    if model.startswith((".", "/", "~")) or model.count("/") > 1 or "\\" in model:
        raise EncoderError(f"{model}: no such model folder; give a folder written by save_pretrained or a hub id")
    return model, False


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _load_extractor(transformers: Any, model: str, trust_remote_code: bool) -> Any:
    """The model's feature extractor; refuses models without an audio one (a text BERT, an image ViT)."""
    try:
        config = transformers.AutoConfig.from_pretrained(model, trust_remote_code=trust_remote_code)
    except Exception as e:  # transformers raises OSError, ValueError, KeyError for what it cannot read
        raise EncoderError(_load_message(model, e, trust_remote_code)) from None
    kind = getattr(config, "model_type", "?")
    try:
        extractor = transformers.AutoFeatureExtractor.from_pretrained(model, trust_remote_code=trust_remote_code)
    except Exception:  # transformers' message is a paragraph about hub look-ups; the cause is simpler
        known = _known_extractor(kind)
        if known:  # an audio family whose checkpoint came without its preprocessor (some fairseq conversions)
            raise EncoderError(f"{model}: a {kind} model without preprocessor_config.json; save one beside it, "
                               f"e.g. transformers.{known}(sampling_rate=<the rate it was trained at>)"
                               ".save_pretrained(folder)") from None
        raise EncoderError(f"{model}: not an audio model ({kind}: no audio feature extractor in "
                           "preprocessor_config.json); give a wav2vec2/HuBERT/MERT, AST, CLAP or Whisper model"
                           ) from None
    rate = getattr(extractor, "sampling_rate", None)
    if not isinstance(rate, int) or rate <= 0:
        raise EncoderError(f"{model}: not an audio model ({kind}: its preprocessor {type(extractor).__name__} has no "
                           "sampling rate); give a wav2vec2/HuBERT/MERT, AST, CLAP or Whisper model")
    return extractor


def _known_extractor(kind: str) -> str | None:
    """The feature extractor class transformers pairs with a model type (``hubert``: Wav2Vec2FeatureExtractor)."""
    try:
        from transformers.models.auto.feature_extraction_auto import FEATURE_EXTRACTOR_MAPPING_NAMES
    except ImportError:  # an internal table: gone in some version, we only lose a hint
        return None
    name = FEATURE_EXTRACTOR_MAPPING_NAMES.get(kind)
    return name if isinstance(name, str) and "FeatureExtractor" in name else None


def _load_message(model: str, e: BaseException, trust_remote_code: bool) -> str:
    text = _first_line(e)
    if "trust_remote_code" in str(e) and not trust_remote_code:
        return (f"{model}: this model runs its own Python code; if you trust it, pass trust_remote_code "
                "(in a config: trust_remote_code = true under [representations.params.pretrained])")
    return (f"{model}: cannot load a model config ({text}); give a folder written by save_pretrained, or a hub id "
            "that is in the Hugging Face cache or reachable (unset HF_HUB_OFFLINE to download)")


def _load_network(torch: Any, transformers: Any, model: str, trust_remote_code: bool) -> Any:
    """The audio network: the whole model, CLAP's audio tower or an encoder-decoder's encoder (Whisper)."""
    try:
        net = transformers.AutoModel.from_pretrained(model, trust_remote_code=trust_remote_code, dtype=torch.float32)
    except Exception as e:
        raise EncoderError(f"{model}: cannot load the model's weights ({_first_line(e)}); check the folder or "
                           "the hub id") from None
    if hasattr(net, "audio_model"):  # CLAP: the audio tower, without the text one
        net = net.audio_model
    elif getattr(net.config, "is_encoder_decoder", False) and hasattr(net, "get_encoder"):
        net = net.get_encoder()
    if getattr(net, "main_input_name", None) not in _INPUT_NAMES:
        raise EncoderError(f"{model}: not an audio model ({type(net).__name__} takes {net.main_input_name!r}, "
                           "not audio); give a wav2vec2/HuBERT/MERT, AST, CLAP or Whisper model")
    return net


def _window_samples(extractor: Any) -> int | None:
    """Samples in one model window for extractors that pad or cut to a fixed length; None for any length."""
    name = type(extractor).__name__
    if name == "ASTFeatureExtractor":  # Kaldi fbank: 25-ms frames every 10 ms, max_length frames
        rate = extractor.sampling_rate
        return int(rate * 0.025) + (int(extractor.max_length) - 1) * int(rate * 0.010)
    if name == "ClapFeatureExtractor":
        return int(extractor.nb_max_samples)
    if name == "WhisperFeatureExtractor":
        return int(extractor.n_samples)
    return None


def _windows(y: np.ndarray, window: int) -> list[np.ndarray]:
    """Full windows from the start; the last ends at the clip's end. A short clip is one (padded later) window."""
    if y.size <= window:
        return [y]
    starts = list(range(0, y.size - window + 1, window))
    if starts[-1] + window < y.size:
        starts.append(y.size - window)
    return [y[s:s + window] for s in starts]


def _folder_digest(folder: Path) -> dict[str, str]:
    """SHA-256 over the names and contents of the folder's files (weights, configs, remote code)."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel.endswith(_SKIP_IN_DIGEST) or any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        h.update(rel.encode() + b"\0")
        with path.open("rb") as f:
            h.update(hashlib.file_digest(f, "sha256").digest())
    return {"weights_sha256": h.hexdigest()}


def _hub_revision(model: str) -> str:
    """The commit of the cached snapshot that ``transformers`` loaded (``.../snapshots/<commit>/config.json``)."""
    from transformers.utils import cached_file

    try:
        path = Path(cached_file(model, "config.json"))
    except Exception as e:
        raise EncoderError(f"{model}: cannot find its files in the Hugging Face cache ({_first_line(e)})") from None
    if path.parent.parent.name != "snapshots":
        raise EncoderError(f"{model}: loaded from {path.parent}, not a hub snapshot; give that folder instead")
    return path.parent.name
