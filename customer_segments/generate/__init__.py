"""Demo data with ground truth: every input of CONTRACT.md, deterministic for a seed.

People with hidden personas browse anonymously on several devices, identify,
get aliased, open and click emails and place orders; B2B accounts have CRM
contacts and office IP ranges. Known faults are injected in known amounts,
and a ground-truth folder says who is behind every identifier and where
every fault is, so tests can check the pipeline against the truth.

    from customer_segments.generate import generate
    manifest = generate("data/raw", "data/ground_truth", events=100_000, seed=42)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from customer_segments.generate import behaviour as behaviour_module
from customer_segments.generate import events as events_module
from customer_segments.generate import population as population_module
from customer_segments.generate import spec, tables
from customer_segments.generate import truth as truth_module

DEFAULT_END_DATE = "2026-10-31"


class GenerateError(ValueError):
    """Bad arguments or an unusable output folder; the message says what to do."""


def _progress(enabled: bool, started: float, message: str) -> None:
    if enabled:
        print(f"[generate {time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)


def _write_csv(connection: duckdb.DuckDBPyConnection, frame: pd.DataFrame, path: Path) -> None:
    """CSV with a header, every field as text, quoted only where needed."""
    connection.register("csv_frame", frame.astype(object).where(frame.notna(), None))
    connection.execute(f"copy csv_frame to '{path}' (format csv, header true)")
    connection.unregister("csv_frame")


def generate(
    out_dir: str | Path,
    truth_dir: str | Path,
    events: int = 100_000,
    seed: int = 42,
    fmt: str = "jsonl",
    gzip: bool = False,
    faults: bool = True,
    end_date: str = DEFAULT_END_DATE,
    progress: bool = True,
) -> dict:
    """Write the raw inputs to `out_dir` and the ground truth to `truth_dir`; return the manifest."""
    if not isinstance(events, int) or events < 1:
        raise GenerateError(f"--events must be a positive whole number, got {events!r}")
    if fmt not in ("jsonl", "parquet"):
        raise GenerateError(f"--format must be jsonl or parquet, got {fmt!r}")
    try:
        end = pd.Timestamp(end_date, tz="UTC").normalize() + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    except ValueError as problem:
        raise GenerateError(f"--end must be a date like 2026-10-31, got {end_date!r}") from problem
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    for folder in (out_dir, truth_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as problem:
            raise GenerateError(f"cannot write to {folder}: {problem.strerror or problem}") from problem
    if (out_dir / "events").is_dir():
        for old in (out_dir / "events").glob("part-*"):
            old.unlink()

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    end_seconds = int(end.timestamp())
    people_count = max(spec.MIN_PEOPLE, events // 40)
    population = population_module.build(rng, people_count, end_seconds)
    _progress(progress, started, f"{people_count:,} people, {len(population.accounts):,} accounts")
    behaviour = behaviour_module.build(rng, population, events)
    _progress(progress, started, f"{len(behaviour.events) + len(behaviour.calls):,} valid calls, {len(behaviour.orders):,} orders")

    with duckdb.connect() as connection:
        connection.execute("set preserve_insertion_order = true")
        connection.execute("set enable_progress_bar = false")
        event_manifest, event_truth = events_module.write(
            connection, rng, population, behaviour, out_dir, seed, faults, fmt, gzip
        )
        _progress(progress, started, f"{event_manifest['raw_lines']:,} event lines in {event_manifest['files']} file(s)")

        contacts, contact_people = tables.crm_contacts(rng, population, end_seconds)
        erasures, erased_people = tables.erasure_requests(rng, population, end_seconds)
        flat = {
            "orders": tables.orders(population, behaviour),
            "crm_contacts": contacts,
            "accounts": tables.accounts(population, end_seconds),
            "email_events": tables.email_events(rng, population, contacts, end_seconds),
            "consent": tables.consent(rng, population, end_seconds),
            "erasure_requests": erasures,
            "ip_ranges": tables.ip_ranges(population),
        }
        csv_manifest, csv_truth = {}, []
        for name, frame in flat.items():
            if faults:
                frame, entry, rows = tables.inject(rng, name, frame)
                csv_truth += rows
            else:
                entry = {"raw_rows": len(frame), "valid": len(frame), "quarantined": {}, "duplicates": {}}
            csv_manifest[name] = entry
            if fmt == "parquet":
                connection.register("flat_frame", frame)
                connection.execute(f"copy flat_frame to '{out_dir / (name + '.parquet')}' (format parquet)")
                connection.unregister("flat_frame")
            else:
                _write_csv(connection, frame, out_dir / f"{name}.csv")
        _progress(progress, started, "flat files written")

    faults_frame = pd.concat(
        [event_truth, pd.DataFrame(csv_truth, columns=events_module.FAULT_COLUMNS)], ignore_index=True
    )
    faults_frame["line"] = pd.to_numeric(faults_frame["line"]).astype("Int64")
    manifest = {
        "seed": seed,
        "events_requested": events,
        "end_date": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "format": fmt,
        "gzip": gzip,
        "faults": faults,
        "people": people_count,
        "accounts": len(population.accounts),
        "files": {name: int(entry["raw_rows"]) for name, entry in csv_manifest.items()},
        "events": event_manifest,
        "csv": csv_manifest,
        "traps": {name: len(people) for name, people in behaviour.traps.items()},
    }
    truth_module.write(truth_dir, population, behaviour, contact_people, erased_people, faults_frame, manifest)
    elapsed = time.perf_counter() - started
    rate = event_manifest["raw_lines"] / elapsed if elapsed else 0.0
    _progress(
        progress, started,
        f"done: {event_manifest['raw_lines']:,} event lines at {rate:,.0f} events/s -> {out_dir} (truth: {truth_dir})",
    )
    return manifest


__all__ = ["generate", "GenerateError", "DEFAULT_END_DATE"]
