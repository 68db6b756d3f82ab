"""`segments watch`: build, publish and sync minutes after new raw files land, instead of nightly.

The watcher polls the raw folder every `--interval` seconds and compares a
manifest of its files (relative path -> size and mtime in ns) with the
manifest of the last good build, kept next to the warehouse
(`.segments.duckdb.watch.json`). When files were added, changed or removed
it runs the incremental build, publishes and syncs (customer_segments.cli
does the running); the manifest is saved only after a build that passed, so a
failed build is tried again on the next poll. Hidden files and folders (`.x`,
`_x`) are skipped, as the event reader skips them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


def manifest_path(warehouse: Path) -> Path:
    return Path(warehouse).with_name(f".{Path(warehouse).name}.watch.json")


def scan(raw: Path) -> dict[str, list[int]]:
    """relative path -> [size, mtime_ns] of every visible file under `raw`."""
    raw = Path(raw)
    found: dict[str, list[int]] = {}
    if not raw.is_dir():
        return found
    for folder, folders, files in os.walk(raw):
        folders[:] = sorted(name for name in folders if not name.startswith((".", "_")))
        for name in sorted(files):
            if name.startswith((".", "_")):
                continue
            path = Path(folder) / name
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # removed while we looked
            found[str(path.relative_to(raw))] = [stat.st_size, stat.st_mtime_ns]
    return found


@dataclass
class Changes:
    added: list[str]
    changed: list[str]
    removed: list[str]
    newest_mtime_ns: int | None  # when the newest added or changed file landed

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def line(self) -> str:
        return f"{len(self.added)} new, {len(self.changed)} changed, {len(self.removed)} removed raw files"


def compare(previous: dict[str, list[int]], current: dict[str, list[int]]) -> Changes:
    added = sorted(set(current) - set(previous))
    removed = sorted(set(previous) - set(current))
    changed = sorted(name for name in set(current) & set(previous) if list(current[name]) != list(previous[name]))
    times = [current[name][1] for name in (*added, *changed)]
    return Changes(added, changed, removed, max(times) if times else None)


def load(warehouse: Path) -> dict[str, list[int]]:
    path = manifest_path(warehouse)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def save(warehouse: Path, manifest: dict[str, list[int]]) -> None:
    path = manifest_path(warehouse)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)
