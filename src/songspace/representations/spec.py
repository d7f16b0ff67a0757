"""What a representation is, declared once: :class:`RepresentationSpec`.

Every module of this package defines one ``SPEC``; the package finds them (see :mod:`songspace.representations`).
Config validation, the runner (which representations read lyrics or labels, which are drawn as reconstructions), the
analysis, the report and the findings read these declarations; none of them lists representations by hand.
This module imports nothing heavy, so that the command line and config validation stay fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from pydantic import BaseModel

    from songspace.features.encoders import AudioEncoder
    from songspace.models import VAE
    from songspace.representations.base import Context, Inputs, Representation

AUDIO = "audio"
LYRICS = "lyrics"
BOTH = "audio+lyrics"
CONDITIONED = "conditioned"
MODALITIES = (AUDIO, LYRICS, BOTH, CONDITIONED)


@dataclass(frozen=True)
class RepresentationSpec:
    """One way of turning tracks into vectors before they are clustered.

    name : the name used in configs (``[representations] names``), on the command line (``-m``), in
        ``metrics.csv`` and in the report.
    modality : what it reads: ``audio``, ``lyrics``, ``audio+lyrics`` or ``conditioned`` (given labels).
    description : one line for the report's Method section.
    build : ``build(ctx) -> Representation``; heavy imports go inside it.
    learned : it has a trained encoder (counts as "learned" against the baselines).
    model : the name of the model it trains in :data:`songspace.models.MODELS` (learned ones).
    baseline : a fixed, non-learned reference that learned representations are compared with.
    pretrained : its encoder was trained elsewhere, on other music (not on this collection); such a representation is
        a baseline in the sense that counts here: learned representations are compared with it.
    encoder : ``encoder(params) -> AudioEncoder`` for a representation read from a pretrained audio encoder; the run
        computes its vectors once (cached on disk, :mod:`songspace.features.embeddings`) before any representation is
        built, and other representations can read them as an input by this representation's name.
    reads : the encoder representations whose vectors it reads beside its own (``features_musicnn`` reads
        ``musicnn``'s), so that a run computes them even when they are not in ``names``.
    reconstructs : what its decoder rebuilds, for the reconstruction figure (None: no figure).
    traversal : draw latent traversals (disentangling models).
    needs_lyrics : skipped, with a note, when no track has lyrics.
    reads_lyrics : reads lyrics where there are any (needs_lyrics implies it).
    conditioned_by : the ``[representations]`` key listing the label columns it is given; its scores against them are
        not unsupervised.
    conditions_required : the run stops when a ``conditioned_by`` column is missing (else it is dropped, noted);
        with none configured the representation is skipped, noted.
    kl_beta : which ``[model]`` weight its KL term uses (``beta`` or ``beta_vae``), for the report's objective;
        None: no KL term.
    objective_note : a sentence (HTML) on its objective for the report, ``{cite}`` standing for ``cite`` below.
    cite : the reference of that sentence: (key, in-text form, full entry), HTML.
    params : its own settings (a pydantic model with defaults), read from ``[representations.params.<name>]``.
    default : one of the representations a plain ``songspace run`` compares.
    save_state : ``save_state(rep, inputs) -> dict[str, np.ndarray]``, the fitted arrays (scalers, projections)
        that turn new tracks into this representation, given the run's first-seed representation and its inputs;
        the runner saves them as ``state/<name>.npz`` (plain arrays, no pickle). None: new tracks cannot be placed.
    embed_new : ``embed_new(state, model, new_inputs) -> np.ndarray [shape=(n_new, d)]``, new tracks in this
        representation from those arrays and the run's saved model (None when it has none), without retraining
        (``songspace assign``); the run's own tracks come out as their latents.
    """

    name: str
    modality: str
    description: str
    build: Callable[[Context], Representation]
    learned: bool = False
    model: str | None = None
    baseline: bool = False
    pretrained: bool = False
    encoder: Callable[[Any], AudioEncoder] | None = None
    reads: tuple[str, ...] = ()
    reconstructs: str | None = None
    traversal: bool = False
    needs_lyrics: bool = False
    reads_lyrics: bool = False
    conditioned_by: str | None = None
    conditions_required: bool = False
    kl_beta: str | None = None
    objective_note: str = ""
    cite: tuple[str, str, str] | None = None
    params: type[BaseModel] | None = None
    default: bool = False
    save_state: Callable[[Representation, Inputs], dict[str, np.ndarray]] | None = None
    embed_new: Callable[[dict[str, np.ndarray], VAE | None, Inputs], np.ndarray] | None = None

    @property
    def assignable(self) -> bool:
        """New tracks can be placed in this representation from a run's saved state (both hooks exist)."""
        return self.save_state is not None and self.embed_new is not None

    def describe(self) -> dict[str, Any]:
        """The facts a run folder keeps about this representation (summary.json), for the report."""
        return {"modality": self.modality, "description": self.description, "learned": self.learned,
                "baseline": self.baseline, "pretrained": self.pretrained, "kl_beta": self.kl_beta}
