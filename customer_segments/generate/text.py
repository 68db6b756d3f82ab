"""Vectorized text: ids, UUIDs and ISO-8601 timestamps as fixed-width byte matrices.

Formatting millions of values with Python f-strings is what makes a generator
slow. Here every value of a column has the same width, so a column is one
(rows x width) uint8 matrix filled by numpy arithmetic, and an Arrow string
array is made from that matrix without copying it value by value.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
MS_PER_DAY = 86_400_000


def constant(text: str, rows: int) -> np.ndarray:
    """The same text in every row, as a (rows x len) matrix view."""
    raw = np.frombuffer(text.encode(), dtype=np.uint8)
    return np.broadcast_to(raw, (rows, raw.size))


def join(*pieces: np.ndarray | str, rows: int | None = None) -> np.ndarray:
    """Concatenate matrices and constant texts column-wise into one matrix."""
    if rows is None:
        rows = next(piece.shape[0] for piece in pieces if isinstance(piece, np.ndarray))
    parts = [constant(piece, rows) if isinstance(piece, str) else piece for piece in pieces]
    return np.ascontiguousarray(np.hstack(parts)) if parts else np.empty((rows, 0), np.uint8)


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers (the last `width` digits)."""
    values = np.asarray(values, dtype=np.int64).copy()
    out = np.empty((values.size, width), dtype=np.uint8)
    for column in range(width - 1, -1, -1):
        out[:, column] = 48 + values % 10
        values //= 10
    return out


def hex_text(random_bytes: np.ndarray, groups: tuple[int, ...] = (8, 4, 4, 4, 12)) -> np.ndarray:
    """Lower-case hex of each row of bytes, in dash-separated groups of hex digits (UUID shape by default)."""
    random_bytes = np.asarray(random_bytes, dtype=np.uint8)
    nibbles = np.empty((random_bytes.shape[0], random_bytes.shape[1] * 2), dtype=np.uint8)
    nibbles[:, 0::2] = random_bytes >> 4
    nibbles[:, 1::2] = random_bytes & 15
    characters = HEX[nibbles]
    pieces, start = [], 0
    for index, size in enumerate(groups):
        if index:
            pieces.append("-")
        pieces.append(characters[:, start:start + size])
        start += size
    return join(*pieces, rows=random_bytes.shape[0])


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days since 1970-01-01 -> (year, month, day), Howard Hinnant's algorithm in int64 numpy."""
    z = np.asarray(days, dtype=np.int64) + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day


_CLOCK = join(digits(np.arange(86_400) // 3600, 2), ":", digits(np.arange(86_400) // 60 % 60, 2), ":",
              digits(np.arange(86_400) % 60, 2), ".", rows=86_400)
_MILLIS = digits(np.arange(1000), 3)


def iso_ms(ms: np.ndarray) -> np.ndarray:
    """Epoch milliseconds -> 'YYYY-MM-DDTHH:MM:SS.mmm' (23 bytes, no zone suffix), years 0000-9999.

    Lookup tables instead of arithmetic per value: the dates of the few
    distinct days, the 86,400 clock times and the 1,000 millisecond texts are
    formatted once, then each value is three row gathers.
    """
    ms = np.asarray(ms, dtype=np.int64)
    target = np.empty((ms.size, 23), dtype=np.uint8)
    iso_into(target, ms)
    return target


def strings(matrix: np.ndarray) -> pa.StringArray:
    """An Arrow string array over the rows of a fixed-width byte matrix (one copy, no per-value work)."""
    matrix = np.ascontiguousarray(matrix, dtype=np.uint8)
    rows, width = matrix.shape
    offset_type = np.int64 if rows * width >= 2**31 else np.int32
    offsets = np.arange(0, rows * width + 1, width, dtype=offset_type)
    array_type = pa.large_string() if offset_type is np.int64 else pa.string()
    return pa.Array.from_buffers(array_type, rows, [None, pa.py_buffer(offsets), pa.py_buffer(matrix)])


def python_strings(matrix: np.ndarray) -> np.ndarray:
    """The rows of a fixed-width byte matrix as a numpy object array of str (for people-sized columns)."""
    return strings(matrix).to_numpy(zero_copy_only=False)


def ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Readable ids like `usr_0000123` as a numpy object array of str."""
    numbers = np.asarray(numbers)
    return python_strings(join(prefix, digits(numbers, width), rows=numbers.size))


def iso_into(target: np.ndarray, ms: np.ndarray) -> None:
    """Write 'YYYY-MM-DDTHH:MM:SS.mmm' for each value into the 23 columns of `target` (a matrix view)."""
    ms = np.asarray(ms, dtype=np.int64)
    if ms.size == 0:
        return
    days, in_day = np.divmod(ms, MS_PER_DAY)
    first = int(days.min())
    span = np.arange(first, int(days.max()) + 1)
    year, month, day = _civil(span)
    dates = join(digits(year, 4), "-", digits(month, 2), "-", digits(day, 2), "T", rows=span.size)
    seconds, millis = np.divmod(in_day, 1000)
    target[:, 0:11] = dates[days - first]
    target[:, 11:20] = _CLOCK[seconds]
    target[:, 20:23] = _MILLIS[millis]


def hex_into(target: np.ndarray, random_bytes: np.ndarray) -> None:
    """Write the UUID-shaped hex text (36 columns) of 16 bytes per row into `target`."""
    nibbles = np.empty((random_bytes.shape[0], 32), dtype=np.uint8)
    nibbles[:, 0::2] = random_bytes >> 4
    nibbles[:, 1::2] = random_bytes & 15
    characters = HEX[nibbles]
    start = 0
    for column, size in zip((0, 9, 14, 19, 24), (8, 4, 4, 4, 12)):
        target[:, column:column + size] = characters[:, start:start + size]
        if column:
            target[:, column - 1] = ord("-")
        start += size


class Template:
    """A fixed-width line piece: constant text with holes for per-row values, filled in place."""

    def __init__(self, *pieces: str | tuple[str, int]) -> None:
        self.constants: list[tuple[int, bytes]] = []
        self.holes: dict[str, tuple[int, int]] = {}
        position = 0
        for piece in pieces:
            if isinstance(piece, str):
                self.constants.append((position, piece.encode()))
                position += len(piece.encode())
            else:
                name, width = piece
                self.holes[name] = (position, position + width)
                position += width
        self.width = position

    def empty(self, rows: int) -> np.ndarray:
        out = np.empty((rows, self.width), dtype=np.uint8)
        for position, raw in self.constants:
            out[:, position:position + len(raw)] = np.frombuffer(raw, dtype=np.uint8)
        return out

    def hole(self, out: np.ndarray, name: str) -> np.ndarray:
        start, end = self.holes[name]
        return out[:, start:end]
