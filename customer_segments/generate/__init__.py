"""Demo data with ground truth: every input of docs/contract.md, deterministic for a seed.

People with hidden personas browse anonymously on several devices, identify,
get aliased, open and click emails and place orders; B2B accounts have CRM
contacts and office IP ranges. Known faults are injected in known amounts,
and a ground-truth folder says who is behind every identifier and where
every fault is, so tests can check the pipeline against the truth.

    from customer_segments.generate import generate
    manifest = generate("data/raw", "data/ground_truth", events=100_000, seed=42)

Modules: spec (personas, rates), population (accounts, people, devices),
behaviour (the timeline of valid calls), faults (what breaks where), events
(JSON lines / Parquet rendering), tables (the CSV inputs), truth (ground truth),
text (vectorized ids and timestamps).
"""

from __future__ import annotations

import shutil
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from customer_segments.generate import behaviour as behaviour_module
from customer_segments.generate import events as events_module
from customer_segments.generate import faults as faults_module
from customer_segments.generate import population as population_module
from customer_segments.generate import spec, tables
from customer_segments.generate import truth as truth_module
from customer_segments.generate import warehouse as warehouse_module

DEFAULT_END_DATE = "2026-10-31"
#: jsonl and parquet write events/ files; segment-warehouse the tables of a warehouse destination (warehouse/)
FORMATS = ("jsonl", "parquet", "segment-warehouse")
FLAT_FILES = ["orders", "crm_contacts", "accounts", "email_events", "consent", "erasure_requests", "ip_ranges",
              "technographics", "intent_signals"]
#: the random stream of the title spellings and the third-party files, apart from the main one so that
#: adding them left every other generated value as it was (the titles' text aside)
LAYERS_STREAM = 23


class GenerateError(ValueError):
    """Bad arguments or an unusable output folder; the message says what to do."""


def _progress(enabled: bool, started: float, message: str) -> None:
    if enabled:
        print(f"[generate {time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)


def _end_ms(end_date: str) -> int:
    """The last second of the history in epoch ms: `end_date` 23:59:59 UTC (a full timestamp is taken as is)."""
    try:
        end = datetime.fromisoformat(str(end_date).strip().replace("Z", "+00:00"))
    except ValueError as problem:
        raise GenerateError(f"--end must be a date like 2026-10-31, got {end_date!r}") from problem
    end = end.replace(tzinfo=timezone.utc) if end.tzinfo is None else end.astimezone(timezone.utc)
    if len(str(end_date).strip()) == 10:  # a plain date: the whole day is history
        end = end + timedelta(days=1, seconds=-1)
    if not 2000 <= end.year <= 2090:
        raise GenerateError(f"--end must be a date between 2000 and 2090, got {end_date!r}")
    return int(end.timestamp()) * 1000


def _prepare(folder: Path) -> None:
    """Create the folder and prove it is writable, so a bad path fails before any work."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as problem:
        raise GenerateError(f"cannot write to {folder}: {problem.strerror or problem}") from problem


def _check(events: int, seed: int, fmt: str, people: int | None = None) -> None:
    if isinstance(events, bool) or not isinstance(events, (int, np.integer)) or events < 1:
        raise GenerateError(f"--events must be a positive whole number, got {events!r}")
    if events > 200_000_000:
        raise GenerateError(f"--events must be at most 200000000, got {events}")
    if people is not None and (isinstance(people, bool) or not isinstance(people, (int, np.integer)) or people < spec.MIN_PEOPLE):
        raise GenerateError(
            f"--people must be a whole number of at least {spec.MIN_PEOPLE} (every persona and trap needs that many), got {people!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise GenerateError(f"--seed must be a non-negative whole number, got {seed!r}")
    if fmt not in FORMATS:
        raise GenerateError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")


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
    people: int | None = None,
) -> dict:
    """Write the raw inputs to `out_dir` and the ground truth to `truth_dir`; return the manifest.

    `people` defaults to events // 40 (at least spec.MIN_PEOPLE). Identity edges grow with
    people, not events (each identifying person adds a handful), so a big identity graph
    wants many people with few events each: that is what setting it is for.
    """
    _check(events, seed, fmt, people)
    end_ms = _end_ms(end_date)
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    for folder in (out_dir, truth_dir, out_dir / "events"):
        _prepare(folder)
    for old in (out_dir / "events").glob("part-*"):
        old.unlink()

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    people_count = int(people) if people is not None else max(spec.MIN_PEOPLE, events // 40)
    population = population_module.build(rng, people_count, end_ms)
    layers_rng = np.random.default_rng([seed, LAYERS_STREAM])
    population_module.vary_titles(layers_rng, population.people)
    timeline = behaviour_module.build(rng, population, events)
    _progress(progress, started, f"{people_count:,} people, {len(population.accounts):,} accounts, {len(timeline):,} valid calls")
    plan = faults_module.choose_event_faults(rng, timeline, faults, malformed=fmt == "jsonl")
    lines = faults_module.expand(plan)
    message_bytes = np.frombuffer(rng.bytes(16 * lines.messages), dtype=np.uint8).reshape(lines.messages, 16)
    renderer = events_module.build_renderer(population, timeline, plan, lines, message_bytes, seed)
    # segment-warehouse: the Parquet parts are laid out as warehouse tables once written (warehouse.py)
    writer = events_module.PartWriter(renderer, out_dir / "events", "jsonl" if fmt == "jsonl" else "parquet", gzip,
                                      progress, started)
    files = writer.files  # the workers render them while this process writes the rest
    del renderer

    try:
        with duckdb.connect() as connection:
            connection.execute("set preserve_insertion_order = true")
            connection.execute("set enable_progress_bar = false")
            contacts, contact_people = tables.crm_contacts(rng, population, end_ms)
            bounced = contact_people[np.asarray(contacts["email_status"].to_numpy(zero_copy_only=False) == "bounced")]
            erasures, erased_people = tables.erasure_requests(rng, population, end_ms)
            technographics = tables.technographics(layers_rng, population, end_ms)
            intent_signals, surging = tables.intent_signals(layers_rng, population, end_ms)
            flat = {
                "orders": tables.orders(population, timeline),
                "crm_contacts": contacts,
                "accounts": tables.accounts(population, end_ms),
                "email_events": tables.email_events(rng, population, bounced, end_ms),
                "consent": tables.consent(rng, population, end_ms),
                "erasure_requests": erasures,
                "ip_ranges": tables.ip_ranges(population),
                "technographics": technographics,
                "intent_signals": intent_signals,
            }
            csv_manifest, csv_truth = {}, []
            for name in FLAT_FILES:
                table, entry, rows = faults_module.inject_csv(rng, name, flat[name], faults)
                csv_manifest[name], csv_truth = entry, csv_truth + rows
                (out_dir / f"{name}.parquet").unlink(missing_ok=True)
                truth_module.write_csv(connection, table, out_dir / f"{name}.csv")

            event_truth, event_section = truth_module.event_faults(timeline, plan, lines, message_bytes, files)
            csv_faults = pa.Table.from_pylist(
                [{column: row.get(column) for column in truth_module.FAULT_COLUMNS} for row in csv_truth],
                schema=event_truth.schema,
            )
            manifest = {
                "seed": int(seed),
                "events_requested": int(events),
                "end_date": datetime.fromtimestamp(end_ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "format": fmt,
                "gzip": bool(gzip),
                "faults": bool(faults),
                "people": people_count,
                "accounts": len(population.accounts),
                "files": {"events": event_section["raw_lines"], **{name: int(e["raw_rows"]) for name, e in csv_manifest.items()}},
                "event_files": [name for name, _lo, _hi in files],
                "events": event_section,
                "csv": csv_manifest,
                "traps": {name: int(len(persons)) for name, persons in timeline.traps.items()},
            }
            truth_module.write(connection, truth_dir, population, timeline, plan, contact_people, erased_people,
                               pa.concat_tables([event_truth, csv_faults]), manifest,
                               third_party={"technographics": technographics, "intent_signals": intent_signals,
                                            "surging": surging})
    except BaseException:
        writer.abort()
        raise
    writer.wait()
    if fmt == "segment-warehouse":
        parts = [out_dir / name for name, _lo, _hi in files]
        manifest["warehouse"] = warehouse_module.write_tables(parts, out_dir / "warehouse")
        for part in parts:
            part.unlink()
        truth_module.write_manifest(truth_dir, manifest)
    else:
        shutil.rmtree(out_dir / "warehouse", ignore_errors=True)

    elapsed = time.perf_counter() - started
    raw_lines = event_section["raw_lines"]
    _progress(
        progress, started,
        f"done: {raw_lines:,} event lines in {len(files)} file(s) at {raw_lines / max(elapsed, 1e-9):,.0f} lines/s "
        f"-> {out_dir} (truth: {truth_dir})",
    )
    return manifest


__all__ = ["generate", "GenerateError", "DEFAULT_END_DATE"]
