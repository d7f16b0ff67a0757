"""The written analysis follows the numbers: change the numbers and the sentences change."""

from __future__ import annotations

from songspace.evaluation.analysis import analyse


def _rows(vae_genre: float, lyrics_lang: float) -> list[dict]:
    def row(rep, clusterer, modality, genre, lang, sil=0.3, learned=False, noise=0.0):
        return {"method": f"{rep}+{clusterer}", "representation": rep, "clusterer": clusterer, "modality": modality,
                "learned": learned, "nmi_genre": genre, "nmi_language": lang, "ari_genre": genre - 0.1,
                "ari_language": lang - 0.1, "purity_genre": 0.8, "purity_language": 0.7,
                "silhouette_common": sil, "noise_fraction": noise}
    return [
        row("vae", "kmeans", "audio", vae_genre, 0.01, learned=True),
        row("pca", "kmeans", "audio", 0.80, 0.00),
        row("features", "kmeans", "audio", 0.81, 0.00),
        row("lyrics", "kmeans", "lyrics", 0.05, lyrics_lang),
        row("hybrid", "kmeans", "audio+lyrics", 0.70, 0.85),
        row("features", "dbscan", "audio", 0.6, 0.0, noise=0.25),
    ]


def test_verdicts_follow_the_numbers() -> None:
    good = analyse(_rows(vae_genre=0.90, lyrics_lang=0.95), ["genre", "language"], n_tracks=300, n_with_lyrics=250)
    assert "Best unsupervised match to `genre`: **vae+kmeans** (NMI 0.900" in good
    assert "**vae** (best over clusterers) against the baselines (best of pca, features): beats them on genre NMI " \
           "(0.900 with kmeans against 0.810 for features+kmeans)" in good
    assert "`language` is carried mostly by the **lyrics** (0.950 against 0.010)" in good
    assert "features+dbscan left 25% of the tracks as noise" in good
    assert "300 tracks, 250 with lyrics" in good

    bad = analyse(_rows(vae_genre=0.50, lyrics_lang=0.95), ["genre", "language"], n_tracks=300)
    assert "loses to them on genre NMI (0.500 with kmeans against 0.810 for features+kmeans)" in bad
    assert "Best unsupervised match to `genre`: **features+kmeans**" in bad
    assert "baselines are as good or better" in bad


def test_small_differences_are_ties_and_nan_is_not_compared() -> None:
    text = analyse(_rows(vae_genre=0.805, lyrics_lang=0.95), ["genre"], n_tracks=10)
    assert "ties with them on genre NMI" in text
    rows = _rows(0.9, 0.9)
    rows[0]["silhouette_common"] = float("nan")
    rows = [r for r in rows if r["representation"] != "vae" or r["clusterer"] == "kmeans"]
    assert "cannot be compared" not in analyse(rows, ["genre"], n_tracks=10)  # NaN rows are left out of the best


def test_a_method_given_the_label_is_never_the_best_unsupervised_match() -> None:
    rows = _rows(0.5, 0.9)
    cvae = {**rows[0], "method": "cvae+kmeans", "representation": "cvae", "modality": "conditioned",
            "conditioned_on": "genre", "nmi_genre": 0.99}
    text = analyse([*rows, cvae], ["genre", "language"], n_tracks=300)
    assert "Best unsupervised match to `genre`: **features+kmeans**" in text
    assert "Not counted: **cvae+kmeans** was given `genre`" in text
    assert "cvae** (best over clusterers) against the baselines" in text
    cvae_line = next(ln for ln in text.splitlines() if ln.startswith("- **cvae**"))
    assert "genre NMI" not in cvae_line  # compared only on what it was not given


def test_differences_within_the_seed_spread_are_ties() -> None:
    rows = _rows(0.90, 0.95)
    rows[0]["nmi_genre_std"] = 0.06  # vae 0.90 ± 0.06 against features 0.81 ± 0.04: within 0.10
    rows[2]["nmi_genre_std"] = 0.04
    text = analyse(rows, ["genre"], n_tracks=300, seeds=5)
    assert "ties with them on genre NMI (0.900 ± 0.060 with kmeans against 0.810 ± 0.040" in text
    rows[0]["nmi_genre_std"] = 0.01
    rows[2]["nmi_genre_std"] = 0.01
    assert "beats them on genre NMI" in analyse(rows, ["genre"], n_tracks=300, seeds=5)
