"""Conflict 2 of the signed record books: approving writes the record book, so after a whole-year lock the records
still draft or submitted need an exception. The class's year-end page lists them with the counts the lock found
(``YearEndStart``) and the exception request beside them; the request goes to the tier that locked, and once it is
approved the principal approves those records."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from schools.models import RecordBook
from schools.services.records import records_approve, records_submit
from tenants import tasks
from tenants.models import AdministrativeUnit, WindowException, YearEndStart
from tenants.services import windows as svc
from tenants.windows import WindowLocked
from tests.school_fixtures import current_school_year
from tests.support import SCHOOL_A_HOST

YEAR = current_school_year(timezone.localdate())
REASON = "Duyệt trước khi khóa sổ"


def at(minutes: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


@pytest.fixture
def eager():
    from hocba.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def locked_year(w, klass_now, eager):
    """6A1 of this year: four records approved, Đức's submitted, Hà's still a draft; then the province's
    whole-year lock (khóa sổ) passes and starts the year-end flow."""
    k = klass_now
    window = svc.window_create(
        actor=None,
        category="whole_year",
        year_start=YEAR,
        opens_at=at(-600),
        locks_at=at(60),
        unit=AdministrativeUnit.objects.get(pk=w.province),
        reason="Khóa sổ năm học",
    )
    records_submit(access=k.access(w, "homeroom_a"), school_class=k.school_class, student_ids=k.students[:5])
    records_approve(
        access=k.access(w, "principal_a"), school_class=k.school_class, student_ids=k.students[:4], reason=REASON
    )
    connection.set_schema_to_public()
    # Locked half an hour ago: before this test's transaction began, whose now() the database's checks read.
    svc.window_update(actor=None, window=window, locks_at=at(-30))
    assert tasks.window_snapshots()["year_end_chunks"] == 1
    start = YearEndStart.objects.get(window=window, school_id=w.school_a)
    assert {c["class_name"]: c["not_ready"] for c in start.by_class} == {"6A1": 2, "6A2": 1}
    connection.set_tenant(k.school)
    return k, window


def page(client, k) -> str:
    response = client.get(f"/year-end/classes/{k.school_class.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def section(html: str) -> str:
    start = html.index('id="not-approved-at-lock"')
    return html[start : html.index("</section>", start)]


def test_the_year_end_page_lists_the_records_not_approved_at_the_lock_with_the_request_beside(
    w, login, locked_year, queries
):
    k, window = locked_year
    duc, ha = k.students[4], k.students[5]
    principal = login("principal_a", SCHOOL_A_HOST)
    html = page(principal, k)
    listed = section(html)
    assert f'data-window="{window.pk}"' in listed and "Học bạ chưa được duyệt khi khóa sổ" in listed
    assert "lớp còn 2 học bạ chưa được Hiệu trưởng duyệt" in listed
    assert "4 học bạ sẵn sàng ký, 2 học bạ chưa duyệt, 0 học bạ đã ký/khóa" in listed  # what the lock found
    assert f'data-student="{duc}"' in listed and f'data-student="{ha}"' in listed
    assert "Hoàng Minh Đức" in listed and "Vũ Thị Hà" in listed and "Nguyễn Văn An" not in listed
    assert "GVCN đã trình" in listed and "Đang nhập" in listed
    assert 'action="/windows/requests/"' in listed and f'name="window" value="{window.pk}"' in listed
    assert f'name="students" value="{duc}" checked' in listed and f'name="students" value="{ha}" checked' in listed

    # The conflict itself: approving is a write of the record book, refused after the lock.
    with pytest.raises(WindowLocked):
        records_approve(
            access=k.access(w, "principal_a"), school_class=k.school_class, student_ids=[duc], reason=REASON
        )

    # The homeroom teacher sees the list, not the request (the principal asks the tier that locked).
    homeroom = section(page(login("homeroom_a", SCHOOL_A_HOST), k))
    assert "Vũ Thị Hà" in homeroom and 'action="/windows/requests/"' not in homeroom

    # A request without a reason is refused and changes nothing.
    until = timezone.localtime(at(3 * 24 * 60)).strftime("%d/%m/%Y %H:%M")
    form = {"window": window.pk, "students": [duc, ha], "until": until, "reason": ""}
    assert principal.post("/windows/requests/", form).status_code == 400
    assert not WindowException.objects.exists()
    # The form as the page fills it: the two students, their lock, a time and a reason.
    response = principal.post("/windows/requests/", {**form, "reason": "Duyệt học bạ lớp 6A1 sau khóa sổ"})
    assert response.status_code == 302
    asked = WindowException.objects.get()
    assert (asked.window_id, sorted(asked.student_ids), asked.class_ids) == (window.pk, sorted([duc, ha]), [])
    listed = section(page(principal, k))
    assert listed.count(f'data-exception="{asked.pk}" data-status="requested"') == 2 and "Chờ duyệt" in listed
    assert f'name="students" value="{duc}" checked' not in listed  # already asked: not proposed again

    # The province (the tier that locked) approves: the page says the records may be approved now.
    svc.exception_decide(actor=w.account("province_admin"), exception=asked, approve=True, note="Đồng ý")
    with queries() as two_listed:
        listed = section(page(principal, k))
    assert listed.count('data-status="approved"') == 2 and "có thể duyệt" in listed
    records_submit(access=k.access(w, "homeroom_a"), school_class=k.school_class, student_ids=[ha])
    records_approve(access=k.access(w, "principal_a"), school_class=k.school_class, student_ids=[duc], reason=REASON)
    assert RecordBook.objects.get(student_id=duc).state == "approved"

    # Constant statements whatever the number of records listed: one left now, two before.
    with queries() as one_listed:
        listed = section(page(principal, k))
    assert f'data-student="{duc}"' not in listed and f'data-student="{ha}"' in listed
    assert len(one_listed) == len(two_listed)

    records_approve(access=k.access(w, "principal_a"), school_class=k.school_class, student_ids=[ha], reason=REASON)
    assert 'id="not-approved-at-lock"' not in page(principal, k)  # every record approved: nothing to list


def test_nothing_is_listed_while_the_year_end_data_is_open(w, login, klass_now):
    html = page(login("principal_a", SCHOOL_A_HOST), klass_now)
    assert 'id="not-approved-at-lock"' not in html and "Tổng kết cuối năm" in html
