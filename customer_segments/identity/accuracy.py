"""Pairwise precision and recall of the identity graph against the generator's ground truth.

Every pair of identifiers the pipeline puts in one person is a predicted merge;
every pair the ground truth puts in one person is a true merge. With the
identifiers both sides know:

- precision = true merges predicted / merges predicted
- recall = true merges predicted / true merges, counted two ways:
  - ``recall`` over the merges the data can support (ground truth
    ``linkable_group``: an identifying person's identifiers all meet in their
    identify calls; a never-identified visitor's browsers share nothing, so no
    method can join them);
  - ``recall_all_pairs`` over every true merge, the unlinkable ones included.

Pair counts come from cluster sizes (sum of n*(n-1)/2), so no pair is ever
materialized.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class Accuracy:
    identifiers_compared: int
    truth_identifiers: int
    predicted_pairs: int
    true_pairs: int
    linkable_pairs: int
    correct_pairs: int
    correct_linkable_pairs: int
    precision: float
    recall: float
    recall_all_pairs: float
    largest_person: int
    largest_true_person: int

    def as_dict(self) -> dict:
        return asdict(self)


def _pairs(column: str) -> str:
    return f"coalesce(sum(n * (n - 1) / 2), 0) from (select count(*) as n from matched group by {column})"


def measure(database: Path | str, truth: Path | str) -> Accuracy:
    """Compare the stitched identifiers (`int_identity_person_ids`, the plain-text source of the published
    `person_identifiers`, which hashes emails) in the DuckDB file with `identifiers.csv` of the ground truth.

    People the ground truth marks as erased (people.csv is_erased) are left out: the build removes them.
    """
    with duckdb.connect(str(database), read_only=True) as connection:
        # people who asked to be erased are gone from the outputs by design: they are not compared
        connection.execute(
            "create temp table truth as select identifier_type, identifier_value, person_id, linkable_group "
            "from read_csv(?, all_varchar = true) where person_id is not null "
            "and person_id not in (select person_id from read_csv(?, all_varchar = true) where is_erased = 'true')",
            [str(Path(truth) / "identifiers.csv"), str(Path(truth) / "people.csv")],
        )
        connection.execute("""
            create temp table matched as
            select truth.person_id as true_person, truth.linkable_group, predicted.person_id as predicted_person
            from truth
            inner join int_identity_person_ids as predicted
                using (identifier_type, identifier_value)
        """)
        row = connection.execute(f"""
            select
                (select count(*) from matched),
                (select count(*) from truth),
                (select {_pairs('predicted_person')}),
                (select {_pairs('true_person')}),
                (select {_pairs('linkable_group')}),
                (select {_pairs('true_person, predicted_person')}),
                (select {_pairs('linkable_group, predicted_person')}),
                (select coalesce(max(n), 0) from (select count(*) as n from int_identity_person_ids group by person_id)),
                (select coalesce(max(n), 0) from (select count(*) as n from truth group by person_id))
        """).fetchone()
    compared, truth_count, predicted, true, linkable, correct, correct_linkable, largest, largest_true = (int(v) for v in row)
    return Accuracy(
        identifiers_compared=compared,
        truth_identifiers=truth_count,
        predicted_pairs=predicted,
        true_pairs=true,
        linkable_pairs=linkable,
        correct_pairs=correct,
        correct_linkable_pairs=correct_linkable,
        precision=correct / predicted if predicted else 1.0,
        recall=correct_linkable / linkable if linkable else 1.0,
        recall_all_pairs=correct / true if true else 1.0,
        largest_person=largest,
        largest_true_person=largest_true,
    )
