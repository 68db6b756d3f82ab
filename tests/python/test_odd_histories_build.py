"""A scheduled build on a small, oddly shaped purchase history (issue: 62 buyers, 30 of them identical
one-order customers from 3 days before as_of, gave expected purchases of +-1e37 and failed the build):
the whole `dbt build` exits 0, identical customers share one RFM tier and one prediction, and every
prediction is null with a reason or sane for its horizon."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from conftest import Workspace

AS_OF = "2026-09-30 23:59:59"
TWINS = 30
HORIZON_DAYS = 90


def planted_orders() -> list[str]:
    rows = ["order_id,user_id,email,amount,currency,ordered_at,status"]
    for number in range(TWINS):  # identical one-order customers, 3 days before as_of
        rows.append(f"twin-{number},twin-{number},twin-{number}@example.com,49.00,USD,2026-09-27T12:00:00Z,completed")
    draw = random.Random(5)
    for person in range(31):  # ordinary buyers: 1 to 4 orders over the year before as_of
        for order in range(draw.randint(1, 4)):
            at = datetime(2026, 9, 30, 10) - timedelta(days=draw.randint(4, 360))
            rows.append(f"odd-{person}-{order},odd-{person},odd-{person}@example.com,{draw.randint(10, 300)}.00,USD,"
                        f"{at:%Y-%m-%dT%H:%M:%SZ},completed")
    for order in range(150):  # one huge buyer: 150 large orders
        rows.append(f"huge-{order},huge,huge@example.com,5000.00,USD,2026-{1 + order % 9:02d}-{1 + order % 28:02d}T09:00:00Z,completed")
    return rows


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, object]:
    from customer_segments.generate import generate

    space = Workspace(tmp_path_factory.mktemp("odd_histories"))
    generate(space.raw, space.truth, events=1_500, seed=3, progress=False, end_date="2026-09-30")
    for path in space.raw.glob("orders.*"):
        path.unlink()
    (space.raw / "orders.csv").write_text("\n".join(planted_orders()) + "\n")
    run = space.dbt("build", "--vars", f"{{as_of: '{AS_OF}'}}")
    return space, run


def scores_of(space: Workspace, prefix: str) -> list[tuple]:
    return space.query(
        """
        select i.identifier_value, s.r_score, s.f_score, s.m_score, s.rfm_segment, s.p_alive,
               s.expected_purchases_90d, s.fit_status
        from int_identity_person_ids as i
        inner join person_scores as s using (person_id)
        where i.identifier_type = 'user_id' and i.identifier_value like ?
        order by 1
        """,
        [prefix + "%"],
    )


def test_the_build_succeeds(odd):
    _space, run = odd
    assert run.returncode == 0, run.output[-5000:]


def test_identical_customers_share_one_tier_and_one_prediction(odd):
    space, run = odd
    assert run.returncode == 0, run.output[-5000:]
    twins = scores_of(space, "twin-")
    assert len(twins) == TWINS
    assert len({row[1:] for row in twins}) == 1, sorted({row[1:] for row in twins})
    r_score, f_score, m_score, *_ = twins[0][1:]
    assert None not in (r_score, f_score, m_score)


def test_every_prediction_is_null_with_a_reason_or_sane(odd):
    space, run = odd
    assert run.returncode == 0, run.output[-5000:]
    buyers = scores_of(space, "twin-") + scores_of(space, "odd-") + scores_of(space, "huge")
    assert len(buyers) == TWINS + 31 + 1
    for user, *_tiers, p_alive, expected, fit_status in buyers:
        assert fit_status is not None, user
        if expected is None:
            assert p_alive is None, user
            continue
        assert 0 <= p_alive <= 1, (user, p_alive)
        # no one can be expected to buy more often than daily over the horizon
        assert 0 <= expected <= HORIZON_DAYS, (user, expected, fit_status)
