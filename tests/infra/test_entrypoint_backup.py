"""The entrypoint's provision, backup and restore subcommands, in dry-run (no Docker engine, no database)."""

from __future__ import annotations

import pytest

from tests.infra.test_infra import run_entrypoint


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("provision", "/data/schools.csv"), "exec: python manage.py provision_schools /data/schools.csv"),
        (
            ("provision", "/data/schools.xlsx", "--dry-run"),
            "exec: python manage.py provision_schools /data/schools.xlsx --dry-run",
        ),
        (("backup", "thcs-an-thanh"), "exec: python manage.py school_backup thcs-an-thanh"),
        (("backup", "--all", "--to", "/backups"), "exec: python manage.py school_backup --all --to /backups"),
        (
            ("restore", "backups/s_thcs_an_thanh/20261203T011000Z", "s_thcs_an_thanh_r1"),
            "exec: python manage.py school_restore backups/s_thcs_an_thanh/20261203T011000Z --as s_thcs_an_thanh_r1",
        ),
    ],
)
def test_subcommands_map_to_manage_commands(args: tuple[str, ...], expected: str) -> None:
    result = run_entrypoint(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == [expected]


@pytest.mark.parametrize(
    "args",
    [
        ("provision",),
        ("backup",),
        ("restore",),
        ("restore", "backups/s_a/20261203T011000Z"),
        ("restore", "a", "b", "c"),
    ],
)
def test_missing_arguments_are_refused_with_usage(args: tuple[str, ...]) -> None:
    result = run_entrypoint(*args)
    assert result.returncode == 2
    assert f"usage: {args[0]}" in result.stderr and result.stdout == ""
