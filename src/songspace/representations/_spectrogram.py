"""The conv VAEs on log-mel or MFCC sequences share one build."""

from __future__ import annotations


def build_conv(ctx, spec, what: str, *, mfcc: bool):
    from songspace.representations.base import Representation
    from songspace.training import SpectrogramDataset

    cfg = ctx.cfg
    ds = SpectrogramDataset(ctx.inputs.log_mel, frames=cfg.model.time_frames,
                            n_mfcc=ctx.inputs.n_mfcc if mfcc else None).fit_standardisation()
    kw = {} if cfg.model.channels is None else {"channels": cfg.model.channels}
    model, hist, Z = ctx.train_model(spec.name, ds, **ctx.kl_settings(), **kw)
    return Representation(spec.name, Z, f"{what}, posterior means ({cfg.model.latent_dim}-d)", model=model,
                          history=hist, dataset=ds)
