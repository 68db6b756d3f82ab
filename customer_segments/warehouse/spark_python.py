"""dbt Python models on Spark: run them in the SparkSession dbt already holds (submission method `session`).

dbt-spark 1.x submits Python models to Databricks only (`all_purpose_cluster`, `job_cluster`); its
`session` connection method runs SQL in a local SparkSession inside the dbt process, but has no way
to run a Python model (dbt-spark issue 415; a `session` submission method was proposed upstream in
dbt-spark pull request 1063 and not released). The compiled code of a Python model is plain Python that expects a
global `spark`: it defines `model(dbt, session)` and the materialization's postfix calls it and
writes the returned DataFrame with `saveAsTable`. So the missing piece is small: execute that code
in this process with `spark` bound to the session dbt opened (`SparkSession.builder.getOrCreate()`
returns it). This module adds that helper to dbt-spark's table of submission methods and then runs
dbt, so the Python models (the data-quality suite, the purchase predictions, the suggested segments)
build in their place in the DAG, between the SQL models that feed and read them, as on DuckDB.

Used as `python -m customer_segments.warehouse.spark_python <dbt arguments>`; `segments build` runs
dbt this way on the spark target (customer_segments.dbt_runner.dbt_command). A plain `dbt build` on
Spark cannot reach this helper: the on-run-start hook `require_spark_python_session` stops it with
a message pointing here, when it selects a Python model (it sees the variable SESSION_FLAG set below).
"""

from __future__ import annotations

import os
import sys
from typing import Any

#: Set in the environment once the helper is registered; the on-run-start hook
#: (macros/spark.sql, require_spark_python_session) reads it.
SESSION_FLAG = "SEGMENTS_SPARK_PYTHON_MODELS"
#: The submission method the project's Python models ask for on Spark (dbt_project.yml).
METHOD = "session"


class SessionPythonJobHelper:
    """Run a dbt Python model's compiled code in this process, against dbt's own SparkSession."""

    def __init__(self, parsed_model: dict, credentials: Any) -> None:
        self.name = parsed_model.get("unique_id", parsed_model.get("alias", "python model"))

    def submit(self, compiled_code: str) -> None:
        spark = dbt_session()
        code = compile(compiled_code, f"<dbt python model {self.name}>", "exec")
        exec(code, {"__name__": f"dbt_python_model_{self.name}", "spark": spark})  # noqa: S102 - dbt's compiled model


def dbt_session() -> Any:
    """The SparkSession dbt-spark's session method opened in this process (getOrCreate returns it)."""
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate()


def register() -> None:
    """Add the `session` submission method to dbt-spark (idempotent) and say so in the environment."""
    from dbt.adapters.spark.impl import SparkAdapter

    original = SparkAdapter.python_submission_helpers.fget
    if original.__name__ != "with_session":

        def with_session(self) -> dict:
            return {**original(self), METHOD: SessionPythonJobHelper}

        SparkAdapter.python_submission_helpers = property(with_session)
    os.environ[SESSION_FLAG] = METHOD


def main(argv: list[str] | None = None) -> int:
    """`dbt <argv>` with the session helper registered; dbt's exit code."""
    register()
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(list(sys.argv[1:] if argv is None else argv))
    if result.success:
        return 0
    return 2 if result.exception is not None else 1


if __name__ == "__main__":
    sys.exit(main())
