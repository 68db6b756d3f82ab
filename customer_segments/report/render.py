"""The segment report: one static HTML file a marketer can open after each build.

`render_report(database_path, out_path)` reads the warehouse read-only and
writes a single self-contained page (inline CSS and SVG, no script, no network)
with one section per question a segment's owner asks after a build:

- `#summary`: did the build pass, how many people, which segments, how big;
- `#segment-sizes`: how each segment grew or shrank over the builds, replayed
  from the append-only `segment_member_changes` log (size after build n =
  entries - exits of builds 1..n);
- `#entries-exits`: who came and went in each build;
- `#score-distributions`: how members spread over the score that ranks them;
- `#lift`: does acting on the segment work, with its 95% interval, and
  "not enough data yet" said as such;
- `#data-quality`: the gate's latest verdict and the checks over builds;
- `#identity-health`: people per identifier, identifiers per person, the
  largest people, and the links the guard rails refused;
- `#suggestions`: the k-means suggestions waiting for review.

Why so: a build that stopped early still leaves a warehouse, so every section
checks its tables and says "not available in this build" rather than failing,
and every text from the data (segment names, rules, identifier values) is
escaped, since raw inputs carry hostile strings. A Content-Security-Policy that
allows no script at all makes a missed escape harmless.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import duckdb

from customer_segments.report.charts import esc
from customer_segments.report.data import (
    Context,
    ReportError,
    Warehouse,
    load_builds,
    load_segments,
    member_counts,
    replay_sizes,
    segment_colours,
)
from customer_segments.report.sections import INTROS, RENDERERS, SECTIONS, fmt_time


CSS = """
:root { --ink:#1d2330; --muted:#5d6472; --line:#e3e6eb; --bg:#f6f7f9; --card:#fff; --accent:#0072B2; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color:var(--ink); background:var(--bg); }
header { background:#14213d; color:#fff; padding:24px 32px 12px; }
header h1 { margin:0 0 4px; font-size:26px; }
header p { margin:0; color:#c9d1e0; }
nav { display:flex; flex-wrap:wrap; gap:6px 16px; margin-top:14px; }
nav a { color:#fff; text-decoration:none; border-bottom:1px solid #6c7a99; font-size:14px; }
main { max-width:1180px; margin:0 auto; padding:8px 24px 40px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:8px 24px 20px; margin:20px 0; }
h2 { font-size:21px; margin:14px 0 4px; }
h3 { font-size:16px; margin:20px 0 6px; }
h4 { font-size:15px; margin:0 0 4px; }
p.lead { color:var(--muted); margin:0 0 12px; }
.hint { color:var(--muted); font-size:13px; margin:4px 0 8px; }
.kpis { display:flex; flex-wrap:wrap; gap:12px; margin:8px 0 12px; }
.kpi { flex:1 1 150px; border:1px solid var(--line); border-radius:6px; padding:10px 14px; background:#fbfcfd; }
.kpi-label { font-size:12px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
.kpi-value { font-size:24px; font-weight:bold; margin:2px 0; }
.kpi-note { font-size:12px; color:var(--muted); }
.grid { display:grid; grid-template-columns:repeat(auto-fill, minmax(360px, 1fr)); gap:14px; }
.card { border:1px solid var(--line); border-radius:6px; padding:10px 12px; background:#fbfcfd; overflow:hidden; }
figure { margin:8px 0; overflow-x:auto; }
svg.chart { width:100%; height:auto; display:block; }
svg .note-bg { fill:#f3f4f6; }
svg text { font-family:inherit; fill:var(--ink); }
svg .tick { font-size:11px; fill:var(--muted); }
svg .axis-label { font-size:11px; fill:var(--muted); }
svg .value { font-size:12px; }
svg .row-label { font-size:13px; }
svg .note { font-size:12px; fill:var(--muted); font-style:italic; }
svg .grid { stroke:var(--line); stroke-width:1; }
svg .axis { stroke:#9aa1ad; stroke-width:1; }
svg .zero { stroke:#14213d; stroke-width:1.5; stroke-dasharray:4 3; }
.legend { list-style:none; padding:0; margin:6px 0 0; display:flex; flex-wrap:wrap; gap:4px 16px; font-size:13px; }
.swatch { display:inline-block; width:11px; height:11px; border-radius:2px; margin-right:6px; vertical-align:-1px; }
.table-wrap { overflow-x:auto; }
table { border-collapse:collapse; width:100%; font-size:13px; margin:6px 0 10px; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; unicode-bidi:isolate; overflow-wrap:anywhere; }
td[data-col="check"] { min-width:260px; }
td[data-col="goal"] code { white-space:nowrap; }
td[data-col="segment"] { min-width:170px; } td[data-col="profile"] { min-width:280px; }
th { overflow-wrap:normal; }
td[data-col="observed"], td[data-col="threshold"] { white-space:normal; max-width:260px; }
details { margin:6px 0 10px; } summary { cursor:pointer; color:var(--accent); font-size:14px; }
th { font-size:12px; color:var(--muted); font-weight:600; background:#fbfcfd; }
.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
code { font-family:"DejaVu Sans Mono", Menlo, Consolas, monospace; font-size:12px; background:#f0f2f5; padding:1px 4px; border-radius:3px; unicode-bidi:isolate; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; color:#fff; white-space:nowrap; }
.badge.good { background:#0b7a5a; } .badge.warn { background:#b36b00; } .badge.bad { background:#b3261e; } .badge.muted { background:#7a808c; }
.kpi-value .badge { font-size:15px; padding:3px 12px; }
.good-text { color:#0b7a5a; } .bad-text { color:#b3261e; }
.unavailable { padding:10px 14px; border-left:4px solid #b36b00; background:#fff7e8; }
.empty { color:var(--muted); font-style:italic; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:0 0 24px; }
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def render_html(database_path: Path) -> str:
    """The report page as a string (see module docstring)."""
    database_path = Path(database_path)
    if not database_path.exists():
        raise ReportError(f"No warehouse at {database_path}: run `segments build` first.")
    try:
        connection = duckdb.connect(str(database_path), read_only=True)
    except duckdb.Error as problem:
        first_line = str(problem).strip().splitlines()[0]
        raise ReportError(f"Cannot open {database_path} read-only ({first_line}); if a build is running, retry when it ends.")
    with connection:
        db = Warehouse(connection)
        builds = load_builds(db)
        segments = load_segments(db)
        sizes = replay_sizes(db, builds)
        ctx = Context(db, builds, segments, member_counts(db), sizes, segment_colours(segments, list(sizes)))
        sections = []
        for section_id, title in SECTIONS:
            intro = INTROS.get(section_id, "")
            body = RENDERERS[section_id](ctx)
            sections.append(
                f'<section id="{section_id}"><h2>{esc(title)}</h2>'
                + (f'<p class="lead">{esc(intro)}</p>' if intro else "")
                + body + "</section>"
            )
    latest = builds[-1] if builds else None
    subtitle = (
        f"Build {latest.label} of {len(builds)}, built {fmt_time(latest.at)}, data as of {fmt_time(latest.as_of)}"
        if latest else "No build recorded yet"
    )
    nav = "".join(f'<a href="#{section_id}">{esc(title)}</a>' for section_id, title in SECTIONS)
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Segment report</title><style>{CSS}</style></head><body>"
        f"<header><h1>Segment report</h1><p>{esc(subtitle)} \u00b7 warehouse <code>{esc(database_path.name)}</code></p>"
        f"<nav>{nav}</nav></header><main>{''.join(sections)}</main>"
        f"<footer>Generated {esc(generated)} by <code>segments report</code> from the warehouse tables; "
        "a static page, no network needed.</footer></body></html>\n"
    )


def render_report(database_path: Path | str, out_path: Path | str) -> Path:
    """Write the report for the warehouse at `database_path` to `out_path` and return the path.

    The file is written next to its destination and renamed into place, so a
    browser or a web server never sees half a report."""
    out = Path(out_path)
    page = render_html(Path(database_path))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=out.parent)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.chmod(temporary, 0o644)
        os.replace(temporary, out)
    except OSError as problem:
        raise ReportError(f"Cannot write {out}: {problem.strerror or problem}.")
    return out
