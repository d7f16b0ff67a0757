"""On-disk feature cache, keyed by each file's content and by the feature settings.

Layout under ``cache_dir``::

    v<FEATURE_VERSION>-<settings hash>/settings.json     the settings this folder was computed with
        items/<ab>/<content hash>.npz                     log-mel (float16) and spectral stats of one file
        items/<ab>/<content hash>.<decoder key>.err       why that content cannot be used (decode failure)
        sets/<set hash>/{log_mel,stats}.npy               a whole collection assembled, memory-mappable
        index.json                                        path -> (size, mtime) -> content hash, to skip re-hashing

Each item is written to a temporary name and renamed, so an interrupted run leaves only whole items, and the
next run starts from them. An item that cannot be read back, whatever the damage (a truncated ``.npz``, a
foreign file under its name, wrong shapes, values :func:`~songspace.features.checks.check_features` refuses),
is logged, deleted and computed again in the same run; a damaged index or set is rebuilt. Other settings or
another feature version get another folder: a cache is never silently reused. A decode failure is kept under a
key of the decoders' versions (:func:`decoder_key`): after an upgrade of soundfile, libsndfile, librosa or
audioread, files that failed are tried again.

Log-mel is stored as float16. Its dB values lie between -100 (the floor of ``AMIN``) and about +41 for a
full-scale sine; anywhere below 128 dB in magnitude float16 steps are at most 2^-4 dB, so rounding moves a
value by at most 0.031 dB, a thousandth of a typical 30 dB dynamic range and far below the 1 dB that a
listener can hear (``tests/test_scale.py`` checks it). It halves the cache and the memory-mapped set: a 10 s
clip is 128 x 431 x 2 B = 110 kB, 11 GB at 100k tracks.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from songspace.errors import RunError
from songspace.features.checks import check_features

log = logging.getLogger(__name__)

# Bump when feature code changes its output, so old caches are not reused.
FEATURE_VERSION = 1
# Part of a set's name: bumped when what an assembled set guarantees changes (2: every item passed
# check_features), so that sets assembled before are rebuilt from their items, and the items checked.
SET_FORMAT = 2
# Items per write when a set is assembled: one chunk of log-mels is in memory at a time (256 x 110 kB).
CHUNK = 256


def decoder_versions() -> dict[str, str]:
    """Versions of everything that decodes audio: libsndfile, soundfile, librosa, audioread, soxr (librosa's
    resampler), and songspace's own decoding code (``FEATURE_VERSION``)."""
    versions = {"libsndfile": soundfile.__libsndfile_version__, "songspace_features": str(FEATURE_VERSION)}
    for package in ("soundfile", "librosa", "audioread", "soxr"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions


@lru_cache(maxsize=1)
def decoder_key() -> str:
    """A short hash of :func:`decoder_versions`: the name under which decode failures are cached."""
    blob = json.dumps(decoder_versions(), sort_keys=True).encode()
    return hashlib.blake2b(blob, digest_size=4).hexdigest()


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
    """Turn any error writing the cache (a full disk, a read-only or foreign folder, a file where a folder
    should be) into a :class:`RunError` naming ``folder``."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            fix = "Free some space"
        elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            fix = "Make it writable"
        else:
            fix = "Remove what is in the way"
        raise RunError(f"{folder}: cannot write the feature cache ({exc.strerror or exc}). {fix} or point "
                       "features.cache_dir at another folder.") from exc


def _make_folder(folder: Path, own: Path) -> None:
    """``folder`` and its parents; a file squatting on the name of one at or below ``own`` (the cache's own
    folder: damage) is removed first. Outside ``own`` nothing is removed: the error names what is in the way."""
    for p in (*reversed(folder.parents), folder):
        if p.is_relative_to(own) and (p.is_symlink() or p.exists()) and not p.is_dir():
            log.warning("%s: a file stands where the feature cache needs a folder; removed", p)
            p.unlink()
    folder.mkdir(parents=True, exist_ok=True)


class DamagedItems(RunError):
    """Cached items of a set could not be read back (they are deleted): compute them again."""

    def __init__(self, root: Path, digests: list[str]) -> None:
        super().__init__(f"{root}: the cached features of {len(digests)} file(s) vanished or were damaged (deleted); "
                         "run again to recompute them.")
        self.digests = digests


class FeatureCache:
    """Per-file feature store for one set of feature settings."""

    def __init__(self, cache_dir: Path | str, settings: dict[str, Any]) -> None:
        self.root = Path(cache_dir).expanduser() / f"v{FEATURE_VERSION}-{settings_hash(settings)}"
        with disk_errors(self.root):
            _make_folder(self.root / "items", self.root)
            meta = self.root / "settings.json"
            if not meta.is_file():
                atomic_write_bytes(meta, json.dumps({"version": FEATURE_VERSION, **settings}, indent=2).encode())
        self._index_path = self.root / "index.json"
        self._index: dict[str, list] = {}
        if self._index_path.exists():
            try:
                index = json.loads(self._index_path.read_text(encoding="utf-8"))
                if not isinstance(index, dict):
                    raise ValueError(f"a JSON {type(index).__name__}, not an object")
                self._index = index
            except Exception as exc:  # damaged: files are hashed again (and the index rewritten at the end)
                log.warning("%s: unreadable (%s); files will be hashed again", self._index_path, exc)
        self.decoder = decoder_key()

    def digest(self, path: Path) -> str:
        """Content hash of ``path``, re-read only when its size or modification time changed."""
        st = path.stat()
        key = str(path.resolve())
        hit = self._index.get(key)
        if (isinstance(hit, list) and len(hit) == 3 and hit[0] == st.st_size and hit[1] == st.st_mtime_ns
                and isinstance(hit[2], str) and len(hit[2]) == 32):
            return hit[2]
        d = file_digest(path)
        self._index[key] = [st.st_size, st.st_mtime_ns, d]
        return d

    def save_index(self) -> None:
        with disk_errors(self.root):
            atomic_write_bytes(self._index_path, json.dumps(self._index).encode())

    def _item(self, digest: str, ext: str) -> Path:
        if ext == "err":  # failures are only as final as the decoders that gave them
            ext = f"{self.decoder}.err"
        return self.root / "items" / digest[:2] / f"{digest}.{ext}"

    def get(self, digest: str) -> tuple[np.ndarray, np.ndarray] | str | None:
        """``(log_mel, stats)`` when cached, the stored error message when the content is unusable, else None.

        An item that cannot be read, whatever the exception (a truncated ``.npz`` is a ``BadZipFile``), is
        logged and deleted, and None returned: it is computed again.
        """
        item = self._item(digest, "npz")
        if item.exists():
            try:
                with np.load(item, allow_pickle=False) as z:
                    return np.asarray(z["log_mel"]), np.asarray(z["stats"])
            except MemoryError:  # this machine's trouble, not the item's
                raise
            except Exception as exc:
                self._discard(item, exc)
                return None
        return self._error(digest)

    def _error(self, digest: str) -> str | None:
        """The stored error message of ``digest``, or None (an unreadable one is deleted: tried again)."""
        err = self._item(digest, "err")
        if not err.exists():
            return None
        try:
            return err.read_text(encoding="utf-8")
        except Exception as exc:
            self._discard(err, exc)
            return None

    def _discard(self, item: Path, why: Exception | str) -> None:
        """Delete the damaged cache file ``item`` (logged); its features are computed again."""
        log.warning("%s: damaged cache item (%s); deleted, recomputing it", item,
                    why if isinstance(why, str) else f"{type(why).__name__}: {why}")
        try:
            if item.is_dir() and not item.is_symlink():  # a folder under an item's name: the cache's own, damaged
                shutil.rmtree(item)
            else:
                item.unlink(missing_ok=True)
        except OSError as exc:
            raise RunError(f"{item}: a damaged feature cache item cannot be deleted ({exc.strerror or exc}); delete "
                           "it by hand, or point features.cache_dir at another folder.") from exc

    def checked(self, digest: str, mel_shape: tuple[int, int], n_stats: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The cached ``(log_mel, stats)`` of ``digest`` when it reads back whole, with these shapes and values
        :func:`~songspace.features.checks.check_features` accepts; else None (the item deleted, and logged)."""
        item = self.get(digest)
        if not isinstance(item, tuple):
            return None
        mel, stats = item
        if mel.shape != mel_shape or stats.shape != (n_stats,):
            why = f"shapes {mel.shape} and {stats.shape}, expected {mel_shape} and {(n_stats,)}"
        else:
            why = check_features(mel, stats)
        if why:
            self._discard(self._item(digest, "npz"), why)
            return None
        return mel, stats

    def status(self, digest: str) -> bool | str | None:
        """True when features are cached, the stored error message when unusable, None when unknown."""
        if self._item(digest, "npz").exists():
            return True
        return self._error(digest)

    def put(self, digest: str, log_mel: np.ndarray, stats: np.ndarray) -> None:
        item = self._item(digest, "npz")
        with disk_errors(self.root):
            _make_folder(item.parent, self.root)
            tmp = item.with_suffix(f".tmp{os.getpid()}.npz")
            np.savez(tmp, log_mel=log_mel.astype(np.float16), stats=stats.astype(np.float32))
            os.replace(tmp, item)

    def put_error(self, digest: str, message: str) -> None:
        item = self._item(digest, "err")
        with disk_errors(self.root):
            _make_folder(item.parent, self.root)
            atomic_write_bytes(item, message.encode("utf-8"))

    def set_dir(self, digests: list[str]) -> Path:
        """Folder of the assembled arrays for this exact ordered list of files."""
        h = hashlib.blake2b("\n".join([f"set-format-{SET_FORMAT}", *digests]).encode(), digest_size=10).hexdigest()
        return self.root / "sets" / h

    def assemble(self, digests: Sequence[str], mel_shape: tuple[int, int], n_stats: int
                 ) -> tuple[np.memmap, np.memmap]:
        """The cached items of ``digests``, stacked in that order into two memory-mapped arrays:
        log-mel [shape=(n, n_mels, n_frames), dtype=float16] and stats [shape=(n, n_stats), dtype=float32].

        The arrays are streamed to ``.npy`` files a chunk of items at a time (never the whole set in memory,
        nor mapped while written, so resident memory stays that of one chunk at any n) and renamed when
        whole; the set is kept and reused when the same ordered files come again.

        Raises
        ------
        DamagedItems
            Items that did not read back whole (:meth:`checked`); they are deleted, and every item of the set is
            checked before raising, so that one recomputation covers them all.
        """
        folder = self.set_dir(list(digests))
        mel_path, stats_path = folder / "log_mel.npy", folder / "stats.npy"
        if mel_path.exists() and stats_path.exists():
            try:
                mel, stats = np.load(mel_path, mmap_mode="r"), np.load(stats_path, mmap_mode="r")
                if mel.shape == (len(digests), *mel_shape) and stats.shape == (len(digests), n_stats):
                    return mel, stats
            except Exception as exc:  # damaged: rebuilt below
                log.warning("%s: damaged assembled set (%s: %s); rebuilding it", folder, type(exc).__name__, exc)
        n = len(digests)
        with disk_errors(self.root):
            _make_folder(folder, self.root)
            tmp_mel, tmp_stats = folder / f"log_mel.tmp{os.getpid()}.npy", folder / f"stats.tmp{os.getpid()}.npy"
            try:
                with tmp_mel.open("wb") as fm, tmp_stats.open("wb") as fs:
                    _npy_header(fm, np.float16, (n, *mel_shape))
                    _npy_header(fs, np.float32, (n, n_stats))
                    mel_buf = np.empty((min(CHUNK, max(n, 1)), *mel_shape), dtype=np.float16)
                    stats_buf = np.empty((len(mel_buf), n_stats), dtype=np.float32)
                    for start in range(0, n, CHUNK):
                        chunk = digests[start:start + CHUNK]
                        for j, d in enumerate(chunk):
                            item = self.checked(d, mel_shape, n_stats)
                            if item is None:
                                rest = digests[start + j + 1:]
                                raise DamagedItems(self.root, [d, *(e for e in rest
                                                                    if self.checked(e, mel_shape, n_stats) is None)])
                            mel_buf[j], stats_buf[j] = item
                        fm.write(mel_buf[:len(chunk)].tobytes())
                        fs.write(stats_buf[:len(chunk)].tobytes())
                os.replace(tmp_mel, mel_path)
                os.replace(tmp_stats, stats_path)
            finally:  # stopped half way: no partial set is left behind (a whole one was renamed above)
                tmp_mel.unlink(missing_ok=True)
                tmp_stats.unlink(missing_ok=True)
        return np.load(mel_path, mmap_mode="r"), np.load(stats_path, mmap_mode="r")


def _npy_header(fh, dtype: type, shape: tuple[int, ...]) -> None:
    """Write the header of a C-ordered ``.npy`` array of ``dtype`` and ``shape``; its data is to follow."""
    np.lib.format.write_array_header_1_0(
        fh, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape})


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
