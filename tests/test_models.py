"""Tests for songspace.models (the VAE contract, MLPVAE, the registry, save/load)."""

from __future__ import annotations

import pytest
import torch

from songspace.errors import ModelError
from songspace.models import MLPVAE, MODELS, ModelOutput, build_model, kl_to_standard_normal, load_model, save_model

IN, LATENT, BATCH = 10, 3, 7


@pytest.fixture
def model() -> MLPVAE:
    torch.manual_seed(0)
    return MLPVAE(input_dim=IN, latent_dim=LATENT, hidden_dims=[16, 8])


@pytest.fixture
def x() -> torch.Tensor:
    return torch.randn(BATCH, IN, generator=torch.Generator().manual_seed(1))


def test_shapes(model: MLPVAE, x: torch.Tensor) -> None:
    mu, logvar = model.encode(x)
    assert mu.shape == (BATCH, LATENT) and logvar.shape == (BATCH, LATENT)
    assert model.decode(mu).shape == (BATCH, IN)
    out = model(x)
    assert isinstance(out, ModelOutput)
    assert out.recon.shape == (BATCH, IN)
    assert out.z.shape == out.mu.shape == out.logvar.shape == (BATCH, LATENT)
    assert model.embed(x).shape == (BATCH, LATENT)


def test_default_hidden_dims() -> None:
    m = MLPVAE(input_dim=5)
    assert m.latent_dim == 16
    linears = [mod for mod in m.encoder if isinstance(mod, torch.nn.Linear)]
    assert [lin.out_features for lin in linears] == [256, 128]
    assert m.decode(torch.zeros(2, 16)).shape == (2, 5)


def test_loss_terms_and_beta(x: torch.Tensor) -> None:
    torch.manual_seed(0)
    m = MLPVAE(input_dim=IN, latent_dim=LATENT, hidden_dims=[16], beta=4.0)
    m.eval()
    out = m(x)
    terms = m.loss(x, out)
    assert set(terms) == {"reconstruction", "kl", "total"}
    assert terms["kl"].item() > 0
    assert torch.allclose(terms["total"], terms["reconstruction"] + 4.0 * terms["kl"])
    # reconstruction is the per-sample summed squared error, averaged over the batch
    expected_recon = ((out.recon - x) ** 2).sum(1).mean()
    assert torch.allclose(terms["reconstruction"], expected_recon)
    expected_kl = kl_to_standard_normal(out.mu, out.logvar).mean()
    assert torch.allclose(terms["kl"], expected_kl)


def test_kl_zero_at_standard_normal() -> None:
    kl = kl_to_standard_normal(torch.zeros(4, 3), torch.zeros(4, 3))
    assert kl.shape == (4,)
    assert torch.equal(kl, torch.zeros(4))


def test_kl_known_value() -> None:
    # 0.5 * (mu^2 + e^logvar - 1 - logvar) per dimension: mu=1, logvar=0 -> 0.5 per dim, 2 dims -> 1.0
    kl = kl_to_standard_normal(torch.ones(1, 2), torch.zeros(1, 2))
    assert torch.allclose(kl, torch.tensor([1.0]))
    assert (kl_to_standard_normal(torch.randn(5, 3), torch.randn(5, 3)) >= 0).all()


def test_embed_is_posterior_mean_and_deterministic(model: MLPVAE, x: torch.Tensor) -> None:
    model.eval()
    a, b = model.embed(x), model.embed(x)
    assert torch.equal(a, b)
    assert torch.equal(a, model.encode(x)[0])
    assert not a.requires_grad
    # In eval mode forward does not sample: z is mu.
    out = model(x)
    assert torch.equal(out.z, out.mu)


def test_forward_samples_in_train_mode(model: MLPVAE, x: torch.Tensor) -> None:
    model.train()
    out = model(x)
    assert not torch.equal(out.z, out.mu)
    # embed still gives the mean, even in train mode (no LayerNorm/dropout randomness)
    assert torch.equal(model.embed(x), model.embed(x))


def test_build_model_registry() -> None:
    assert "mlp_vae" in MODELS
    m = build_model("mlp_vae", input_dim=6, latent_dim=2, hidden_dims=[4])
    assert isinstance(m, MLPVAE)
    assert m.build_args == {"name": "mlp_vae", "input_dim": 6, "latent_dim": 2, "hidden_dims": [4]}


def test_build_model_unknown_name() -> None:
    with pytest.raises(ModelError, match="unknown model 'nope'.*mlp_vae"):
        build_model("nope", input_dim=3)


def test_save_load_round_trip(tmp_path, x: torch.Tensor) -> None:
    torch.manual_seed(0)
    m = build_model("mlp_vae", input_dim=IN, latent_dim=LATENT, hidden_dims=[16], beta=2.0)
    with torch.no_grad():  # move weights away from a fresh init so a silent re-init would be caught
        for p in m.parameters():
            p.add_(0.1)
    m.eval()
    path = tmp_path / "model.pt"
    save_model(m, path)
    torch.manual_seed(123)
    loaded = load_model(str(path))
    assert isinstance(loaded, MLPVAE)
    assert not loaded.training
    assert loaded.beta == 2.0 and loaded.latent_dim == LATENT
    assert torch.equal(loaded.embed(x), m.embed(x))
    assert torch.equal(loaded(x).recon, m(x).recon)
