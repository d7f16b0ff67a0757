"""VaDE and IDEC (songspace.models.vade, .idec) and their fitting (songspace.deep_clustering) on tiny blobs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from songspace.config import TrainConfig
from songspace.deep_clustering import cluster_probs, fit_idec, fit_vade
from songspace.models import IDEC, MODELS, VaDE, build_model, kl_to_standard_normal, load_model, save_model
from songspace.models.idec import target_distribution
from songspace.training import RowDataset, embed

FITS = {"vade": fit_vade, "idec": fit_idec}


def blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """90 points in 3 well-separated Gaussian blobs in 10-d, standardised. [shape=(90, 10)], labels (90,)"""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 4.0, (3, 10))
    y = np.repeat(np.arange(3), 30)
    X = centres[y] + rng.normal(0.0, 1.0, (90, 10))
    return ((X - X.mean(0)) / X.std(0)).astype(np.float32), y


def fit(name: str, seed: int = 0):
    X, _ = blobs()
    cfg = TrainConfig(epochs=30, batch_size=32, patience=30, resume=False)
    return FITS[name](X, n_clusters=3, latent_dim=4, hidden_dims=[32], train_cfg=cfg, seed=seed, pretrain_epochs=20)


@pytest.fixture(scope="module", params=["vade", "idec"])
def fitted(request: pytest.FixtureRequest):
    return request.param, fit(request.param)


def test_registered() -> None:
    assert MODELS["vade"] is VaDE and MODELS["idec"] is IDEC


def test_loss_falls(fitted) -> None:
    _, (_, hist, _, _) = fitted
    totals = [t["total"] for t in hist.train]
    assert all(np.isfinite(totals))
    assert min(totals[-5:]) < 0.8 * totals[0]


def test_probabilities_sum_to_one_and_recover_blobs(fitted) -> None:
    name, (model, _, Z, probs) = fitted
    _, y = blobs()
    assert probs.shape == (90, 3) and Z.shape == (90, 4)
    assert np.all(probs >= 0) and np.allclose(probs.sum(1), 1.0, atol=1e-5)
    X = torch.from_numpy(blobs()[0])
    assert torch.equal(model.predict(X), model.cluster_probs(X).argmax(1))
    assert adjusted_rand_score(y, model.predict(X).numpy()) > 0.8
    if name == "vade":
        assert model.prior_weights().sum().item() == pytest.approx(1.0, abs=1e-6)
        assert torch.all(model.prior_weights() > 0)


def test_save_load_round_trip(fitted, tmp_path: Path) -> None:
    name, (model, _, Z, probs) = fitted
    save_model(model, tmp_path / "m.pt")
    again = load_model(tmp_path / "m.pt")
    assert type(again) is type(model) and again.n_clusters == 3
    ds = RowDataset(blobs()[0])
    np.testing.assert_array_equal(embed(again, ds), Z)
    np.testing.assert_allclose(cluster_probs(again, ds), probs, atol=1e-6)


@pytest.mark.parametrize("name", ["vade", "idec"])
def test_deterministic_for_a_seed(name: str) -> None:
    _, _, Z1, p1 = fit(name, seed=3)
    _, _, Z2, p2 = fit(name, seed=3)
    np.testing.assert_array_equal(Z1, Z2)
    np.testing.assert_array_equal(p1, p2)


def test_vade_prior_term_is_the_kl_to_the_prior_for_one_component() -> None:
    """With K = 1 and the component N(0, I), the mixture term is the plain VAE's KL to N(0, I)."""
    torch.manual_seed(0)
    model = build_model("vade", input_shape=(6,), latent_dim=3, hidden_dims=[8], n_clusters=1)
    with torch.no_grad():
        model.mu_c.zero_()
        model.logvar_c.zero_()
    x = torch.randn(5, 6)
    out = model.eval()(x)
    expected = kl_to_standard_normal(out.mu, out.logvar).mean()
    assert model.loss(x, out)["kl"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_vade_stable_far_from_every_component() -> None:
    """Codes thousands of standard deviations from every component: log-domain responsibilities stay finite."""
    torch.manual_seed(0)
    model = build_model("vade", input_shape=(6,), latent_dim=3, hidden_dims=[8], n_clusters=4)
    with torch.no_grad():
        model.mu_c.fill_(1e4)
        model.logvar_c.fill_(-30.0)  # clamped
    x = torch.randn(5, 6)
    out = model.train()(x)
    terms = model.loss(x, out)
    assert all(torch.isfinite(v) for v in terms.values()) and terms["kl"].item() >= 0
    terms["total"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert torch.allclose(model.cluster_probs(x).sum(1), torch.ones(5))


def test_idec_soft_assignments_and_target() -> None:
    torch.manual_seed(0)
    model = build_model("idec", input_shape=(6,), latent_dim=2, hidden_dims=[8], n_clusters=3)
    with torch.no_grad():
        model.centres.copy_(torch.tensor([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]]))
    z = torch.tensor([[0.0, 0.0], [0.5, 0.0], [4.0, 1.0], [2.5, 2.5]])
    q = model.soft_assign(z)
    assert torch.allclose(q.sum(1), torch.ones(4))
    assert q[0].argmax() == 0 and q[2].argmax() == 1
    # Student-t with alpha = 1: q_ij ∝ 1 / (1 + d^2)
    w = 1.0 / (1.0 + torch.cdist(z, model.centres).square())
    assert torch.allclose(q, w / w.sum(1, keepdim=True), atol=1e-6)
    p = target_distribution(q)
    assert torch.allclose(p.sum(1), torch.ones(4))
    assert torch.all(p.max(1).values >= q.max(1).values - 1e-6)  # the target is sharper
