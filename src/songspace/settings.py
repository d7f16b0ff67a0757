"""A run's settings, loaded and checked: the schema (:mod:`songspace.config`), then the registries that own the
names a config refers to (:mod:`songspace.representations`, :mod:`songspace.clustering`), each checking its own
names and settings. The command line, the runner and the run-folder reader load configs through here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from songspace.config import RunConfig, config_path, load_config
from songspace.errors import ConfigError


def validate(cfg: RunConfig, where: Path | str | None = None) -> RunConfig:
    """``cfg`` once every registry has found its names and settings valid; ConfigError with one line per problem
    otherwise (naming the config file ``where``)."""
    from songspace import clustering, representations

    problems = [*representations.validate(cfg, where), *clustering.validate(cfg, where)]
    if problems:
        raise ConfigError("\n".join(problems))
    return cfg


def load(path: Path | str | None = None, **overrides: Any) -> RunConfig:
    """:func:`songspace.config.load_config` (the TOML file ``path``, dotted ``overrides`` on top, the schema's
    checks), then :func:`validate`."""
    cfg = load_config(path, **overrides)
    return validate(cfg, config_path(path) if path is not None else None)
