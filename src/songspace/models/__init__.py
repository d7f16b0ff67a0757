"""Representation models, registered by name. A new variant is one small file and one line here, and its name in
:data:`songspace.representations.spec.MODEL_NAMES` (which representation specs are checked against without
importing torch; a test keeps the two equal)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import torch

from songspace.errors import ModelError
from songspace.models.autoencoder import Autoencoder
from songspace.models.base import VAE, ModelOutput, kl_to_standard_normal
from songspace.models.beta_vae import BetaConvVAE, BetaVAE
from songspace.models.bimodal_vae import BimodalVAE
from songspace.models.conv_vae import ConvVAE, ConvVAE1d
from songspace.models.cvae import ConditionalVAE, one_hot
from songspace.models.idec import IDEC
from songspace.models.mlp_vae import MLPVAE
from songspace.models.paired_vae import PairedConvVAE, PairedConvVAE1d
from songspace.models.poe_vae import PoEOutput, PoEVAE
from songspace.models.vade import VaDE

MODELS: dict[str, type[VAE]] = {"mlp_vae": MLPVAE, "conv_vae": ConvVAE, "mfcc_conv_vae": ConvVAE1d,
                                "bimodal_vae": BimodalVAE, "beta_vae": BetaVAE, "beta_conv_vae": BetaConvVAE,
                                "cvae": ConditionalVAE, "poe_vae": PoEVAE, "autoencoder": Autoencoder,
                                "vade": VaDE, "idec": IDEC,
                                "paired_conv_vae": PairedConvVAE, "paired_mfcc_conv_vae": PairedConvVAE1d}


def build_model(name: str, *, input_shape: Sequence[int] | None = None, **kwargs: Any) -> VAE:
    """An instance of the model registered as ``name``.

    Parameters
    ----------
    name : a key of ``MODELS``.
    input_shape : shape of one item (``dataset[0].shape``): ``(n_stats,)`` for ``mlp_vae``, ``beta_vae`` and
        ``autoencoder``, ``(n_mels, n_frames)`` for ``conv_vae`` and ``beta_conv_vae``, ``(n_mfcc, n_frames)`` for
        ``mfcc_conv_vae``, the width of ``[features | condition]`` for ``cvae``, of ``[blocks | flags]`` for
        ``poe_vae``. It becomes the model's own size argument
        (``input_dim`` or ``input_shape``); leave it out to pass that argument directly.
    **kwargs : the model's other constructor arguments (``latent_dim``, ``beta``, ``hidden_dims`` or ``channels``;
        ``capacity_max`` for the Beta-VAEs, ``cond_dim`` for ``cvae``, ``dims`` and ``categorical`` for ``poe_vae``).
    """
    try:
        cls = MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}") from None
    if input_shape is not None:
        kwargs = {**cls.size_kwargs(tuple(input_shape)), **kwargs}
    try:
        model = cls(**kwargs)
    except TypeError as exc:  # e.g. hidden_dims given to a conv model, or input_dim where it wants input_shape
        raise ModelError(f"{name} cannot be built with arguments {sorted(kwargs)} ({exc}); pass input_shape= "
                         f"the shape of one item, and the model's own size settings.") from None
    model.build_args = {"name": name, **kwargs}  # what save_model needs to rebuild it
    return model


def save_model(model: VAE, path: Path | str | BinaryIO) -> None:
    """Write a model built by :func:`build_model` (its name, arguments and weights) to ``path`` (or a binary file)."""
    torch.save({"build_args": model.build_args, "state_dict": model.state_dict()},
               path if hasattr(path, "write") else Path(path))


def load_model(path: Path | str) -> VAE:
    """Rebuild a model written by :func:`save_model`, on the CPU, in evaluation mode.

    Raises ModelError naming ``path`` when it is not such a file (garbage, truncated, other keys or weights of
    another shape): read with ``weights_only``, so a hostile file never runs code either.
    """
    path = Path(path)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        args = dict(blob["build_args"])
        model = build_model(str(args.pop("name")), **args)
        model.load_state_dict(blob["state_dict"])
    except Exception as exc:  # noqa: BLE001 - torch's messages for garbage run to pages and advise unpickling
        raise ModelError(f"{path}: not a model saved by songspace ({type(exc).__name__}); the run folder is "
                         "damaged. Rerun the experiment.") from None
    return model.eval()


__all__ = ["MODELS", "VAE", "MLPVAE", "BimodalVAE", "ConvVAE", "ConvVAE1d", "BetaVAE", "BetaConvVAE", "ConditionalVAE",
           "PoEVAE", "PoEOutput", "Autoencoder", "ModelOutput", "build_model", "save_model", "load_model",
           "kl_to_standard_normal", "one_hot", "VaDE", "IDEC"]
