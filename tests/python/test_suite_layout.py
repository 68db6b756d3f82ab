"""bin/test's worker layout: conftest.SHARED_BUILDS names exactly the modules that use each shared session build.

A module missing from the list still passes, but it builds the shared warehouse again on another worker
(minutes of CI time); a module listed but no longer using the build ties its worker to the group for nothing.
Read from the test files' source (any function taking the fixture, or a conftest fixture built on it, as an
argument: a test or a fixture), so the check does not depend on which tests a run selects.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.python.conftest import QUICK_MODULES, SHARED_BUILDS

TESTS = Path(__file__).resolve().parent


def fixtures_built_on(fixture: str) -> set[str]:
    """The fixture, and conftest's fixtures that take it, directly or through one another (passed_demo_build...)."""
    conftest = TESTS / "conftest.py"
    takes = {
        node.name: {argument.arg for argument in node.args.args + node.args.kwonlyargs}
        for node in ast.parse(conftest.read_text(), filename=str(conftest)).body
        if isinstance(node, ast.FunctionDef)
    }
    names = {fixture}
    while more := {name for name, arguments in takes.items() if arguments & names} - names:
        names |= more
    return names


def modules_using(fixture: str) -> set[str]:
    names = fixtures_built_on(fixture)
    using = set()
    for path in sorted(TESTS.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if names & {argument.arg for argument in node.args.args + node.args.kwonlyargs}:
                    using.add(path.stem)
    return using


def test_fixtures_built_on_a_shared_build_count_as_using_it():
    assert {"demo_build", "passed_demo_build", "demo_warehouse", "demo_people"} <= fixtures_built_on("demo_build")
    assert "demo_build" not in fixtures_built_on("demo_200k")


def test_each_shared_build_lists_the_modules_that_use_it():
    for fixture, modules in SHARED_BUILDS.items():
        assert set(modules) == modules_using(fixture), f"conftest.SHARED_BUILDS[{fixture!r}]"


def test_a_module_belongs_to_one_shared_build_at_most():
    listed = [module for modules in SHARED_BUILDS.values() for module in modules]
    assert len(listed) == len(set(listed))


def test_quick_modules_are_test_modules():
    """bin/test --quick selects by module name: a renamed module must not drop out of it silently."""
    assert sorted(set(QUICK_MODULES) - {path.stem for path in TESTS.glob("test_*.py")}) == []
