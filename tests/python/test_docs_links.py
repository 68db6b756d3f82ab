"""The README and docs/*.md stay honest: links resolve, every knob is documented, the folder map is true.

Each rule is a small checker that returns the problems it finds (an empty list
when there are none); the tests at the bottom feed each checker a planted
violation and require it to be reported, so none of them can pass by checking
nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

# Folders whose top-level entries the folder map must list, and which files
# directly inside them count as entries (folders always count).
MAPPED_ROOTS = {
    "customer_segments": "*.py",
    "models": None,
    "python_models": None,
    "macros": "*.sql",
    "seeds": "*.csv",
}
MAP_HEADING = "Folder map"

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^(```|~~~)")


def markdown_files() -> list[Path]:
    """The README and every page under docs/."""
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def _without_code(text: str) -> str:
    """The text with fenced blocks and inline code removed (links there are examples, not links)."""
    kept, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            kept.append(re.sub(r"`[^`]*`", "", line))
    return "\n".join(kept)


def links(text: str) -> list[str]:
    """Targets of the markdown links and images in text, outside code."""
    return [a or b for a, b in _LINK.findall(_without_code(text))]


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but - and _ dropped, spaces to -."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors of a markdown page's headings (repeated headings get -1, -2, ... as on GitHub)."""
    seen: dict[str, int] = {}
    found = set()
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line.strip()):
            fenced = not fenced
            continue
        match = None if fenced else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            slug = github_slug(match.group(1))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """Relative links of page that lead to no file of the repo, or to no heading of it."""
    problems = []
    text = page.read_text(encoding="utf-8")
    for target in links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not ours to check
            continue
        path_part, _, anchor = target.partition("#")
        file = (page.parent / path_part).resolve() if path_part else page
        where = f"{page.relative_to(root)}: {target}"
        try:
            file.relative_to(root.resolve())
        except ValueError:
            problems.append(f"{where}: points outside the repository")
            continue
        if not file.exists():
            problems.append(f"{where}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text(encoding="utf-8")):
            problems.append(f"{where}: no heading with that anchor")
    return problems


def project_vars(dbt_project: Path = ROOT / "dbt_project.yml") -> list[str]:
    """Names of the vars declared under `vars:` in dbt_project.yml."""
    return list(yaml.safe_load(dbt_project.read_text(encoding="utf-8"))["vars"])


def undocumented_vars(names: list[str], knobs_text: str) -> list[str]:
    """Vars whose name does not appear, as a whole name in backticks, on the knobs page."""
    return [name for name in names if f"`{name}`" not in knobs_text]


def folder_map(architecture_text: str) -> list[str]:
    """The paths of the folder map: the first fenced block after the heading "Folder map".

    Each entry line starts with a path (folders end with "/"); indented lines
    continue the description of the entry above.
    """
    lines = architecture_text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"^#+\s+{MAP_HEADING}\s*$", line))
    paths, inside = [], False
    for line in lines[start + 1 :]:
        if _FENCE.match(line.strip()):
            if inside:
                break
            inside = True
            continue
        if inside and line.strip() and not line[0].isspace():
            paths.append(line.split()[0])
    return paths


def map_problems(paths: list[str], root: Path = ROOT) -> list[str]:
    """Map paths that do not exist, and top-level entries of the mapped folders the map leaves out."""
    problems = [f"{path}: in the folder map but not in the repository" for path in paths if not (root / path).exists()]
    listed = {path.rstrip("/") for path in paths}
    for folder, file_pattern in MAPPED_ROOTS.items():
        entries = [p for p in (root / folder).iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
        if file_pattern:
            entries += [p for p in (root / folder).glob(file_pattern) if not p.name.startswith("_")]
        for entry in sorted(entries):
            name = entry.relative_to(root).as_posix()
            if name not in listed:
                problems.append(f"{name}: in the repository but not in the folder map")
    return problems


_OUTSIDE = re.compile(r"(?<![\w.])(?:\.\./)+(?:shared|work|main|wt-[\w-]+)/[^\s)`'\"]*|/work/[\w.-]+/[^\s)`'\"]*")


def outside_mentions(text: str) -> list[str]:
    """References in text to files outside the repository: ../shared/..., /work/<folder>/..."""
    return [match.group(0).rstrip(".,;:") for match in _OUTSIDE.finditer(text)]


def project_text_files() -> list[Path]:
    """The project's own text files: code, models, docs, commands and CI."""
    files = [ROOT / name for name in ("README.md", "dbt_project.yml", "profiles.yml", "pyproject.toml")]
    for folder in ("customer_segments", "models", "python_models", "macros", "seeds", "tests", "bin", "docs", ".ci"):
        files += [
            path for path in (ROOT / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in {".py", ".sql", ".yml", ".md", ".csv", ""}
        ]
    return files


# --- the repository as it is ---------------------------------------------------------------------


def test_docs_pages_exist():
    assert (DOCS / "knobs.md").exists() and (DOCS / "architecture.md").exists()
    assert len(markdown_files()) > 2


def test_every_relative_link_resolves():
    problems = [problem for page in markdown_files() for problem in broken_links(page)]
    assert not problems, "\n".join(problems)


def test_every_var_is_on_the_knobs_page():
    names = project_vars()
    assert len(names) > 30  # the parse found the vars
    missing = undocumented_vars(names, (DOCS / "knobs.md").read_text(encoding="utf-8"))
    assert not missing, f"vars of dbt_project.yml missing from docs/knobs.md: {missing}"


def test_folder_map_is_true_and_complete():
    paths = folder_map((DOCS / "architecture.md").read_text(encoding="utf-8"))
    assert len(paths) > 20  # the parse found the map
    problems = map_problems(paths)
    assert not problems, "\n".join(problems)


def test_readme_is_a_front_door():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    assert "docs/report.png" in readme


def test_the_contract_is_named_by_its_path():
    """The contract is docs/contract.md; nothing may send the reader to its old name."""
    old_name = "CONTRACT" + ".md"
    offenders = [
        str(path.relative_to(ROOT))
        for path in project_text_files()
        if old_name in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert (DOCS / "contract.md").exists() and not offenders, offenders


def test_no_link_or_comment_points_outside_the_repo():
    """No text file of the project sends the reader outside the clone (a sibling folder, a machine path)."""
    offenders = []
    for path in project_text_files():
        if path != Path(__file__).resolve():  # this file plants such references on purpose
            text = path.read_text(encoding="utf-8", errors="replace")
            offenders += [f"{path.relative_to(ROOT)}: {mention}" for mention in outside_mentions(text)]
    assert not offenders, offenders


# --- each checker reports a planted violation ----------------------------------------------------


def test_a_broken_link_is_reported(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A page\n\n## Some heading, with punctuation!\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(
        "[fine](docs/a.md) [fine too](docs/a.md#some-heading-with-punctuation) [web](https://example.com)\n"
        "[gone](docs/missing.md) [bad anchor](docs/a.md#no-such-heading) [out](../shared/STYLE.md)\n"
        "[self](#nowhere)\n```\n[in code](docs/not-checked.md)\n```\n",
        encoding="utf-8",
    )
    problems = broken_links(page, root=tmp_path)
    assert len(problems) == 4, problems
    assert any("docs/missing.md" in p and "no such file" in p for p in problems)
    assert any("#no-such-heading" in p for p in problems)
    assert any("../shared/STYLE.md" in p and "outside" in p for p in problems)
    assert any("#nowhere" in p for p in problems)


def test_a_reference_outside_the_repo_is_reported():
    text = "see ../shared/STYLE.md and /work/main/README.md; but ../models/x.sql and a/../b stay"
    assert outside_mentions(text) == ["../shared/STYLE.md", "/work/main/README.md"]


def test_github_slugs():
    assert github_slug("Serving BI while dbt builds") == "serving-bi-while-dbt-builds"
    assert github_slug("What needs a `--full-refresh`?") == "what-needs-a---full-refresh"
    assert github_slug("Data-quality gate (DQ_gate)") == "data-quality-gate-dq_gate"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}


def test_a_missing_var_is_reported(tmp_path):
    project = tmp_path / "dbt_project.yml"
    project.write_text("name: x\nvars:\n  holdout_share: 0.1\n  holdout_salt: s\n  new_knob: 3\n", encoding="utf-8")
    knobs = "| `holdout_share` / `holdout_salt` | 0.10 / s | ... |\nnew_knob_extra is not new_knob\n"
    assert undocumented_vars(project_vars(project), knobs) == ["new_knob"]


def test_a_stale_folder_map_is_reported(tmp_path):
    for folder in ("customer_segments/report", "models/staging", "python_models/quality", "macros", "seeds"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "customer_segments" / "publish.py").write_text("", encoding="utf-8")
    (tmp_path / "customer_segments" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "macros" / "vars.sql").write_text("", encoding="utf-8")
    (tmp_path / "seeds" / "icp_rules.csv").write_text("", encoding="utf-8")
    page = (
        "# Architecture\n\n## Folder map\n\n```\n"
        "customer_segments/report/   the HTML report\n"
        "                            (a continuation line)\n"
        "models/staging/             one folder per source\n"
        "models/marts/gone/          a folder that was moved away\n"
        "python_models/quality/      dq_checks\n"
        "macros/vars.sql             checks of the knobs\n"
        "```\n"
    )
    paths = folder_map(page)
    assert paths == [
        "customer_segments/report/",
        "models/staging/",
        "models/marts/gone/",
        "python_models/quality/",
        "macros/vars.sql",
    ]
    problems = map_problems(paths, root=tmp_path)
    assert sorted(problems) == [
        "customer_segments/publish.py: in the repository but not in the folder map",
        "models/marts/gone/: in the folder map but not in the repository",
        "seeds/icp_rules.csv: in the repository but not in the folder map",
    ]
