"""On-disk feature cache, keyed by each file's content and by the feature settings.

Layout under ``cache_dir``::

    v<FEATURE_VERSION>-<settings hash>/settings.json     the settings this folder was computed with
        items/<ab>/<content hash>.npz                     log-mel (float16) and spectral stats of one file
        items/<ab>/<content hash>.err                     why that content cannot be used (decode failure)
        sets/<set hash>/{log_mel,stats}.npy, ids.json     a whole collection assembled, memory-mappable
        index.json                                        path -> (size, mtime) -> content hash, to skip re-hashing

Each item is written to a temporary name and renamed, so an interrupted run leaves only whole items.
Other settings or another feature version get another folder: a cache is never silently reused.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from songspace.errors import RunError

# Bump when feature code changes its output, so old caches are not reused.
FEATURE_VERSION = 1


def settings_hash(settings: dict[str, Any]) -> str:
    """A short stable hash of the settings that change feature values."""
    blob = json.dumps({"version": FEATURE_VERSION, **settings}, sort_keys=True).encode()
    return hashlib.blake2b(blob, digest_size=8).hexdigest()


def file_digest(path: Path) -> str:
    """Hash of a file's bytes (blake2b, 128 bit)."""
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextmanager
def disk_errors(folder: Path) -> Iterator[None]:
    """Turn a full disk or a read-only folder into a :class:`RunError` naming ``folder``."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
            raise RunError(f"{folder}: cannot write the feature cache ({exc.strerror}). Free some space "
                           "or point features.cache_dir at another folder.") from exc
        raise


class FeatureCache:
    """Per-file feature store for one set of feature settings."""

    def __init__(self, cache_dir: Path | str, settings: dict[str, Any]) -> None:
        self.root = Path(cache_dir).expanduser() / f"v{FEATURE_VERSION}-{settings_hash(settings)}"
        with disk_errors(self.root):
            (self.root / "items").mkdir(parents=True, exist_ok=True)
            meta = self.root / "settings.json"
            if not meta.exists():
                atomic_write_bytes(meta, json.dumps({"version": FEATURE_VERSION, **settings}, indent=2).encode())
        self._index_path = self.root / "index.json"
        try:
            self._index: dict[str, list] = json.loads(self._index_path.read_text())
        except (OSError, ValueError):
            self._index = {}

    def digest(self, path: Path) -> str:
        """Content hash of ``path``, re-read only when its size or modification time changed."""
        st = path.stat()
        key = str(path.resolve())
        hit = self._index.get(key)
        if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
            return hit[2]
        d = file_digest(path)
        self._index[key] = [st.st_size, st.st_mtime_ns, d]
        return d

    def save_index(self) -> None:
        with disk_errors(self.root):
            atomic_write_bytes(self._index_path, json.dumps(self._index).encode())

    def _item(self, digest: str, ext: str) -> Path:
        return self.root / "items" / digest[:2] / f"{digest}.{ext}"

    def get(self, digest: str) -> tuple[np.ndarray, np.ndarray] | str | None:
        """``(log_mel, stats)`` when cached, the stored error message when the content is unusable, else None."""
        item = self._item(digest, "npz")
        if item.exists():
            try:
                with np.load(item) as z:
                    return z["log_mel"], z["stats"]
            except (OSError, ValueError, KeyError):
                item.unlink(missing_ok=True)  # damaged item: recompute it
                return None
        err = self._item(digest, "err")
        if err.exists():
            return err.read_text(encoding="utf-8")
        return None

    def status(self, digest: str) -> bool | str | None:
        """True when features are cached, the stored error message when unusable, None when unknown."""
        if self._item(digest, "npz").exists():
            return True
        err = self._item(digest, "err")
        return err.read_text(encoding="utf-8") if err.exists() else None

    def put(self, digest: str, log_mel: np.ndarray, stats: np.ndarray) -> None:
        item = self._item(digest, "npz")
        with disk_errors(self.root):
            item.parent.mkdir(exist_ok=True)
            tmp = item.with_suffix(f".tmp{os.getpid()}.npz")
            np.savez(tmp, log_mel=log_mel.astype(np.float16), stats=stats.astype(np.float32))
            os.replace(tmp, item)

    def put_error(self, digest: str, message: str) -> None:
        item = self._item(digest, "err")
        with disk_errors(self.root):
            item.parent.mkdir(exist_ok=True)
            atomic_write_bytes(item, message.encode("utf-8"))

    def set_dir(self, digests: list[str]) -> Path:
        """Folder of the assembled arrays for this exact ordered list of files."""
        h = hashlib.blake2b("\n".join(digests).encode(), digest_size=10).hexdigest()
        return self.root / "sets" / h


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
