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

# The names of :data:`songspace.models.MODELS`, which a spec's ``model`` must be one of. Typed out because that
# package imports torch, which the command line and config validation do without; a test keeps the two equal.
MODEL_NAMES = ("mlp_vae", "conv_vae", "mfcc_conv_vae", "bimodal_vae", "beta_vae", "beta_conv_vae", "cvae", "poe_vae",
               "autoencoder", "vade", "idec", "paired_conv_vae", "paired_mfcc_conv_vae")
# A ``kl_beta`` naming the KL weight the VAEs share (``[model] beta``), not one of the representation's own settings.
SHARED_BETA = "model.beta"
# The own setting that lists the betas of a sweep of a representation's own beta (beta_sweep.csv).
SWEEP = "sweep"


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
    conditioned_by : the setting of its ``params`` that lists the label columns it is given; its scores against them
        are not unsupervised.
    conditions_required : the run stops when a ``conditioned_by`` column is missing (else it is dropped, noted);
        with none configured the representation is skipped, noted.
    kl_beta : where the weight β of its KL term is set: :data:`SHARED_BETA` (``[model] beta``, shared by the VAEs)
        or the name of one of its own ``params`` (``beta`` of the Beta-VAEs, beside which ``capacity_max`` and
        ``capacity_epochs`` set a capacity schedule, and :data:`SWEEP` the betas of a sweep); None: no KL term.
    objective_note : a sentence (HTML) on its objective for the report, ``{cite}`` standing for ``cite`` below.
    cite : the reference of that sentence: (key, in-text form, full entry), HTML.
    params : its own settings (a pydantic model with a default for each and ``extra="forbid"``), read from
        ``[representations.params.<name>]``.
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

    def __post_init__(self) -> None:
        """Every reference is checked when the spec is made, so that a typo fails at import, naming the field."""
        where = f"{getattr(self.build, '__module__', '?')}: RepresentationSpec {self.name!r}"
        if self.modality not in MODALITIES:
            raise TypeError(f"{where}: modality = {self.modality!r} is not one of {', '.join(MODALITIES)}")
        if not self.description:
            raise TypeError(f"{where}: description is empty; give one line for the report")
        if not callable(self.build):
            raise TypeError(f"{where}: build must be a function build(ctx) -> Representation")
        if self.model is not None and self.model not in MODEL_NAMES:
            raise TypeError(f"{where}: model = {self.model!r} is not a model of songspace.models; choose from: "
                            f"{', '.join(MODEL_NAMES)}")
        if self.learned and self.baseline:
            raise TypeError(f"{where}: learned and baseline are exclusive (a pretrained encoder is a baseline)")
        if (self.save_state is None) != (self.embed_new is None):
            raise TypeError(f"{where}: save_state and embed_new go together (new tracks need both)")
        own = self._check_params(where)
        if self.conditioned_by is not None and self.conditioned_by not in own:
            raise TypeError(f"{where}: conditioned_by = {self.conditioned_by!r} is not one of its params "
                            f"({', '.join(own) or 'none'}); name the setting that lists its label columns")
        if self.conditions_required and self.conditioned_by is None:
            raise TypeError(f"{where}: conditions_required needs conditioned_by (the setting listing its labels)")
        if self.kl_beta not in (None, SHARED_BETA, *own):
            raise TypeError(f"{where}: kl_beta = {self.kl_beta!r} is neither {SHARED_BETA!r} (the shared weight) nor "
                            f"one of its params ({', '.join(own) or 'none'})")
        if SWEEP in own and self.kl_beta not in own:
            raise TypeError(f"{where}: params declare {SWEEP!r} (betas of a sweep) but kl_beta names no own setting "
                            "to sweep")

    def _check_params(self, where: str) -> tuple[str, ...]:
        """The names of its own settings, once ``params`` is checked to be a pydantic model with a default for each
        that refuses unknown settings (a typo in a config would otherwise be ignored)."""
        if self.params is None:
            return ()
        from pydantic import BaseModel, ValidationError

        if not (isinstance(self.params, type) and issubclass(self.params, BaseModel)):
            raise TypeError(f"{where}: params = {self.params!r} is not a pydantic model (class Params(BaseModel))")
        if self.params.model_config.get("extra") != "forbid":
            raise TypeError(f"{where}: params {self.params.__name__} must refuse unknown settings: "
                            'model_config = ConfigDict(extra="forbid")')
        try:
            self.params.model_validate({})
        except ValidationError as exc:
            missing = [str(e["loc"][0]) for e in exc.errors() if e.get("type") == "missing"]
            raise TypeError(f"{where}: params {self.params.__name__} must give every setting a default (no default: "
                            f"{', '.join(missing) or exc})") from None
        return tuple(self.params.model_fields)

    @property
    def assignable(self) -> bool:
        """New tracks can be placed in this representation from a run's saved state (both hooks exist)."""
        return self.save_state is not None and self.embed_new is not None

    def describe(self) -> dict[str, Any]:
        """The facts a run folder keeps about this representation (summary.json), for the report."""
        return {"modality": self.modality, "description": self.description, "learned": self.learned,
                "baseline": self.baseline, "pretrained": self.pretrained, "kl_beta": self.kl_beta}
