"""The pipeline benchmark's reference: one DuckDB pass over the raw event files, aggregated by user.

    python -m customer_segments.bench.reference_pass RAW_EVENTS_FOLDER

Reads every JSON-lines file (gzipped or not) and Parquet file of the folder
once, as the pipeline's staging must, and counts events per user (userId, else
anonymousId): the floor any pipeline over these files pays. Malformed lines
and lines without an id are read but not counted. Prints the number of users and lines read.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m customer_segments.bench.reference_pass RAW_EVENTS_FOLDER", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    json_files = sorted(str(p) for p in folder.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz")))
    parquet_files = sorted(str(p) for p in folder.iterdir() if p.name.endswith(".parquet"))
    parts = []
    if json_files:
        parts.append(
            "select coalesce(json_extract_string(json, '$.userId'), json_extract_string(json, '$.anonymousId')) as user_key "
            "from read_json_objects(?, format = 'newline_delimited', ignore_errors = true)"
        )
    if parquet_files:
        parts.append("select coalesce(userId, anonymousId) as user_key from read_parquet(?, union_by_name = true)")
    if not parts:
        print(f"no event files in {folder}", file=sys.stderr)
        return 1
    parameters = [files for files in (json_files, parquet_files) if files]
    with duckdb.connect() as connection:
        users, lines = connection.execute(
            f"select count(*), sum(events) from (select user_key, count(*) as events from ({' union all '.join(parts)}) "
            "where user_key is not null group by 1)",
            parameters,
        ).fetchone()
    print(f"{users:,} users, {lines:,} events read")
    return 0


if __name__ == "__main__":
    sys.exit(main())
