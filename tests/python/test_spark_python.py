"""The pieces that let dbt Python models run on Spark, without starting Spark.

customer_segments.warehouse.spark_python adds the submission method `session` to dbt-spark;
customer_segments.warehouse.frames reads refs and returns results the same way on both engines;
dbt_runner starts dbt through spark_python on the spark target. The whole path (the four Python
models built on Spark and compared with DuckDB's) is tests/python/test_pipeline_spark.py.
"""

from __future__ import annotations

import math
import sys
from datetime import datetime, timezone

import duckdb
import pandas as pd
import pytest

from customer_segments.dbt_runner import SPARK_DBT_MODULE, dbt_command, dbt_target
from customer_segments.warehouse import frames, spark_python

@pytest.mark.parametrize(
    ("args", "env", "target"),
    [
        (("build",), {}, "dev"),
        (("build",), {"SEGMENTS_TARGET": "spark"}, "spark"),
        (("build", "--target", "spark"), {}, "spark"),
        (("build", "-t", "spark"), {"SEGMENTS_TARGET": "dev"}, "spark"),
        (("build", "--target=spark"), {}, "spark"),
        (("build", "--target", "dev"), {"SEGMENTS_TARGET": "spark"}, "dev"),
    ],
)
def test_the_spark_target_runs_dbt_through_the_session_module(args, env, target):
    assert dbt_target(args, env) == target
    command = dbt_command(*args, env=env)
    if target == "spark":
        assert command[:3] == [sys.executable, "-m", SPARK_DBT_MODULE] and command[3:] == list(args)
    else:
        assert command[0].endswith("dbt") and command[1:] == list(args)


def test_the_named_module_is_the_one_that_registers():
    assert SPARK_DBT_MODULE == spark_python.__name__


def test_register_adds_the_session_method_and_keeps_dbt_sparks(monkeypatch):
    from dbt.adapters.spark.impl import SparkAdapter

    monkeypatch.delenv(spark_python.SESSION_FLAG, raising=False)
    monkeypatch.setattr(SparkAdapter, "python_submission_helpers", SparkAdapter.python_submission_helpers)
    before = SparkAdapter.python_submission_helpers.fget(None)
    assert spark_python.METHOD not in before  # dbt-spark has no session submission of its own
    spark_python.register()
    spark_python.register()  # twice: still one wrapper
    helpers = SparkAdapter.python_submission_helpers.fget(None)
    assert helpers == {**before, "session": spark_python.SessionPythonJobHelper}
    assert SparkAdapter.python_submission_helpers.fget.__name__ == "with_session"
    assert SparkAdapter.python_submission_helpers.fget.__closure__[0].cell_contents.__name__ != "with_session"
    import os

    assert os.environ[spark_python.SESSION_FLAG] == "session"  # what the on-run-start hook reads


def test_a_submitted_model_runs_here_with_dbts_session(monkeypatch):
    class Session:  # records what the compiled code asked of `spark`
        tables: list = []

        def table(self, name):
            self.tables.append(name)

    monkeypatch.setattr(spark_python, "dbt_session", Session)
    helper = spark_python.SessionPythonJobHelper({"unique_id": "model.customer_segments.x"}, credentials=None)
    helper.submit("spark.table('marts.people')\n")
    assert Session.tables == ["marts.people"]
    with pytest.raises(ZeroDivisionError):  # a model's error reaches dbt, which reports the model failed
        helper.submit("1 / 0\n")


def test_to_pandas_pushes_filter_columns_and_grouping_down_on_duckdb():
    connection = duckdb.connect()
    relation = connection.sql(
        "select * from (values ('a', 1, true), ('a', 2, false), ('b', 3, false)) as t(kind, n, flag)"
    )
    assert frames.to_pandas(relation)["n"].tolist() == [1, 2, 3]
    assert frames.to_pandas(relation, columns=["n", "n * 10 as m"], where="not flag").to_dict("list") == {"n": [2, 3], "m": [20, 30]}
    grouped = frames.to_pandas(relation, columns=["kind", "count(*) as rows", "sum(n) as total"], group_by=["kind"])
    assert grouped.sort_values("kind").to_dict("list") == {"kind": ["a", "b"], "rows": [2, 1], "total": [3, 3]}


def test_left_join_keeps_every_left_row_and_the_key_once_on_duckdb():
    connection = duckdb.connect()
    scores = connection.sql("select * from (values ('p1', 1.5), ('p2', 2.5), ('p3', 3.5)) as t(person_id, score)")
    people = connection.sql("select * from (values ('p1', 'acme'), ('p3', null), ('p9', 'other')) as t(person_id, account_id)")
    accounts = connection.sql("select * from (values ('acme', 80)) as t(account_id, fit_score)")
    joined = frames.select(frames.left_join(frames.left_join(scores, people, "person_id"), accounts, "account_id"))
    frame = frames.to_pandas(joined).sort_values("person_id").reset_index(drop=True)
    assert list(frame.columns) == ["person_id", "score", "account_id", "fit_score"]
    assert frame["person_id"].tolist() == ["p1", "p2", "p3"]  # p9 is not a score's person: not added
    assert frame["account_id"].tolist()[0] == "acme" and frame["account_id"].isna().tolist() == [False, True, True]
    assert frame["fit_score"].tolist()[0] == 80 and frame["fit_score"].isna().tolist() == [False, True, True]


def test_to_table_returns_the_frame_on_duckdb_and_typed_rows_with_nulls_on_spark():
    frame = pd.DataFrame({"person_id": ["p1", "p2"], "p_alive": [0.5, math.nan], "at": [pd.Timestamp("2026-01-01"), pd.NaT]})
    assert frames.to_table(duckdb.connect(), frame, "ignored") is frame

    class FakeSpark:  # what dbt-spark hands a model as `session`
        def createDataFrame(self, rows, schema):
            return rows, schema

    frame["n"] = pd.Series([3, 4], dtype="int64")
    rows, schema = frames.to_table(FakeSpark(), frame, "person_id string, p_alive double, at timestamp, n bigint")
    assert schema == "person_id string, p_alive double, at timestamp, n bigint"
    # NaN and NaT are nulls, not NaN; timestamps plain datetimes in UTC; numpy scalars Python's
    assert rows == [["p1", 0.5, datetime(2026, 1, 1, tzinfo=timezone.utc), 3], ["p2", None, None, 4]]
    assert [type(value) for value in rows[0]] == [str, float, datetime, int]
    with pytest.raises(ValueError, match="declared schema"):
        frames.to_table(FakeSpark(), frame, "person_id string, at timestamp, p_alive double, n bigint")
