"""HTML to PDF with the system's headless Chromium (Debian's ``chromium``; ``scripts/install-system.sh``).

``chromium --headless --print-to-pdf`` lays the page out with its print CSS (``@page`` size and margins) and embeds
the fonts it used, Bengali included when a Bengali font is installed. Nothing is fetched: the page is a local file
with its images inline. Each call gets its own throw-away browser profile, so parallel calls do not collide.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from songspace.errors import RunError

log = logging.getLogger(__name__)

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_HINT = ("install it with `apt-get install chromium` (Debian/Ubuntu; scripts/install-system.sh does this) or "
                "set SONGSPACE_CHROMIUM to the browser's path")


def find_chromium() -> str | None:
    """Path of a Chromium-family browser: ``$SONGSPACE_CHROMIUM`` when set, else the first of BROWSERS on PATH."""
    env = os.environ.get("SONGSPACE_CHROMIUM")
    if env:
        return env if Path(env).is_file() and os.access(env, os.X_OK) else shutil.which(env)
    return next((p for name in BROWSERS if (p := shutil.which(name))), None)


def print_to_pdf(html_path: Path, pdf_path: Path, *, timeout_s: float = 180.0, browser: str | None = None) -> Path:
    """Print the local page ``html_path`` to ``pdf_path`` with headless Chromium; return ``pdf_path``.

    The PDF is written beside its final name first and renamed at the end, so a failed print leaves no half file.

    Raises
    ------
    RunError
        No browser is installed, or it failed, timed out or wrote no PDF; the message says which and what to do.
    """
    exe = browser or find_chromium()
    if exe is None:
        raise RunError(f"{pdf_path}: not written: no Chromium browser found ({', '.join(BROWSERS)}); "
                       f"{INSTALL_HINT}.")
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path).resolve()
    tmp = pdf_path.with_name(f".{pdf_path.name}.part")
    tmp.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="songspace-chromium-") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
               "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
               "--no-pdf-header-footer", f"--print-to-pdf={tmp}", html_path.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                                  env={**os.environ, "HOME": profile})
        except subprocess.TimeoutExpired as exc:
            tmp.unlink(missing_ok=True)
            raise RunError(f"{pdf_path}: not written: {exe} did not finish printing {html_path} within "
                           f"{timeout_s:.0f} s; try again, or pass a longer timeout.") from exc
        except OSError as exc:
            raise RunError(f"{pdf_path}: not written: {exe} cannot be started ({exc}); {INSTALL_HINT}.") from exc
    ok = tmp.is_file() and tmp.stat().st_size > 0 and tmp.read_bytes()[:5] == b"%PDF-"
    if not ok:
        tmp.unlink(missing_ok=True)
        tail = " | ".join(ln for ln in (proc.stderr or "").strip().splitlines()[-3:])
        raise RunError(f"{pdf_path}: not written: {exe} exited with code {proc.returncode} and wrote no PDF "
                       f"({tail or 'no message'}). Check that it starts: "
                       f"`{exe} --headless --no-sandbox --dump-dom about:blank`.")
    os.replace(tmp, pdf_path)
    log.info("report: printed %s with %s", pdf_path, exe)
    return pdf_path
