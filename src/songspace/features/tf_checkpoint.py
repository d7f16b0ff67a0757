"""Read a TensorFlow v2 checkpoint ("tensor bundle") into numpy arrays, without TensorFlow or protobuf.

A bundle is two files next to each other: ``<prefix>.index``, a LevelDB-format sorted table whose keys are
variable names and whose values are ``BundleEntryProto`` messages (dtype, shape, shard, offset, size, crc32c), and
``<prefix>.data-00000-of-00001``, the tensors' raw little-endian bytes. This reader handles what the musicnn
checkpoints use: one shard, uncompressed table blocks, numeric dtypes (float32, and int64 for ``global_step``),
whole tensors (no partitioned slices). Everything else is refused with
:class:`songspace.errors.CheckpointError`.

Integrity: every table block's masked CRC-32C is checked (the index is a few kB); the tensor bytes are bounds-
checked against the data file but their CRCs are not computed (pure Python would take seconds for 9 MB); a digest
of both files is what cache keys use (:func:`checkpoint_digest`).

References: leveldb ``doc/table_format.md``; tensorflow ``core/util/tensor_bundle/tensor_bundle.proto``.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np

from songspace.errors import CheckpointError

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_SIZE = 48  # two block handles padded to 40 bytes, then the 8-byte magic
_BLOCK_TRAILER = 5  # compression type byte + masked crc32c

# tensorflow/core/framework/types.proto -> numpy, little-endian as the bundle writes them
_DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),  # DT_FLOAT
    2: np.dtype("<f8"),  # DT_DOUBLE
    3: np.dtype("<i4"),  # DT_INT32
    4: np.dtype("u1"),  # DT_UINT8
    5: np.dtype("<i2"),  # DT_INT16
    6: np.dtype("i1"),  # DT_INT8
    9: np.dtype("<i8"),  # DT_INT64
    10: np.dtype("?"),  # DT_BOOL
    19: np.dtype("<f2"),  # DT_HALF
}


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``; pure Python, meant for the small table blocks."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _unmask(masked: int) -> int:
    rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def _varint(buf: bytes, pos: int, where: str) -> tuple[int, int]:
    """Decode one base-128 varint at ``pos``; returns (value, next position)."""
    value = 0
    shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise CheckpointError(f"{where}: truncated or overlong varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _read_block(data: bytes, offset: int, size: int, where: str) -> bytes:
    end = offset + size
    if offset < 0 or end + _BLOCK_TRAILER > len(data):
        raise CheckpointError(f"{where}: block at {offset} (+{size}) runs past the end of the file")
    contents = data[offset:end]
    kind = data[end]
    (stored,) = struct.unpack_from("<I", data, end + 1)
    if crc32c(contents + bytes([kind])) != _unmask(stored):
        raise CheckpointError(f"{where}: block at {offset} fails its CRC-32C check (damaged file)")
    if kind != 0:
        raise CheckpointError(f"{where}: block at {offset} is compressed (type {kind}); only uncompressed tables")
    return contents


def _block_entries(block: bytes, where: str) -> list[tuple[bytes, bytes]]:
    """The (key, value) pairs of one table block, keys un-prefix-compressed."""
    if len(block) < 4:
        raise CheckpointError(f"{where}: block too short")
    (n_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * n_restarts
    if limit < 0:
        raise CheckpointError(f"{where}: bad restart count {n_restarts}")
    entries: list[tuple[bytes, bytes]] = []
    key = b""
    pos = 0
    while pos < limit:
        shared, pos = _varint(block, pos, where)
        unshared, pos = _varint(block, pos, where)
        value_len, pos = _varint(block, pos, where)
        if shared > len(key) or pos + unshared + value_len > limit:
            raise CheckpointError(f"{where}: corrupt block entry at byte {pos}")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        entries.append((key, block[pos : pos + value_len]))
        pos += value_len
    return entries


def _proto_fields(buf: bytes, where: str) -> list[tuple[int, int | bytes]]:
    """Top-level (field number, value) pairs of a protobuf message: varints as int, length-delimited as bytes,
    fixed32/fixed64 as int."""
    fields: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos, where)
        number, wire = tag >> 3, tag & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos, where)
        elif wire == 1:
            if pos + 8 > len(buf):
                raise CheckpointError(f"{where}: truncated fixed64 field")
            (value,) = struct.unpack_from("<Q", buf, pos)
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos, where)
            if pos + length > len(buf):
                raise CheckpointError(f"{where}: truncated length-delimited field")
            value = buf[pos : pos + length]
            pos += length
        elif wire == 5:
            if pos + 4 > len(buf):
                raise CheckpointError(f"{where}: truncated fixed32 field")
            (value,) = struct.unpack_from("<I", buf, pos)
            pos += 4
        else:
            raise CheckpointError(f"{where}: unsupported protobuf wire type {wire}")
        fields.append((number, value))
    return fields


def _shape(buf: bytes, where: str) -> tuple[int, ...]:
    """TensorShapeProto: repeated Dim dim = 2 (Dim.size = 1); unknown_rank = 3."""
    dims: list[int] = []
    for number, value in _proto_fields(buf, where):
        if number == 2 and isinstance(value, bytes):
            size = 0
            for dim_number, dim_value in _proto_fields(value, where):
                if dim_number == 1 and isinstance(dim_value, int):
                    size = dim_value
            dims.append(size)
        elif number == 3 and value:
            raise CheckpointError(f"{where}: tensor of unknown rank")
    return tuple(dims)


def _table_entries(index_path: Path) -> list[tuple[bytes, bytes]]:
    data = index_path.read_bytes()
    where = str(index_path)
    if len(data) < _FOOTER_SIZE:
        raise CheckpointError(f"{where}: too short to be a checkpoint index ({len(data)} bytes); fetch it again")
    footer = data[-_FOOTER_SIZE:]
    (magic,) = struct.unpack_from("<Q", footer, 40)
    if magic != _TABLE_MAGIC:
        raise CheckpointError(f"{where}: not a TensorFlow checkpoint index (bad table magic); fetch it again")
    pos = 0
    _, pos = _varint(footer, pos, where)  # metaindex handle: unused
    _, pos = _varint(footer, pos, where)
    index_offset, pos = _varint(footer, pos, where)
    index_size, pos = _varint(footer, pos, where)
    entries: list[tuple[bytes, bytes]] = []
    for _, handle in _block_entries(_read_block(data, index_offset, index_size, where), where):
        offset, hpos = _varint(handle, 0, where)
        size, _ = _varint(handle, hpos, where)
        entries.extend(_block_entries(_read_block(data, offset, size, where), where))
    return entries


def read_checkpoint(prefix: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of the checkpoint at ``prefix`` (the path without ``.index``), by variable name.

    Parameters
    ----------
    prefix : str or Path
        ``<prefix>.index`` and ``<prefix>.data-00000-of-00001`` must exist. A prefix may be a folder path ending
        in ``/`` (musicnn's checkpoints are named ``<folder>/.index``).

    Returns
    -------
    dict[str, np.ndarray]
        Arrays of the stored dtype and shape (read-only copies detached from the file).

    Raises
    ------
    CheckpointError
        A file is missing, the index is damaged (CRC, magic, structure), a tensor lies outside the data file,
        or the checkpoint uses something this reader does not handle (several shards, slices, strings).
    """
    prefix = str(prefix)
    index_path = Path(prefix + ".index")
    if not index_path.is_file():
        raise CheckpointError(f"{index_path}: checkpoint index not found; fetch the weights again")
    entries = _table_entries(index_path)
    header = [value for key, value in entries if key == b""]
    n_shards = 1
    if header:
        for number, value in _proto_fields(header[0], str(index_path)):
            if number == 1 and isinstance(value, int):
                n_shards = value
            if number == 2 and value == 1:
                raise CheckpointError(f"{index_path}: big-endian checkpoint; not supported")
    if n_shards != 1:
        raise CheckpointError(f"{index_path}: {n_shards} data shards; only single-shard checkpoints are supported")
    data_path = Path(prefix + ".data-00000-of-00001")
    if not data_path.is_file():
        raise CheckpointError(f"{data_path}: checkpoint data shard not found; fetch the weights again")
    blob = data_path.read_bytes()
    tensors: dict[str, np.ndarray] = {}
    for key, value in entries:
        if key == b"":
            continue
        name = key.decode("utf-8", errors="replace")
        where = f"{index_path} [{name}]"
        fields = dict(_proto_fields(value, where))
        if 7 in fields:
            raise CheckpointError(f"{where}: partitioned (sliced) tensor; not supported")
        dtype = _DTYPES.get(int(fields.get(1, 0)))  # type: ignore[arg-type]
        if dtype is None:
            raise CheckpointError(f"{where}: unsupported dtype code {fields.get(1)}")
        shape_field = fields.get(2, b"")
        shape = _shape(shape_field if isinstance(shape_field, bytes) else b"", where)
        offset = int(fields.get(4, 0))  # type: ignore[arg-type]
        size = int(fields.get(5, 0))  # type: ignore[arg-type]
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if size != expected:
            raise CheckpointError(f"{where}: {size} bytes stored for shape {shape} of {dtype} ({expected} expected)")
        if offset + size > len(blob):
            raise CheckpointError(f"{data_path}: tensor {name} lies past the end of the file (truncated download?)")
        array = np.frombuffer(blob, dtype=dtype, count=size // dtype.itemsize, offset=offset).reshape(shape).copy()
        array.flags.writeable = False
        tensors[name] = array
    return tensors


def checkpoint_digest(prefix: str | Path) -> str:
    """SHA-256 of the index and the data shard together (hex, first 16 characters): what a cache key uses."""
    prefix = str(prefix)
    digest = hashlib.sha256()
    for suffix in (".index", ".data-00000-of-00001"):
        path = Path(prefix + suffix)
        try:
            digest.update(path.read_bytes())
        except OSError as error:
            raise CheckpointError(f"{path}: cannot be read ({error.strerror}); fetch the weights again") from None
    return digest.hexdigest()[:16]
