"""The platform log as people read it (issue 11): sentences with names, not ids or codes; labelled fields with
dates dd/mm/yyyy; filters (who without accents, action, object, source, dates); pages of constant queries; the Excel
export and its scope."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.utils import timezone
from openpyxl import load_workbook

from tenants.models import School
from tenants.selectors import access_for
from tenants.selectors.auditlog import audit_log_page
from tenants.services.accounts import membership_grant
from tests.support import SCHOOL_A_HOST


@pytest.fixture(autouse=True)
def _back_on_public():
    """A request on a school's site leaves the test's connection on that school: later tests create schools."""
    yield
    connection.set_schema_to_public()


def _grant(w):
    principal = w.account("principal_b")
    principal.full_name = "Nguyễn Du"
    principal.save(update_fields=["full_name"])
    return membership_grant(
        actor=principal,
        account=w.account("teacher_a"),
        role="parent",
        school=School.objects.get(pk=w.school_b),
    )


def test_an_entry_reads_as_a_sentence_with_names(w, login):
    _grant(w)
    page = login("principal_b").get("/manage/audit/").content.decode()
    body = page[page.index('<table class="history">') :]  # the entries, not the filters' choices
    assert "Nguyễn Du đã giao vai trò cho Teacher A — Phụ huynh tại Trường THCS Bình Minh" in body
    assert f"{timezone.localdate():%d/%m/%Y}" in body  # the valid-from date, dd/mm/yyyy
    for raw in ("membership.grant", "unit_id", "None", "'role'", "{"):
        assert raw not in body, raw


def test_filters_who_without_accents_action_object_and_dates(w, login):
    _grant(w)
    admin = login("province_admin")
    found = admin.get("/manage/audit/", {"who": "nguyen du"}).context["entries"]
    assert found and {e.action for e in found} == {"membership.grant"}
    assert not admin.get("/manage/audit/", {"who": "nguyen van"}).context["entries"]
    by_action = admin.get("/manage/audit/", {"action": "school.create"}).context["entries"]
    assert by_action and {e.action for e in by_action} == {"school.create"}
    by_object = admin.get("/manage/audit/", {"object_type": "administrativeunit"}).context["entries"]
    assert by_object and {e.object_type for e in by_object} == {"administrativeunit"}
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert not admin.get("/manage/audit/", {"date_from": f"{tomorrow:%d/%m/%Y}"}).context["entries"]
    bad = admin.get("/manage/audit/", {"date_from": "31/02/2026"})
    assert bad.status_code == 200 and bad.context["page"] is None


def test_pages_have_a_constant_number_of_queries(w, login, queries):
    access = access_for(w.account("province_admin"))
    first = audit_log_page(access, limit=3)
    second = audit_log_page(access, limit=3, page=2)
    assert first.has_next and {e.id for e in first.entries}.isdisjoint({e.id for e in second.entries})
    with queries() as few:
        audit_log_page(access, limit=2)
    _grant(w)
    with queries() as many:
        audit_log_page(access, limit=40)
    # The entries, then one query per kind of name at most (units, schools, accounts, windows): never one per entry.
    assert len(few) <= len(many) <= 5


def test_the_export_is_the_selection_in_scope(w, login):
    _grant(w)
    wanted = {"action": "membership.grant", "who": "nguyen du"}
    response = login("province_admin").get("/manage/audit/export/", wanted)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[3][:4] == ("Thời điểm", "Người thực hiện", "Vai trò", "Nguồn")
    assert len(rows[4:]) == 1 and rows[4][1] == "Nguyễn Du" and "Teacher A" in rows[4][7]
    # Unit A's administrator does not see school B's entry; a teacher has no log at all.
    theirs = login("unit_a_admin").get("/manage/audit/export/", wanted)
    assert len(list(load_workbook(io.BytesIO(theirs.content)).active.iter_rows(values_only=True))) == 4
    assert login("teacher_a").get("/manage/audit/export/").status_code == 403
    assert login("province_admin").get("/manage/audit/export/", {"date_to": "xx"}).status_code == 400


def test_a_schools_own_log_shows_only_that_school(w, login):
    _grant(w)
    entries = login("principal_a", SCHOOL_A_HOST).get("/audit/").context["entries"]
    assert entries and {e.school_id for e in entries} == {w.school_a}
    response = login("principal_a", SCHOOL_A_HOST).get("/audit/export/")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))[4:]
    text = " ".join(str(c) for row in rows for c in row if c)
    assert rows and "An Thạnh" in text and "Bình Minh" not in text
