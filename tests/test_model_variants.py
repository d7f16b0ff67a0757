"""Tests for the model variants: Beta-VAE (with the capacity schedule), conditional VAE, product-of-experts VAE,
plain autoencoder, and the trainer's ``on_epoch`` hook."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from songspace.config import TrainConfig
from songspace.errors import ModelError
from songspace.models import (
    MLPVAE,
    MODELS,
    Autoencoder,
    BetaConvVAE,
    BetaVAE,
    ConditionalVAE,
    PoEVAE,
    build_model,
    kl_to_standard_normal,
    load_model,
    one_hot,
    save_model,
)
from songspace.training import RowDataset, embed, train

N, LATENT = 40, 2
AUDIO, LYRICS, GENRES = 6, 4, 3
DIMS = {"audio": AUDIO, "lyrics": LYRICS, "genre": GENRES}
POE_WIDTH = AUDIO + LYRICS + GENRES + 3


def _cfg(**kw) -> TrainConfig:
    base = {"epochs": 20, "batch_size": 8, "lr": 1e-2, "patience": 100, "device": "cpu"}
    return TrainConfig(**{**base, **kw})


def _rows(n: int = N, d: int = 8, seed: int = 0) -> np.ndarray:
    """``n`` rows of ``d``-d data on a 2-d linear subspace plus a little noise."""
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 2)) @ rng.normal(size=(2, d)) + 0.05 * rng.normal(size=(n, d))).astype(np.float32)


def _cvae_rows(n: int = N, seed: int = 0) -> np.ndarray:
    """``[x (6) | one-hot of 3 classes]``: each class shifts x by its own offset, so the condition explains it."""
    rng = np.random.default_rng(seed)
    cls = np.arange(n) % 3
    offsets = 3.0 * rng.normal(size=(3, 6))
    x = offsets[cls] + 0.3 * rng.normal(size=(n, 6))
    return np.concatenate([x, np.eye(3)[cls]], axis=1).astype(np.float32)


def _poe_rows(n: int = N, seed: int = 0, *, missing: bool = True) -> np.ndarray:
    """Items ``[audio | lyrics | genre one-hot | 3 flags]`` driven by one class per item; with ``missing``, every
    2nd item lacks lyrics and every 3rd its genre (their blocks hold zeros)."""
    rng = np.random.default_rng(seed)
    cls = np.arange(n) % GENRES
    audio = 2.0 * rng.normal(size=(GENRES, AUDIO))[cls] + 0.3 * rng.normal(size=(n, AUDIO))
    lyrics = 2.0 * rng.normal(size=(GENRES, LYRICS))[cls] + 0.3 * rng.normal(size=(n, LYRICS))
    genre = np.eye(GENRES)[cls]
    flags = np.ones((n, 3))
    if missing:
        flags[1::2, 1] = 0
        flags[::3, 2] = 0
    lyrics[flags[:, 1] == 0] = 0
    genre[flags[:, 2] == 0] = 0
    return np.concatenate([audio, lyrics, genre, flags], axis=1).astype(np.float32)


# name -> (data, build kwargs beyond input_shape)
CASES = {
    "beta_vae": (lambda: _rows(), {"hidden_dims": [16], "beta": 1.0}),
    "beta_conv_vae": (lambda: _rows(d=8 * 12).reshape(N, 8, 12), {"channels": [4, 8], "beta": 1.0}),
    "cvae": (lambda: _cvae_rows(), {"cond_dim": 3, "hidden_dims": [16]}),
    "poe_vae": (lambda: _poe_rows(), {"dims": DIMS, "categorical": ["genre"], "hidden_dims": [16]}),
    "autoencoder": (lambda: _rows(), {"hidden_dims": [16]}),
}


def _build(name: str, seed: int = 0, **kw):
    data, kwargs = CASES[name]
    x = data()
    torch.manual_seed(seed)
    return build_model(name, input_shape=x.shape[1:], latent_dim=LATENT, **{**kwargs, **kw}), x


# --- every variant: registry, shapes, training, save/load --------------------------------------------------------


def test_registered() -> None:
    assert {"beta_vae", "beta_conv_vae", "cvae", "poe_vae", "autoencoder"} <= set(MODELS)
    assert MODELS["beta_vae"] is BetaVAE and issubclass(BetaVAE, MLPVAE)
    assert MODELS["autoencoder"] is Autoencoder and issubclass(Autoencoder, MLPVAE)
    assert MODELS["cvae"] is ConditionalVAE and MODELS["poe_vae"] is PoEVAE and MODELS["beta_conv_vae"] is BetaConvVAE


@pytest.mark.parametrize("name,recon_width", [("beta_vae", 8), ("beta_conv_vae", None), ("cvae", 6),
                                              ("poe_vae", AUDIO + LYRICS + GENRES), ("autoencoder", 8)])
def test_shapes(name: str, recon_width: int | None) -> None:
    model, data = _build(name)
    x = torch.from_numpy(data[:5])
    out = model(x)
    assert out.recon.shape == ((5, recon_width) if recon_width else x.shape)
    assert out.z.shape == out.mu.shape == (5, LATENT)
    assert (out.logvar is None) == (name == "autoencoder")
    assert model.embed(x).shape == (5, LATENT) and not model.embed(x).requires_grad


@pytest.mark.parametrize("name", list(CASES))
def test_loss_decreases_with_the_trainer(name: str) -> None:
    model, data = _build(name)
    hist = train(model, RowDataset(data), _cfg())
    first, last = hist.train[0], hist.train[-1]
    assert last["total"] < 0.7 * first["total"]
    assert last["reconstruction"] < 0.7 * first["reconstruction"]
    assert np.isfinite(embed(model, RowDataset(data))).all()


@pytest.mark.parametrize("name", list(CASES))
def test_save_load_round_trip(tmp_path, name: str) -> None:
    model, data = _build(name, capacity_max=3.0) if name.startswith("beta") else _build(name)
    with torch.no_grad():  # away from a fresh init, so that a silent re-init would show
        for p in model.parameters():
            p.add_(0.05)
    model.on_epoch(7, 10)
    model.eval()
    save_model(model, tmp_path / "m.pt")
    torch.manual_seed(99)
    loaded = load_model(tmp_path / "m.pt")
    assert type(loaded) is type(model) and not loaded.training
    assert loaded.state_dict().keys() == model.state_dict().keys()
    x = torch.from_numpy(data)
    assert torch.equal(loaded.embed(x), model.embed(x))
    assert torch.equal(loaded(x).recon, model(x).recon)


def test_trainer_calls_on_epoch_before_each_training_pass() -> None:
    calls: list[tuple[int, int, int]] = []

    class Recording(MLPVAE):
        losses = 0

        def on_epoch(self, epoch: int, epochs: int) -> None:
            calls.append((epoch, epochs, self.losses))

        def loss(self, x, out):
            self.losses += int(self.training)
            return super().loss(x, out)

    torch.manual_seed(0)
    model = Recording(input_dim=8, latent_dim=LATENT, hidden_dims=[8])
    train(model, RowDataset(_rows()), _cfg(epochs=3, batch_size=12))  # 36 training rows: 3 batches per epoch
    assert calls == [(0, 3, 0), (1, 3, 3), (2, 3, 6)]
    assert MLPVAE(input_dim=3).on_epoch(0, 1) is None  # the base hook is a no-op


# --- Beta-VAE ---------------------------------------------------------------------------------------------------


def test_beta_vae_uses_beta() -> None:
    torch.manual_seed(0)
    model = BetaVAE(input_dim=8, latent_dim=LATENT, hidden_dims=[16]).eval()
    assert model.beta == 4.0 and model.capacity_max is None
    x = torch.from_numpy(_rows())
    terms = model.loss(x, model(x))
    assert set(terms) == {"reconstruction", "kl", "total"} and terms["kl"] > 0
    assert torch.allclose(terms["total"], terms["reconstruction"] + 4.0 * terms["kl"])
    # the same weights as an MLPVAE of beta 1 give the same terms, and a total lower by 3 * KL
    plain = MLPVAE(input_dim=8, latent_dim=LATENT, hidden_dims=[16]).eval()
    plain.load_state_dict(model.state_dict())
    base = plain.loss(x, plain(x))
    assert torch.allclose(base["kl"], terms["kl"]) and torch.allclose(base["total"] + 3 * terms["kl"], terms["total"])


def test_capacity_grows_and_total_uses_its_distance_to_kl() -> None:
    torch.manual_seed(0)
    model = BetaVAE(input_dim=8, latent_dim=LATENT, hidden_dims=[16], capacity_max=5.0, capacity_epochs=10).eval()
    seen = []
    for epoch in (0, 2, 5, 10, 15):
        model.on_epoch(epoch, 20)
        seen.append(model.capacity)
    assert seen == [0.0, 1.0, 2.5, 5.0, 5.0]
    x = torch.from_numpy(_rows())
    out = model(x)
    for c in (0.0, 5.0):  # KL below C and above it: the absolute difference either way
        model.capacity = c
        terms = model.loss(x, out)
        assert float(terms["capacity"]) == c
        assert torch.allclose(terms["total"], terms["reconstruction"] + 4.0 * (terms["kl"] - c).abs())
    assert float(terms["kl"].detach()) < 5.0  # so the last one was C - KL, not KL - C


def test_capacity_schedule_runs_through_the_trainer(caplog) -> None:
    torch.manual_seed(0)
    model = build_model("beta_conv_vae", input_shape=(8, 12), latent_dim=LATENT, channels=[4], capacity_max=2.0,
                        capacity_epochs=4)
    data = _rows(d=96).reshape(N, 8, 12)
    hist = train(model, RowDataset(data), _cfg(epochs=6))
    assert [h["capacity"] for h in hist.train] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.0])
    assert [h["capacity"] for h in hist.val] == [h["capacity"] for h in hist.train]
    with caplog.at_level(logging.INFO, logger="songspace.models.beta_vae"):
        model.on_epoch(0, 2)  # a schedule longer than the run is reported
    assert "C reaches" in caplog.text


def test_beta_vae_bad_capacity() -> None:
    with pytest.raises(ModelError, match="capacity_max"):
        build_model("beta_vae", input_shape=(8,), capacity_max=-1.0)
    with pytest.raises(ModelError, match="capacity_epochs"):
        build_model("beta_vae", input_shape=(8,), capacity_max=1.0, capacity_epochs=0)


# --- conditional VAE --------------------------------------------------------------------------------------------


def test_one_hot() -> None:
    onehot, classes = one_hot(["rock", "", "pop", None, " rock "])
    assert classes == ["pop", "rock"]
    assert onehot.dtype == np.float32
    assert onehot.tolist() == [[0, 1], [0, 0], [1, 0], [0, 0], [0, 1]]
    given, order = one_hot(["jazz", "pop"], classes=["rock", "pop", "jazz"])
    assert order == ["rock", "pop", "jazz"] and given.tolist() == [[0, 0, 1], [0, 1, 0]]
    assert one_hot([])[0].shape == (0, 0)


def test_one_hot_unseen_label_is_unknown(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        onehot, _ = one_hot(["metal", "pop"], classes=["pop"])
    assert onehot.tolist() == [[0], [1]] and "metal" in caplog.text


def test_cvae_reconstructs_x_given_its_condition() -> None:
    data = _cvae_rows()
    torch.manual_seed(0)
    model = build_model("cvae", input_shape=(9,), cond_dim=3, latent_dim=LATENT, hidden_dims=[16])
    x = torch.from_numpy(data)
    out = model(x)
    terms = model.loss(x, out)
    assert torch.allclose(terms["reconstruction"], (out.recon - x[:, :6]).square().sum(1).mean())
    train(model, RowDataset(data), _cfg(epochs=30))
    x_part, c = model.split(x)
    z = model.embed(x)
    right = model.decode(z, c)
    wrong = model.decode(z, c.roll(1, dims=1))  # every item given another class
    assert not torch.allclose(right, wrong)
    err_right = (right - x_part).square().sum(1).mean()
    err_wrong = (wrong - x_part).square().sum(1).mean()
    assert err_right < 0.5 * err_wrong
    assert torch.equal(model.decode(z), model.decode(z, torch.zeros_like(c)))  # no condition = unknown


def test_cvae_bad_sizes() -> None:
    with pytest.raises(ModelError, match="cond_dim"):
        ConditionalVAE(input_dim=4, cond_dim=4)
    model = ConditionalVAE(input_dim=9, cond_dim=3, hidden_dims=[8])
    with pytest.raises(ModelError, match="width 9"):
        model(torch.zeros(2, 8))


# --- product-of-experts VAE -------------------------------------------------------------------------------------


def _poe(seed: int = 0, **kw) -> PoEVAE:
    torch.manual_seed(seed)
    return PoEVAE(**{"dims": DIMS, "categorical": ["genre"], "latent_dim": LATENT, "hidden_dims": [16], **kw}).eval()


def test_poe_product_of_gaussian_experts() -> None:
    mu = torch.tensor([[[1.0]], [[4.0]]])  # two experts, one item, one latent dimension
    logvar = torch.log(torch.tensor([[[0.5]], [[0.25]]]))  # precisions 2 and 4
    both, var_both = PoEVAE.product(mu, logvar, torch.tensor([[1.0, 1.0]]))
    assert torch.allclose(both, torch.tensor([[(2 * 1.0 + 4 * 4.0) / (1 + 2 + 4)]]))  # prior: mean 0, precision 1
    assert torch.allclose(var_both, -torch.log(torch.tensor([[7.0]])))
    one, var_one = PoEVAE.product(mu, logvar, torch.tensor([[0.0, 1.0]]))
    assert torch.allclose(one, torch.tensor([[16.0 / 5]]))
    assert torch.allclose(var_one, -torch.log(torch.tensor([[5.0]])))
    none, var_none = PoEVAE.product(mu, logvar, torch.tensor([[0.0, 0.0]]))
    assert torch.equal(none, torch.zeros(1, 1)) and torch.equal(var_none, torch.zeros(1, 1))  # the prior


def test_poe_missing_block_values_change_nothing() -> None:
    model = _poe()
    x = torch.from_numpy(_poe_rows())
    noisy = x.clone()
    noisy[1::2, AUDIO:AUDIO + LYRICS] = 100 * torch.randn(N // 2, LYRICS)  # lyrics missing there
    noisy[::3, AUDIO + LYRICS:AUDIO + LYRICS + GENRES] = 7.0  # genre missing there
    assert torch.equal(model.embed(noisy), model.embed(x))
    assert torch.equal(model.encode(noisy)[1], model.encode(x)[1])
    assert torch.equal(model.loss(noisy, model(noisy))["total"], model.loss(x, model(x))["total"])


def test_poe_audio_only_item_and_without() -> None:
    model = _poe()
    x = torch.from_numpy(_poe_rows(6))
    audio_only = model.without(x, ["lyrics", "genre"])
    assert torch.equal(audio_only[:, -3:], torch.tensor([[1.0, 0.0, 0.0]] * 6))
    assert torch.equal(audio_only[:, AUDIO:-3], torch.zeros(6, LYRICS + GENRES))
    assert torch.equal(audio_only[:, :AUDIO], x[:, :AUDIO])
    mu, logvar = model.encode(audio_only)
    # the audio expert alone with the prior: precision 1 + 1/var_a, mean mu_a * (1/var_a) / (1 + 1/var_a)
    mus, logvars = model.experts(model.split(audio_only)[0])
    prec = torch.exp(-logvars[0])
    assert torch.allclose(mu, mus[0] * prec / (1 + prec), atol=1e-6)
    assert torch.allclose(logvar, -torch.log1p(prec), atol=1e-6)
    terms = model.loss(audio_only, model(audio_only))
    assert all(torch.isfinite(v) for v in terms.values())
    # without() gives what zeroing the flag alone gives (the block's values are ignored)
    flag_only = x.clone()
    flag_only[:, -1] = 0.0
    assert torch.equal(model.embed(model.without(x, ["genre"])), model.embed(flag_only))
    assert not torch.equal(model.embed(flag_only[2:3]), model.embed(x[2:3]))  # item 2 has a genre: it mattered
    with pytest.raises(ModelError, match="no modality"):
        model.without(x, ["video"])


def test_poe_missing_reconstruction_is_not_counted() -> None:
    model = _poe()
    x = torch.from_numpy(_poe_rows())
    with torch.no_grad():
        out = model(x)
    base = model.loss(x, out)
    recon = out.recon.clone()
    recon[1::2, AUDIO:AUDIO + LYRICS] += 100.0  # wildly wrong lyrics, only where there are none
    recon[::3, AUDIO + LYRICS:] -= 50.0  # and genre logits where the genre is unknown
    same = model.loss(x, type(out)(recon=recon, z=out.z, mu=out.mu, logvar=out.logvar, experts=out.experts))
    assert torch.equal(same["total"], base["total"]) and torch.equal(same["reconstruction"], base["reconstruction"])
    recon[0, AUDIO:AUDIO + LYRICS] += 100.0  # item 0 has lyrics: now it counts
    worse = model.loss(x, type(out)(recon=recon, z=out.z, mu=out.mu, logvar=out.logvar))  # experts recomputed
    assert float(worse["reconstruction_lyrics"]) > float(base["reconstruction_lyrics"]) + 100
    assert torch.equal(worse["subsampled"], base["subsampled"])


def test_poe_categorical_uses_cross_entropy_and_weights() -> None:
    model = _poe(subsample=False, weights={"lyrics": 0.5})
    x = torch.from_numpy(_poe_rows())
    out = model(x)
    terms = model.loss(x, out)
    assert "subsampled" not in terms
    has = x[:, -1] == 1
    logits = out.recon[has, AUDIO + LYRICS:]
    target = x[has, AUDIO + LYRICS:AUDIO + LYRICS + GENRES].argmax(1)
    scale = AUDIO / GENRES  # each modality counts like the first one (audio), per dimension
    assert torch.allclose(terms["reconstruction_genre"], F.cross_entropy(logits, target) * scale)
    lyr = x[:, -2] == 1
    lyr_err = (out.recon[lyr, AUDIO:AUDIO + LYRICS] - x[lyr, AUDIO:AUDIO + LYRICS]).square().sum(1)
    assert torch.allclose(terms["reconstruction_lyrics"], 0.5 * AUDIO / LYRICS * lyr_err.mean())
    assert torch.allclose(terms["total"], terms["reconstruction"] + terms["kl"])
    assert torch.allclose(terms["kl"], kl_to_standard_normal(out.mu, out.logvar).mean())


def test_poe_gradients_finite_with_missing_modalities() -> None:
    model = _poe().train()
    x = torch.from_numpy(_poe_rows())
    x[5, -3:] = 0.0  # an item with nothing present gets the prior
    model.loss(x, model(x))["total"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert torch.equal(model.embed(x[5:6]), torch.zeros(1, LATENT))


def test_poe_subsampled_term_is_the_single_modality_elbos() -> None:
    """MVAE: the loss adds, per present modality, the ELBO of that modality alone (its expert with the prior,
    reconstructing that modality). In evaluation mode z is the mean, so the term can be rebuilt exactly."""
    model = _poe(beta=2.0)
    x = torch.from_numpy(_poe_rows())
    out = model(x)
    terms = model.loss(x, out)
    blocks, present = model.split(x)
    mus, logvars = model.experts(blocks)
    expected = torch.zeros(())
    for i, m in enumerate(DIMS):
        prec = torch.exp(-logvars[i])
        mu, logvar = mus[i] * prec / (1 + prec), -torch.log1p(prec)
        own = model.error(m, model.decoders[m](mu), blocks[m]) + 2.0 * kl_to_standard_normal(mu, logvar)
        expected = expected + (own * present[:, i]).mean()
    assert torch.allclose(terms["subsampled"], expected, atol=1e-5)
    assert torch.allclose(terms["total"], terms["reconstruction"] + 2.0 * terms["kl"] + expected, atol=1e-5)
    # a modality absent from every item adds nothing
    no_lyrics = model.without(x, ["lyrics"])
    with torch.no_grad():
        assert float(model.loss(no_lyrics, model(no_lyrics))["reconstruction_lyrics"]) == 0.0


def test_poe_bad_sizes_and_flags() -> None:
    with pytest.raises(ModelError, match=r"need 13 columns of blocks \+ 3 presence flags = 16"):
        build_model("poe_vae", input_shape=(15,), dims=DIMS)
    with pytest.raises(ModelError, match="categorical"):
        PoEVAE(dims=DIMS, categorical=["mood"])
    with pytest.raises(ModelError, match="weights"):
        PoEVAE(dims=DIMS, weights={"video": 1.0})
    with pytest.raises(ModelError, match="dims"):
        PoEVAE(dims={"a.b": 3})
    with pytest.raises(ModelError):
        PoEVAE.size_kwargs((4, 4))
    model = _poe()
    x = torch.from_numpy(_poe_rows(4))
    x[:, -1] = 0.3  # standardised flags
    with pytest.raises(ModelError, match="0 or 1"):
        model(x)
    with pytest.raises(ModelError, match="width 16"):
        model(torch.zeros(2, 15))


# --- plain autoencoder ------------------------------------------------------------------------------------------


def test_autoencoder_is_deterministic_without_kl() -> None:
    torch.manual_seed(0)
    model = build_model("autoencoder", input_shape=(8,), latent_dim=LATENT, hidden_dims=[16]).train()
    assert "to_logvar" not in dict(model.named_children())
    assert not any(k.startswith("to_logvar") for k in model.state_dict())
    x = torch.from_numpy(_rows())
    a, b = model(x), model(x)
    assert a.logvar is None and torch.equal(a.z, a.mu) and torch.equal(a.recon, b.recon)
    assert model.encode(x)[1] is None and torch.equal(model.embed(x), a.mu)
    terms = model.loss(x, a)
    assert float(terms["kl"]) == 0.0 and torch.equal(terms["total"], terms["reconstruction"])
    assert torch.allclose(terms["reconstruction"], (a.recon - x).square().sum(1).mean())
    with pytest.raises(ModelError, match="autoencoder cannot be built"):
        build_model("autoencoder", input_shape=(8,), beta=2.0)
