"""A copy of the dbt project in a temporary folder, for tests that change the project's code.

Tests that must prove a guard fails (a segment on a sensitive attribute) or that a code change
is noticed (build_audit's code_version) edit a copy, never the checkout. The copy holds what dbt
reads to build: dbt_project.yml, models, python_models, macros, seeds and the singular tests.
Run dbt on it with `Workspace.dbt(..., "--project-dir", str(copy))`; profiles.yml still comes
from the repository (the Workspace sets DBT_PROFILES_DIR), and the dbt Python models import the
installed `customer_segments` package as usual.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from conftest import REPO_ROOT

PROJECT_PARTS = ("dbt_project.yml", "models", "python_models", "macros", "seeds", "tests/dbt")


def copy_project(destination: Path) -> Path:
    """Copy the project's dbt files to `destination` (created) and return it."""
    destination.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        source, target = REPO_ROOT / part, destination / part
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def add_catalog_segment(project: Path, model_name: str, sql: str, meta: dict) -> None:
    """Add a catalog segment to a copy: its model, its YAML with meta.segment, and its name in segment_models()."""
    import yaml

    catalog = project / "models" / "marts" / "segments" / "catalog"
    (catalog / f"{model_name}.sql").write_text(sql)
    (catalog / f"_{model_name}.yml").write_text(yaml.safe_dump({
        "version": 2,
        "models": [{
            "name": model_name,
            "description": f"Test segment {model_name}.",
            "config": {"meta": {"segment": meta}},
        }],
    }))
    macros = project / "macros" / "segments.sql"
    listed, found = re.subn(
        r"(macro segment_models\(\).*?return\(\[)", rf"\1\n        '{model_name}',", macros.read_text(), count=1, flags=re.S
    )
    assert found == 1, "macro segment_models() no longer returns a list literal: update tests/python/project_copy.py"
    macros.write_text(listed)
