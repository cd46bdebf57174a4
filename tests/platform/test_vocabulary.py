"""One definition per fact: the school year's calendar, levels and grades, record states, gradings and refusals
live once (the kernel, or the pure rules), and every copy the models keep for Django agrees with them."""

from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy
from hocba.kernel import levels, recordstates, schoolyear
from hocba.kernel.errors import DomainError
from hocba.kernel.refusals import refusal_response, refusal_text, refusal_texts

from schools import rules
from schools.models import Grading, RecordState, Subject
from schools.models.structure import LEVELS
from schools.rules import tt22, tt27
from schools.rules.common import Grading as RuleGrading
from tenants.models import SchoolLevel, SchoolRollup
from tenants.rollups import FIELDS

KERNEL = Path(__file__).resolve().parents[2] / "platform" / "hocba" / "kernel"
APPS = {"tenants", "schools", "reporting"}


@pytest.mark.parametrize("module", ["schoolyear", "levels", "recordstates", "refusals"])
def test_vocabulary_modules_import_no_app(module):
    tree = ast.parse((KERNEL / f"{module}.py").read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & APPS


# --- the school year -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (dt.date(2025, 7, 31), 2024),
        (dt.date(2025, 8, 1), 2025),
        (dt.date(2025, 12, 31), 2025),
        (dt.date(2026, 1, 1), 2025),
    ],
)
def test_a_school_year_starts_on_1_august(day, year):
    assert schoolyear.school_year_of(day) == year


def test_school_year_bounds_are_local_and_one_year_long():
    start, end = schoolyear.school_year_bounds(2025)
    assert timezone.localtime(start).replace(tzinfo=None) == dt.datetime(2025, 8, 1)
    assert timezone.localtime(end).replace(tzinfo=None) == dt.datetime(2026, 8, 1)
    assert schoolyear.first_day(2025) == start.date()
    assert schoolyear.current_school_year() == schoolyear.school_year_of(timezone.localdate())


# --- levels and grades ----------------------------------------------------------------------------


def test_levels_and_their_grades():
    assert levels.grades_of([levels.PRIMARY]) == {1, 2, 3, 4, 5}
    assert levels.grades_of([levels.LOWER_SECONDARY, levels.UPPER_SECONDARY]) == set(range(6, 13))
    assert levels.grades_of(["kindergarten"]) == set() and levels.grades_of(None) == set()
    assert levels.GRADES == tuple(range(1, 13))
    assert [levels.level_of_grade(g) for g in (1, 5, 6, 9, 10, 12)] == [
        "primary",
        "primary",
        "lower_secondary",
        "lower_secondary",
        "upper_secondary",
        "upper_secondary",
    ]
    for grade in (0, 13):
        with pytest.raises(ValueError):
            levels.level_of_grade(grade)
    assert levels.ordered_levels(["upper_secondary", "primary", "primary", "x"]) == ["primary", "upper_secondary"]
    assert levels.LEVEL_NAMES["thcs"] == levels.LOWER_SECONDARY


def test_every_copy_of_the_levels_agrees():
    assert tuple(SchoolLevel.values) == levels.LEVELS
    assert [code for code, _label in LEVELS] == list(levels.LEVELS)
    assert Subject._meta.get_field("level").choices == levels.LEVEL_CHOICES
    assert rules.SCHOOL_LEVELS == levels.LEVELS  # the pure rules keep their own copy: they import no Django
    assert {level for level, _year, _code in rules.RULE_SCHEDULE} == set(levels.LEVELS)
    assert set(tt22.RULES.levels) | set(tt27.RULES.levels) == set(levels.LEVELS)


# --- record states --------------------------------------------------------------------------------


def test_record_states_are_the_kernels():
    assert RecordState is recordstates.RecordState
    assert recordstates.STATES == ("draft", "submitted", "approved", "signed", "locked")
    assert recordstates.EDITABLE | recordstates.FINAL == set(recordstates.STATES)
    assert not recordstates.EDITABLE & recordstates.FINAL
    assert "approved" in recordstates.FINAL and "submitted" in recordstates.EDITABLE  # plain codes from the database


def test_every_record_state_has_its_rollup_column():
    columns = {f.name for f in SchoolRollup._meta.get_fields()}
    assert {f"records_{s}" for s in recordstates.STATES} <= columns
    assert {f"records_{s}" for s in recordstates.STATES} <= set(FIELDS)


# --- gradings -------------------------------------------------------------------------------------


def test_the_models_grading_is_the_rules_grading():
    assert Grading.values == [g.value for g in RuleGrading] == ["score", "comment", "level"]
    assert [code for code, _label in Subject._meta.get_field("grading").choices] == Grading.values
    assert RuleGrading.SCORE == "score" and tt22.Grading is RuleGrading
    assert tt22.RULES.grading_of("toan") == Grading.SCORE


# --- refusals -------------------------------------------------------------------------------------


def _request(path: str):
    request = RequestFactory().get(path)
    request.user = AnonymousUser()
    return request


def test_a_refusal_is_json_under_the_api_with_the_body_of_every_refusal():
    exc = DomainError(
        "x.locked",
        gettext_lazy("Mã trường %(code)s đã tồn tại."),
        params={"code": "79000001"},
        field="code",
        http_status=423,
    )
    response = refusal_response(_request("/api/v1/things/"), exc)
    assert response.status_code == 423
    assert (
        json.loads(response.content)
        == exc.as_dict()
        == {
            "code": "x.locked",
            "detail": "Mã trường 79000001 đã tồn tại.",
            "detail_en": "School code 79000001 already exists.",
            "field": "code",
        }
    )
    assert refusal_texts(exc) == {"vi": "Mã trường 79000001 đã tồn tại.", "en": "School code 79000001 already exists."}
    with translation.override("en"):
        assert refusal_text(exc) == "School code 79000001 already exists."
    with translation.override("vi"):
        assert refusal_text(exc) == "Mã trường 79000001 đã tồn tại."


@pytest.mark.parametrize(("status", "shown"), [(404, 404), (403, 403), (400, 400), (423, 403)])
def test_a_refusal_is_a_page_elsewhere(status, shown):
    exc = DomainError("x", gettext_lazy("Mã trường %(code)s đã tồn tại."), params={"code": "1"}, http_status=status)
    response = refusal_response(_request("/manage/"), exc)
    body = response.content.decode()
    assert response.status_code == shown
    # The page's language only: no English line under the Vietnamese.
    assert f'data-status="{shown}"' in body and "Mã trường 1 đã tồn tại." in body
    assert "School code 1 already exists." not in body
    with translation.override("en"):
        english = refusal_response(_request("/manage/"), exc).content.decode()
    assert "School code 1 already exists." in english and "Mã trường 1 đã tồn tại." not in english
    assert refusal_response(_request("/manage/"), exc, as_json=True)["Content-Type"] == "application/json"
