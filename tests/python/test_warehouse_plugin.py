"""The DuckDB plugin starts loading the data-quality gate's libraries when a build opens the warehouse, and only then."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO_ROOT, Workspace

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


def _probe(workspace: Workspace, *arguments: str) -> str:
    arguments = (*arguments, "--project-dir", str(REPO_ROOT), "--target-path", str(workspace.root / "target"),
                 "--log-path", str(workspace.root / "logs"))
    probe = workspace.root / "probe.py"
    probe.write_text(PROBE)
    done = subprocess.run([sys.executable, str(probe), *arguments], cwd=workspace.root, env=workspace.env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_a_build_starts_importing_great_expectations_and_other_commands_do_not(workspace: Workspace):
    # the build opens the warehouse through the plugin (the model runs no Python: nothing else imports GX)
    assert _probe(workspace, "build", "--select", "int_build_started", "--exclude", "test_type:generic") == "started True"
    # `dbt show` opens the warehouse too, but builds no gate
    assert _probe(workspace, "show", "--inline", "select 1 as one") == "not started False"
