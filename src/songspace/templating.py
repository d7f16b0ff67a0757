"""The Jinja2 environment of songspace's HTML pages (the report, the paper, the explorer).

Each page is a template file in the ``templates/`` folder beside the module that fills it
(``songspace/report/templates/``, ``songspace/visualisation/templates/``), shipped with the package. Every value a
template prints is HTML-escaped (autoescape on ``*.html.j2``); what is meant as markup (an equation, a figure's
data URI, the explorer's JSON) is marked with :class:`markupsafe.Markup` or ``|tojson`` where it is made. Files a
page includes whole (``*.css``, ``*.js``) are not escaped. ``None`` prints as nothing, and an undefined name is an
error, not an empty string.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def _dumps(obj: Any, **kwargs: Any) -> str:
    # |tojson escapes < > & ' itself; U+2028/U+2029 end a line in older JavaScript parsers.
    return json.dumps(obj, **kwargs).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


@cache
def environment(package: str) -> Environment:
    """The environment of the templates in ``<package>/templates/`` (e.g. ``songspace.report``)."""
    env = Environment(loader=PackageLoader(package, "templates"), autoescape=select_autoescape(["html.j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                      finalize=lambda v: "" if v is None else v)
    # NaN is not JSON; non-ASCII text (Bengali titles) stays as it is, a third of the size of \\u escapes.
    env.policies["json.dumps_function"] = _dumps
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "allow_nan": False, "separators": (",", ":")}
    return env


def render(package: str, template: str, **context: Any) -> str:
    """The page ``template`` of ``package``'s templates, filled with ``context``."""
    return environment(package).get_template(template).render(**context)
