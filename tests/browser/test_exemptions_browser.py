"""Exemption in a real Chromium against a real server (see conftest.py for the set-up).

"The principal exempts a student from physical education for the year and sees the learning result computed
without it": a student of 6A2 (Trường THCS Nguyễn Du; a class the other browser tests leave alone) has every subject
entered but physical education, so the record book shows no learning result; once the decision is recorded on the
class's exemption page, the grade sheet shows the cells as "Miễn" without inputs and the record book prints
"Miễn học" and the year's learning result. The page also fits a 390-px phone. Screenshots: ``/tmp/browser-shots/ex-*``.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.test_records_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCHOOL = "thcs-nguyen-du"
SCHEMA = "s_" + SCHOOL.replace("-", "_")
PRINCIPAL = "nguyendu.hieutruong"  # TOTP
PE = "giao_duc_the_chat"

PUT_JSON = """async ([url, body]) => {
    const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
    const response = await fetch(url, {method: "PUT", body: JSON.stringify(body), headers: {
        "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token}});
    return [response.status, await response.text()];
}"""


def _regular(periods: int) -> int:
    return 2 if periods <= 35 else 3 if periods <= 70 else 4


def _learning_row(page):
    return page.locator("tr", has=page.locator("th", has_text=re.compile(r"^Kết quả học tập$"))).locator("td.val")


def test_exempting_a_student_from_physical_education_computes_the_learning_result_without_it(site, new_context, shots):
    ((klass,),) = site.sql(
        f"select c.id from {SCHEMA}.schools_schoolclass c join {SCHEMA}.schools_schoolyear y on y.id = c.year_id"
        " where c.name = '6A2' and y.start_year = 2025"
    )
    ((student, name),) = site.sql(
        f"select s.id, s.full_name from {SCHEMA}.schools_enrolment e join {SCHEMA}.schools_student s"
        " on s.id = e.student_id where e.school_class_id = %s order by s.sort_key, s.id limit 1",
        (klass,),
    )
    subjects = site.sql(
        f"select id, code, grading, periods_per_year from {SCHEMA}.schools_subject"
        " where level = 'lower_secondary' and 6 = any(grades)"
    )
    pe = next(sid for sid, code, _g, _p in subjects if code == PE)

    page = new_context().new_page()
    sign_in(page, site, PRINCIPAL, totp=True)
    exemptions_url = site.url(SCHOOL, f"/classes/{klass}/exemptions/")
    page.goto(exemptions_url)
    assert page.locator("main h1").inner_text().strip() == "Miễn học — lớp 6A2 — năm học 2025–2026"

    # Every subject but physical education, both terms, for the student: one whole-class save per term.
    for term in (1, 2):
        body = {
            "sheets": [
                {
                    "subject": sid,
                    "cells": [
                        {"student": student, "column": column, "value": "8" if grading == "score" else "Đ"}
                        for column in [f"tx{i}" for i in range(1, _regular(periods) + 1)] + ["gk", "ck"]
                    ],
                }
                for sid, code, grading, periods in subjects
                if code != PE
            ]
        }
        status, text = page.evaluate(PUT_JSON, [f"/api/v1/classes/{klass}/terms/{term}/sheets/", body])
        assert status == 200, text[:500]

    record_url = site.url(SCHOOL, f"/students/{student}/record/")
    page.goto(record_url)
    assert [t.strip() for t in _learning_row(page).all_inner_texts()] == ["—", "—", "—"]  # PE blank: not computed
    page.screenshot(path=str(shots / "ex-1-record-before.png"), full_page=True)

    # The principal records the decision on the class's exemption page.
    page.goto(exemptions_url)
    page.select_option("#exemption-student", str(student))
    page.select_option("#exemption-subject", str(pe))
    page.select_option("#exemption-part", "subject")
    page.select_option("#exemption-term", "")
    page.fill("#exemption-number", "25/QĐ-THCSND")
    page.fill("#exemption-date", "15/09/2025")
    page.fill("#exemption-reason", "Sức khỏe: theo giấy chứng nhận của bệnh viện")
    page.click("#exemption-save")
    page.wait_for_url(exemptions_url)
    row = page.locator(f"#exemptions tbody tr[data-student='{student}']")
    assert row.count() == 1
    cells = [t.strip() for t in row.locator("td").all_inner_texts()]
    assert cells[:6] == [name, "Giáo dục thể chất", "Miễn học cả môn", "Cả năm học", "25/QĐ-THCSND", "15/09/2025"]
    page.screenshot(path=str(shots / "ex-2-decision.png"), full_page=True)

    # The grade sheet: the student's cells read "Miễn" and take no input; the others' do.
    page.goto(site.url(SCHOOL, f"/classes/{klass}/sheets/{pe}/1/"))
    mine = page.locator(f"#sheet tbody tr[data-student='{student}']")
    assert mine.locator("input").count() == 0
    assert set(mine.locator("td[data-exempt]").all_inner_texts()) == {"Miễn"}
    assert page.locator("#sheet tbody tr").nth(1).locator("input").count() > 0
    page.screenshot(path=str(shots / "ex-3-sheet.png"), full_page=True)

    # The record book: physical education "Miễn học", the learning result computed without it.
    page.goto(record_url)
    line = page.locator(f"#record-subjects tr[data-subject='{pe}'] td.val")
    assert [t.strip() for t in line.all_inner_texts()] == ["Miễn học"] * 3
    assert [t.strip() for t in _learning_row(page).all_inner_texts()] == ["Tốt", "Tốt", "Tốt"]
    page.screenshot(path=str(shots / "ex-4-record-after.png"), full_page=True)

    # On a phone the page does not scroll sideways (the list scrolls in its own box).
    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(exemptions_url)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(shots / f"ex-5-page-{width}.png"), full_page=True)
