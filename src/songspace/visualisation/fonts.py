"""Fonts that draw Bengali script: without one, matplotlib shows empty boxes for Bengali titles and legends."""

from __future__ import annotations

import logging
from functools import lru_cache

import matplotlib
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

log = logging.getLogger(__name__)

BENGALI_PROBE = "অআকখগমহ"  # letters every Bengali font must have
# Names worth trying first: scanning every installed font is slow on big systems.
PREFERRED = ("Noto Sans Bengali", "Noto Serif Bengali", "Lohit Bengali", "Mukti", "Likhan", "Ani",
             "Kalpurush", "SolaimanLipi", "FreeSans")
INSTALL_HINT = ("install a Bengali font, e.g. `apt-get install fonts-lohit-beng-bengali` (Debian/Ubuntu) or "
                "Noto Sans Bengali, then delete matplotlib's font cache (~/.cache/matplotlib)")


def _covers(path: str, text: str) -> bool:
    try:
        charmap = FT2Font(path).get_charmap()
    except Exception:  # unreadable or unsupported font file
        return False
    return all(ord(c) in charmap for c in text)


@lru_cache(maxsize=1)
def bengali_font() -> str | None:
    """Family name of an installed font that covers Bengali script, or None."""
    fonts = font_manager.fontManager.ttflist
    ranked = sorted(fonts, key=lambda f: (f.name not in PREFERRED, "beng" not in f.fname.lower(), f.name))
    for f in ranked:
        if _covers(f.fname, BENGALI_PROBE):
            return f.name
    return None


def configure_fonts() -> str | None:
    """Make matplotlib fall back to a Bengali-capable font after its default; return that font's name.

    Logs a warning with the fix when no such font is installed (Bengali text then shows as boxes).
    """
    name = bengali_font()
    default = list(matplotlib.rcParams["font.sans-serif"])[:1] or ["DejaVu Sans"]
    if name is None:
        log.warning("no installed font draws Bengali script; Bengali text in figures will show as boxes: %s",
                    INSTALL_HINT)
        matplotlib.rcParams["font.family"] = ["sans-serif"]
        return None
    matplotlib.rcParams["font.family"] = [*default, name]
    return name
