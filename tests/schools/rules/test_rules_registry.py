"""schools.rules registry: rule sets by circular, chosen by school level and year."""

import dataclasses

import pytest

from schools.rules import RULE_SCHEDULE, RULE_SETS, RuleInputError, rules_for, tt22, tt27


def test_rule_sets_by_circular_code():
    assert RULE_SETS == {"TT22/2021": tt22.RULES, "TT27/2020": tt27.RULES}
    for code, rules in RULE_SETS.items():
        assert rules.code == code
        assert dataclasses.is_dataclass(rules)
        with pytest.raises(dataclasses.FrozenInstanceError):
            rules.code = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("level", "year", "code"),
    [
        ("primary", 2020, "TT27/2020"),
        ("primary", 2025, "TT27/2020"),
        ("lower_secondary", 2021, "TT22/2021"),
        ("lower_secondary", 2025, "TT22/2021"),
        ("upper_secondary", 2022, "TT22/2021"),
        ("upper_secondary", 2030, "TT22/2021"),
    ],
)
def test_rules_for_level_and_year(level, year, code):
    assert rules_for(level, year).code == code
    assert level in rules_for(level, year).levels


@pytest.mark.parametrize(
    ("level", "year", "code"),
    [
        ("kindergarten", 2025, "unknown_school_level"),
        ("THCS", 2025, "unknown_school_level"),
        ("primary", 2019, "no_rule_set"),
        ("lower_secondary", 2020, "no_rule_set"),
        ("upper_secondary", 2021, "no_rule_set"),
        ("primary", "2025", "school_year_invalid"),
        ("primary", True, "school_year_invalid"),
    ],
)
def test_rules_for_rejects(level, year, code):
    with pytest.raises(RuleInputError) as caught:
        rules_for(level, year)
    assert caught.value.code == code


def test_schedule_only_names_known_rule_sets():
    assert {code for _, _, code in RULE_SCHEDULE} <= set(RULE_SETS)


# Runs in a fresh interpreter: with Django and every clock module unimportable, each rules module still loads and the
# rules still answer.
PURE = """
import os, sys
for name in ("django", "rest_framework", "datetime", "time", "zoneinfo", "locale", "icu"):
    sys.modules[name] = None
import schools.rules
package = os.path.dirname(schools.rules.__file__)
for file in sorted(os.listdir(package)):
    if file.endswith(".py") and file != "__init__.py":
        __import__("schools.rules." + file[:-3])
print(schools.rules.rules_for("lower_secondary", 2025).code, schools.rules.rules_for("primary", 2025).code)
"""


def test_rules_run_without_django_and_without_a_clock():
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", PURE],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["TT22/2021", "TT27/2020"]
