"""Suggested segments: cluster people on their score features and describe each cluster.

A suggestion is a starting point for a person, never a live segment. Each
cluster comes with a readable name, a profile (how its medians differ from
everyone's) and a SQL rule over `person_scores` that approximates it, with how
well that rule matches the cluster (`rule_coverage`, `rule_precision`).
Someone who finds a cluster worth acting on pastes the rule into a new catalog
model (models/marts/segments/catalog/), where it is reviewed like any other
segment; suggestions themselves never reach `segment_members`.

Why the features are prepared as they are:
- Nulls carry meaning: `recency_days` and `p_alive` are null for people who
  never bought, `fit_score` for people outside any account. Each becomes an
  explicit indicator (`has_purchased`, `has_account`), and the value counts
  only where it exists (frequency and monetary too: their 0 without a
  purchase would repeat the indicator). A column that is null for everyone
  (`p_alive` on Spark, or when BG/NBD could not be fitted) is dropped, as is
  any column that does not vary.
- The activity scores are heavy-tailed (a few people with hundreds of events or
  orders); k-means on raw values would spend its clusters on those few, so they
  are log1p-transformed. Each column is then standardized on the people it
  exists for, and the others get its mean (0): standardizing over everyone
  instead would blow up the spread of a feature few people have (by
  1/sqrt(share)) and let it split clusters on its own.
- k is chosen in [k_min, k_max] by the silhouette score, computed on a seeded
  sample of at most `sample_size` people because its cost is quadratic.
- Above `fit_size` people (5,000), k-means learns its centers on a seeded
  sample of that many and then assigns everyone to the nearest center, so the
  cost stops growing with the number of people but for that assignment: at
  10M events (250,000 people) fitting on everyone took 50-80 s of every build.
  The clusters are broad by construction (3 to 6 of them, each a sizeable
  share of people), and a sample places them as well: on the 52,714 profiled
  people of a 2M-event history, fitting on 5,000 and scoring the silhouette
  on 5,000 chose the same k (6, silhouette 0.383 against 0.384) and put
  97.7-99.5% of people alike (adjusted Rand index, two seeds) against 20,000
  and 10,000, as close as two seeds at 20,000 are to each other (0.996).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_chunked
from sklearn.utils import check_random_state

# The output, in order, with its dtypes (also for the empty frame).
COLUMNS: dict[str, str] = {
    "segment_id": "str",
    "name": "str",
    "entity_type": "str",
    "status": "str",
    "member_count": "int64",
    "share_of_people": "float64",
    "profile": "str",
    "suggested_rule": "str",
    "rule_coverage": "float64",
    "rule_precision": "float64",
}

# Columns of person_scores (rules may use them), of the person's account and of the person's signals
# (int_person_signals: the channel mix; clustering and profile only, a rule reads person_scores).
SCORE_FEATURES = ("recency_days", "frequency", "monetary", "engagement_score", "intent_score", "is_activated", "p_alive")
ACCOUNT_FEATURES = ("fit_score",)
SIGNAL_FEATURES = ("email_share", "product_share", "from_campaign")
FEATURES = SCORE_FEATURES + ACCOUNT_FEATURES + SIGNAL_FEATURES
HEAVY_TAILED = frozenset({"recency_days", "frequency", "monetary", "engagement_score", "intent_score"})
# Indicator -> the column whose non-null values it marks.
INDICATORS = {"has_purchased": "recency_days", "has_account": "fit_score"}
# Features a rule may use: person_scores columns (has_purchased is `recency_days is [not] null`).
RULE_FEATURES = frozenset(SCORE_FEATURES) | {"has_purchased"}
# Features said as a share, and the words for it.
SHARE_LABELS = {"has_purchased": "with a purchase", "has_account": "in an account", "is_activated": "activated",
                "from_campaign": "first came from a campaign"}
# Features that only mean something for some people: clustering and profile look at them
# among those people only (frequency and monetary are 0, not null, without a purchase,
# but counting those zeros again would give buying-or-not three times the weight).
OBSERVED_AMONG = {
    "recency_days": "buyers",
    "frequency": "buyers",
    "monetary": "buyers",
    "p_alive": "buyers",
    "fit_score": "people in an account",
}
# "No purchases" already says these are low (or absent): naming them again adds nothing.
IMPLIED_BY_ABSENCE = {
    "has_purchased": frozenset({"frequency", "monetary", "recency_days", "p_alive"}),
    "has_account": frozenset({"fit_score"}),
}
# Words for a feature clearly above / below everyone's level.
PHRASES = {
    "recency_days": ("long since last purchase", "bought recently"),
    "frequency": ("frequent buyers", "rare buyers"),
    "monetary": ("big spenders", "small spenders"),
    "engagement_score": ("highly engaged", "little engagement"),
    "intent_score": ("high intent", "low intent"),
    "is_activated": ("activated", "not activated"),
    "p_alive": ("likely still customers", "likely churned"),
    "fit_score": ("high-fit accounts", "low-fit accounts"),
    "has_purchased": ("buyers", "no purchases"),
    "has_account": ("in an account", "no account"),
    "email_share": ("email readers", "rarely in email"),
    "product_share": ("product-led", "rarely in the product"),
    "from_campaign": ("campaign-acquired", "organic first touch"),
}

# A feature is distinctive for a cluster when the cluster's mean is at least this
# many standard deviations from everyone's (on the transformed, standardized scale).
MIN_DISTINCTIVENESS = 0.25
PROFILE_FEATURES = 4
NAME_FEATURES = 2
RULE_CANDIDATES = 4
RULE_MAX_TERMS = 3
RULE_QUANTILES = (0.1, 0.9)
# A further rule term must raise F1 (of coverage and precision) by at least this much.
RULE_MIN_GAIN = 0.005
N_INIT = 10


@dataclass(frozen=True)
class Suggestions:
    """The suggested segments (COLUMNS) and who is in each (person_id, segment_id)."""

    segments: pd.DataFrame
    members: pd.DataFrame
    k: int | None = None
    silhouette: float | None = None


def empty_suggestions() -> pd.DataFrame:
    """The output with no rows, with the same columns and dtypes as a full one."""
    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in COLUMNS.items()})


def suggest_segments(
    features: pd.DataFrame,
    *,
    k_min: int = 3,
    k_max: int = 6,
    seed: int = 42,
    min_people: int = 200,
    sample_size: int = 5_000,
    fit_size: int = 5_000,
) -> pd.DataFrame:
    """Cluster people (one row each: `person_id` and the columns of FEATURES) into suggested segments.

    Returns one row per cluster (COLUMNS), largest first, ids `suggested_1`, ...
    Returns the empty frame when there are fewer than `min_people` people, no
    feature that varies, or fewer distinct people than k_min + 1. The result
    depends only on the rows and the seed, not on their order. See `suggest`
    for who is in which cluster.
    """
    return suggest(features, k_min=k_min, k_max=k_max, seed=seed, min_people=min_people, sample_size=sample_size,
                   fit_size=fit_size).segments


def suggest(
    features: pd.DataFrame,
    *,
    k_min: int = 3,
    k_max: int = 6,
    seed: int = 42,
    min_people: int = 200,
    sample_size: int = 5_000,
    fit_size: int = 5_000,
) -> Suggestions:
    """`suggest_segments`, plus each person's cluster and the chosen k with its silhouette.

    The silhouette is computed on at most `sample_size` people (seeded), the
    distances once for every k (silhouette_scores): on two cores about 1.6 s
    for four values of k at 10,000 (5.7 s with one sklearn call per k), and a
    quarter of that at 5,000 (the cost is quadratic). On 30,000 people resampled
    from the demo's scores the chosen k and its silhouette (0.39) were the same
    at 10,000, 20,000 and all 30,000; see the module docstring for 5,000.
    """
    if k_min < 2 or k_max < k_min:
        raise ValueError(f"need 2 <= k_min <= k_max, got k_min={k_min}, k_max={k_max}")
    nothing = Suggestions(empty_suggestions(), _members_frame([], []))
    if len(features) < max(min_people, 1):
        return nothing
    # Rows in the order of their values, person id last: k-means' seeded start and the seeded samples pick rows
    # by position, and person ids are stable across builds but not across a --full-refresh, so ordering by id
    # would give the same people other segments there.
    people = features.reset_index(drop=True)
    raw = _raw_values(people)
    order = (raw.assign(_person_id=people["person_id"].astype(str))
             .sort_values([*raw.columns, "_person_id"], kind="stable", na_position="last").index)
    people = people.loc[order].reset_index(drop=True)
    raw = raw.loc[order].reset_index(drop=True)
    view = _observed_view(raw)
    matrix = _clustering_matrix(view)
    if matrix.shape[1] == 0:
        return nothing
    x = ((matrix - matrix.mean()) / matrix.std(ddof=0)).fillna(0.0).to_numpy()
    distinct = len(np.unique(x, axis=0))
    k_high = min(k_max, distinct - 1)
    if k_high < k_min:
        return nothing
    labels, silhouette = _best_clustering(x, range(k_min, k_high + 1), seed=seed, sample_size=sample_size,
                                          fit_size=fit_size)
    segments, segment_of = _describe(labels, x, list(matrix.columns), raw, view)
    members = _members_frame(people["person_id"].tolist(), [segment_of[label] for label in labels])
    members = members.sort_values("person_id", kind="stable").reset_index(drop=True)
    return Suggestions(segments, members, k=len(segment_of), silhouette=silhouette)


def _members_frame(person_ids: list, segment_ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"person_id": pd.Series(person_ids, dtype="str"), "segment_id": pd.Series(segment_ids, dtype="str")}
    )


def _raw_values(people: pd.DataFrame) -> pd.DataFrame:
    """Each feature as float in its own units (NaN = null), plus the indicators (0/1)."""
    raw = pd.DataFrame(index=people.index)
    for feature in FEATURES:
        if feature in people.columns:
            raw[feature] = people[feature].astype("Float64").to_numpy("float64", na_value=np.nan)
    for indicator, source in INDICATORS.items():
        if source in raw.columns:
            raw[indicator] = raw[source].notna().astype("float64")
    return raw


def _observed_view(raw: pd.DataFrame) -> pd.DataFrame:
    """The raw values with frequency and monetary null for people who never bought (see OBSERVED_AMONG)."""
    view = raw.copy()
    if "has_purchased" in view.columns:
        for feature in ("frequency", "monetary"):
            if feature in view.columns:
                view[feature] = view[feature].where(view["has_purchased"] == 1)
    return view


def _clustering_matrix(view: pd.DataFrame) -> pd.DataFrame:
    """Transformed features (NaN where they do not exist); columns that are all null or do not vary left out."""
    columns = {}
    for feature, values in view.items():
        transformed = np.sign(values) * np.log1p(values.abs()) if feature in HEAVY_TAILED else values
        if transformed.max() > transformed.min():  # NaN-skipping; False when all null
            columns[feature] = transformed
    return pd.DataFrame(columns, index=view.index)


def _best_clustering(
    x: np.ndarray, ks: range, *, seed: int, sample_size: int, fit_size: int
) -> tuple[np.ndarray, float | None]:
    """K-means labels for the k with the highest silhouette (the smaller k on a tie), and that silhouette.

    The centers are fitted on a seeded sample of `fit_size` rows when there are more; every row is then
    labelled by its nearest center."""
    best_score, best_labels = -math.inf, None
    sample = sample_size if len(x) > sample_size else None
    fitted_on = x
    if len(x) > fit_size:
        fitted_on = x[np.sort(np.random.default_rng(seed).choice(len(x), size=fit_size, replace=False))]
    candidates = []
    for k in ks:
        labels = KMeans(n_clusters=k, n_init=N_INIT, random_state=seed).fit(fitted_on).predict(x)
        if len(np.unique(labels)) >= 2:
            candidates.append(labels)
    for labels, score in zip(candidates, silhouette_scores(x, candidates, sample_size=sample, seed=seed)):
        if score > best_score:
            best_score, best_labels = score, labels
    if best_labels is None:
        return np.zeros(len(x), dtype=int), None
    return best_labels, float(best_score)


def silhouette_scores(x: np.ndarray, labelings: list[np.ndarray], *, sample_size: int | None, seed: int) -> list[float]:
    """sklearn's `silhouette_score(x, labels, sample_size=sample_size, random_state=seed)` of each labeling, from
    one pass over the pairwise distances of the sample instead of one per labeling (the distances are most of
    the cost and do not depend on the labels: at 10,000 people 4 values of k took 5.7 s, and 1.6 s this way).
    The sums per cluster are matrix products where sklearn adds with bincount: equal to about 1e-12."""
    if not labelings:
        return []
    if sample_size is not None:
        indices = check_random_state(seed).permutation(len(x))[:sample_size]
        x, labelings = x[indices], [labels[indices] for labels in labelings]
    encoded = [np.unique(labels, return_inverse=True)[1] for labels in labelings]
    one_hot = [np.eye(codes.max() + 1)[codes] for codes in encoded]

    def per_cluster_sums(chunk: np.ndarray, start: int) -> tuple[np.ndarray, ...]:
        return tuple(chunk @ member_of for member_of in one_hot)

    # Small chunks (16 MiB of distances, about 400 rows at 5,000): the allocator reuses them, where one block
    # of the whole 5,000 x 5,000 matrix (200 MB) is fresh memory each build and paid for page by page
    # (1.5-2.4 s of the 1.9 s this took on 52,911 people; 0.1-0.2 s in chunks).
    chunks = list(pairwise_distances_chunked(x, reduce_func=per_cluster_sums, working_memory=16))
    scores = []
    for position, codes in enumerate(encoded):
        sums = np.vstack([chunk[position] for chunk in chunks])
        counts = np.bincount(codes)
        rows = np.arange(len(codes))
        own = sums[rows, codes]
        sums[rows, codes] = np.inf
        nearest_other = (sums / counts).min(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            own = own / (counts - 1)[codes]
            values = np.nan_to_num((nearest_other - own) / np.maximum(own, nearest_other))
        scores.append(float(values.mean()))
    return scores


@dataclass(frozen=True)
class _Term:
    sql: str
    mask: np.ndarray


def _describe(
    labels: np.ndarray, x: np.ndarray, columns: list[str], raw: pd.DataFrame, view: pd.DataFrame
) -> tuple[pd.DataFrame, dict[int, str]]:
    """One row per cluster, largest first (ties: by centroid), with name, profile and rule; and label -> segment_id.

    Names and profiles read `view` (values among the people they apply to);
    rules read `raw`, the columns as person_scores has them, so that their
    coverage and precision are what the SQL will give.
    """
    clusters = np.unique(labels)
    sizes = {c: int((labels == c).sum()) for c in clusters}
    centroids = {c: x[labels == c].mean(axis=0) for c in clusters}
    order = sorted(clusters, key=lambda c: (-sizes[c], tuple(np.round(centroids[c], 12))))
    rows, rankings, segment_of = [], [], {}
    for number, cluster in enumerate(order, start=1):
        segment_of[cluster] = f"suggested_{number}"
        members = labels == cluster
        ranked = _ranked_features(dict(zip(columns, centroids[cluster])), raw, members)
        rankings.append(ranked)
        rule, coverage, precision = _rule(ranked, raw, members)
        rows.append(
            {
                "segment_id": segment_of[cluster],
                "entity_type": "person",
                "status": "suggested",
                "member_count": sizes[cluster],
                "share_of_people": sizes[cluster] / len(labels),
                "profile": _profile(ranked, view, members),
                "suggested_rule": rule,
                "rule_coverage": coverage,
                "rule_precision": precision,
            }
        )
    for row, name in zip(rows, _unique_names(rankings)):
        row["name"] = name
    return pd.DataFrame(rows)[list(COLUMNS)].astype(COLUMNS), segment_of


def _ranked_features(distinctiveness: dict[str, float], raw: pd.DataFrame, members: np.ndarray) -> list[tuple[str, float]]:
    """(feature, standardized difference) by distinctiveness, without features the others already imply."""
    ranked = sorted(distinctiveness.items(), key=lambda item: -abs(item[1]))
    implied: set[str] = set()
    for indicator, features in IMPLIED_BY_ABSENCE.items():
        if indicator in distinctiveness and raw.loc[members, indicator].mean() < 0.5:
            implied |= features
    return [(feature, z) for feature, z in ranked if not (feature in implied and z < 0)]


def _distinctive(ranked: list[tuple[str, float]], limit: int) -> list[tuple[str, float]]:
    """The first `limit` features that clear MIN_DISTINCTIVENESS (at least one, whatever its size)."""
    chosen = [(feature, z) for feature, z in ranked if abs(z) >= MIN_DISTINCTIVENESS][:limit]
    return chosen or ranked[:1]


def _name_phrases(ranked: list[tuple[str, float]], count: int) -> list[str]:
    distinctive = _distinctive(ranked, len(ranked))
    if any(feature in OBSERVED_AMONG and OBSERVED_AMONG[feature] == "buyers" for feature, _ in distinctive):
        # "likely churned", "big spenders" ... already say they bought
        ranked = [(feature, z) for feature, z in ranked if not (feature == "has_purchased" and z > 0)]
    return [PHRASES[feature][0 if z > 0 else 1] for feature, z in _distinctive(ranked, count)]


def _unique_names(ranked_per_cluster: list[list[tuple[str, float]]]) -> list[str]:
    """Two phrases per name; a third where two clusters would share a name; a number as last resort."""

    def sentence(phrases: list[str]) -> str:
        text = ", ".join(phrases) if phrases else "close to average"
        return text[0].upper() + text[1:]

    names = [sentence(_name_phrases(ranked, NAME_FEATURES)) for ranked in ranked_per_cluster]
    for i, ranked in enumerate(ranked_per_cluster):
        if names.count(names[i]) > 1:
            longer = sentence(_name_phrases(ranked, NAME_FEATURES + 1))
            if longer not in names:
                names[i] = longer
    repeated = {name for name in names if names.count(name) > 1}
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in repeated:
            seen[name] = seen.get(name, 0) + 1
            names[i] = f"{name} ({seen[name]})"
    return names


def _profile(ranked: list[tuple[str, float]], view: pd.DataFrame, members: np.ndarray) -> str:
    """'intent_score median 24.1 vs 0.8 overall; with a purchase 0% vs 41% overall; ...'."""
    parts = []
    for feature, _ in _distinctive(ranked, PROFILE_FEATURES):
        everyone = view[feature]
        cluster = everyone[members]
        if feature in SHARE_LABELS:
            parts.append(f"{SHARE_LABELS[feature]} {cluster.mean():.0%} vs {everyone.mean():.0%} overall")
            continue
        cluster, everyone = cluster.dropna(), everyone.dropna()
        if cluster.empty:
            continue
        inside, overall = _number(cluster.median()), _number(everyone.median())
        text = f"{feature} median {inside} vs {overall} overall"
        if inside == overall:
            text += f" (mean {_number(cluster.mean())} vs {_number(everyone.mean())})"
        if feature in OBSERVED_AMONG:
            text += f", among {OBSERVED_AMONG[feature]}"
        parts.append(text)
    return "; ".join(parts)


def _number(value: float) -> str:
    """Short and readable: 3, 12.4, 0.83, 1234."""
    decimals = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return _trim(f"{value:.{decimals}f}")


def _trim(text: str) -> str:
    """'1.50' -> '1.5', '2.00' -> '2', '-0' -> '0'."""
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _rule(ranked: list[tuple[str, float]], raw: pd.DataFrame, members: np.ndarray) -> tuple[str, float, float]:
    """A SQL condition over person_scores approximating the cluster, with its coverage and precision.

    Candidate terms come from the cluster's most distinctive person_scores
    features: a bound at the 10th and/or 90th percentile of the cluster's values,
    `recency_days is [not] null` for buying at all, `[not] is_activated`. Terms
    are added greedily while they raise F1 of coverage and precision, so the
    rule stays short; coverage and precision are computed with SQL's null
    semantics (a comparison with null is not a match).
    """
    rule_ranked = [(feature, z) for feature, z in ranked if feature in RULE_FEATURES]
    candidates = {feature: _terms(feature, z, raw, members) for feature, z in _distinctive(rule_ranked, RULE_CANDIDATES)}
    chosen: list[_Term] = []
    used: set[str] = set()
    match = np.ones(len(members), dtype=bool)
    best = -1.0
    while len(chosen) < RULE_MAX_TERMS:
        options = [
            (_f1(match & term.mask, members), feature, term)
            for feature, terms in candidates.items()
            if feature not in used
            for term in terms
        ]
        if not options:
            break
        score, feature, term = max(options, key=lambda option: option[0])  # first of equals: most distinctive
        if chosen and score < best + RULE_MIN_GAIN:
            break
        chosen.append(term)
        used.add(feature)
        match &= term.mask
        best = score
    if not chosen:
        return "true", 1.0, float(members.mean())
    hits = int((match & members).sum())
    coverage = hits / int(members.sum())
    precision = hits / int(match.sum()) if match.any() else 0.0
    return " and ".join(term.sql for term in chosen), coverage, precision


def _f1(match: np.ndarray, members: np.ndarray) -> float:
    hits = int((match & members).sum())
    if hits == 0:
        return 0.0
    coverage, precision = hits / int(members.sum()), hits / int(match.sum())
    return 2 * coverage * precision / (coverage + precision)


def _terms(feature: str, z: float, raw: pd.DataFrame, members: np.ndarray) -> list[_Term]:
    """The candidate SQL terms for one feature of one cluster."""
    if feature == "has_purchased":
        bought = raw["recency_days"].notna().to_numpy()
        if z > 0:
            return [_Term("recency_days is not null", bought)]
        return [_Term("recency_days is null", ~bought)]
    values = raw[feature]
    if feature == "is_activated":
        if z > 0:
            return [_Term("is_activated", (values == 1).to_numpy())]
        return [_Term("not is_activated", (values == 0).to_numpy())]
    observed = values.notna().to_numpy()
    inside = values[members].dropna()
    if len(inside) < 0.1 * members.sum():
        return []  # mostly null in this cluster: has_purchased says it better
    allow_null = len(inside) < 0.9 * members.sum()
    integral = bool((values.dropna() % 1 == 0).all())
    low_q, high_q = np.quantile(inside.to_numpy(), RULE_QUANTILES)
    low_text, low = _bound(low_q, integral, down=True)
    high_text, high = _bound(high_q, integral, down=False)
    numbers = values.to_numpy()
    with np.errstate(invalid="ignore"):
        above, below = numbers >= low, numbers <= high
    conditions = []
    if low > values.min():
        conditions.append((f"{feature} >= {low_text}", above))
    if high < values.max():
        conditions.append((f"{feature} <= {high_text}", below))
    if len(conditions) == 2:
        conditions.append((f"{feature} between {low_text} and {high_text}", above & below))
    terms = []
    for sql, mask in conditions:
        mask = mask & observed
        if allow_null:
            sql, mask = f"({feature} is null or {sql})", mask | ~observed
        terms.append(_Term(sql, mask))
    return terms


def _bound(value: float, integral: bool, *, down: bool) -> tuple[str, float]:
    """Round a bound outwards to a readable literal (whole numbers, else 3 significant digits)."""
    if integral or value == 0:
        number = math.floor(value) if down else math.ceil(value)
        return str(number), float(number)
    decimals = min(6, max(0, 2 - math.floor(math.log10(abs(value)))))
    scale = 10**decimals
    rounded = (math.floor(value * scale) if down else math.ceil(value * scale)) / scale
    text = _trim(f"{rounded:.{decimals}f}")
    return text, float(text)
