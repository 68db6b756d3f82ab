"""Run one command and write its wall time, CPU time and its own peak memory as JSON.

    python -m customer_segments.bench.measure OUT.json -- COMMAND [ARGS...]

Why a separate small process: on Linux a child's peak RSS (ru_maxrss) starts
at the RSS of the process it was forked from, because the high-water mark is
carried across fork and exec. Forked from a benchmark that has just generated
millions of rows, every child would report at least the benchmark's own size.
Forked from this process (~10 MB), the number is the command's. wait4 on the
one child gives its usage alone, not the running maximum over all children that
getrusage(RUSAGE_CHILDREN) keeps.

ru_maxrss is one process's peak, and a process its child started but never
waited for (pyspark's JVM) is not in it at all: peak_tree_rss_bytes is the
largest sum of the resident memory of the command and all its descendants,
sampled every half second from /proc (Linux; 0 elsewhere).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

SAMPLE_SECONDS = 0.5


def _parents() -> dict[int, int]:
    """{pid: parent pid} of every process in /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    stat = handle.read()
            except OSError:
                continue  # gone meanwhile
            # the command name (field 2) may hold spaces and parentheses: the parent is after its last ')'
            found[int(entry)] = int(stat[stat.rindex(b")") + 2:].split()[1])
    return found


def tree_rss_bytes(root: int) -> int:
    """Resident memory of `root` and all its descendants, in bytes (0 without /proc)."""
    if not os.path.isdir("/proc"):
        return 0
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    total, pending, page = 0, [root], os.sysconf("SC_PAGE_SIZE")
    while pending:
        pid = pending.pop()
        pending.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    return total


class TreeSampler(threading.Thread):
    """Samples tree_rss_bytes(pid) until stopped; .peak is the largest sample."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stopped = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            self.stopped.wait(SAMPLE_SECONDS)


def run(command: list[str]) -> dict:
    """Start `command` (stdio inherited), wait for it; its exit code, wall and CPU seconds, peak RSS in bytes."""
    # Ctrl-C stops the command (default SIGINT in the child); this process waits to report how it ended
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        started = time.perf_counter()
        pid = os.posix_spawnp(command[0], command, os.environ, setsigdef=(signal.SIGINT,))
        sampler = TreeSampler(pid)
        sampler.start()
        _pid, status, usage = os.wait4(pid, 0)
        sampler.stopped.set()
        sampler.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    return {
        "returncode": os.waitstatus_to_exitcode(status),
        "wall_seconds": time.perf_counter() - started,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_bytes": usage.ru_maxrss * 1024,  # Linux reports KiB
        "peak_tree_rss_bytes": sampler.peak,
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
