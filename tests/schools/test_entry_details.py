"""Entry details: attendance only on school days (never a Sunday, never outside the school year) and the page's
default day; the month's attendance grid; a term I grade sheet without term II columns; comments never cut and
refused, not truncated, past their limit."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from schools import schooldays
from schools.models import Absence, Assessment, Conduct
from schools.services.classwork import absences_record
from schools.services.common import system_access
from schools.services.sheets import sheet_save
from tests.schools.test_pages import body, more_students, page, sheet_config, sheet_url
from tests.support import SCHOOL_A_HOST

SATURDAY = dt.date(2025, 10, 11)
SUNDAY = dt.date(2025, 10, 12)
MONDAY = dt.date(2025, 10, 13)
YEAR = {"starts_on": dt.date(2025, 9, 5), "ends_on": dt.date(2026, 5, 31)}  # the fixture's year; 31/05/2026: Sunday


def api(w, name: str) -> APIClient:
    client = APIClient(HTTP_HOST=SCHOOL_A_HOST)
    client.force_authenticate(w.account(name))
    return client


def attendance_url(k, query: str = "") -> str:
    return f"/classes/{k.school_class.pk}/attendance/{query}"


def month_url(k, query: str = "") -> str:
    return f"/classes/{k.school_class.pk}/attendance/month/{query}"


def picked_day(html: str) -> str:
    match = re.search(r'<input type="date" id="day" name="date" value="([0-9-]+)"', html)
    assert match, "the page has its day picker"
    return match.group(1)


# --- school days (pure rules) ---------------------------------------------------------------------------


def test_school_days_skip_sundays_and_stay_in_the_year():
    assert schooldays.last_school_day(**YEAR, today=SUNDAY) == SATURDAY
    assert schooldays.last_school_day(**YEAR, today=MONDAY) == MONDAY
    assert schooldays.last_school_day(**YEAR, today=dt.date(2025, 8, 1)) == dt.date(2025, 9, 5)  # before: first day
    assert schooldays.last_school_day(**YEAR, today=dt.date(2026, 12, 3)) == dt.date(2026, 5, 30)  # after: Saturday
    assert schooldays.previous_school_day(MONDAY, **YEAR) == SATURDAY
    assert schooldays.next_school_day(SATURDAY, **YEAR) == MONDAY
    assert schooldays.previous_school_day(dt.date(2025, 9, 5), **YEAR) is None
    assert schooldays.next_school_day(dt.date(2026, 5, 30), **YEAR) is None  # 31/05 is a Sunday, the year's last day
    october = schooldays.month_days(dt.date(2025, 10, 20), **YEAR, today=MONDAY)
    assert len(october) == 31 and october[0].date == dt.date(2025, 10, 1)
    assert [d.date.day for d in october if not d.school_day] == [5, 12, 19, 26]
    assert [d.date.day for d in october if d.future][:1] == [14]
    september = schooldays.month_days(dt.date(2025, 9, 1), **YEAR, today=MONDAY)
    assert [d.date.day for d in september if d.school_day][:2] == [5, 6]  # from the year's first day, Saturdays in
    assert schooldays.shift_month(dt.date(2025, 12, 1), 1) == dt.date(2026, 1, 1)
    assert schooldays.shift_month(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)


# --- attendance: a Sunday is refused, by the page and the API --------------------------------------------


def test_a_sunday_is_refused_by_the_api_and_nothing_is_written(w, klass):
    client = api(w, "homeroom_a")
    url = f"/api/v1/classes/{klass.school_class.pk}/absences/"
    entries = [{"student": klass.students[0], "excused": True, "reason": "Ốm"}]
    refused = client.put(url, {"date": "12/10/2025", "entries": entries}, format="json")
    assert refused.status_code == 400, refused.content
    data = refused.json()
    assert data["code"] == "class.date_not_school_day" and data["field"] == "date"
    assert data["detail"] == "Ngày 12/10/2025 là Chủ nhật, không phải ngày học: không điểm danh ngày này."
    assert "Sunday" in data["detail_en"]
    outside = client.put(url, {"date": "01/06/2026", "entries": entries}, format="json")
    assert outside.status_code == 400 and outside.json()["code"] == "class.date_outside_year"
    assert not Absence.objects.exists()
    saturday = client.put(url, {"date": "11/10/2025", "entries": entries}, format="json")  # no setting: Saturdays in
    assert saturday.status_code == 200 and saturday.json() == {"count": 1}
    assert list(Absence.objects.values_list("date", flat=True)) == [SATURDAY]


def test_the_page_never_shows_a_sunday_to_enter(w, klass):
    client = page(w, "homeroom_a")
    html = body(client.get(attendance_url(klass, "?date=12/10/2025")))
    assert "Ngày 12/10/2025 là Chủ nhật, không phải ngày học" in html and "đang hiện ngày 11/10/2025" in html
    assert picked_day(html) == "2025-10-11"
    monday = body(client.get(attendance_url(klass, "?date=2025-10-13")))  # what the date picker sends
    assert picked_day(monday) == "2025-10-13" and "13/10/2025" in monday
    assert 'href="?date=11/10/2025" rel="prev"' in monday and 'href="?date=14/10/2025" rel="next"' in monday
    saturday = body(client.get(attendance_url(klass, "?date=11/10/2025")))
    assert 'href="?date=13/10/2025" rel="next"' in saturday  # over the Sunday
    assert f'href="/classes/{klass.school_class.pk}/attendance/month/?month=10/2025"' in monday


def test_the_page_opens_on_the_last_school_day(w, klass, monkeypatch):
    client = page(w, "homeroom_a")
    if timezone.localdate() > YEAR["ends_on"]:  # the suite runs after the fixture's year: its last school day
        assert picked_day(body(client.get(attendance_url(klass)))) == "2026-05-30"
    for today, expected in ((SUNDAY, "2025-10-11"), (MONDAY, "2025-10-13"), (dt.date(2025, 8, 20), "2025-09-05")):
        monkeypatch.setattr(timezone, "localdate", lambda *args, today=today, **kwargs: today)
        assert picked_day(body(client.get(attendance_url(klass)))) == expected, today


# --- the month's grid -----------------------------------------------------------------------------------


def test_marks_of_several_days_are_all_or_nothing(w, klass):
    absences_record(
        access=system_access(klass.school.pk),
        school_class=klass.school_class,
        date=MONDAY,
        entries=[{"student": klass.students[1], "excused": True, "reason": "Ốm"}],
    )
    client = api(w, "homeroom_a")
    url = f"/api/v1/classes/{klass.school_class.pk}/absences/marks/"
    a, b = klass.students[0], klass.students[1]
    bad = [
        {"student": a, "date": "10/10/2025", "mark": "K"},
        {"student": a, "date": "12/10/2025", "mark": "P"},
        {"student": b, "date": "13/10/2025", "mark": "X"},
        {"student": klass.other_students[0], "date": "14/10/2025", "mark": "P"},
    ]
    refused = client.put(url, {"marks": bad}, format="json")
    assert refused.status_code == 400, refused.content
    errors = refused.json()["errors"]
    assert [(e["index"], e["code"]) for e in errors] == [
        (1, "class.date_not_school_day"),
        (2, "class.bad_absence_mark"),
        (3, "class.student_not_in_class"),
    ]
    assert errors[0]["field"] == "12/10/2025" and "Chủ nhật" in errors[0]["detail"]
    assert list(Absence.objects.values_list("student_id", "date", "excused")) == [(b, MONDAY, True)]  # unchanged

    good = [
        {"student": a, "date": "10/10/2025", "mark": "K"},
        {"student": a, "date": "11/10/2025", "mark": "P"},
        {"student": b, "date": "13/10/2025", "mark": "K"},  # was P: becomes K and keeps its reason
        {"student": b, "date": "14/10/2025", "mark": ""},  # present: nothing to delete
    ]
    assert client.put(url, {"marks": good}, format="json").json() == {"count": 4}
    rows = set(Absence.objects.values_list("student_id", "date", "excused", "reason"))
    assert rows == {(a, dt.date(2025, 10, 10), False, ""), (a, SATURDAY, True, ""), (b, MONDAY, False, "Ốm")}
    cleared = client.put(url, {"marks": [{"student": a, "date": "10/10/2025", "mark": ""}]}, format="json")
    assert cleared.status_code == 200 and Absence.objects.count() == 2
    assert api(w, "teacher_a").put(url, {"marks": good}, format="json").status_code == 403


def test_the_month_grid_shows_every_day_and_the_counts_in_constant_queries(w, klass):
    system = system_access(klass.school.pk)
    for day, students in ((dt.date(2025, 10, 10), klass.students[:3]), (MONDAY, klass.students[:1])):
        absences_record(
            access=system,
            school_class=klass.school_class,
            date=day,
            entries=[{"student": s, "excused": s == klass.students[0]} for s in students],
        )
    client = page(w, "homeroom_a")

    def month_page() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(month_url(klass, "?month=10/2025"))
        assert response.status_code == 200
        return body(response), len(queries)

    html, few = month_page()
    assert re.findall(r'<th scope="col" class="day[^"]*" data-date="(\d\d)/10/2025"', html) == [
        f"{d:02d}" for d in range(1, 32)
    ]
    sundays = re.findall(r'<th scope="col" class="day off[^"]*" data-date="(\d\d)/10/2025"', html)
    assert sundays == ["05", "12", "19", "26"]
    assert f'<a href="/classes/{klass.school_class.pk}/attendance/?date=10/10/2025">10' in html
    counts = re.findall(r'<td class="day num[^"]*" data-absent="(\d+)"', html)
    assert counts[9] == "3" and counts[12] == "1" and counts[0] == "0" and len(counts) == 31
    first = re.search(rf'<tr data-student="{klass.students[0]}".*?</tr>', html, re.S).group(0)
    assert 'data-code="10/10/2025" data-original="P"' in first and 'data-code="13/10/2025" data-original="P"' in first
    assert 'data-code="12/10/2025"' not in first  # a Sunday takes nothing
    assert re.search(r'<td class="num">2</td>\s*<td class="num">0</td>', first)  # 2 excused, 0 not, this month
    assert 'href="?month=09/2025" rel="prev"' in html and 'href="?month=11/2025" rel="next"' in html
    assert f"/api/v1/classes/{klass.school_class.pk}/absences/marks/" in html
    september = body(client.get(month_url(klass, "?month=09/2025")))
    assert 'rel="prev"' not in september  # the school year starts in September
    assert "nằm ngoài năm học" in body(client.get(month_url(klass, "?month=07/2026")))

    more_students(klass, 10)
    _html, many = month_page()
    assert many == few, (few, many)
    assert page(w, "teacher_a").get(month_url(klass)).status_code == 403


# --- a term I page shows no term II column ---------------------------------------------------------------


def headers(html: str) -> list[str]:
    thead = re.search(r'<table class="sheet".*?<thead>(.*?)</thead>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", thead, re.S)]


def test_the_term_one_sheet_has_no_term_two_or_year_column(w, klass):
    client = page(w, "teacher_a")
    term1 = headers(body(client.get(sheet_url(klass, 1))))
    assert term1[-2:] == ["Nhận xét", "ĐTBmhk I"] and "ĐTBmhk II" not in term1 and "ĐTBmcn" not in term1
    term2_html = body(client.get(sheet_url(klass, 2)))
    assert headers(term2_html)[-3:] == ["ĐTBmhk I", "ĐTBmhk II", "ĐTBmcn"]
    assert 'class="reference">ĐTBmhk I</th>' in term2_html  # term I: for reference on the term II page
    pe1 = headers(body(client.get(sheet_url(klass, 1, klass.pe))))
    assert pe1[-1] == "KQ HK I" and "KQ HK II" not in pe1 and "KQ cả năm" not in pe1
    conduct = page(w, "homeroom_a")
    conduct1 = body(conduct.get(f"/classes/{klass.school_class.pk}/conduct/1/"))
    assert ">HK II<" not in conduct1 and "Rèn luyện HK I" in conduct1
    assert ">HK I<" in body(conduct.get(f"/classes/{klass.school_class.pk}/conduct/2/"))


# --- the grade sheet's validation messages and long comments ----------------------------------------------


def test_the_sheet_hands_the_script_its_cell_messages_and_a_growing_comment_box(w, klass):
    comment = ("Em chăm chỉ, tiếp thu bài nhanh, tích cực phát biểu xây dựng bài. " * 14)[:900]
    sheet_save(
        access=system_access(klass.school.pk),
        school_class=klass.school_class,
        subject=klass.math,
        term=1,
        cells=[{"student": klass.students[0], "column": "nx", "value": comment}],
    )
    html = body(page(w, "teacher_a").get(sheet_url(klass)))
    messages = sheet_config(html)["messages"]
    assert messages["invalid_count"] == "%(n)s ô chưa hợp lệ"
    assert messages["blocked"] == "Chưa tính được: ô %(cell)s (“%(value)s”) chưa hợp lệ."
    assert {"short_high", "short_nan", "short_decimals", "short_letter", "why_high"} <= set(messages)
    assert '<span id="sheet-invalid" class="sheet-invalid" hidden></span>' in html
    box = re.search(
        rf'<textarea rows="1" data-student="{klass.students[0]}" data-column="nx"[^>]*>(.*?)</textarea>', html, re.S
    )
    assert box and 'data-counter="ký tự" maxlength="2000"' in box.group(0)
    assert box.group(1) == comment.strip()  # the whole comment, not an input cut to its width
    assert "/static/schools/comments.js" in html


def test_a_comment_past_its_limit_is_refused_not_cut(w, klass):
    client = api(w, "teacher_a")
    url = f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/"
    too_long = "a" * 2001
    refused = client.put(
        url, {"cells": [{"student": klass.students[0], "column": "nx", "value": too_long}]}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "sheet.comment_too_long"
    assert "2001 ký tự, quá giới hạn 2000" in refused.json()["errors"][0]["detail"]
    assert not Assessment.objects.exists()
    homeroom = api(w, "homeroom_a")
    conduct_url = f"/api/v1/classes/{klass.school_class.pk}/conduct/1/"
    entries = [{"student": klass.students[0], "level": "T", "text": too_long}]
    refused = homeroom.put(conduct_url, {"entries": entries}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "class.text_too_long"
    assert not Conduct.objects.exists()
    entries[0]["text"] = "b" * 2000
    assert homeroom.put(conduct_url, {"entries": entries}, format="json").status_code == 200
    assert Conduct.objects.get().text == "b" * 2000
    conduct_page = body(page(w, "homeroom_a").get(f"/classes/{klass.school_class.pk}/conduct/1/"))
    assert re.search(
        r'<textarea name="text" rows="1" data-original="b{2000}" data-counter="ký tự" maxlength="2000"', conduct_page
    )
    comments = body(page(w, "homeroom_a").get(f"/year-end/classes/{klass.school_class.pk}/comments/"))
    assert 'maxlength="4000" data-counter="ký tự"' in comments


@pytest.mark.parametrize("name", ["comments.js"])
def test_the_comment_script_parses(name):
    import shutil
    import subprocess
    from pathlib import Path

    node = shutil.which("node")
    assert node, "node is needed to check the pages' JavaScript"
    path = Path(__file__).resolve().parents[2] / "schools" / "static" / "schools" / name
    result = subprocess.run([node, "--check", str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
