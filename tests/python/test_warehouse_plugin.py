"""The DuckDB plugin starts loading the data-quality gate's libraries when a build opens the warehouse, and only then."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import NO_GENERIC_TESTS, Workspace

from customer_segments.warehouse import plugin

# Run as a file in a fresh interpreter (`python -c` would look like a doctest run to pyspark, which GX imports):
# dbt in process, then whether the plugin started the import and whether it got done.
PROBE = """
import sys
from dbt.cli.main import dbtRunner
from customer_segments.warehouse import plugin

assert "great_expectations" not in sys.modules, "the probe must start without Great Expectations"
result = dbtRunner().invoke(sys.argv[1:])
assert result.success, result.exception
thread = plugin._loading_quality_suite
if thread is not None:
    thread.join(timeout=120)
print("started" if thread is not None else "not started", "great_expectations" in sys.modules)
"""


def test_a_build_starts_importing_great_expectations(workspace: Workspace):
    assert workspace.dbt("parse").returncode == 0  # the harness's parse: the probe's dbt parses nothing again
    probe = workspace.root / "probe.py"
    probe.write_text(PROBE)
    # one model that runs no Python: nothing but the plugin imports Great Expectations
    build = workspace.dbt_arguments("build", "--select", "int_build_started", *NO_GENERIC_TESTS)
    done = subprocess.run([sys.executable, str(probe), *build], cwd=workspace.root, env=workspace.dbt_environment(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "started True"


@pytest.mark.parametrize(("command", "starts"), [("build", True), ("run", True), ("test", False), ("debug", False),
                                                 ("show", False), (None, False)])
def test_only_the_commands_that_build_the_gate_start_it(monkeypatch, command, starts):
    started = []
    monkeypatch.setattr(plugin, "_dbt_command", lambda: command)
    monkeypatch.setattr(plugin, "_start_loading_quality_suite", lambda: started.append(True))
    plugin.Plugin("customer_segments", {})
    assert bool(started) is starts
