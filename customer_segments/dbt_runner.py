"""How this project starts dbt: which dbt, from which folder, with which environment.

`segments build` (cli), the benchmarks (customer_segments.bench) and the tests
(tests/python/conftest.py) all start dbt through here, so they run the same dbt
the same way:

- the `dbt` next to the running Python (the project's virtualenv, even when it
  is not activated), else the first `dbt` on PATH;
- from the repository root, where dbt_project.yml is, with the repository's
  profiles.yml unless DBT_PROFILES_DIR says otherwise;
- with telemetry off unless the user turned it on: dbt's anonymous usage
  statistics (also off in dbt_project.yml's `flags:`, for a plain `dbt build`)
  and Great Expectations' analytics (the data-quality model runs GX inside dbt);
- on the spark target, through `python -m customer_segments.warehouse.spark_python`,
  which lets dbt-spark run the project's dbt Python models in its own SparkSession
  (docs/spark.md); a plain `dbt` there stops before building them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: The dbt project (dbt_project.yml, profiles.yml): dbt runs from here.
PROJECT_DIR = Path(__file__).resolve().parent.parent

#: Defaults for every dbt run; a value already in the environment wins (a user may opt in).
TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "GX_ANALYTICS_ENABLED": "false",
}


def dbt_executable() -> str:
    """The dbt next to this Python, so the project's virtualenv is used even when not activated."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


#: Runs dbt with the Python models' Spark submission method registered (named, not imported: this module
#: imports nothing of ours).
SPARK_DBT_MODULE = "customer_segments.warehouse.spark_python"


def dbt_target(args: tuple[str, ...] | list[str], env: dict[str, str] | None = None) -> str:
    """The profile target a dbt command line builds: its --target / -t, else SEGMENTS_TARGET (profiles.yml), else dev."""
    for index, argument in enumerate(args):
        if argument.startswith("--target="):
            return argument.split("=", 1)[1]
        if argument in ("--target", "-t") and index + 1 < len(args):
            return args[index + 1]
    return (os.environ if env is None else env).get("SEGMENTS_TARGET") or "dev"


def dbt_command(*args: str, env: dict[str, str] | None = None) -> list[str]:
    """The command line of `dbt <args>` (`env`: the environment dbt will run in, for its SEGMENTS_TARGET)."""
    if dbt_target(args, env) == "spark":
        return [sys.executable, "-m", SPARK_DBT_MODULE, *args]
    return [dbt_executable(), *args]


def dbt_env(**settings: str) -> dict[str, str]:
    """The environment of a dbt run: this process's, the project's defaults, then `settings` (which win).

    DBT_PROFILES_DIR defaults to the repository (its profiles.yml); pass it in `settings` to insist on it
    (the tests do, so a developer's own profiles never reach a test build).
    """
    env = dict(os.environ)
    env.setdefault("DBT_PROFILES_DIR", str(PROJECT_DIR))
    for name, value in TELEMETRY_OFF.items():
        env.setdefault(name, value)
    env.update(settings)
    return env
