"""The board's drill-down province → unit → school → class: a school's page on the platform site with its classes'
figures (``ClassRollup``: no student, no student's name), a class's page, the way to ask for a read grant, the
classes as an Excel file; every board URL × role × a unit officer asking for the other unit's ids; the number of
queries of every board view the same for 2 schools as for 12."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.utils import timezone
from hocba.kernel.schoolyear import current_school_year
from openpyxl import load_workbook

from tenants.models import ClassRollup, School, SchoolPlacement, SchoolRollup, Window
from tenants.views import boards as board_views
from tests.support import DAY, client_for, page_text

YEAR = current_school_year()
CLASS_A, CLASS_B = 501, 777  # school-local ids: A's class 6A1, B's class 9B2


def rollup(school_id: int, **figures) -> None:
    SchoolRollup.objects.update_or_create(school_id=school_id, year_start=YEAR, defaults=figures)


def class_row(school_id: int, class_id: int, name: str, grade: int, **figures) -> ClassRollup:
    return ClassRollup.objects.create(
        school_id=school_id, year_start=YEAR, class_id=class_id, name=name, grade=grade, **figures
    )


@pytest.fixture
def drill(w):
    rollup(w.school_a, students=70, classes=2, sheets_required_term1=20, sheets_done_term1=15)
    rollup(w.school_b, students=35, classes=1)
    class_row(
        w.school_a,
        CLASS_A,
        "6A1",
        6,
        students=35,
        records_draft=5,
        records_approved=30,
        sheets_required_term1=10,
        sheets_done_term1=9,
    )
    class_row(w.school_a, 502, "7A1", 7, students=35, sheets_required_term1=10, sheets_done_term1=6)
    class_row(w.school_b, CLASS_B, "9B2", 9, students=35)
    Window.objects.create(
        tier="unit",
        unit_id=w.unit_a,
        category="scores_1",
        year_start=YEAR,
        opens_at=timezone.now() - timezone.timedelta(days=30),
        locks_at=timezone.now() + timezone.timedelta(days=2),
        reason="Lịch thử nghiệm",
    )
    return w


def school_url(school_id: int) -> str:
    return f"/manage/board/schools/{school_id}/"


def class_url(school_id: int, class_id: int) -> str:
    return f"/manage/board/schools/{school_id}/classes/{class_id}/"


def test_school_page_shows_its_classes_figures_and_the_way_to_a_grant(drill):
    w = drill
    client = client_for(w.account("inspector"))
    html = page_text(client.get(school_url(w.school_a)))
    assert "Trường THCS An Thạnh" in html and "6A1" in html and "7A1" in html and "9B2" not in html
    assert "15/20" in html and "Chậm tiến độ" in html  # 75 per cent of term I two days before its lock
    assert f'href="{class_url(w.school_a, CLASS_A)}?year={YEAR}"' in html
    assert f'href="/manage/schools/{w.school_a}/#read-grants"' in html and 'id="board-grant-link"' in html
    one = page_text(client.get(class_url(w.school_a, CLASS_A)))
    body = one.split('id="board-classes"', 1)[1]
    assert "6A1" in body and "7A1" not in body and "9/10" in body and "Xin quyền xem học bạ lớp 6A1" in one
    # the board links the school's page, the unit's board and back
    board = page_text(client.get("/manage/board/"))
    assert f'href="{school_url(w.school_a)}?year={YEAR}"' in board
    # a province admin without grants.request is told so, and sees no link to ask
    admin = page_text(client_for(w.account("province_admin")).get(school_url(w.school_a)))
    assert 'id="board-grant-link"' not in admin and "Vai trò của bạn không có quyền xin xem học bạ." in admin


def test_classes_export(drill):
    w = drill
    response = client_for(w.account("unit_a_staff")).get(school_url(w.school_a), {"format": "xlsx"})
    assert response.status_code == 200
    rows = [r for r in load_workbook(io.BytesIO(response.content)).active.iter_rows(min_row=5, values_only=True)]
    assert [(r[0], r[1], r[2]) for r in rows if r[0]] == [("6A1", 6, 35), ("7A1", 7, 35)]


def test_export_over_the_limit_is_refused(drill, monkeypatch):
    monkeypatch.setattr(board_views, "EXPORT_ROWS", 1)
    client = client_for(drill.account("province_admin"))
    for url, params in ((school_url(drill.school_a), {}), ("/manage/board/", {"table": "units"})):
        response = client.get(url, {**params, "format": "xlsx"})
        assert response.status_code == 400 and "hãy lọc hẹp hơn" in page_text(response)
        english = page_text(client.get(url, {**params, "format": "xlsx"}, HTTP_ACCEPT_LANGUAGE="en"))
        assert "narrow the filters" in english


def test_a_class_of_another_school_or_an_unknown_one_is_not_found(drill):
    w = drill
    client = client_for(w.account("province_admin"))
    for url in (class_url(w.school_a, CLASS_B), class_url(w.school_a, 999999), school_url(999999)):
        response = client.get(url)
        assert response.status_code == 404
        text = page_text(response)
        assert "9B2" not in text and ("không có lớp này" in text or "Không tìm thấy trường" in text)
        english = page_text(client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
        assert "no such class" in english or "not found" in english
    assert client.get(school_url(w.school_a), {"year": "1999"}).status_code == 400


# --- every board URL × role × the other unit's ids ---------------------------------------------------------

ROLES = {
    "province_admin": "all",
    "inspector": "all",
    "unit_a_admin": "unit_a",
    "unit_a_staff": "unit_a",
    "principal_a": None,
    "teacher_a": None,
    "parent_a": None,
}


def board_urls(w) -> list[tuple[str, str, dict, str]]:
    """(name, path, query, whose): the school and unit the ids belong to ("a" or "b"; "" for none)."""
    return [
        ("board", "/manage/board/", {}, ""),
        ("board-xlsx", "/manage/board/", {"format": "xlsx"}, ""),
        ("board-units-xlsx", "/manage/board/", {"format": "xlsx", "table": "units"}, ""),
        ("board-flags-xlsx", "/manage/board/", {"format": "xlsx", "table": "flags"}, ""),
        ("remind", "/manage/board/remind/", {}, ""),
        *((f"unit-{x}", "/manage/board/", {"unit": unit}, x) for x, unit in (("a", w.unit_a), ("b", w.unit_b))),
        *(
            (f"school-filter-{x}", "/manage/board/", {"school": school}, x)
            for x, school in (("a", w.school_a), ("b", w.school_b))
        ),
        *((f"school-{x}", school_url(s), {}, x) for x, s in (("a", w.school_a), ("b", w.school_b))),
        *(
            (f"school-xlsx-{x}", school_url(s), {"format": "xlsx"}, x)
            for x, s in (("a", w.school_a), ("b", w.school_b))
        ),
        ("class-a", class_url(w.school_a, CLASS_A), {}, "a"),
        ("class-b", class_url(w.school_b, CLASS_B), {}, "b"),
        ("remind-unit-b", "/manage/board/remind/", {"unit": w.unit_b}, "b"),
    ]


def expected(role: str, name: str, whose: str) -> int:
    scope = ROLES[role]
    if scope is None:
        return 403
    if name.startswith("remind") and role == "inspector":
        return 403  # an inspector watches; reminding is the administration's
    if scope == "unit_a" and whose == "b":
        return 404
    return 200


@pytest.mark.parametrize("role", list(ROLES))
def test_endpoint_role_matrix(drill, role):
    w = drill
    client = client_for(w.account(role))
    problems = []
    for name, path, query, whose in board_urls(w):
        response = client.get(path, query)
        want = expected(role, name, whose)
        if response.status_code != want:
            problems.append(f"{name}: {response.status_code}, expected {want}")
        if want != 200:
            body = response.content.decode(errors="replace")
            for secret in ("9B2", "Trường THCS Bình Minh", "99000002"):
                if secret in body and role not in ("province_admin", "inspector"):
                    problems.append(f"{name}: shows {secret}")
    assert not problems, problems


def test_anonymous_is_sent_to_sign_in(drill):
    client = Client(HTTP_HOST="hocba.localhost")
    for _name, path, query, _whose in board_urls(drill):
        response = client.get(path, query)
        assert response.status_code == 302 and "login" in response["Location"], path


def test_unit_officer_sees_only_their_units_in_the_drill_down(drill):
    w = drill
    client = client_for(w.account("unit_a_admin"))
    html = page_text(client.get(school_url(w.school_a)))
    assert "6A1" in html and "9B2" not in html
    refused = client.get(school_url(w.school_b))
    assert refused.status_code == 404
    assert "Không tìm thấy trường này trong phạm vi theo dõi của bạn." in page_text(refused)


# --- queries do not grow with the schools ---------------------------------------------------------------


def more_schools(unit_id: int, n: int, start: int) -> None:
    head = School.objects.get(slug="thcs-an-thanh").schema_head
    for i in range(start, start + n):
        school = School.objects.create(
            schema_name=f"s_drill_{i}",
            moet_code=f"9882{i:04d}",
            name=f"Trường THCS Số {i}",
            slug=f"drill-so-{i}",
            levels=["lower_secondary"],
            created_on=DAY,
            schema_head=head,  # at head, as the world's schools: the home's list of schools behind stays as it was
        )
        SchoolPlacement.objects.create(school=school, unit_id=unit_id, valid_from=DAY)
        rollup(school.pk, students=10 + i, sheets_required_term1=10, sheets_done_term1=i % 10)
        for c in range(3):
            class_row(school.pk, 1000 + c, f"6A{c}", 6, students=5)


def test_queries_are_the_same_for_2_and_12_schools(drill, queries):
    w = drill
    client = client_for(w.account("province_admin"))
    officer = client_for(w.account("unit_a_admin"))
    calls = [
        (client, "/manage/board/", {}),
        (client, "/manage/board/", {"late": "1", "sort": "-light", "cols": ["records", "progress", "lock"]}),
        (client, "/manage/board/", {"format": "xlsx", "table": "units"}),
        (client, "/manage/board/remind/", {}),
        (client, school_url(w.school_a), {}),
        (client, class_url(w.school_a, CLASS_A), {}),
        (client, school_url(w.school_a), {"format": "xlsx"}),
        (officer, "/manage/board/", {}),
        (client, "/", {}),
    ]
    for c, path, query in calls:
        c.get(path, query)  # warm what a first request fills
    counts: dict[tuple[int, int], int] = {}
    for total, add in ((2, 0), (12, 10)):
        if add:
            more_schools(w.unit_a, add, 0)
        for i, (c, path, query) in enumerate(calls):
            with queries() as q:
                response = c.get(path, query)
            assert response.status_code == 200, (path, response.status_code)
            counts[total, i] = len(q)
    for i, (_c, path, query) in enumerate(calls):
        assert counts[2, i] == counts[12, i], (path, query, counts[2, i], counts[12, i])
    assert max(counts.values()) <= 25, counts
    # the twelve schools are there
    assert len(page_text(client.get("/manage/board/", {"unit": w.unit_a})).split('data-light="')) > 11
