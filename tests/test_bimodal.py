"""The audio + lyrics VAE: lyrics counted only where present, shapes, and that it learns."""

from __future__ import annotations

import pytest
import torch

from songspace.errors import ModelError
from songspace.models.bimodal_vae import BimodalVAE


def _batch(n: int = 8, audio: int = 6, lyrics: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, audio + lyrics + 1, generator=g)
    x[:, -1] = torch.tensor([1.0, 0.0] * (n // 2))
    x[x[:, -1] == 0, audio:audio + lyrics] = 0.0
    return x


def test_shapes_and_split() -> None:
    model = BimodalVAE(input_dim=10, lyrics_dim=3, latent_dim=2, hidden_dims=[8])
    x = _batch()
    out = model(x)
    assert out.recon.shape == (8, 9) and out.mu.shape == (8, 2)
    audio, lyrics, present = model.split(x)
    assert audio.shape == (8, 6) and lyrics.shape == (8, 3) and present.tolist() == [1.0, 0.0] * 4


def test_missing_lyrics_do_not_count() -> None:
    torch.manual_seed(0)
    model = BimodalVAE(input_dim=10, lyrics_dim=3, latent_dim=2, hidden_dims=[8]).eval()
    x = _batch()
    with torch.no_grad():
        out = model(x)
    base = model.loss(x, out)
    recon = out.recon.clone()
    recon[1::2, 6:] += 100.0  # a wildly wrong lyrics reconstruction, only for tracks without lyrics
    same = model.loss(x, type(out)(recon=recon, z=out.z, mu=out.mu, logvar=out.logvar))
    assert float(same["total"]) == pytest.approx(float(base["total"]))
    recon[0, 6:] += 100.0  # ... and for a track with lyrics it counts
    worse = model.loss(x, type(out)(recon=recon, z=out.z, mu=out.mu, logvar=out.logvar))
    assert float(worse["reconstruction_lyrics"]) > float(base["reconstruction_lyrics"]) + 100


def test_learns() -> None:
    torch.manual_seed(0)
    model = BimodalVAE(input_dim=10, lyrics_dim=3, latent_dim=3, hidden_dims=[16])
    x = _batch(n=32, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(150):
        terms = model.loss(x, model(x))
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
        first = first if first is not None else float(terms["reconstruction"].detach())
    assert float(terms["reconstruction"].detach()) < 0.7 * first


def test_bad_sizes() -> None:
    with pytest.raises(ModelError, match="lyrics_dim"):
        BimodalVAE(input_dim=5, lyrics_dim=4)
    with pytest.raises(ModelError):
        BimodalVAE.size_kwargs((3, 4))
    assert BimodalVAE.size_kwargs((12,)) == {"input_dim": 12}
