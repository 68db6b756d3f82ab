"""The persona, buying-committee and third-party layers against the generator's planted truth.

On the shared demo build (every fault injected): seniority and department read from the titles
people give (spec.TITLE_VARIANTS: abbreviations, case, punctuation, junk), measured as precision and
coverage against the truth, with unknown titles left null; buying-committee roles against the
planted personas of each account's engaged people; technographic fit points against the planted
technologies and the ICP seed's technology rules; third-party intent against the planted signals
decayed by the half-life, and surging accounts above all others. Then on a small build of its own:
the technographics and intent_signals files missing change nothing but the columns they feed.
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.python.conftest import REPO_ROOT, Workspace

MIN_ENGAGED = 1.0  # var engaged_person_min_score's default
HALF_LIFE_DAYS = 14.0  # var third_party_intent_half_life_days's default
MAX_TECH_AGE_DAYS = 365  # var technographics_max_age_days's default


def read(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def domain_key(domain: str) -> str:
    """A domain as staging normalizes it: trimmed, lower case, no leading www."""
    domain = domain.strip().lower()
    return domain[4:] if domain.startswith("www.") else domain


def faulted_domains(truth: Path, source: str) -> set[str]:
    """Domains with a quarantined row of `source` (duplicates are exact copies: they change nothing)."""
    return {domain_key(row["record_id"]) for row in read(truth / "faults.csv")
            if row["source"] == source and not row["fault"].startswith("duplicate_") and row["record_id"]}


def observed(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


@pytest.fixture(scope="module")
def persons(passed_demo_build) -> dict[str, dict]:
    """Truth person_id -> truth row, with `pipeline`: the project's people row of their user id."""
    space = passed_demo_build.workspace
    rows = space.query("""
        select ids.identifier_value, people.person_id, people.account_id, people.seniority, people.department,
               scores.engagement_score, people.consent_analytics is not distinct from false
        from person_identifiers as ids
        inner join people on ids.person_id = people.person_id
        left join person_scores as scores on people.person_id = scores.person_id
        where ids.identifier_type = 'user_id'
    """)
    by_user = {row[0]: dict(zip(("person_id", "account_id", "seniority", "department", "engagement", "refused"), row[1:]))
               for row in rows}
    truth = {}
    for row in read(space.truth / "people.csv"):
        if row["user_id"] in by_user:
            truth[row["person_id"]] = {**row, "pipeline": by_user[row["user_id"]]}
    assert len(truth) > 200
    return truth


@pytest.mark.parametrize("attribute", ["seniority", "department"])
def test_personas_are_read_from_title_variants(persons, attribute):
    profiled = [p for p in persons.values() if not p["pipeline"]["refused"]]
    known = [p for p in profiled if p[attribute]]
    unknown = [p for p in profiled if not p[attribute]]
    published = [p for p in profiled if p["pipeline"][attribute] is not None]
    correct = [p for p in published if p["pipeline"][attribute] == p[attribute]]
    precision, coverage = len(correct) / len(published), sum(p["pipeline"][attribute] == p[attribute] for p in known) / len(known)
    guessed = [p for p in unknown if p["pipeline"][attribute] is not None]
    print(f"{attribute}: precision {precision:.4f} ({len(correct)}/{len(published)}), "
          f"coverage {coverage:.4f} of {len(known)} known, {len(guessed)} guesses of {len(unknown)} unknown")
    assert len(unknown) >= 10, "the generator must plant titles that say nothing"
    # a person's title is the one of their own latest identify call: exactly the planted one
    assert precision == 1.0, [(p["title"], p["pipeline"][attribute], p[attribute]) for p in published if p not in correct][:10]
    assert coverage == 1.0
    assert guessed == [], "a title that says nothing must give null, never a guess"


def test_people_who_refused_analytics_have_no_persona(persons):
    refused = [p for p in persons.values() if p["pipeline"]["refused"]]
    assert len(refused) >= 5 and any(p["seniority"] for p in refused), "the demo must plant refusals with titles"
    assert all(p["pipeline"]["seniority"] is None and p["pipeline"]["department"] is None for p in refused)


def test_every_planted_title_spelling_occurs(persons):
    """The variants the test measures are really in the data (abbreviations, case, punctuation, junk)."""
    from customer_segments.generate import spec

    titles = {p["title"] for p in persons.values()}
    for wanted in ("vp, engineering", "V.P. of Engineering", "Sr. Dir. of Engineering", "C.T.O.", "Ninja", "N/A"):
        assert wanted in titles, wanted
    assert titles <= {v[0] for variants in spec.TITLE_VARIANTS.values() for v in variants} | set(spec.JUNK_TITLES)


def test_committee_roles_count_the_planted_personas_of_engaged_people(passed_demo_build, persons):
    expected: dict[str, set] = defaultdict(set)
    for p in persons.values():
        pipeline = p["pipeline"]
        if pipeline["account_id"] and (pipeline["engagement"] or 0) >= MIN_ENGAGED and p["seniority"] and p["department"]:
            expected[pipeline["account_id"]].add((p["seniority"], p["department"]))
    found = {account: (roles, coverage, status) for account, roles, coverage, status in passed_demo_build.workspace.query(
        "select account_id, committee_roles, committee_coverage, committee_status from account_scores")}
    # a titled person the pipeline knows without a user id (a CRM contact never identified) has no truth row
    # here: an account with such an engaged person may count more; every other account counts exactly the
    # planted personas
    crm_only = {account for (account,) in passed_demo_build.workspace.query("""
        select distinct people.account_id from people
        inner join person_scores as scores on people.person_id = scores.person_id
        inner join int_person_titles as titles on people.person_id = titles.person_id
        where scores.engagement_score >= 1.0 and people.account_id is not null
          and not exists (select 1 from person_identifiers as ids
                          where ids.person_id = people.person_id and ids.identifier_type = 'user_id')
    """)}
    compared = [account for account in found if account not in crm_only]
    assert len(compared) >= 10
    for account in compared:
        roles, coverage, status = found[account]
        assert roles == len(expected[account]), account
        assert coverage == pytest.approx(min(roles, 6) / 6)
        assert status == ("below_range" if roles < 6 else "above_range" if roles > 10 else "in_range")
    statuses = {found[account][2] for account in compared}
    assert {"below_range", "in_range"} <= statuses, statuses


def icp_rules(attribute: str) -> dict[str, float]:
    return {row["text_value"].lower(): float(row["points"]) for row in read(REPO_ROOT / "seeds" / "icp_rules.csv")
            if row["attribute"] == attribute}


def test_technographic_points_follow_the_planted_technologies(passed_demo_build):
    space = passed_demo_build.workspace
    (as_of,), = space.query("select max(as_of) from account_scores")
    skip = faulted_domains(space.truth, "technographics")
    technology_rules, category_rules = icp_rules("technology"), icp_rules("technology_category")
    best: dict[str, dict[str, float]] = defaultdict(lambda: {"technology": 0.0, "category": 0.0})
    stale_only = 0
    for row in read(space.truth / "technographics.csv"):
        age = (as_of - observed(row["observed_at"])).total_seconds() / 86_400
        if not 0 <= age <= MAX_TECH_AGE_DAYS:
            stale_only += 1
            continue
        points = best[domain_key(row["account_domain"])]
        points["technology"] = max(points["technology"], technology_rules.get(row["technology"].lower(), 0.0))
        points["category"] = max(points["category"], category_rules.get((row["category"] or "").lower(), 0.0))
    assert stale_only > 0, "the generator must plant technologies seen too long ago to count"
    found = space.query("select domain, technographic_fit_points, fit_score from accounts")
    compared = [(domain, points, fit) for domain, points, fit in found if domain not in skip]
    assert len(compared) >= 10 and any(points > 0 for _d, points, _f in compared)
    for domain, points, fit in compared:
        planted = best.get(domain, {"technology": 0.0, "category": 0.0})
        assert points == planted["technology"] + planted["category"], domain
        assert points <= fit or fit == 100.0


def test_third_party_intent_decays_by_the_half_life(passed_demo_build):
    space = passed_demo_build.workspace
    (as_of,), = space.query("select max(as_of) from account_scores")
    skip = faulted_domains(space.truth, "intent_signals")
    expected: dict[str, float] = defaultdict(float)
    for row in read(space.truth / "intent_signals.csv"):
        seen = observed(row["observed_at"])
        if seen <= as_of:
            age_days = (as_of.date() - seen.date()).days
            domain = domain_key(row["account_domain"])
            expected[domain] = max(expected[domain], float(row["score"]) * 0.5 ** (age_days / HALF_LIFE_DAYS))
    rows = space.query("""
        select accounts.domain, scores.third_party_intent_score
        from account_scores as scores inner join accounts on scores.account_id = accounts.account_id
    """)
    compared = [(domain, score) for domain, score in rows if domain not in skip]
    assert len(compared) >= 10
    for domain, score in compared:
        assert score == pytest.approx(expected.get(domain, 0.0), abs=1e-9), domain


def test_surging_accounts_show_the_most_third_party_intent(passed_demo_build):
    space = passed_demo_build.workspace
    skip = faulted_domains(space.truth, "intent_signals")
    surging = {domain_key(row["domain"]): row["surging_intent"] == "true" for row in read(space.truth / "accounts.csv")}
    rows = space.query("""
        select accounts.domain, scores.third_party_intent_score, scores.third_party_intent_topic
        from account_scores as scores inner join accounts on scores.account_id = accounts.account_id
    """)
    hot = [(score, topic) for domain, score, topic in rows if domain not in skip and surging[domain]]
    cold = [score for domain, score, _topic in rows if domain not in skip and not surging[domain]]
    assert hot and cold
    assert all(topic == "customer data platform" for _score, topic in hot)
    assert min(score for score, _topic in hot) > max(cold)


# --- a missing file changes nothing ----------------------------------------------------------------------

AS_OF = "2026-10-31 12:00:00"
THIRD_PARTY = ("technographics", "intent_signals")
#: tables and columns that must not move when the third-party files come or go
UNMOVED = {
    "people": "*",
    "person_scores": "*",
    "person_identifiers": "*",
    "account_scores": "account_id, intent_score, engaged_people, engagement_score, people, engaged_roles, committee_roles, "
                      "committee_coverage, committee_status",
}


def snapshot(space: Workspace) -> dict:
    tables = {table: sorted(space.query(f"select {columns} from {table}"), key=repr) for table, columns in UNMOVED.items()}
    tables["fit"] = dict((row[0], row[1:]) for row in space.query(
        "select accounts.account_id, accounts.fit_score, accounts.technographic_fit_points, "
        "scores.third_party_intent_score, scores.third_party_intent_topic "
        "from accounts inner join account_scores as scores on accounts.account_id = scores.account_id"))
    tables["accounted"] = {row[0]: row[1:] for row in space.query(
        "select source, raw_rows, usable_rows, duplicate_rows, quarantined_rows from int_source_rows_accounted")}
    return tables


@pytest.fixture(scope="module")
def with_and_without(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One small warehouse run without the two files, with them (incremental), and without them again."""
    from customer_segments.generate import generate

    space = Workspace(tmp_path_factory.mktemp("third_party_missing"))
    generate(space.raw, space.truth, events=4_000, seed=3, progress=False)
    # no erasure requests: their end-of-build purge would change the first build's staging counts on the next
    requests = space.raw / "erasure_requests.csv"
    requests.write_text(requests.read_text().splitlines()[0] + "\n")
    kept = space.root / "kept"
    kept.mkdir()
    for name in THIRD_PARTY:
        shutil.move(space.raw / f"{name}.csv", kept / f"{name}.csv")

    def run() -> dict:
        done = space.dbt("run", "--vars", f"{{as_of: '{AS_OF}'}}")
        assert done.returncode == 0, done.output[-5000:]
        return snapshot(space)

    seeded = space.dbt("seed")
    assert seeded.returncode == 0, seeded.output[-5000:]
    seen = {"without": run()}
    for name in THIRD_PARTY:
        shutil.copy2(kept / f"{name}.csv", space.raw / f"{name}.csv")
    seen["with"] = run()
    for name in THIRD_PARTY:
        (space.raw / f"{name}.csv").unlink()
    seen["without_again"] = run()
    seen["truth"] = space.truth
    return seen


def firmographic_fit(truth: Path) -> dict[str, float]:
    """The fit the ICP seed's firmographic rules give each planted account (the rules as the accounts model reads them)."""
    rules = read(REPO_ROOT / "seeds" / "icp_rules.csv")
    accounts = {row["account_id"]: row for row in read(truth / "accounts.csv")}
    raw = {row["account_id"]: row for row in read(truth.parent / "raw" / "accounts.csv")}
    fit = {}
    for account_id, row in accounts.items():
        values = {"industry": row["industry"], "employee_count": row["employee_count"],
                  "annual_revenue": raw[account_id]["annual_revenue"], "country": raw[account_id]["country"]}
        best: dict[str, float] = {}
        for rule in rules:
            value = values.get(rule["attribute"])
            if value in (None, ""):
                continue
            if rule["text_value"]:
                hit = value.lower() == rule["text_value"].lower()
            else:
                number = float(value)
                hit = (not rule["min_value"] or number >= float(rule["min_value"])) and \
                      (not rule["max_value"] or number <= float(rule["max_value"]))
            if hit:
                best[rule["attribute"]] = max(best.get(rule["attribute"], 0.0), float(rule["points"]))
        fit[account_id] = min(sum(best.values()), 100.0)
    return fit


def test_without_the_files_nothing_but_their_columns_moves(with_and_without):
    without, with_files = with_and_without["without"], with_and_without["with"]
    for table in UNMOVED:
        assert without[table] == with_files[table], table
    assert without["fit"].keys() == with_files["fit"].keys()
    moved = 0
    for account, (fit, points, intent, topic) in without["fit"].items():
        assert (points, intent, topic) == (0.0, 0.0, None), account
        fit_with, points_with, _intent, _topic = with_files["fit"][account]
        assert fit_with == min(100.0, fit + points_with), account
        moved += fit_with != fit
    assert moved > 0, "the planted technologies must move some fit scores"
    assert any(intent > 0 for _f, _p, intent, _t in with_files["fit"].values())


def test_without_the_files_fit_is_the_firmographic_fit(with_and_without):
    planted = firmographic_fit(with_and_without["truth"])
    found = {account: fit for account, (fit, _p, _i, _t) in with_and_without["without"]["fit"].items()}
    assert found == {account: planted[account] for account in found}


def test_the_files_are_accounted_and_their_removal_is_undone(with_and_without):
    for name in THIRD_PARTY:
        assert with_and_without["without"]["accounted"][name] == (0, 0, 0, 0)
        raw, usable, duplicates, quarantined = with_and_without["with"]["accounted"][name]
        assert raw > 0 and raw == usable + duplicates + quarantined and duplicates > 0 and quarantined > 0
    assert with_and_without["without_again"] == with_and_without["without"]
