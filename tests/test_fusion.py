"""Fusion of modality blocks: per-block scaling, missing rows, weights, and why naive concatenation fails."""

from __future__ import annotations

import numpy as np
import pytest

from songspace.fusion import Block, block_scale, fuse, variance_shares


@pytest.fixture
def blocks() -> tuple[Block, Block]:
    rng = np.random.default_rng(0)
    audio = rng.normal(size=(40, 79)) * 3.0  # many large columns
    lyrics = rng.normal(size=(40, 8)) * 0.05  # few small columns
    present = np.ones(40, dtype=bool)
    present[::5] = False  # instrumentals
    return Block("audio", audio), Block("lyrics", lyrics, present)


def test_block_scale_gives_unit_total_variance_and_zero_for_missing(blocks) -> None:
    _, lyrics = blocks
    out = block_scale(lyrics.values, lyrics.present)
    assert out.shape == lyrics.values.shape and out.dtype == np.float32
    assert np.all(out[~lyrics.present] == 0)
    assert out[lyrics.present].var(0).sum() == pytest.approx(1.0, rel=1e-4)
    np.testing.assert_allclose(out[lyrics.present].mean(0), 0, atol=1e-6)


def test_block_scale_keeps_geometry_inside_the_block() -> None:
    X = np.random.default_rng(1).normal(size=(30, 4)) * np.array([10.0, 1.0, 1.0, 0.1])
    out = block_scale(X)
    d_in = np.linalg.norm(X[0] - X[1]) / np.linalg.norm(X[2] - X[3])
    d_out = np.linalg.norm(out[0] - out[1]) / np.linalg.norm(out[2] - out[3])
    assert d_out == pytest.approx(d_in, rel=1e-4)  # one scale for the block: distance ratios unchanged


def test_degenerate_blocks_carry_nothing() -> None:
    assert not block_scale(np.ones((5, 3))).any()  # all rows identical
    assert not block_scale(np.arange(6.0).reshape(3, 2), np.array([True, False, False])).any()  # one row


def test_naive_concatenation_lets_the_big_block_dominate(blocks) -> None:
    naive = variance_shares(blocks, scale=False)
    scaled = variance_shares(blocks)
    assert naive["audio"] > 0.99  # the lyrics block is almost invisible to distances
    assert scaled["audio"] == pytest.approx(scaled["lyrics"] / 0.8, rel=0.05)  # equal per present row
    weighted = variance_shares(blocks, weights=[1.0, 3.0])
    assert weighted["lyrics"] > scaled["lyrics"]


def test_fuse_shapes_and_errors(blocks) -> None:
    audio, lyrics = blocks
    assert fuse(blocks).shape == (40, 87)
    with pytest.raises(ValueError, match="one row per track"):
        fuse([audio, Block("short", np.zeros((3, 2)))])
    with pytest.raises(ValueError):
        fuse([])


def test_language_vector_counts_romanised_bangla_as_bangla() -> None:
    from songspace.representations import language_vector

    names = ["script_bengali", "script_latin", "romanised_bangla", "lang_en", "lang_bn", "lang_other"]
    profile = np.array([[0.0, 1.0, 0.9, 0.1, 0.0, 0.9],   # romanised Bangla: language ID guesses "other"
                        [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],   # Bengali script
                        [0.0, 1.0, 0.0, 1.0, 0.0, 0.0]])  # English
    v = language_vector(profile, names)
    assert v.shape == (3, 3)
    assert v[0].argmax() == 1 and v[1].argmax() == 1 and v[2].argmax() == 0  # both Bangla songs: Bangla
    np.testing.assert_allclose(v.sum(1), 1.0, atol=1e-6)
