"""python -m customer_segments.generate --out data/raw --truth data/ground_truth --events 100000 --seed 42"""

from __future__ import annotations

import argparse
import sys

from customer_segments.generate import DEFAULT_END_DATE, FORMATS, GenerateError, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m customer_segments.generate",
        description="Write demo raw inputs (docs/contract.md) and their ground truth, deterministically for a seed.",
    )
    parser.add_argument("--out", default="data/raw", help="raw input folder to write (default data/raw)")
    parser.add_argument("--truth", default="data/ground_truth", help="ground-truth folder (default data/ground_truth)")
    parser.add_argument("--events", type=int, default=100_000,
                        help="approximate number of valid distinct events before faults (default 100000)")
    parser.add_argument("--people", type=int, default=None,
                        help="number of people (default events // 40); identity edges grow with people, not events")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--format", choices=list(FORMATS), default="jsonl",
                        help="events format: jsonl; parquet (nested objects as JSON strings, no malformed lines); "
                             "segment-warehouse (the tables of Segment's warehouse destination as Parquet files "
                             "under <out>/warehouse/, build with --vars '{event_input_shape: segment_warehouse}')")
    parser.add_argument("--gzip", action="store_true", help="gzip the JSON-lines event files")
    parser.add_argument("--no-faults", action="store_true", help="inject no faults")
    parser.add_argument("--end", default=DEFAULT_END_DATE, help=f"last day of the history (default {DEFAULT_END_DATE})")
    parser.add_argument("--quiet", action="store_true", help="no progress or summary output")
    options = parser.parse_args(argv)
    try:
        generate(
            options.out,
            options.truth,
            events=options.events,
            seed=options.seed,
            fmt=options.format,
            gzip=options.gzip,
            faults=not options.no_faults,
            end_date=options.end,
            progress=not options.quiet,
            people=options.people,
        )
    except GenerateError as problem:
        print(f"generate: {problem}", file=sys.stderr)
        return 2
    except OSError as problem:  # e.g. the disk filled up while writing
        print(f"generate: cannot write the files: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("generate: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
