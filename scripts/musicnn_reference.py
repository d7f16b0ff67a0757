"""Make tests/data/musicnn_reference.npz: musicnn's own TensorFlow outputs on a few synthesised clips.

Run ONCE, in a throwaway venv outside the repository (TensorFlow is never a songspace dependency)::

    python3 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu==2.15.1 'numpy<2' librosa
    /tmp/tfenv/bin/pip install --no-deps musicnn==0.1.0
    /tmp/tfenv/bin/python scripts/musicnn_reference.py tests/data/musicnn_reference.npz

Versions used for the committed fixture (2026-12-06): Python 3.11.7, tensorflow-cpu 2.15.1, numpy 1.26.4,
librosa 0.11.0, soundfile 0.14.0, musicnn 0.1.0 (wheel from PyPI).

What it does: synthesises three deterministic clips (a chord, a drum-like pattern over noise, a bass line with a
melody; 4-7 s at 16 kHz, stored as int16 so the fixture holds them exactly), writes each to a 16-bit WAV and runs
musicnn's own ``extractor.batch_data`` on it (librosa load at 16 kHz, mel spectrogram, float16 cast,
log10(10000 x + 1) in float32, non-overlapping 187-frame patches; the fixture stores the float16 mel patches,
from which ``log10(10000 * mel16.astype(float32) + 1)`` gives musicnn's input exactly), builds musicnn's graph
ONCE per model with ``musicnn.models.define_model`` (``extractor()`` would rebuild it per file), restores the
wheel's checkpoint and saves, per patch, the taggram (sigmoid of the logits), the penultimate layer and the back
end's mean and max pools, for ``MSD_musicnn`` and ``MTT_musicnn``, with their tag names from musicnn's
``configuration.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

SR = 16000


def reference_clips() -> list[np.ndarray]:
    """Three deterministic clips, int16 [shape=(n,)] at 16 kHz."""
    rng = np.random.default_rng(21)
    clips = []

    # 1. a C-major chord of harmonic tones with a slow tremolo and a little noise: 4 s
    t = np.arange(4 * SR) / SR
    y = np.zeros_like(t)
    for f0 in (261.63, 329.63, 392.0):
        for h in range(1, 6):
            y += np.sin(2 * np.pi * f0 * h * t) / h
    y *= 0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t)
    y += 0.02 * rng.standard_normal(t.size)
    clips.append(y)

    # 2. kick-like sweeps and noise hats at 120 bpm over pink-ish noise: 6.5 s
    t = np.arange(int(6.5 * SR)) / SR
    y = 0.05 * np.cumsum(rng.standard_normal(t.size)) / np.sqrt(np.arange(1, t.size + 1))
    for beat in np.arange(0, 6.5, 0.5):
        i = int(beat * SR)
        n = min(int(0.25 * SR), t.size - i)
        tt = np.arange(n) / SR
        y[i : i + n] += np.sin(2 * np.pi * (50 + 100 * np.exp(-tt * 20)) * tt) * np.exp(-tt * 12)
        j = i + int(0.25 * SR)
        if j + 800 < t.size:
            y[j : j + 800] += 0.3 * rng.standard_normal(800) * np.exp(-np.arange(800) / 200)
    clips.append(y)

    # 3. a square-ish bass line and a sine melody with vibrato: 7 s
    t = np.arange(7 * SR) / SR
    bass_notes = np.array([55.0, 55.0, 73.42, 65.41, 49.0, 55.0, 73.42])
    bass_f = bass_notes[np.minimum((t // 1.0).astype(int), bass_notes.size - 1)]
    bass = np.tanh(3 * np.sin(2 * np.pi * np.cumsum(bass_f) / SR))
    mel_notes = np.array([440.0, 493.88, 523.25, 587.33, 659.25, 587.33, 523.25, 493.88])
    mel_f = mel_notes[(t * 2).astype(int) % mel_notes.size] * (1 + 0.005 * np.sin(2 * np.pi * 5 * t))
    melody = np.sin(2 * np.pi * np.cumsum(mel_f) / SR)
    clips.append(0.5 * bass + 0.4 * melody)

    out = []
    for y in clips:
        y = 0.5 * y / np.max(np.abs(y))  # peak at -6 dBFS
        out.append(np.round(y * 32767).astype(np.int16))
    return out


def main(out_path: str) -> None:
    import librosa
    import soundfile as sf
    import tensorflow as tf
    from musicnn import configuration as config
    from musicnn import extractor, models

    n_frames = librosa.time_to_frames(3, sr=config.SR, n_fft=config.FFT_SIZE, hop_length=config.FFT_HOP) + 1
    clips = reference_clips()
    patches, mels, clip_index = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, clip in enumerate(clips):
            path = os.path.join(tmp, f"clip{i}.wav")
            sf.write(path, clip, SR, subtype="PCM_16")
            batch, spectrogram = extractor.batch_data(path, n_frames, n_frames)  # musicnn's own preprocessing
            # the float16 mel power it rounds to before the log, so the fixture can store it exactly
            audio, _ = librosa.load(path, sr=config.SR)
            mel16 = librosa.feature.melspectrogram(
                y=audio, sr=config.SR, hop_length=config.FFT_HOP, n_fft=config.FFT_SIZE, n_mels=config.N_MELS
            ).T.astype(np.float16)
            n_patches = batch.shape[0]
            mel16 = mel16[: n_patches * n_frames].reshape(n_patches, n_frames, config.N_MELS)
            # with numpy < 2, 10000 * float16 is computed in float32 (value-based casting): no float16 overflow
            assert np.array_equal(np.log10(10000 * mel16 + 1), batch)
            print(f"clip {i}: {clip.size / SR:.2f} s, {spectrogram.shape[0]} frames, {n_patches} patches, "
                  f"log-mel max {float(np.max(spectrogram)):.3f}")
            patches.append(batch)
            mels.append(mel16)
            clip_index += [i] * n_patches
    patches_arr = np.concatenate(patches)
    assert patches_arr.dtype == np.float32

    result: dict[str, np.ndarray] = {
        "n_clips": np.array(len(clips)),
        "mel16": np.concatenate(mels),
        "clip_index": np.array(clip_index),
    }
    for i, clip in enumerate(clips):
        result[f"clip{i}"] = clip
    wheel_dir = os.path.dirname(models.__file__)
    for model, labels in (("MSD_musicnn", config.MSD_LABELS), ("MTT_musicnn", config.MTT_LABELS)):
        tf.compat.v1.reset_default_graph()
        with tf.name_scope("model"):
            x = tf.compat.v1.placeholder(tf.float32, [None, n_frames, config.N_MELS])
            is_training = tf.compat.v1.placeholder(tf.bool)
            y, _, _, _, _, _, mean_pool, max_pool, penultimate = models.define_model(x, is_training, model, len(labels))
            taggram = tf.nn.sigmoid(y)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver().restore(sess, wheel_dir + "/" + model + "/")
            tag, pen, mean_, max_ = sess.run(
                [taggram, penultimate, mean_pool, max_pool],
                feed_dict={x: patches_arr, is_training: False},
            )
            # musicnn's extractor feeds one patch at a time: check the batch gives the same (inference-mode BN)
            tag1 = sess.run(taggram, feed_dict={x: patches_arr[:1], is_training: False})
            assert np.allclose(tag1, tag[:1], atol=1e-5)
        print(f"{model}: taggram {tag.shape}, penultimate {pen.shape}, top tags of clip 0: "
              f"{[labels[j] for j in np.argsort(-tag[0])[:3]]}")
        result[f"{model}/taggram"] = tag.astype(np.float32)
        result[f"{model}/penultimate"] = pen.astype(np.float32)
        result[f"{model}/mean_pool"] = mean_.astype(np.float32)
        result[f"{model}/max_pool"] = max_.astype(np.float32)
        result[f"{model}/labels"] = np.array(labels)
    np.savez_compressed(out_path, **result)
    print(f"wrote {out_path} ({os.path.getsize(out_path) / 1e3:.0f} kB)")
    print("versions:", sys.version.split()[0], "tensorflow", tf.__version__, "numpy", np.__version__,
          "librosa", librosa.__version__, "soundfile", sf.__version__)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/musicnn_reference.npz")
