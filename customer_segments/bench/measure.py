"""Run one command and write its wall time, CPU time and its own peak memory as JSON.

    python -m customer_segments.bench.measure OUT.json -- COMMAND [ARGS...]

Why a separate small process: on Linux a child's peak RSS (ru_maxrss) starts
at the RSS of the process it was forked from, because the high-water mark is
carried across fork and exec. Forked from a benchmark that has just generated
millions of rows, every child would report at least the benchmark's own size.
Forked from this process (~10 MB), the number is the command's. wait4 on the
one child gives its usage alone, not the running maximum over all children that
getrusage(RUSAGE_CHILDREN) keeps.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time


def run(command: list[str]) -> dict:
    """Start `command` (stdio inherited), wait for it; its exit code, wall and CPU seconds, peak RSS in bytes."""
    # Ctrl-C stops the command (default SIGINT in the child); this process waits to report how it ended
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        started = time.perf_counter()
        pid = os.posix_spawnp(command[0], command, os.environ, setsigdef=(signal.SIGINT,))
        _pid, status, usage = os.wait4(pid, 0)
    finally:
        signal.signal(signal.SIGINT, previous)
    return {
        "returncode": os.waitstatus_to_exitcode(status),
        "wall_seconds": time.perf_counter() - started,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_bytes": usage.ru_maxrss * 1024,  # Linux reports KiB
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m customer_segments.bench.measure OUT.json -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    out, command = argv[0], argv[2:]
    try:
        result = run(command)
    except OSError as problem:  # e.g. the command does not exist
        print(f"measure: cannot run {command[0]}: {problem}", file=sys.stderr)
        return 2
    with open(out, "w") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
