"""Representation models, registered by name. A new variant is one small file and one line here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from songspace.errors import ModelError
from songspace.models.base import VAE, ModelOutput, kl_to_standard_normal
from songspace.models.mlp_vae import MLPVAE

MODELS: dict[str, type[VAE]] = {"mlp_vae": MLPVAE}


def build_model(name: str, **kwargs: Any) -> VAE:
    """An instance of the model registered as ``name``."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}") from None
    model = cls(**kwargs)
    model.build_args = {"name": name, **kwargs}  # what save_model needs to rebuild it
    return model


def save_model(model: VAE, path: Path | str) -> None:
    """Write a model built by :func:`build_model` (its name, arguments and weights) to ``path``."""
    torch.save({"build_args": model.build_args, "state_dict": model.state_dict()}, Path(path))


def load_model(path: Path | str) -> VAE:
    """Rebuild a model written by :func:`save_model`, on the CPU, in evaluation mode."""
    blob = torch.load(Path(path), map_location="cpu", weights_only=True)
    args = dict(blob["build_args"])
    model = build_model(args.pop("name"), **args)
    model.load_state_dict(blob["state_dict"])
    return model.eval()


__all__ = ["MODELS", "VAE", "MLPVAE", "ModelOutput", "build_model", "save_model", "load_model", "kl_to_standard_normal"]
