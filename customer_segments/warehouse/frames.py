"""What a dbt Python model reads and returns, the same on DuckDB and on Spark.

The project's Python models (python_models/) hand pandas frames to our functions
(the data-quality suite, the purchase history and predictions, the suggested segments),
so the math has one implementation for both engines. What differs is the relation dbt
gives a model for `dbt.ref(...)`: a DuckDB relation (`.filter`, `.project`, `.aggregate`,
`.df()`) or a Spark DataFrame (`.filter`, `.selectExpr`, `.groupBy`, `.toPandas()`), and what
the model must return: dbt-duckdb takes a pandas frame, while dbt-spark would infer Spark
types from the values (and fails on a column that is all null, or on an empty frame), so on
Spark the frame becomes a Spark DataFrame with the model's declared schema.

Reads push the filter, the columns and any grouping down to the engine, so only the rows a
model needs cross into Python. Both engines give the same pandas types for the same data:
decimals as floats (DuckDB's `.df()` does so; Spark's decimals are cast to double) and
timestamps as naive UTC (Spark reads through Arrow in the session's time zone, UTC in profiles.yml).
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def is_spark(relation: Any) -> bool:
    """A Spark DataFrame (or SparkSession) rather than a DuckDB relation (or connection)."""
    return hasattr(relation, "toPandas") or hasattr(relation, "createDataFrame")


def select(
    relation: Any,
    columns: list[str] | None = None,
    where: str | None = None,
    group_by: list[str] | None = None,
) -> Any:
    """The rows of `relation` where the SQL condition `where` holds, still a relation of its engine.

    `columns` are SQL expressions (`"count(*) as events"`, `"case when ... end as x"`); with
    `group_by` (SQL expressions too), the columns are the grouping columns followed by aggregates,
    as in DuckDB's `aggregate`.
    """
    if not is_spark(relation):
        if where:
            relation = relation.filter(where)
        if group_by:
            relation = relation.aggregate(", ".join(columns or group_by), ", ".join(group_by))
        elif columns:
            relation = relation.project(", ".join(columns))
        return relation

    from pyspark.sql import functions as F

    if where:
        relation = relation.filter(where)
    if group_by:
        aggregates = [F.expr(column) for column in (columns or []) if column not in group_by]
        grouped = relation.groupBy(*[F.expr(column) for column in group_by])
        relation = grouped.agg(*aggregates) if aggregates else grouped.count().drop("count")
    elif columns:
        relation = relation.selectExpr(*columns)
    return relation


def left_join(left: Any, right: Any, on: str) -> Any:
    """Every row of `left` with the columns of the rows of `right` whose column `on` equals its own (a left join
    on one key column, which appears once), joined by the engine: merging in pandas cost more than reading."""
    return left.join(right, on, how="left")


def to_pandas(
    relation: Any,
    columns: list[str] | None = None,
    where: str | None = None,
    group_by: list[str] | None = None,
) -> pd.DataFrame:
    """The rows of `relation` where the SQL condition `where` holds, as pandas (arguments as in `select`)."""
    relation = select(relation, columns, where, group_by)
    if not is_spark(relation):
        return relation.df()

    from pyspark.sql import functions as F
    from pyspark.sql.types import DecimalType

    relation = relation.select(
        [F.col(f"`{field.name}`").cast("double").alias(field.name) if isinstance(field.dataType, DecimalType)
         else F.col(f"`{field.name}`") for field in relation.schema.fields]
    )
    relation.sparkSession.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    return relation.toPandas()


def to_table(session: Any, frame: pd.DataFrame, schema: str) -> Any:
    """What the model returns: `frame` itself on DuckDB; on Spark a DataFrame with `schema`.

    `schema` is a Spark DDL column list (`"person_id string, p_alive double"`), in the frame's column
    order; missing values (None, NaN, NaT) become nulls.
    """
    if not is_spark(session):
        return frame
    names = [column.split()[0] for column in schema.split(",")]
    if list(frame.columns) != names:
        raise ValueError(f"the frame's columns {list(frame.columns)} are not the declared schema's {names}")
    rows = [[_spark_value(value) for value in row] for row in frame.astype(object).itertuples(index=False)]
    return session.createDataFrame(rows, schema=schema)


def _spark_value(value: Any) -> Any:
    """A cell as Spark's row conversion accepts it: Python scalars, nulls for NaN/NaT/NA, and timestamps as
    aware UTC datetimes (a naive one would be read in the Python process's local time zone)."""
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return (value.tz_localize("UTC") if value.tzinfo is None else value).to_pydatetime()
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) else value
