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


def test_rules_modules_import_no_django_and_no_clock():
    import ast
    import pathlib

    import schools.rules

    package = pathlib.Path(schools.rules.__file__).parent
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
        assert not imported & {"django", "rest_framework", "datetime", "time", "zoneinfo", "locale", "icu"}, (
            path
        )
