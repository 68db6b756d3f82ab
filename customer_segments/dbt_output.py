"""dbt's console output as `segments build` shows it: tracebacks left out, outcomes recognized.

dbt prints a Python traceback for errors it did not expect, such as a
warehouse locked by another process: dozens of lines of dbt and adapter
internals around the one line that says what happened (which dbt prints
before the traceback as well). `segments build` passes dbt's output through
`DbtOutput`, which drops each traceback except its last line, the exception
itself, and notes what the build ran into, so the command can answer with one
line and the documented exit code. dbt's own log file (logs/dbt.log) keeps
the full tracebacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: dbt's line prefix: an ANSI reset and the time (`\x1b[0m18:37:56  `).
_PREFIX = re.compile(r"^(?:\x1b\[[0-9;]*m)*(?:\d{2}:\d{2}:\d{2}\s+)?")
#: The first line of macro validate_vars' error (macros/vars.sql).
INVALID_VARS = "Invalid vars (defaults in dbt_project.yml"
#: DuckDB's error when another process holds the database file.
LOCK_CONFLICT = "Could not set lock on file"
#: Click's usage error: dbt refused its arguments.
USAGE = re.compile(r"^(Usage: dbt |Error: (No such option|Invalid value|Got unexpected extra argument|Missing))")


_CHAINED = ("During handling of the above exception", "The above exception was the direct cause")


@dataclass
class DbtOutput:
    """Feed it dbt's lines; `feed()` and, at the end, `flush()` return the lines to show."""

    invalid_vars: bool = False
    lock_conflict: str | None = None
    bad_usage: bool = False
    tracebacks_left_out: int = 0
    _in_traceback: bool = field(default=False, repr=False)
    #: the exception line of a traceback just ended, and blank lines after it: shown unless another traceback is chained
    _pending: list[str] = field(default_factory=list, repr=False)

    def feed(self, raw: str) -> list[str]:
        line = raw.rstrip("\n")
        text = _PREFIX.sub("", line)
        if INVALID_VARS in text:
            self.invalid_vars = True
        if LOCK_CONFLICT in text and self.lock_conflict is None:
            self.lock_conflict = text.strip()
        if USAGE.match(text):
            self.bad_usage = True
        if text.startswith("Traceback (most recent call last):"):
            if not self._in_traceback and not self._pending:
                self.tracebacks_left_out += 1
            self._in_traceback, self._pending = True, []
            return []
        if self._in_traceback:
            # frames and source lines are indented
            if not text.strip() or text.startswith((" ", "\t")):
                return []
            self._in_traceback, self._pending = False, [line]  # the exception itself
            return []
        if self._pending:
            if not text.strip():
                self._pending.append(line)
                return []
            if text.startswith(_CHAINED):
                self._in_traceback, self._pending = True, []  # the chained traceback's exception comes later
                return []
            shown, self._pending = [*self._pending, line], []
            return shown
        return [line]

    def flush(self) -> list[str]:
        shown, self._pending = self._pending, []
        return shown
