"""``crop_vae``: a 2-D conv VAE trained on many augmented 2-4 s log-mel crops per track; a track is its mean
posterior mean over a fixed grid of crops (:mod:`songspace.crops`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from songspace.representations.spec import AUDIO, SHARED_BETA, RepresentationSpec


class CropParams(BaseModel):
    """``[representations.params.crop_vae]``: the crops, their augmentation, the model and its epoch budget."""

    model_config = ConfigDict(extra="forbid")

    crop_seconds: float = Field(2.0, gt=0)  # a bar or two: modulation down to 0.5 Hz, many crops per clip
    crops_per_track: int = Field(16, gt=0)  # random crops of each track per epoch
    # What the model reads of a crop. A conv VAE rebuilding the crop itself keeps where in the crop things happen,
    # which averages away over a track's crops (and its mean spectrum, which is mostly the recording chain):
    # genre NMI 0.15 on hybrid_music_dev. Its modulation spectrum (how strongly each band fluctuates at 0.5-10 Hz:
    # rhythm, articulation, texture) does not depend on where the crop starts: 0.29-0.33. None: the crop itself.
    modulation_hz: float | None = Field(10.0, gt=0)
    frames: int = Field(32, gt=0)  # time frames a crop is pooled to, without modulation_hz
    bands: int | None = Field(32, gt=0)  # mel bands a crop is pooled to (None: all); log-mel only
    # Per-crop mean removal, without modulation_hz: the level (crop), or each band's (band: the long-term spectrum,
    # which left the crop VAE nothing to cluster by: genre NMI 0.05). A modulation spectrum has no mean level.
    centre: Literal["none", "crop", "band"] = "crop"
    # Read one crop of a track and rebuild another, taken elsewhere and augmented apart (models/paired_vae.py), so
    # that the latent keeps what a track's crops share: on hybrid_music_dev, 4 seeds, genre NMI k-means / GMM / Ward
    # 0.31 / 0.35 / 0.38 against 0.29 / 0.31 / 0.31 rebuilding the crop itself.
    pairs: bool = True
    augment: bool = True
    gain_db: float = Field(6.0, ge=0)
    tilt_db: float = Field(6.0, ge=0)  # EQ slope over the mel range
    reverb_seconds: float = Field(0.8, ge=0)  # longest RT60 of the reverb-like smearing
    noise_db: float = Field(50.0, ge=0)  # loudest noise floor under the crop's peak (0: none)
    pitch_bins: float = Field(1.5, ge=0)  # mel bins
    embed_crops: int = Field(8, gt=0)  # evenly spaced crops a track is embedded from
    latent_dim: int | None = Field(None, gt=0)  # None: model.latent_dim
    channels: list[int] = [16, 32, 64]
    epochs: int = Field(40, gt=0)  # at most (and at most train.epochs); an epoch is crops_per_track crops a track
    patience: int = Field(6, gt=0)  # at most train.patience


def build_crops(ctx, spec: RepresentationSpec, what: str, *, mfcc: bool):
    """Train ``spec.model`` on the crops of :class:`CropParams` ``ctx.params(spec.name)`` and embed every track."""
    from songspace.crops import Augmentation, CropDataset, crop_frames_for, embed_crops
    from songspace.models import build_model
    from songspace.representations.base import Representation, checkpoint_path
    from songspace.training import seed_everything, train

    p = ctx.params(spec.name)
    cfg = ctx.cfg
    cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={
        "epochs": min(p.epochs, cfg.train.epochs), "patience": min(p.patience, cfg.train.patience)})})
    aug = (Augmentation(gain_db=p.gain_db, tilt_db=p.tilt_db, reverb_seconds=p.reverb_seconds, noise_db=p.noise_db,
                        pitch_bins=p.pitch_bins) if p.augment else None)
    frame_rate = cfg.features.sample_rate / cfg.features.hop_length
    crop_frames = crop_frames_for(p.crop_seconds, frame_rate=frame_rate)
    ds = CropDataset(ctx.inputs.log_mel, crop_frames=crop_frames, frames=min(p.frames, crop_frames),
                     bands=None if mfcc else p.bands, crops_per_track=p.crops_per_track, seed=cfg.seed,
                     augmentation=aug, centre_by=p.centre, n_mfcc=ctx.inputs.n_mfcc if mfcc else None,
                     frame_rate=frame_rate, modulation_hz=p.modulation_hz, pairs=p.pairs
                     ).fit_standardisation(n_crops=p.embed_crops)
    latent = p.latent_dim or cfg.model.latent_dim
    kwargs = {"latent_dim": latent, "channels": list(p.channels), **ctx.kl_settings()}
    model_name = f"paired_{spec.model}" if p.pairs else spec.model
    seed_everything(cfg.seed)  # initial weights too, not only the training loop
    model = build_model(model_name, input_shape=ds.item_shape, **kwargs)
    cb = (lambda e, n, _t: ctx.progress(f"train {spec.name}", e, n)) if ctx.progress else None
    hist = train(model, ds, cfg.train, seed=cfg.seed, progress=cb,
                 checkpoint=checkpoint_path(spec.name, ds, cfg, kwargs, model=model_name))
    Z = embed_crops(model, ds, n_crops=p.embed_crops)
    view = f"modulation spectra up to {p.modulation_hz:g} Hz of " if p.modulation_hz else ""
    space = f"{what} ({view}{p.crop_seconds:g} s crops), mean posterior mean over {p.embed_crops} crops ({latent}-d)"
    return Representation(spec.name, Z, space, model=model, history=hist, dataset=ds.grid(p.embed_crops))


def build(ctx):
    return build_crops(ctx, SPEC, "conv VAE on log-mel", mfcc=False)


SPEC = RepresentationSpec(
    name="crop_vae", modality=AUDIO, build=build, learned=True, model="conv_vae", kl_beta=SHARED_BETA,
    reconstructs="modulation spectra of log-mel crops", params=CropParams,
    description="2-D convolutional VAE trained on many augmented 2-4 s log-mel crops per track; a track is its "
                "mean posterior mean over evenly spaced crops")
