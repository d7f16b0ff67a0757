"""Tests for songspace.models (the VAE contract, MLPVAE, the convolutional VAEs, the registry, save/load)."""

from __future__ import annotations

import pytest
import torch

from songspace.errors import ModelError
from songspace.models import (
    MLPVAE,
    MODELS,
    ConvVAE,
    ConvVAE1d,
    ModelOutput,
    build_model,
    kl_to_standard_normal,
    load_model,
    save_model,
)

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


# --- convolutional VAEs ---------------------------------------------------------------------------------------------

ODD_SHAPES = [(16, 40), (15, 37), (5, 3), (1, 9)]


@pytest.mark.parametrize("shape", ODD_SHAPES)
@pytest.mark.parametrize("channels", [(4,), (4, 8, 8, 8)])
def test_conv_vae_reconstructs_at_input_size(shape: tuple[int, int], channels: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    m = ConvVAE(input_shape=shape, latent_dim=LATENT, channels=channels)
    x = torch.randn(BATCH, *shape)
    out = m(x)
    assert out.recon.shape == x.shape
    assert out.z.shape == out.mu.shape == out.logvar.shape == (BATCH, LATENT)
    assert m.decode(out.mu).shape == (BATCH, *shape)
    # each block halves frequency and time, rounding up; the last map is flattened into mu
    h, w = shape
    for _ in channels:
        h, w = (h + 1) // 2, (w + 1) // 2
    assert m.to_mu.in_features == channels[-1] * h * w
    # with an explicit channel axis, reconstructions keep it, and the numbers are the same
    m.eval()
    out4 = m(x[:, None])
    assert out4.recon.shape == (BATCH, 1, *shape)
    assert torch.allclose(out4.recon[:, 0], m(x).recon, atol=1e-6)


@pytest.mark.parametrize("shape", [(6, 40), (13, 37), (3, 1)])
def test_conv_vae_1d_reconstructs_at_input_size(shape: tuple[int, int]) -> None:
    torch.manual_seed(0)
    m = ConvVAE1d(input_shape=shape, latent_dim=LATENT, channels=(8, 16))
    assert isinstance(m.encoder[0], torch.nn.Conv1d) and m.encoder[0].in_channels == shape[0]
    x = torch.randn(BATCH, *shape)
    out = m(x)
    assert out.recon.shape == x.shape
    assert m.embed(x).shape == (BATCH, LATENT)


def test_conv_defaults() -> None:
    m = ConvVAE(input_shape=(128, 128))
    convs = [mod for mod in m.encoder if isinstance(mod, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16, 32, 64] and m.latent_dim == 16
    assert all(isinstance(mod, torch.nn.GroupNorm) for mod in m.encoder if not isinstance(
        mod, torch.nn.Conv2d | torch.nn.GELU | torch.nn.Flatten))
    m1 = ConvVAE1d(input_shape=(20, 128))
    assert [c.out_channels for c in m1.encoder if isinstance(c, torch.nn.Conv1d)] == [32, 64, 128]


@pytest.mark.parametrize("name,shape", [("conv_vae", (15, 37)), ("mfcc_conv_vae", (6, 37))])
def test_conv_embed_is_posterior_mean_and_batch_independent(name: str, shape: tuple[int, int]) -> None:
    torch.manual_seed(0)
    m = build_model(name, input_shape=shape, latent_dim=LATENT, channels=[4, 8])
    x = torch.randn(BATCH, *shape, generator=torch.Generator().manual_seed(2))
    m.eval()
    a = m.embed(x)
    assert torch.equal(a, m.embed(x)) and torch.equal(a, m.encode(x)[0]) and not a.requires_grad
    out = m(x)
    assert torch.equal(out.z, out.mu)
    # GroupNorm: a track's embedding does not depend on the rest of its batch, in either mode
    assert torch.allclose(m.embed(x[:2]), a[:2], atol=1e-5)
    m.train()
    assert torch.allclose(m.embed(x), a, atol=1e-6)
    out = m(x)
    assert not torch.equal(out.z, out.mu)


def test_conv_loss_sums_over_spectrogram() -> None:
    torch.manual_seed(0)
    m = ConvVAE(input_shape=(8, 12), latent_dim=LATENT, channels=[4], beta=0.5).eval()
    x = torch.randn(BATCH, 1, 8, 12)
    out = m(x)
    terms = m.loss(x, out)
    assert torch.allclose(terms["reconstruction"], ((out.recon - x) ** 2).sum((1, 2, 3)).mean())
    assert torch.allclose(terms["total"], terms["reconstruction"] + 0.5 * terms["kl"])


def test_conv_wrong_input_shape_raises() -> None:
    m = ConvVAE(input_shape=(16, 40), channels=[4])
    with pytest.raises(ModelError, match=r"built for items of shape \(16, 40\)"):
        m(torch.zeros(2, 16, 41))
    with pytest.raises(ModelError, match="input_shape"):
        ConvVAE(input_shape=(4, 16, 40, 2))
    with pytest.raises(ModelError, match="channels"):
        ConvVAE(input_shape=(16, 40), channels=[])


def test_build_model_from_input_shape() -> None:
    assert {"conv_vae", "mfcc_conv_vae"} <= set(MODELS)
    m = build_model("conv_vae", input_shape=[16, 40], latent_dim=2, channels=[4, 8])
    assert isinstance(m, ConvVAE) and m.input_shape == (16, 40)
    assert m.build_args == {"name": "conv_vae", "input_shape": (16, 40), "latent_dim": 2, "channels": [4, 8]}
    m1 = build_model("mfcc_conv_vae", input_shape=(6, 40), channels=[4])
    assert isinstance(m1, ConvVAE1d) and m1.in_channels == 6
    mlp = build_model("mlp_vae", input_shape=(6,), hidden_dims=[4])
    assert isinstance(mlp, MLPVAE) and mlp.input_dim == 6 and mlp.build_args["input_dim"] == 6
    with pytest.raises(ModelError, match="conv_vae"):
        build_model("mlp_vae", input_shape=(16, 40))
    with pytest.raises(ModelError, match=r"conv_vae cannot be built with arguments \['hidden_dims', 'input_dim'\]"):
        build_model("conv_vae", input_dim=79, hidden_dims=[256, 128])


@pytest.mark.parametrize("name,shape", [("conv_vae", (15, 37)), ("mfcc_conv_vae", (6, 37))])
def test_conv_save_load_round_trip(tmp_path, name: str, shape: tuple[int, int]) -> None:
    torch.manual_seed(0)
    m = build_model(name, input_shape=shape, latent_dim=LATENT, channels=[4, 8], beta=2.0)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.1)
    m.eval()
    save_model(m, tmp_path / "model.pt")
    torch.manual_seed(123)
    loaded = load_model(tmp_path / "model.pt")
    assert type(loaded) is type(m) and not loaded.training
    assert loaded.input_shape == shape and loaded.beta == 2.0
    x = torch.randn(BATCH, *shape)
    assert torch.equal(loaded.embed(x), m.embed(x))
    assert torch.equal(loaded(x).recon, m(x).recon)


def test_a_denoising_autoencoder_reads_noisy_items_in_training_and_clean_ones_after() -> None:
    from songspace.models import build_model

    torch.manual_seed(0)
    x = torch.randn(6, 10)
    dae = build_model("autoencoder", input_shape=(10,), latent_dim=3, hidden_dims=[8], input_noise=0.5)
    plain = build_model("autoencoder", input_shape=(10,), latent_dim=3, hidden_dims=[8])
    plain.load_state_dict(dae.state_dict())
    dae.train()
    noisy = dae(x)
    assert not torch.allclose(noisy.z, plain.embed(x))  # the code of a corrupted item
    terms = dae.loss(x, noisy)  # rebuilt against the clean item
    assert torch.isclose(terms["reconstruction"], (noisy.recon - x).square().sum(1).mean())
    dae.eval()
    assert torch.equal(dae.embed(x), plain.embed(x)) and torch.equal(dae(x).recon, plain(x).recon)
    assert dae.build_args["input_noise"] == 0.5  # saved with the model, so a loaded one is the same model
