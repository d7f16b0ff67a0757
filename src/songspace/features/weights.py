"""Pretrained weights: fetched once, by an explicit step, into a cache; never downloaded at run time.

musicnn's trained checkpoints ship inside its PyPI wheel (``musicnn==0.1.0``, ISC licence, Music Technology
Group, Universitat Pompeu Fabra). :func:`fetch_musicnn` gets that wheel with pip (or takes one you copied over
from another machine), checks the checkpoint files against their pinned SHA-256 digests and unpacks only them and
the licence text::

    <weights dir>/musicnn-0.1.0/LICENSE.md
    <weights dir>/musicnn-0.1.0/MSD_musicnn/variables.index
    <weights dir>/musicnn-0.1.0/MSD_musicnn/variables.data-00000-of-00001
    <weights dir>/musicnn-0.1.0/MTT_musicnn/...

The weights dir is ``$SONGSPACE_WEIGHTS_DIR``, else ``~/.cache/songspace/weights``. The command line step is
``songspace weights fetch [--wheel PATH]`` (``make weights``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from songspace.errors import WeightsError

MUSICNN_WHEEL = "musicnn==0.1.0"
MUSICNN_FOLDER = "musicnn-0.1.0"
_LICENCE_MEMBER = "musicnn-0.1.0.dist-info/LICENSE.md"
# sha256 of each member we unpack, as the wheel's RECORD writes them (urlsafe base64, no padding)
_MUSICNN_FILES = {
    "musicnn/MSD_musicnn/.index": "h_Pg81UMjTuvyEA3QAPlyK9e617Pat1hrwmngi0ygsg",
    "musicnn/MSD_musicnn/.data-00000-of-00001": "hXlzTuY4j3me0N70u9DR_cvq8hPvKp3IYJF712owPeY",
    "musicnn/MTT_musicnn/.index": "2i17tnCysx6bxEG7G9deyjG1sGH5Y8wfljDBr_Mjj1c",
    "musicnn/MTT_musicnn/.data-00000-of-00001": "BB85NemBplzqc5hC0wwYjTp9Kt9EEJVchmjrPeSlrKs",
}
_FETCH_HINT = ("run `songspace weights fetch` (or `make weights`); without a package registry, copy "
               "musicnn-0.1.0-py3-none-any.whl from a machine that has one (`pip download --no-deps musicnn==0.1.0`) "
               "and run `songspace weights fetch --wheel PATH`")


def weights_dir() -> Path:
    """The weights cache: ``$SONGSPACE_WEIGHTS_DIR``, else ``~/.cache/songspace/weights``."""
    return Path(os.environ.get("SONGSPACE_WEIGHTS_DIR", "~/.cache/songspace/weights")).expanduser()


def _checkpoint_name(member: str) -> str:
    """``musicnn/MSD_musicnn/.index`` -> ``MSD_musicnn/variables.index``."""
    _, model, name = member.split("/")
    return f"{model}/variables{name}"


def musicnn_weights(model: str = "MSD_musicnn") -> Path:
    """Folder of ``model``'s checkpoint (``variables.index`` + ``variables.data-00000-of-00001``).

    Raises
    ------
    WeightsError
        They have not been fetched; the message says how.
    """
    folder = weights_dir() / MUSICNN_FOLDER / model
    for suffix in (".index", ".data-00000-of-00001"):
        if not (folder / f"variables{suffix}").is_file():
            raise WeightsError(f"musicnn weights for {model} not found in {folder}; {_FETCH_HINT}")
    return folder


def _download_wheel(into: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--quiet", MUSICNN_WHEEL, "-d", str(into)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WeightsError(f"`pip download {MUSICNN_WHEEL}` could not run ({exc}); {_FETCH_HINT}") from None
    wheels = sorted(into.glob("musicnn-0.1.0-*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr.strip().splitlines() or ["no wheel written"])[-1]
        raise WeightsError(f"`pip download {MUSICNN_WHEEL}` failed ({last}); {_FETCH_HINT}")
    return wheels[0]


def _record_digests(wheel: zipfile.ZipFile, path: Path) -> dict[str, str]:
    try:
        record = wheel.read("musicnn-0.1.0.dist-info/RECORD").decode("utf-8")
    except KeyError:
        raise WeightsError(f"{path}: not the musicnn 0.1.0 wheel (no musicnn-0.1.0.dist-info/RECORD)") from None
    digests = {}
    for line in record.splitlines():
        parts = line.rsplit(",", 2)
        if len(parts) == 3 and parts[1].startswith("sha256="):
            digests[parts[0]] = parts[1].removeprefix("sha256=")
    return digests


def _unpack(wheel_path: Path, target: Path) -> None:
    try:
        wheel = zipfile.ZipFile(wheel_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise WeightsError(f"{wheel_path}: not a readable wheel ({exc}); download it again") from None
    with wheel:
        record = _record_digests(wheel, wheel_path)
        staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=target.parent))
        try:
            for member, pinned in _MUSICNN_FILES.items():
                try:
                    data = wheel.read(member)
                except (KeyError, zipfile.BadZipFile, OSError) as exc:
                    raise WeightsError(f"{wheel_path}: cannot read {member} ({exc}); download the wheel "
                                       "again") from None
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                if digest != pinned or record.get(member) != pinned:
                    raise WeightsError(f"{wheel_path}: {member} does not match its pinned SHA-256 (damaged or not "
                                       "musicnn 0.1.0); download the wheel again")
                out = staging / _checkpoint_name(member)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
            (staging / "LICENSE.md").write_bytes(wheel.read(_LICENCE_MEMBER))
            (staging / "SOURCE").write_text(f"unpacked from {wheel_path.name} ({MUSICNN_WHEEL} on PyPI)\n")
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)


def _digest(path: Path) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode()


def _complete(target: Path) -> bool:
    """Every checkpoint file there with its pinned digest (a damaged cache is fetched again), and the licence."""
    try:
        return (target / "LICENSE.md").is_file() and all(
            _digest(target / _checkpoint_name(member)) == pinned for member, pinned in _MUSICNN_FILES.items())
    except OSError:
        return False


def fetch_musicnn(wheel: Path | None = None) -> Path:
    """Put musicnn's MSD and MTT checkpoints (and the licence) into the weights cache; returns their folder.

    Parameters
    ----------
    wheel : Path or None
        A local ``musicnn-0.1.0-py3-none-any.whl``; None runs ``python -m pip download --no-deps musicnn==0.1.0``
        (needs a package registry). Nothing happens when the weights are already there and intact (their SHA-256
        digests are checked: a damaged copy is replaced).

    Raises
    ------
    WeightsError
        pip failed, or the wheel is missing, unreadable or not musicnn 0.1.0; the message says what to do.
    """
    target = weights_dir() / MUSICNN_FOLDER
    if _complete(target):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsError(f"{target.parent}: cannot create the weights folder ({exc.strerror}); set "
                           "SONGSPACE_WEIGHTS_DIR to a writable folder") from None
    if wheel is not None:
        wheel = Path(wheel).expanduser()
        if not wheel.is_file():
            raise WeightsError(f"{wheel}: no such wheel file; {_FETCH_HINT}")
        _unpack(wheel, target)
        return target
    with tempfile.TemporaryDirectory(prefix=".download-", dir=target.parent) as tmp:
        _unpack(_download_wheel(Path(tmp)), target)
    return target
