"""musicnn (Pons & Serra, 2019) in PyTorch, reading the trained weights that the ``musicnn`` 0.1.0 wheel ships.

The network, as ``musicnn/models.py`` builds it (``build_musicnn``):

- input: a 3-s patch of log-mel frames [shape=(187, 96)], batch-normalised (one channel);
- front end: two *timbral* convolutions (7 frames x 38 and x 67 mel bands, 204 filters each, time padded by 3) and
  three *temporal* ones (128, 64 and 32 frames x 1 band, 51 filters each, "same" padding), each ReLU, batch norm,
  then max over the mel axis: 561 channels per frame;
- mid end: three 1-D convolutions over time (7 frames, 64 filters, ReLU, batch norm), the second and third with a
  residual connection; the front end's and the three mid-end outputs are concatenated: 753 channels per frame;
- back end: max and mean over the patch's frames (interleaved: [max_0, mean_0, max_1, mean_1, ...], 1506), batch
  norm, a dense layer of 200 units (ReLU, batch norm): the *penultimate* layer; a dense layer to the 50 tag logits,
  whose sigmoid is the *taggram*.

Batch norm runs in inference mode with the checkpoint's moving statistics (TensorFlow's epsilon, 1e-3), so a
patch's output never depends on the other patches in the batch.

Preprocessing (``musicnn/extractor.py``, ``batch_data``) with the numpy < 2 that musicnn's TensorFlow needs: mel
power spectrogram (librosa defaults: 16 kHz, n_fft 512, hop 256, periodic Hann window, centred frames with zero
padding, 96 Slaney mel bands of power 2), rounded to float16, then ``log10(10000 x + 1)`` in float32; frames cut
into non-overlapping 187-frame patches from the first frame, a last partial patch dropped. Here the STFT and the mel
projection run in torch on the encoder's device (float64, so the float16 rounding lands where librosa's float32
pipeline puts it, but for rare ties). A clip shorter than one patch (about 3 s) is repeated to fill one.

Speed (the network costs about 2.8 GFLOP a patch as written, 2.3 of them in the two timbral convolutions): the
timbral convolutions run as products in the DFT domain along mel (a circular correlation of length 96 gives the
valid outputs exactly), about half the operations, 32 frames at a time so the intermediates stay in cache; each
front-end filter's max over mel is taken before its bias, ReLU and batch norm (all monotone; filters whose batch
norm scale is negative are stored negated, so that one max serves all). ``Musicnn.forward(x, direct=True)`` runs
the plain convolutions (the tests hold one to the other).

Weights: ``songspace weights fetch`` (:mod:`songspace.features.weights`). Licence of the weights and of the
architecture it ports: ISC, Music Technology Group, Universitat Pompeu Fabra (the wheel's ``LICENSE.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from songspace.features.encoders import POOLINGS, pool
from songspace.features.tf_checkpoint import checkpoint_digest, read_checkpoint

CODE_VERSION = 1  # bump when a change here changes the vectors
SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
BN_EPS = 1e-3  # tf.compat.v1.layers.batch_normalization's default
LAYERS = ("penultimate", "taggram", "pooled")
MODELS = ("MSD_musicnn", "MTT_musicnn")
_MIDEND_FILTERS = 64  # both shipped models; MSD_musicnn_big (512, 500 units) is not in the wheel
_BACKEND_UNITS = 200
_BINS = N_MELS // 2 + 1  # real DFT bins along mel
_TIME_CHUNK = 32  # frames per spectral product: keeps its intermediates in cache (about 5 MB for 2 patches)

# musicnn/configuration.py of musicnn 0.1.0 (the tests compare them with the wheel's file)
MSD_LABELS = [
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock",
    "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow",
    "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient",
    "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening",
    "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad",
    "House", "happy",
]  # fmt: skip
MTT_LABELS = [
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano", "ambient",
    "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing", "vocals", "no vocals",
    "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man",
    "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello",
    "no voice", "weird", "country", "metal", "female voice", "choral",
]  # fmt: skip


def tag_names(model: str = "MSD_musicnn") -> list[str]:
    """The 50 tag names of ``model``'s taggram, in output order (from musicnn's ``configuration.py``)."""
    if model.startswith("MSD"):
        return list(MSD_LABELS)
    if model.startswith("MTT"):
        return list(MTT_LABELS)
    raise ValueError(f"unknown musicnn model {model!r}; choose from: {', '.join(MODELS)}")


# ----------------------------------------------------------------------------------------------------------------
# preprocessing


def mel_basis() -> np.ndarray:
    """librosa's Slaney mel filter bank for musicnn [shape=(96, 257)], float64."""
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, dtype=np.float64)


def log_mel(y: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """musicnn's input representation of one clip.

    Parameters
    ----------
    y : torch.Tensor [shape=(n,)]
        Mono waveform at 16 kHz (any float dtype).
    basis : torch.Tensor [shape=(96, 257), dtype=float64]
        :func:`mel_basis`, on ``y``'s device.

    Returns
    -------
    torch.Tensor [shape=(1 + n // 256, 96), dtype=float32]
        ``log10(10000 m + 1)`` of the mel power ``m`` rounded to float16, as musicnn computes it.
    """
    y = y.to(torch.float64)
    window = torch.hann_window(N_FFT, periodic=True, dtype=torch.float64, device=y.device)
    spec = torch.stft(y, N_FFT, hop_length=HOP, window=window, center=True, pad_mode="constant", return_complex=True)
    power = spec.real.square() + spec.imag.square()  # [257, frames]
    mel = (basis @ power).T.to(torch.float32).to(torch.float16).to(torch.float32)  # librosa: float32, then float16
    return torch.log10(10000 * mel + 1)


def patches_of(frames: torch.Tensor) -> torch.Tensor:
    """Cut log-mel frames [shape=(t, 96)] into musicnn's non-overlapping patches [shape=(n, 187, 96)]: from frame
    0, a last partial patch dropped; fewer than 187 frames are repeated to fill one patch."""
    if frames.shape[0] == 0:
        raise ValueError("empty clip: no frames to embed")
    if frames.shape[0] < PATCH_FRAMES:
        reps = -(-PATCH_FRAMES // frames.shape[0])
        frames = frames.repeat(reps, 1)[:PATCH_FRAMES]
    n = frames.shape[0] // PATCH_FRAMES
    return frames[: n * PATCH_FRAMES].reshape(n, PATCH_FRAMES, N_MELS)


# ----------------------------------------------------------------------------------------------------------------
# the network


def _bn(ckpt: dict[str, np.ndarray], name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Inference batch norm as (scale, shift): y = x * scale + shift."""
    gamma = torch.from_numpy(ckpt[f"{name}/gamma"].astype(np.float64))
    beta = torch.from_numpy(ckpt[f"{name}/beta"].astype(np.float64))
    mean = torch.from_numpy(ckpt[f"{name}/moving_mean"].astype(np.float64))
    var = torch.from_numpy(ckpt[f"{name}/moving_variance"].astype(np.float64))
    scale = gamma / torch.sqrt(var + BN_EPS)
    return scale.float(), (beta - mean * scale).float()


def _mel_dft() -> torch.Tensor:
    """Real DFT along the 96 mel bands as a matrix [shape=(96, 98)]: ``x @ D`` = [Re X_0..48, Im X_0..48]."""
    angle = 2 * math.pi * torch.outer(torch.arange(N_MELS), torch.arange(_BINS)).double() / N_MELS
    return torch.cat([torch.cos(angle), -torch.sin(angle)], 1).float()


def _timbral_spectral(kernel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A timbral kernel [out, 1, 7, width] as (re, im, inverse) for :meth:`Musicnn._timbral`.

    A valid correlation along mel equals the first ``96 - width + 1`` outputs of a circular one of length 96, so
    per DFT bin m: Y_m = sum over the 7 frames of X_m conj(W_m). ``re`` and ``im`` [49, 14, out] map a bin's
    [Re X (7 frames), Im X (7 frames)] to Re Y and Im Y; ``inverse`` [valid, 98] is the inverse real DFT
    restricted to the valid outputs.
    """
    spectrum = torch.fft.rfft(kernel[:, 0].double(), n=N_MELS, dim=-1).conj()  # [out, 7, 49]
    kr, ki = spectrum.real, spectrum.imag
    re = torch.cat([kr, -ki], 1).permute(2, 1, 0)  # Re(X K) = Xr Kr - Xi Ki
    im = torch.cat([ki, kr], 1).permute(2, 1, 0)  # Im(X K) = Xr Ki + Xi Kr
    n_valid = N_MELS - kernel.shape[-1] + 1
    weight = torch.full((_BINS,), 2.0, dtype=torch.float64)
    weight[0] = weight[-1] = 1.0  # DC and Nyquist appear once in a real signal's spectrum
    angle = 2 * math.pi * torch.outer(torch.arange(_BINS), torch.arange(n_valid)).double() / N_MELS
    inverse = torch.cat([weight[:, None] * torch.cos(angle), -weight[:, None] * torch.sin(angle)], 0) / N_MELS
    return re.float(), im.float(), inverse.T.float()


def _t(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(array, dtype=np.float32, order="C"))  # a writable copy


class Musicnn(torch.nn.Module):
    """The musicnn network with weights from a checkpoint dict (:func:`read_checkpoint`); inference only.

    ``forward(x)`` takes log-mel patches [shape=(n, 187, 96)] and returns a dict of per-patch layers:
    ``taggram`` (n, 50), ``penultimate`` (n, 200), ``mean_pool`` and ``max_pool`` (n, 753).
    """

    def __init__(self, ckpt: dict[str, np.ndarray]) -> None:
        super().__init__()
        buffers: dict[str, torch.Tensor] = {}
        scale, shift = _bn(ckpt, "batch_normalization")
        buffers["in_scale"], buffers["in_shift"] = scale, shift
        # front end: conv2d (7x38), conv2d_1 (7x67) timbral; conv2d_2..4 (128, 64, 32 x 1) temporal
        for i, name in enumerate(("t74", "t77", "s128", "s64", "s32")):
            conv = "conv2d" if i == 0 else f"conv2d_{i}"
            scale, shift = _bn(ckpt, f"batch_normalization_{i + 1}")
            # max over mel of BN(ReLU(z + b)) = BN(ReLU(max z + b)) where BN's scale is >= 0, and with min z where
            # it is negative; min z = -max(-z), so those filters are stored negated and one max serves all
            sign = torch.where(scale >= 0, 1.0, -1.0)
            kernel = _t(ckpt[f"{conv}/kernel"].transpose(3, 2, 0, 1))  # TF [time, mel, in, out] -> [out, in, t, m]
            buffers[f"{name}_w"] = kernel * sign[:, None, None, None]
            buffers[f"{name}_sign"], buffers[f"{name}_b"] = sign[:, None], _t(ckpt[f"{conv}/bias"])[:, None]
            buffers[f"{name}_scale"], buffers[f"{name}_shift"] = scale[:, None], shift[:, None]
        buffers["mel_dft"] = _mel_dft()
        for name in ("t74", "t77"):
            re, im, inverse = _timbral_spectral(buffers[f"{name}_w"])
            buffers[f"{name}_re"], buffers[f"{name}_im"], buffers[f"{name}_inverse"] = re, im, inverse
        # mid end: conv2d_5..7, kernels [7, channels, 1, 64] -> conv1d [64, channels, 7]
        for j in range(3):
            kernel = ckpt[f"conv2d_{5 + j}/kernel"]
            buffers[f"mid{j}_w"] = _t(kernel[:, :, 0, :].transpose(2, 1, 0))
            buffers[f"mid{j}_b"] = _t(ckpt[f"conv2d_{5 + j}/bias"])
            scale, shift = _bn(ckpt, f"batch_normalization_{6 + j}")
            buffers[f"mid{j}_scale"], buffers[f"mid{j}_shift"] = scale[:, None], shift[:, None]
        buffers["pool_scale"], buffers["pool_shift"] = _bn(ckpt, "batch_normalization_9")
        buffers["dense_w"], buffers["dense_b"] = _t(ckpt["dense/kernel"].T), _t(ckpt["dense/bias"])
        buffers["dense_scale"], buffers["dense_shift"] = _bn(ckpt, "batch_normalization_10")
        buffers["tags_w"], buffers["tags_b"] = _t(ckpt["dense_1/kernel"].T), _t(ckpt["dense_1/bias"])
        for name, value in buffers.items():
            self.register_buffer(name, value.contiguous())
        self.n_tags = int(buffers["tags_b"].shape[0])
        self.eval()

    def _buf(self, name: str) -> torch.Tensor:
        return self.get_buffer(name)

    def _front_block(self, extreme: torch.Tensor, name: str) -> torch.Tensor:
        """BN(ReLU(. + bias)) of the signed max over mel [n, filters, 187]."""
        z = torch.relu(extreme * self._buf(f"{name}_sign") + self._buf(f"{name}_b"))
        return z * self._buf(f"{name}_scale") + self._buf(f"{name}_shift")

    def _timbral(self, xp: torch.Tensor, name: str, direct: bool = False) -> torch.Tensor:
        """xp [n, 193, 96] (time padded by 3 each side) -> [n, 204, 187].

        By default through the mel DFT (:func:`_timbral_spectral`): about half the operations of the direct
        convolution, computed 32 frames at a time; ``direct`` runs the convolution itself.
        """
        if direct:
            z = F.conv2d(xp[:, None], self._buf(f"{name}_w"))  # [n, 204, 187, valid mel positions]
            return self._front_block(z.amax(3), name)
        re, im, inverse = self._buf(f"{name}_re"), self._buf(f"{name}_im"), self._buf(f"{name}_inverse")
        n, n_frames = xp.shape[0], xp.shape[1] - 6
        spectrum = xp @ self._buf("mel_dft")  # [n, 193, 98]
        chunks = []
        for start in range(0, n_frames, _TIME_CHUNK):
            taps = spectrum[:, start : min(n_frames, start + _TIME_CHUNK) + 6].unfold(1, 7, 1)  # [n, t, 98, 7]
            t = taps.shape[1]
            lhs = taps.reshape(n * t, 2, _BINS, 7).permute(2, 0, 1, 3).reshape(_BINS, n * t, 14)
            product = lhs.new_empty(2, _BINS, n * t, re.shape[2])  # [2, 49, n*t, 204]
            torch.bmm(lhs, re, out=product[0])
            torch.bmm(lhs, im, out=product[1])
            z = inverse @ product.view(2 * _BINS, -1)  # [valid mel positions, n*t*204]
            chunks.append(z.amax(0).view(n, t, -1))
        return self._front_block(torch.cat(chunks, 1).transpose(1, 2), name)

    def _temporal(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """x [n, 187, 96] -> [n, 51, 187], TensorFlow's "same" padding (one more frame after than before for an
        even kernel)."""
        w = self._buf(f"{name}_w")[:, :, :, 0]  # [51, 1, k]
        k = w.shape[2]
        xp = F.pad(x, (0, 0, (k - 1) // 2, k // 2))  # [n, 187 + k - 1, 96]
        bands = xp.transpose(1, 2).reshape(-1, 1, xp.shape[1])  # every mel band alike: [n * 96, 1, time]
        z = F.conv1d(bands, w).view(x.shape[0], N_MELS, w.shape[0], -1)  # [n, 96, 51, 187]
        return self._front_block(z.amax(1), name)

    def _midend(self, h: torch.Tensor, j: int) -> torch.Tensor:
        """h [n, channels, 187] -> [n, 64, 187]."""
        z = torch.relu(F.conv1d(F.pad(h, (3, 3)), self._buf(f"mid{j}_w"), self._buf(f"mid{j}_b")))
        return z * self._buf(f"mid{j}_scale") + self._buf(f"mid{j}_shift")

    def forward(self, x: torch.Tensor, direct: bool = False) -> dict[str, torch.Tensor]:
        x = x * self._buf("in_scale") + self._buf("in_shift")  # [n, 187, 96]
        xp = F.pad(x, (0, 0, 3, 3))
        front = [self._timbral(xp, "t74", direct), self._timbral(xp, "t77", direct)]
        front += [self._temporal(x, name) for name in ("s128", "s64", "s32")]
        h0 = torch.cat(front, 1)  # [n, 561, 187]
        h1 = self._midend(h0, 0)
        h2 = self._midend(h1, 1) + h1
        h3 = self._midend(h2, 2) + h2
        feats = torch.cat([h0, h1, h2, h3], 1)  # [n, 753, 187]
        max_pool, mean_pool = feats.amax(2), feats.mean(2)
        flat = torch.stack([max_pool, mean_pool], 2).reshape(x.shape[0], -1)  # TF's flatten of [753, 2]
        flat = flat * self._buf("pool_scale") + self._buf("pool_shift")
        dense = torch.relu(flat @ self._buf("dense_w").T + self._buf("dense_b"))
        penultimate = dense * self._buf("dense_scale") + self._buf("dense_shift")
        logits = penultimate @ self._buf("tags_w").T + self._buf("tags_b")
        return {
            "taggram": torch.sigmoid(logits),
            "penultimate": penultimate,
            "mean_pool": mean_pool,
            "max_pool": max_pool,
        }


# ----------------------------------------------------------------------------------------------------------------
# the encoder the feature stage uses


def _layer_output(out: dict[str, torch.Tensor], layer: str) -> torch.Tensor:
    if layer == "pooled":
        return torch.cat([out["mean_pool"], out["max_pool"]], 1)
    return out[layer]


class MusicnnEncoder:
    """musicnn as a :class:`songspace.features.encoders.AudioEncoder`.

    Parameters
    ----------
    model : str
        ``MSD_musicnn`` (Million Song Dataset tags, default) or ``MTT_musicnn`` (MagnaTagATune).
    layer : str
        ``penultimate`` (200 values per patch), ``taggram`` (50 tag probabilities, names from :func:`tag_names`)
        or ``pooled`` (the back end's mean-pooled then max-pooled frame features, 753 + 753).
    pooling : str
        How a track's patch vectors become one: ``mean`` or ``mean+std`` (twice the length).
    device : str or None
        torch device; None picks ``cuda`` when available, else ``cpu``.
    weights_dir : Path or None
        Folder holding the model's checkpoint (``variables.index`` + data); None looks it up in the songspace
        weights cache (:func:`songspace.features.weights.musicnn_weights`), which raises
        :class:`songspace.errors.WeightsError` saying how to fetch them.
    batch_patches : int or None
        Patches per forward pass; None: 2 on a CPU (small batches keep the timbral convolutions' outputs in cache:
        about 45 ms of CPU a patch against 70 ms in batches of 24), 64 on a GPU. Memory: about 12 MB a patch.
    """

    sample_rate = SAMPLE_RATE

    def __init__(self, model: str = "MSD_musicnn", layer: str = "penultimate", pooling: str = "mean",
                 device: str | None = None, weights_dir: Path | None = None, batch_patches: int | None = None) -> None:
        if model not in MODELS:
            raise ValueError(f"unknown musicnn model {model!r}; choose from: {', '.join(MODELS)}")
        if layer not in LAYERS:
            raise ValueError(f"unknown musicnn layer {layer!r}; choose from: {', '.join(LAYERS)}")
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; choose from: {', '.join(POOLINGS)}")
        if weights_dir is None:
            from songspace.features.weights import musicnn_weights

            weights_dir = musicnn_weights(model)
        self.model, self.layer, self.pooling = model, layer, pooling
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.batch_patches = batch_patches or (2 if self.device.type == "cpu" else 64)
        prefix = Path(weights_dir) / "variables"
        self._digest = checkpoint_digest(prefix)
        self.network = Musicnn(read_checkpoint(prefix)).to(self.device)
        self._basis = torch.from_numpy(mel_basis()).to(self.device)

    def cache_key(self) -> dict[str, Any]:
        return {"encoder": "musicnn", "model": self.model, "layer": self.layer, "pooling": self.pooling,
                "weights": self._digest, "code_version": CODE_VERSION}

    @property
    def layer_dim(self) -> int:
        """Length of one patch's vector."""
        return {"penultimate": _BACKEND_UNITS, "taggram": self.network.n_tags, "pooled": 2 * 753}[self.layer]

    @property
    def dim(self) -> int:
        return self.layer_dim * (2 if self.pooling == "mean+std" else 1)

    def patches(self, clip: np.ndarray) -> torch.Tensor:
        """One clip's log-mel patches [shape=(n, 187, 96)] on the encoder's device."""
        y = torch.as_tensor(np.asarray(clip, dtype=np.float32), device=self.device)
        if y.ndim != 1 or y.numel() == 0:
            raise ValueError(f"expected a non-empty mono clip, got shape {tuple(y.shape)}")
        return patches_of(log_mel(y, self._basis))

    @torch.inference_mode()
    def embed_patches(self, patches: torch.Tensor) -> np.ndarray:
        """The chosen layer for each patch: [shape=(n, layer_dim), dtype=float32]."""
        outs = []
        for start in range(0, patches.shape[0], self.batch_patches):
            batch = patches[start : start + self.batch_patches].to(self.device, torch.float32)
            outs.append(_layer_output(self.network(batch), self.layer).float().cpu())
        return torch.cat(outs).numpy() if outs else np.zeros((0, self.layer_dim), np.float32)

    @torch.inference_mode()
    def embed(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """One vector per clip [shape=(len(clips), dim), dtype=float32].

        Patches of consecutive clips share forward passes (``batch_patches`` at a time; only that many are held
        at once, so long collections stream), but every layer runs in inference mode, so a clip's vector depends
        on that clip alone.
        """
        rows: list[list[np.ndarray]] = [[] for _ in clips]
        pending: list[torch.Tensor] = []
        owners: list[int] = []  # the clip of each pending patch

        def run(n: int) -> None:
            batch = torch.cat(pending)
            out = self.embed_patches(batch[:n])
            for owner, row in zip(owners[:n], out, strict=True):
                rows[owner].append(row)
            pending[:] = [batch[n:]] if n < batch.shape[0] else []
            del owners[:n]

        for i, clip in enumerate(clips):
            patches = self.patches(clip)
            pending.append(patches)
            owners += [i] * patches.shape[0]
            if len(owners) >= self.batch_patches:
                run(len(owners) - len(owners) % self.batch_patches)
        if owners:
            run(len(owners))
        if not rows:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([pool(np.stack(r), self.pooling) for r in rows])
