"""Readers of raw input files for DuckDB that never fail on a bad byte, line or file.

DuckDB's own CSV reader stops the whole query at the first invalid UTF-8 byte,
line over 16 MB, stray delimiter byte or bad gzip stream, and prints the line.
These functions read a file in Python instead and return its lines (or CSV
records) as a list of structs for SQL to `unnest`, each with the problem it
has, so one bad line is one quarantined row and one unreadable file is one
quarantined entry (line 0) while everything else is read:

- `raw_event_file_lines(path, max_line_bytes)`: the lines of a JSON-lines file
  (optionally .gz) with their physical line number; `read_error` is
  `invalid_utf8`, `line_too_long` (the text is cut at max_line_bytes, the
  length and sha256 are of the whole line), or for line 0 `binary_file` /
  `unreadable_file` (raw_line then says why, in plain ASCII);
- `raw_plain_lines_problem(path, max_line_bytes)`: null when DuckDB's own CSV
  reader (one column, no quotes, numbered with row_number() over ()) reads the
  events file's lines exactly as `raw_event_file_lines` does, else why not: the
  fast path of macro default__raw_event_lines, which reads the lines of a
  plain file several times faster than this module can hand them to DuckDB;
- `raw_parquet_problem(path)`: null when pyarrow reads the Parquet file whole,
  else why not (checked before DuckDB reads it);
- `raw_csv_header(path)`: the names in a CSV file's header row (RFC 4180);
- `raw_csv_records(path, max_raw_bytes)`: its data records, RFC 4180 (quoted
  fields may hold newlines), each with the physical line it starts on and the
  number of lines it spans; a record whose quotes do not balance is one record
  with `read_error` `unbalanced_quote` and its text (cut at max_raw_bytes).
- `raw_file_newest(path, field)`: the newest timestamp in one field of a file
  (an event file's `receivedAt`, a CSV or Parquet column), null when it has
  none that parses: what `dbt source freshness` reads of the file sources
  (models/staging/_raw__sources.yml).

Good files take a vectorized path (one split, one Arrow array); only files
with a problem are read line by line.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import zlib
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa

#: A file is binary when its first bytes hold a NUL byte (the heuristic of git and grep).
BINARY_PROBE_BYTES = 8000
#: Longest explanation written into raw_line for an unreadable file.
MAX_MESSAGE_CHARS = 300
UTF8_BOM = b"\xef\xbb\xbf"

EVENT_LINE = pa.struct(
    [
        ("line_number", pa.int64()),
        ("raw_line", pa.large_string()),
        ("raw_line_bytes", pa.int64()),
        ("raw_line_sha256", pa.large_string()),
        ("read_error", pa.large_string()),
    ]
)
CSV_RECORD = pa.struct(
    [
        ("line_number", pa.int64()),
        ("line_count", pa.int64()),
        ("fields", pa.list_(pa.large_string())),
        ("raw_text", pa.large_string()),
        ("read_error", pa.large_string()),
    ]
)
EVENT_LINE_SQL = (
    "struct(line_number bigint, raw_line varchar, raw_line_bytes bigint, raw_line_sha256 varchar, read_error varchar)[]"
)
CSV_RECORD_SQL = "struct(line_number bigint, line_count bigint, fields varchar[], raw_text varchar, read_error varchar)[]"


class UnreadableFile(Exception):
    """The file's bytes cannot be had (I/O error, not gzip, gzip stream broken from the start)."""


def describe_error(error: BaseException) -> str:
    """An exception as one short line of printable ASCII: never raw bytes or escape codes."""
    text = f"{type(error).__name__}: {error}"
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    text = "".join(char if char.isprintable() else "?" for char in text)
    return text[:MAX_MESSAGE_CHARS]


def read_bytes(path: str) -> tuple[bytes, str | None]:
    """The file's bytes (decompressed for .gz) and, when a gzip stream breaks midway, why.

    The bytes before the break are kept: a truncated upload still gives its complete lines.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise UnreadableFile(describe_error(error)) from error
    if not path.endswith(".gz"):
        return data, None
    if not data.startswith(b"\x1f\x8b"):
        raise UnreadableFile("not a gzip file (it does not start with the gzip magic bytes)")
    parts, rest = [], data
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=31)
            parts.append(inflater.decompress(rest))
            if not inflater.eof:
                return b"".join(parts), "gzip stream ends early (truncated file)"
            rest = inflater.unused_data  # a concatenated gzip member follows
            if rest and not rest.startswith(b"\x1f\x8b"):
                rest = b""  # trailing garbage after the last member: gzip(1) ignores it too
    except zlib.error as error:
        if not parts:
            raise UnreadableFile("corrupt gzip stream: " + describe_error(error)) from error
        return b"".join(parts), "corrupt gzip stream after some data: " + describe_error(error)
    return b"".join(parts), None


def is_binary(data: bytes) -> bool:
    return b"\x00" in data[:BINARY_PROBE_BYTES]


def _file_entry(reason: str, text: str, data: bytes | None = None) -> dict:
    return {
        "line_number": 0,
        "raw_line": text,
        "raw_line_bytes": None if data is None else len(data),
        "raw_line_sha256": None if data is None else hashlib.sha256(data).hexdigest(),
        "read_error": reason,
    }


def _cut(line: bytes, max_bytes: int) -> str:
    """The first max_bytes of a line as text (a character split by the cut is dropped)."""
    return line[:max_bytes].decode("utf-8", errors="ignore" if line[:max_bytes].isascii() else "replace")


def _lines_one_by_one(parts: list[bytes], max_line_bytes: int) -> list[dict]:
    """The slow path: each line decoded alone, so a bad one is marked and the rest kept."""
    rows = []
    for number, line in enumerate(parts, start=1):
        if not line:
            continue
        row = {"line_number": number, "raw_line_bytes": len(line), "raw_line_sha256": None, "read_error": None}
        if len(line) > max_line_bytes:
            row.update(raw_line=_cut(line, max_line_bytes), raw_line_sha256=hashlib.sha256(line).hexdigest(),
                       read_error="line_too_long")
        else:
            try:
                row["raw_line"] = line.decode("utf-8")
            except UnicodeDecodeError:
                row.update(raw_line=line.decode("utf-8", errors="replace"), read_error="invalid_utf8")
        rows.append(row)
    return rows


def split_lines(data: bytes) -> list[bytes]:
    """Physical lines: split at \\n, a \\r before it dropped; a last line without \\n still counts."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    return parts


def event_file_lines(path: str, max_line_bytes: int) -> pa.StructArray:
    """The non-empty lines of one events file as EVENT_LINE structs (see the module docstring)."""
    try:
        data, stream_problem = read_bytes(path)
    except UnreadableFile as error:
        return pa.array([_file_entry("unreadable_file", f"unreadable file: {error}")], EVENT_LINE)
    if is_binary(data):
        return pa.array(
            [_file_entry("binary_file", f"binary file (a NUL byte in its first {BINARY_PROBE_BYTES} bytes), not JSON lines", data)],
            EVENT_LINE,
        )
    parts = split_lines(data)
    del data
    entries = [] if stream_problem is None else [_file_entry("unreadable_file", f"unreadable file: {stream_problem}")]
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    fast = None
    if not (lengths > max_line_bytes).any():
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        binary = pa.Array.from_buffers(
            pa.large_binary(), len(parts), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(parts))]
        )
        try:
            text = binary.cast(pa.large_string())  # validates UTF-8 in one pass
        except pa.ArrowInvalid:
            text = None
        if text is not None:
            keep = lengths > 0
            count = int(keep.sum())
            fast = pa.StructArray.from_arrays(
                [
                    pa.array(np.flatnonzero(keep) + 1, pa.int64()),
                    text.filter(pa.array(keep)),
                    pa.array(lengths[keep], pa.int64()),
                    pa.nulls(count, pa.large_string()),
                    pa.nulls(count, pa.large_string()),
                ],
                fields=list(EVENT_LINE),
            )
    if fast is None:
        fast = pa.array(_lines_one_by_one(parts, max_line_bytes), EVENT_LINE)
    if entries:
        return pa.concat_arrays([pa.array(entries, EVENT_LINE), fast])
    return fast


def _as_list_array(values: list[pa.Array], item_type: pa.DataType) -> pa.ListArray:
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum([len(value) for value in values], out=offsets[1:])
    items = pa.concat_arrays(values) if values else pa.array([], item_type)
    return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), items)


def raw_event_file_lines(paths: pa.Array, max_line_bytes: pa.Array) -> pa.Array:
    """Arrow UDF: for each path, the list of its lines (event_file_lines)."""
    return _as_list_array(
        [event_file_lines(path, int(limit)) for path, limit in zip(paths.to_pylist(), max_line_bytes.to_pylist())],
        EVENT_LINE,
    )


#: The byte DuckDB's CSV reader splits fields at on the fast path: no valid JSON line holds it unescaped,
#: and a file that holds it is read by event_file_lines (its one field would be cut there).
PLAIN_LINES_DELIMITER = b"\x01"


def plain_lines_problem(path: str, max_line_bytes: int) -> str | None:
    """Null when DuckDB's CSV reader gives exactly this file's event_file_lines, else why not.

    The reader is given one VARCHAR column, no quote or escape character, `\\n` as the only line
    break and a delimiter byte the file does not hold, so each physical line is one row, read as it
    is. Numbered in file order, its rows are event_file_lines' rows if the file has none of what
    that function treats specially or DuckDB would: compression (.gz), a NUL byte (binary), a
    byte-order mark, a carriage return, the delimiter byte, an empty line (the CSV reader skips
    it, so the numbers after it would shift), invalid UTF-8 (DuckDB stops the query), a line
    longer than max_line_bytes; an empty file is read by event_file_lines too (nothing to gain).
    The checks are whole-buffer scans, a fraction of event_file_lines' own cost.
    """
    if path.endswith(".gz"):
        return "compressed"
    try:
        data, _ = read_bytes(path)
    except UnreadableFile:
        return "unreadable"
    for problem, found in (
        ("empty", not data),
        ("nul_byte", b"\x00" in data),
        ("byte_order_mark", data.startswith(UTF8_BOM)),
        ("carriage_return", b"\r" in data),
        ("delimiter_byte", PLAIN_LINES_DELIMITER in data),
    ):
        if found:
            return problem
    if not data.isascii():
        whole = pa.Array.from_buffers(
            pa.large_binary(), 1, [None, pa.py_buffer(np.array([0, len(data)], dtype=np.int64)), pa.py_buffer(data)]
        )
        try:
            whole.cast(pa.large_string())  # validates UTF-8 without decoding to a Python str
        except pa.ArrowInvalid:
            return "invalid_utf8"
    # each line's length in bytes (a last line without its \n counts; the empty part after a final \n does not)
    breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    ends = breaks if data.endswith(b"\n") else np.append(breaks, len(data))
    lengths = ends - np.concatenate(([-1], breaks[: len(ends) - 1])) - 1
    if (lengths == 0).any():
        return "empty_line"
    if (lengths > max_line_bytes).any():
        return "line_too_long"
    return None


# ------------------------------------------------------------------ Parquet


def parquet_problem(path: str) -> str | None:
    """Null when the Parquet file reads whole, else why not (one line of ASCII)."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        for group in range(parquet.num_row_groups):
            parquet.read_row_group(group)
    except Exception as error:  # noqa: BLE001 - any failure means "unreadable", said in the entry
        return "unreadable Parquet file: " + describe_error(error)
    return None


# ---------------------------------------------------------------------- CSV


def _text_of(path: str) -> tuple[str, str | None]:
    """A CSV file as text: invalid UTF-8 bytes kept as surrogates (so records holding them are found)."""
    data, stream_problem = read_bytes(path)
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    return data.decode("utf-8", errors="surrogateescape"), stream_problem


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in text)


def _clean(text: str) -> str:
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def csv_records(path: str, max_raw_bytes: int) -> tuple[list[str] | None, list[dict]]:
    """The header's fields and the data records of a CSV file (RFC 4180; see the module docstring).

    A record's line_number is the physical line it starts on (the header is line 1) and
    line_count the lines it spans. Empty fields are null, as DuckDB's reader reads them.
    A file that cannot be read gives no header and one record with line_number 0.
    """
    try:
        text, stream_problem = _text_of(path)
    except UnreadableFile as error:
        return None, [{"line_number": 0, "line_count": 0, "fields": None, "raw_text": f"unreadable file: {error}",
                       "read_error": "unreadable_file"}]
    consumed: list[str] = []

    def lines():
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    reader = csv.reader(lines(), strict=True)
    header, records, done = None, [], 0
    while True:
        error = None
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as problem:
            fields, error = None, ("unbalanced_quote" if "quote" in str(problem) or "end of data" in str(problem)
                                   or "expected after" in str(problem) else "malformed_csv")
        raw = "".join(consumed)
        consumed.clear()
        start, done = done + 1, reader.line_num
        if error is None and not fields:
            continue  # a blank line
        if error is None and _has_surrogates(raw):
            error = "invalid_utf8"
        if header is None and error is None:
            header = fields
            continue
        record = {"line_number": start, "line_count": done - start + 1, "fields": None, "raw_text": None,
                  "read_error": error}
        if error is None:
            record["fields"] = [field if field != "" else None for field in fields]
        else:
            cut = raw.rstrip("\r\n").encode("utf-8", errors="surrogateescape")
            record["raw_text"] = _cut(cut, max_raw_bytes)
            if error == "invalid_utf8" and fields is not None:
                record["fields"] = [_clean(field) or None for field in fields]
        records.append(record)
    if stream_problem is not None:
        records.append({"line_number": 0, "line_count": 0, "fields": None,
                        "raw_text": f"unreadable file: {stream_problem}", "read_error": "unreadable_file"})
    return header, records


def raw_csv_records(paths: pa.Array, max_raw_bytes: pa.Array) -> pa.Array:
    """Arrow UDF: for each path, the list of its data records (csv_records)."""
    values = []
    for path, limit in zip(paths.to_pylist(), max_raw_bytes.to_pylist()):
        values.append(pa.array(csv_records(path, int(limit))[1], CSV_RECORD))
    return _as_list_array(values, CSV_RECORD)


def csv_header(path: str) -> list[str] | None:
    """The lower-cased names of a CSV file's header; null when the file is empty or cannot be read."""
    try:
        text, _ = _text_of(path)
    except UnreadableFile:
        return None
    for fields in csv.reader(io.StringIO(text[:1_000_000], newline="")):
        if fields:
            return [_clean(name).strip().lower() for name in fields]
    return None


# ---------------------------------------------------------------- freshness


def _as_utc(text) -> datetime | None:
    """An ISO-8601 timestamp as naive UTC; None when it does not parse (the build quarantines those rows)."""
    if text is None:
        return None
    if isinstance(text, datetime):
        moment = text
    else:
        try:
            moment = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _field_values(path: str, field: str):
    """The values of one field of every row of a raw file, as read by staging (nothing fails here)."""
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        if parquet_problem(path) is not None:
            return []
        table = pq.read_table(path)
        names = {name.lower(): name for name in table.column_names}
        return table.column(names[field.lower()]).to_pylist() if field.lower() in names else []
    if ".csv" not in path.rsplit("/", 1)[-1].lower():  # JSON lines (events), optionally .gz
        found = re.compile(r'"' + re.escape(field) + r'"\s*:\s*"([^"]*)"')
        values = []
        for line in event_file_lines(path, 1 << 30).field("raw_line").to_pylist():
            match = found.search(line or "")
            if match:
                values.append(match.group(1))
        return values
    header, records = csv_records(path, 1 << 20)
    names = [name.strip().lower() for name in header or []]
    if field.lower() not in names:
        return []
    index = names.index(field.lower())
    return [record["fields"][index] for record in records
            if record["fields"] is not None and index < len(record["fields"])]


def file_newest(path: str, field: str) -> datetime | None:
    """The newest timestamp in `field` of the file at `path` (naive UTC), or None."""
    newest = None
    for value in _field_values(path, field):
        moment = _as_utc(value)
        if moment is not None and (newest is None or moment > newest):
            newest = moment
    return newest


def register(connection) -> None:
    """Register this module's functions on a DuckDB connection."""
    connection.create_function(
        "raw_event_file_lines", raw_event_file_lines, ["VARCHAR", "BIGINT"], EVENT_LINE_SQL,
        type="arrow", side_effects=True,
    )
    connection.create_function(
        "raw_csv_records", raw_csv_records, ["VARCHAR", "BIGINT"], CSV_RECORD_SQL, type="arrow", side_effects=True,
    )
    # Both return null for "no header" / "no problem": DuckDB only accepts a null result with special null handling.
    connection.create_function(
        "raw_csv_header", csv_header, ["VARCHAR"], "VARCHAR[]", null_handling="special", side_effects=True,
    )
    connection.create_function(
        "raw_file_newest", file_newest, ["VARCHAR", "VARCHAR"], "TIMESTAMP", null_handling="special", side_effects=True,
    )
    connection.create_function(
        "raw_plain_lines_problem", plain_lines_problem, ["VARCHAR", "BIGINT"], "VARCHAR", null_handling="special",
        side_effects=True,
    )
    connection.create_function(
        "raw_parquet_problem", parquet_problem, ["VARCHAR"], "VARCHAR", null_handling="special", side_effects=True,
    )
