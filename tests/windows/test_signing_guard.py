"""The window guard and signed records (issue 10, conflicts 1, 3 and 5), by raw SQL as the application's role.

After a whole-year lock the signing path passes — an UPDATE of record books that only moves them forward approved →
signed → locked and changes nothing else — while the same statement changing a comment, an approval, a reopen, a skipped
step or a move backwards are refused. Rows of a signed or locked record refuse every write (SQLSTATE HB409) by raw
SQL, the ORM, the services and the API; a revocation back to draft passes the signed-record check and then needs an
exception after the lock. Signatures are workflow changes in the principal's history, not edits after approval."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from hocba.kernel.errors import translate_db_error
from rest_framework.test import APIClient

from schools.audit.history import history
from schools.models import Assessment, RecordBook
from schools.signedrecords import RecordSigned
from tenants.models import Window, WindowException
from tests.school_fixtures import current_school_year
from tests.support import SCHOOL_A_HOST
from tests.windows.test_guard_kinds import TABLES

YEAR = current_school_year(timezone.localdate())
RECORD_DATA = [t for t in TABLES if t.name.split("_", 1)[1] not in {"recordbook", "guardianlink", "enrolment"}]


def at(minutes: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


def sql(statement: str, params: list | tuple = ()) -> str | None:
    """Run one statement as the application's role (the tests' connection): None, or the SQLSTATE it was refused
    with (nothing changed: its savepoint is rolled back)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
    except DatabaseError as exc:
        return exc.__cause__.sqlstate
    return None


def record(k, i: int = 0) -> RecordBook:
    return RecordBook.objects.get(student_id=k.students[i], year_id=k.school_class.year_id)


def state(k, i: int = 0) -> str:
    return record(k, i).state


def _states(k, **by_index: str) -> None:
    for i, value in by_index.items():
        RecordBook.objects.filter(pk=record(k, int(i[1:])).pk).update(state=value, approved_at=timezone.now())


@pytest.fixture
def whole_year(w, klass_now) -> Window:
    """The province's whole-year lock (khóa sổ), passed a minute ago; student 0 approved, student 1 submitted,
    student 2 signed before it."""
    _states(klass_now, s0="approved", s1="submitted", s2="signed")
    return Window.objects.create(
        tier="province",
        unit_id=w.province,
        category="whole_year",
        year_start=YEAR,
        opens_at=at(-600),
        locks_at=at(-1),
        reason="Khóa sổ cuối năm",
    )


SIGN = "UPDATE schools_recordbook SET state = 'signed', signed_at = now(), sealed_by = %s WHERE id = ANY(%s)"


def test_after_the_whole_year_lock_the_forward_moves_pass(w, klass_now, whole_year):
    first = record(klass_now).pk
    assert sql(SIGN, [w.accounts["principal_a"], [first]]) is None
    assert state(klass_now) == "signed"
    locking = "UPDATE schools_recordbook SET state = 'locked', locked_at = now(), locked_by = %s WHERE id = ANY(%s)"
    assert sql(locking, [w.accounts["principal_a"], [first, record(klass_now, 2).pk]]) is None
    assert (state(klass_now), state(klass_now, 2)) == ("locked", "locked")
    # Staying put while only the signing columns change is forward too.
    assert sql("UPDATE schools_recordbook SET locked_at = now() WHERE id = %s", [first]) is None


def test_the_same_statement_changing_a_comment_is_refused(w, klass_now, whole_year):
    first = record(klass_now).pk
    statement = "UPDATE schools_recordbook SET state = 'signed', homeroom_comment = 'Sửa sau khóa' WHERE id = %s"
    assert sql(statement, [first]) == "HB423"
    frozen = "UPDATE schools_recordbook SET state = 'signed', results = '{\"learning\": \"T\"}'::jsonb WHERE id = %s"
    assert sql(frozen, [first]) == "HB423"
    assert state(klass_now) == "approved" and record(klass_now).homeroom_comment == ""


def test_approval_reopen_and_skipped_or_backward_moves_stay_refused(w, klass_now, whole_year):
    approve = "UPDATE schools_recordbook SET state = 'approved', approved_at = now() WHERE id = %s"
    assert sql(approve, [record(klass_now, 1).pk]) == "HB423"
    reopen = "UPDATE schools_recordbook SET state = 'draft', reopened_reason = 'Sửa điểm môn Toán' WHERE id = %s"
    assert sql(reopen, [record(klass_now).pk]) == "HB423"
    assert sql("UPDATE schools_recordbook SET state = 'locked' WHERE id = %s", [record(klass_now).pk]) == "HB423"
    # A signed record goes back only by a revocation (to draft): never to approved.
    assert sql("UPDATE schools_recordbook SET state = 'approved' WHERE id = %s", [record(klass_now, 2).pk]) == "HB409"
    assert (state(klass_now), state(klass_now, 1), state(klass_now, 2)) == ("approved", "submitted", "signed")


def test_one_statement_mixing_a_signature_and_an_approval_is_refused_whole(w, klass_now, whole_year):
    both = (
        "UPDATE schools_recordbook SET state = CASE state WHEN 'approved' THEN 'signed' ELSE 'approved' END"
        " WHERE id = ANY(%s)"
    )
    assert sql(both, [[record(klass_now).pk, record(klass_now, 1).pk]]) == "HB423"
    assert (state(klass_now), state(klass_now, 1)) == ("approved", "submitted")


def test_a_revocation_after_the_lock_needs_an_exception(w, klass_now, whole_year):
    signed = record(klass_now, 2).pk
    revoke = (
        "UPDATE schools_recordbook SET state = 'draft', revoked_at = now(), revoked_by = %s,"
        " revoked_reason = 'Sai điểm môn Toán học kì II', reopened_reason = 'Sai điểm môn Toán học kì II',"
        " signed_at = NULL, sealed_by = NULL WHERE id = %s"
    )
    principal = w.accounts["principal_a"]
    assert sql(revoke, [principal, signed]) == "HB423"
    WindowException.objects.create(
        window=whole_year,
        school_id=w.school_a,
        student_ids=[klass_now.students[2]],
        until=at(30),
        status="approved",
        reason="Sửa sai sót sau khóa sổ",
        requested_by_id=principal,
    )
    assert sql(revoke, [principal, signed]) is None
    assert state(klass_now, 2) == "draft"


def _sign_first(w, k) -> None:
    _states(k, s0="approved")
    assert sql(SIGN, [w.accounts["principal_a"], [record(k).pk]]) is None


@pytest.mark.parametrize("table", RECORD_DATA, ids=lambda t: t.name)
@pytest.mark.parametrize("final", ["signed", "locked"])
def test_rows_of_a_signed_or_locked_record_refuse_every_write(w, klass_now, table, final):
    """No window at all: the refusal is the signed record's own (HB409), for INSERT, UPDATE and DELETE."""
    row = table.model.objects.create(**table.row(w, klass_now))  # entered while the record was a draft
    _sign_first(w, klass_now)
    if final == "locked":
        assert sql("UPDATE schools_recordbook SET state = 'locked' WHERE id = %s", [record(klass_now).pk]) is None
    name, pk = table.name, row.pk
    column = next(iter(table.change))
    value = table.change[column]
    assert sql(f"UPDATE {name} SET {column} = %s WHERE id = %s", [value, pk]) == "HB409"
    assert sql(f"DELETE FROM {name} WHERE id = %s", [pk]) == "HB409"
    with pytest.raises(DatabaseError) as info, transaction.atomic():
        table.model.objects.filter(pk=pk).delete()
    refusal = translate_db_error(info.value)
    assert (
        isinstance(refusal, RecordSigned) and refusal.http_status == 423 and refusal.record_id == record(klass_now).pk
    )
    assert table.model.objects.filter(pk=pk).exists()
    # Another student's record is a draft: their rows are written as before.
    other = {**table.row(w, klass_now), "student_id": klass_now.students[3]}
    assert table.model.objects.create(**other).pk


def test_a_signed_record_row_itself_refuses_changes_and_deletion(w, klass_now):
    _sign_first(w, klass_now)
    pk = record(klass_now).pk
    assert sql("UPDATE schools_recordbook SET homeroom_comment = 'Sửa' WHERE id = %s", [pk]) == "HB409"
    assert sql('UPDATE schools_recordbook SET results = \'{"learning": "T"}\'::jsonb WHERE id = %s', [pk]) == "HB409"
    assert sql("DELETE FROM schools_recordbook WHERE id = %s", [pk]) == "HB409"
    # Back to draft changing anything else than the workflow and revocation columns is no revocation.
    dodge = "UPDATE schools_recordbook SET state = 'draft', principal_comment = 'Lén sửa' WHERE id = %s"
    assert sql(dodge, [pk]) == "HB409"
    assert state(klass_now) == "signed"


def test_an_insert_of_scores_for_a_signed_record_is_refused_with_a_message(w, klass_now):
    _sign_first(w, klass_now)
    with pytest.raises(DatabaseError) as info, transaction.atomic():
        Assessment.objects.create(
            student_id=klass_now.students[0],
            year_id=klass_now.school_class.year_id,
            subject=klass_now.math,
            term=2,
            kind="tx",
            seq=1,
            score=9,
        )
    body = translate_db_error(info.value).as_dict()
    assert body["code"] == "record.signed" and "đã ký số" in body["detail"] and "signed" in body["detail_en"]


def test_the_api_refuses_a_sheet_of_a_signed_record_and_changes_nothing(w, klass_now):
    _sign_first(w, klass_now)
    client = APIClient(HTTP_HOST=SCHOOL_A_HOST)
    client.force_authenticate(w.account("teacher_a"))
    url = f"/api/v1/classes/{klass_now.school_class.pk}/sheets/{klass_now.math.pk}/1/"
    cells = [{"student": klass_now.students[0], "column": "tx1", "value": "9"}]
    response = client.put(url, {"cells": cells}, format="json")
    assert response.status_code in (400, 409, 423), response.content
    assert not Assessment.objects.filter(student_id=klass_now.students[0]).exists()


def test_signatures_are_workflow_not_edits_after_approval(w, klass_now, whole_year):
    pk = record(klass_now).pk
    assert sql(SIGN, [w.accounts["principal_a"], [pk]]) is None
    assert sql("UPDATE schools_recordbook SET state = 'locked', locked_at = now() WHERE id = %s", [pk]) is None
    Window.objects.filter(pk=whole_year.pk).update(locks_at=at(60))
    # For comparison, an edit after approval of another approved record (the window is open again).
    RecordBook.objects.filter(pk=record(klass_now, 1).pk).update(state="approved")
    RecordBook.objects.filter(pk=record(klass_now, 1).pk).update(principal_comment="Sửa sau duyệt")
    changes = [c for c in history(limit=200).changes if c.table == "schools_recordbook"]
    mine = [c for c in changes if c.student_id == klass_now.students[0] and c.action]
    assert [c.action for c in mine][:2] == ["đã khóa học bạ", "đã ký số học bạ"]
    assert not any(c.after_approval for c in mine)
    edited = [c for c in changes if c.student_id == klass_now.students[1] and not c.action]
    assert edited and edited[0].after_approval
