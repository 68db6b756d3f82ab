"""Micro-batch benchmark: does the cost of a build follow the change or the history?

    python -m customer_segments.bench.micro_batch [--sizes 100000,2000000] [--batch 10000] [--runs R]
                                                  [--seed S] [--workdir DIR] [--keep] [--json PATH]

For each history size (default 100k and 2M events):
1. generate that history and run a first build on it (untimed: setup);
2. append one micro-batch of about `--batch` events dated the day after the
   history ends, so `as_of` moves by a day: half of them known users coming back
   (lines of the history replayed under their own ids with new message ids),
   half new visitors (the same kind of lines under new anonymous ids, without
   user ids or traits);
3. once every history is ready, time the scheduled incremental build
   (`segments build`'s dbt command) of each one's batch, the histories taking
   turns; with `--runs R`, R rounds (in reverse order every other round: small,
   large, large, small, ...), each build from a copy of the warehouse as it was
   before the first, and take each history's median (one build of a few tens of
   seconds moves by several seconds from one run to the next on a shared
   machine, and the ratio with it; timed minutes apart rather than a whole
   generation and first build apart, both sizes meet the same machine).

Prints both times, the ten slowest nodes of each micro-batch build, the ten
nodes whose time grew most from the smallest history to the largest (what
follows the history rather than the change: where the ratio comes from), and the
targets: micro-batch on the largest history / on the smallest (<= 1.5: cost
follows change, not history) and the largest's micro-batch build (<= 60 s on
the 2-core, 24 GiB machine). Only ratios measured in one run mean anything;
the 60 s holds for that machine only.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from customer_segments.bench.identity import BenchError, Measured, Workspace
from customer_segments.bench.pipeline import (
    FIRST_BUILD, SCHEDULED_BUILD, add_workdir_arguments, generate, node_seconds, run_in_workdir, slowest_nodes,
)

DEFAULT_SIZES = (100_000, 2_000_000)
DEFAULT_BATCH = 10_000
RATIO_TARGET = 1.5
SECONDS_TARGET = 60.0
#: message types a new visitor's replayed line may keep: an alias or identify would carry the old person's ids
NEW_VISITOR_TYPES = {"track", "page", "screen"}
#: how many nodes the report lists as growing most with the history
GROWTH_SHOWN = 10


def _progress(message: str) -> None:
    print(f"[bench-micro-batch] {message}", file=sys.stderr, flush=True)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _history_sample(events_dir: Path, wanted: int, rng: random.Random) -> list[str]:
    """About `wanted` random lines of the history's event files (one pass to count, one to pick)."""
    paths = sorted(events_dir.glob("*.jsonl"))
    total = 0
    for path in paths:
        with path.open("rb") as handle:
            total += sum(1 for _ in handle)
    share = min(1.0, wanted / total) if total else 0.0
    picked = []
    for path in paths:
        with path.open("rb") as handle:
            picked.extend(line.decode("utf-8", "replace") for line in handle if rng.random() < share)
    return picked


def micro_batch(events_dir: Path, events: int, seed: int, day: str) -> int:
    """Write about `events` new event lines dated `day` (YYYY-MM-DD) to one new file in `events_dir`; return the count.

    Replays random valid lines of the history: half under their own ids (known users returning),
    half as track/page/screen calls of new visitors (a new anonymousId and, where the line names a device, a new
    device id of that visitor's own; no userId, no traits). A new visitor keeps nothing that names someone else:
    with the replayed line's device, every visitor would be joined to the people and other visitors seen on it.
    """
    rng = random.Random(seed)
    history = _history_sample(events_dir, events * 4, rng)
    if not history:
        raise BenchError(f"no event lines in {events_dir} to replay")
    start = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
    visitors = [(str(uuid.UUID(int=rng.getrandbits(128))), f"bench-device-{rng.getrandbits(64):016x}")
                for _ in range(max(1, events // 20))]
    written: list[str] = []
    attempts = 0
    while len(written) < events and attempts < events * 20:
        attempts += 1
        try:
            message = json.loads(history[rng.randrange(len(history))])
        except ValueError:
            continue  # a planted malformed line: the batch replays valid calls only
        if not isinstance(message, dict) or not (message.get("anonymousId") or message.get("userId")):
            continue
        if len(written) % 2 == 1:  # a new visitor
            if message.get("type") not in NEW_VISITOR_TYPES:
                continue
            message.pop("userId", None)
            message.pop("traits", None)
            visitor, device = visitors[rng.randrange(len(visitors))]
            message["anonymousId"] = visitor
            context = message.get("context")
            if isinstance(context, dict):
                context.pop("traits", None)
                if isinstance(context.get("device"), dict) and "id" in context["device"]:
                    context["device"]["id"] = device
        moment = start + timedelta(seconds=rng.uniform(0, 20 * 3600))
        message["messageId"] = str(uuid.UUID(int=rng.getrandbits(128)))
        message["timestamp"] = _stamp(moment)
        message["sentAt"] = _stamp(moment + timedelta(milliseconds=150))
        message["receivedAt"] = _stamp(moment + timedelta(milliseconds=400))
        message.pop("originalTimestamp", None)
        written.append(json.dumps(message, separators=(",", ":")))
    target = events_dir / f"micro-batch-{seed}-{day}.jsonl"
    target.write_text("\n".join(written) + "\n")
    return len(written)


def _next_day(manifest: dict) -> str:
    end = datetime.fromisoformat(str(manifest["end_date"]).replace("Z", "+00:00"))
    return (end + timedelta(days=1)).strftime("%Y-%m-%d")


def _timed_build(space: Workspace, label: str) -> dict:
    """One scheduled build of the micro-batch: its wall time, peak memory and node times."""
    timed = space.dbt(*SCHEDULED_BUILD, progress=lambda step: _progress(f"{label}: {step}"))
    return {"seconds": timed.wall_seconds, "peak_rss_bytes": timed.peak_rss_bytes,
            "slowest": slowest_nodes(space), "nodes": node_seconds(space)}


def _round_order(histories: list, index: int) -> list:
    """The histories in the order round `index` builds them: as given, then reversed, and so on (small, large,
    large, small, ...): a machine that speeds up or slows down during the benchmark weighs on every size alike."""
    return list(histories) if index % 2 == 0 else list(reversed(histories))


def _timed_rounds(histories: list[tuple[int, Workspace]], runs: int) -> dict[int, list[dict]]:
    """The scheduled build of each history's micro-batch, `runs` rounds of one build per history (`_round_order`),
    each from the warehouse as it was before that history's first; {size: builds in the order they ran}."""
    befores = {size: space.database.with_name(space.database.name + ".before-micro-batch") for size, space in histories}
    builds: dict[int, list[dict]] = {size: [] for size, _ in histories}
    try:
        if runs > 1:
            for size, space in histories:
                shutil.copyfile(space.database, befores[size])  # a closed database: dbt's last build checkpointed it
        for index in range(runs):
            for size, space in _round_order(histories, index):
                if builds[size]:
                    shutil.copyfile(befores[size], space.database)
                    space.database.with_name(space.database.name + ".wal").unlink(missing_ok=True)
                label = f"{size:,}: micro-batch build" + (f" {index + 1}/{runs}" if runs > 1 else "")
                builds[size].append(_timed_build(space, label))
    finally:
        for before in befores.values():
            before.unlink(missing_ok=True)
    return builds


def _size_result(size: int, added: int, day: str, full: Measured, builds: list[dict]) -> dict:
    """One history's row: the median of its timed builds, all of them, and the slowest nodes of the median one."""
    seconds = statistics.median(build["seconds"] for build in builds)
    middle = min(builds, key=lambda build: abs(build["seconds"] - seconds))
    return {
        "history_events": size,
        "batch_lines": added,
        "batch_day": day,
        "full_seconds": full.wall_seconds,
        "micro_batch_seconds": seconds,
        "micro_batch_runs": [build["seconds"] for build in builds],
        "peak_rss_bytes": max([full.peak_rss_bytes] + [build["peak_rss_bytes"] for build in builds]),
        "slowest": middle["slowest"],
        "nodes": middle.get("nodes", {}),
    }


def run(sizes: list[int], batch: int, seed: int, workdir: Path, keep: bool = False, runs: int = 1) -> dict:
    prepared = []
    for size in sizes:
        space = Workspace(workdir / f"history-{size}")
        _progress(f"{size:,} events: generating the history")
        manifest = generate(space, size, seed)
        _progress(f"{size:,} events: full dbt build (setup, untimed)")
        full = space.dbt(*FIRST_BUILD, progress=lambda step: _progress(f"{size:,}: full build: {step}"))
        day = _next_day(manifest)
        added = micro_batch(space.raw / "events", batch, seed + 1, day)
        prepared.append((size, space, added, day, full))
    # every history is ready before any build is timed: the sizes' builds then take turns, minutes apart rather
    # than a whole generation and first build apart, so the ratio compares builds on the same machine weather
    _progress(f"timed incremental builds of the micro-batch ({', '.join(f'{added:,} events on {size:,}' for size, _, added, _, _ in prepared)})"
              + (f", {runs} rounds" if runs > 1 else ""))
    try:
        builds = _timed_rounds([(size, space) for size, space, *_ in prepared], runs)
    finally:
        if not keep:  # the largest history's file is GBs
            for _, space, *_ in prepared:
                shutil.rmtree(space.root / "warehouse", ignore_errors=True)
    results = [_size_result(size, added, day, full, builds[size]) for size, _, added, day, full in prepared]
    smallest, largest = results[0], results[-1]
    return {
        "runs": runs,
        "sizes": results,
        "ratio": largest["micro_batch_seconds"] / smallest["micro_batch_seconds"],
        "round_ratios": round_ratios(smallest, largest),
        "largest_seconds": largest["micro_batch_seconds"],
        "targets": {"ratio": RATIO_TARGET, "largest_seconds": SECONDS_TARGET},
    }


def round_ratios(smaller: dict, larger: dict) -> list[float]:
    """The larger history's build / the smaller's, round by round: two builds minutes apart, so each ratio met
    about the same machine (the headline ratio is the one of the medians; these show how far it could move)."""
    return [big / small for small, big in zip(smaller["micro_batch_runs"], larger["micro_batch_runs"])]


def growth(smaller: dict, larger: dict, count: int = GROWTH_SHOWN) -> list[list]:
    """The nodes whose time grew most from the smaller history's micro-batch build to the larger's: [name, seconds
    grown, seconds on the smaller, seconds on the larger], most first (a node missing from one counts 0 there).
    What follows the history rather than the change: where to look first to make the ratio smaller."""
    names = set(smaller) | set(larger)
    rows = [[name, round(larger.get(name, 0.0) - smaller.get(name, 0.0), 2), smaller.get(name, 0.0), larger.get(name, 0.0)]
            for name in names]
    return sorted(rows, key=lambda row: (-row[1], row[0]))[:count]


def render(result: dict) -> str:
    gib = 1024**3
    runs = result.get("runs", 1)
    out = ["Micro-batch benchmark: the same size of batch on histories of different sizes"
           + (f" (micro-batch builds: medians of {runs} runs)" if runs > 1 else ""),
           f"{'history events':>15}{'batch lines':>13}{'full s':>9}{'micro-batch s':>15}{'of full':>9}{'peak GiB':>10}"]
    for row in result["sizes"]:
        out.append(f"{row['history_events']:>15,}{row['batch_lines']:>13,}{row['full_seconds']:>9.1f}"
                   f"{row['micro_batch_seconds']:>15.1f}{row['micro_batch_seconds'] / row['full_seconds']:>9.2f}"
                   f"{row['peak_rss_bytes'] / gib:>10.2f}"
                   + ("   runs: " + ", ".join(f"{seconds:.1f}" for seconds in row["micro_batch_runs"]) if runs > 1 else ""))
    for row in result["sizes"]:
        which = "the median micro-batch build" if runs > 1 else "the micro-batch build"
        out.append(f"slowest nodes of {which} on {row['history_events']:,} events (s; two run at a time):")
        out.extend(f"  {seconds:>8.1f}  {name}" for name, seconds in row["slowest"])

    largest, smallest = result["sizes"][-1], result["sizes"][0]
    if largest.get("nodes") and smallest.get("nodes"):
        grown = sum(largest["nodes"].values()) - sum(smallest["nodes"].values())
        out.append(f"nodes whose time grew most from {smallest['history_events']:,} to {largest['history_events']:,} "
                   f"events of history (s; all nodes together: {grown:+.2f} s of node time):")
        out.extend(f"  {more:>+8.2f}  {name} ({before:.2f} -> {after:.2f})"
                   for name, more, before, after in growth(smallest["nodes"], largest["nodes"]))

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    out.append(f"micro-batch on {largest['history_events']:,} / on {smallest['history_events']:,} = {result['ratio']:.2f} "
               f"(target <= {RATIO_TARGET:g}: {verdict(result['ratio'] <= RATIO_TARGET)})")
    if len(result.get("round_ratios", [])) > 1:
        out.append("  the same, round by round (builds minutes apart): "
                   + ", ".join(f"{ratio:.2f}" for ratio in result["round_ratios"]))
    out.append(f"micro-batch on {largest['history_events']:,} = {result['largest_seconds']:.1f} s "
               f"(target <= {SECONDS_TARGET:g} s on the 2-core machine: {verdict(result['largest_seconds'] <= SECONDS_TARGET)})")
    return "\n".join(out)


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError as problem:
        raise argparse.ArgumentTypeError(f"--sizes takes event counts separated by commas, got {text!r}") from problem
    if len(sizes) < 2 or sizes != sorted(sizes) or sizes[0] < 10_000:
        raise argparse.ArgumentTypeError(f"--sizes needs two or more increasing counts of at least 10000, got {text!r}")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/bench --micro-batch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_sizes, default=list(DEFAULT_SIZES),
                        help="history sizes in events, increasing, comma-separated (default 100000,2000000)")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="events in the micro-batch (default 10000)")
    parser.add_argument("--runs", type=int, default=1,
                        help="timed micro-batch builds per history, each from the same warehouse (default 1; medians reported)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    add_workdir_arguments(parser)
    options = parser.parse_args(argv)
    if options.batch < 100:
        print("bench: --batch must be at least 100", file=sys.stderr)
        return 2
    if options.runs < 1:
        print("bench: --runs must be at least 1", file=sys.stderr)
        return 2
    return run_in_workdir(options, "bench-micro-batch-",
                          lambda workdir: run(options.sizes, options.batch, options.seed, workdir, keep=options.keep,
                                                      runs=options.runs), render)

if __name__ == "__main__":
    sys.exit(main())
