"""``log_mel_flat``: baseline, the log-mel spectrogram pooled in time and flattened."""

from __future__ import annotations

from songspace.representations._state import save_built_state
from songspace.representations.spec import AUDIO, RepresentationSpec

FRAMES = 16  # 128 mels x 16 frames = 2048 values per track (0.6 s per frame of a 10 s clip)


def build(ctx):
    import numpy as np

    from songspace.representations._state import apply_scaler, scaler_state
    from songspace.representations.base import Representation, flat_log_mel

    flat = flat_log_mel(ctx.inputs.log_mel, frames=FRAMES)
    scaler = scaler_state(flat)
    X = apply_scaler(flat, scaler["mean"], scaler["scale"])  # = standardise(flat), keeping its arrays
    state = {**scaler, "frames": np.int64(FRAMES), "n_mels": np.int64(np.shape(ctx.inputs.log_mel)[1])}
    return Representation(SPEC.name, X, f"log-mel pooled to {FRAMES} frames, flattened, standardised "
                          f"({X.shape[1]}-d)", state=state)


def embed_new(state, model, inputs):
    import numpy as np

    from songspace.representations._state import apply_scaler
    from songspace.representations.base import flat_log_mel

    if (got := int(np.shape(inputs.log_mel)[1])) != int(state["n_mels"]):
        raise ValueError(f"the run's log-mels have {int(state['n_mels'])} mel bands, the new tracks' {got}: "
                         "extract them with the run's [features] settings")
    return apply_scaler(flat_log_mel(inputs.log_mel, frames=int(state["frames"])), state["mean"], state["scale"])


SPEC = RepresentationSpec(name="log_mel_flat", modality=AUDIO, build=build, baseline=True,
                          description=f"baseline: the log-mel spectrogram pooled to {FRAMES} frames and flattened",
                          save_state=save_built_state, embed_new=embed_new)
