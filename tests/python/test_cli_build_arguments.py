"""`segments build` leaves dbt's unit tests to CI unless asked (docs/scheduling.md)."""

from __future__ import annotations

import pytest

from customer_segments import cli


def arguments(*command: str) -> list[str]:
    return cli.build_arguments(cli.parse_arguments(["build", *command]))


def test_a_scheduled_build_skips_the_unit_tests():
    assert arguments() == ["build", "--exclude-resource-type", "unit_test"]


def test_unit_tests_on_request():
    assert arguments("--unit-tests") == ["build"]


def test_the_users_arguments_come_through():
    assert arguments("--", "--select", "people+") == ["build", "--select", "people+", "--exclude-resource-type",
                                                      "unit_test"]


@pytest.mark.parametrize("choice", [["--resource-type", "model"], ["--exclude-resource-type=seed"]])
def test_resource_types_the_user_chose_are_left_alone(choice):
    assert arguments("--", *choice) == ["build", *choice]
