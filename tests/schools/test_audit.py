"""The audit chain (DESIGN §7): every write path lands in it with who/role/source; the application's role
cannot change it; tampering is found; the row text parses back; the principal's history page."""

from __future__ import annotations

import datetime as dt
import io
import json
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.utils import timezone
from hocba.kernel import archive, context
from hocba.kernel.auditchain import BrokenLink, ChainReport
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from schools.audit.chain import first_broken_link
from schools.audit.history import TABLE_LABELS, changed_rows, history
from schools.audit.rowtext import parse_row, parse_rows
from schools.models import Assessment, AuditEntry, RecordBook
from schools.services.records import record_reopen, records_approve, records_submit
from schools.services.sheets import sheet_save
from schools.services.students import student_enrol, student_update
from tenants import anchors
from tenants.models import School
from tests.school_fixtures import TODAY
from tests.support import SCHOOL_A_HOST

OWNER = pytest.mark.django_db(databases=["default", "owner"])
SCHOOL_TABLES = sorted(TABLE_LABELS)


@contextmanager
def acting(w, name: str, role: str, source: str = "web"):
    token = context.activate(
        context.ActorContext(
            account_id=w.accounts[name], role=role, tier="school", request_id=f"req-{name}", source=source
        )
    )
    try:
        yield
    finally:
        context.reset(token)


def _last(table: str) -> AuditEntry:
    return AuditEntry.objects.filter(table_name=table).latest("id")


def _cells(student_ids, value="8"):
    return [
        {"student": s, "column": c, "value": value}
        for s in student_ids
        for c in ("tx1", "tx2", "tx3", "tx4", "gk", "ck")
    ]


# --- row text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,values",
    [
        ("(1,2,,t)", ["1", "2", None, "t"]),
        ('(1,"",,"a b")', ["1", "", None, "a b"]),
        ('(7,"Nguyễn Văn An, lớp 6A1","nói ""tốt""",\\x)', ["7", "Nguyễn Văn An, lớp 6A1", 'nói "tốt"', "x"]),
        ('(1,"C:\\\\đường dẫn\\\\","(ngoặc)")', ["1", "C:\\đường dẫn\\", "(ngoặc)"]),
        ('(2,"dòng 1\ndòng 2\n(3,x)",)', ["2", "dòng 1\ndòng 2\n(3,x)", None]),
        (
            '(3,"[{""name"": ""Hồ Quốc Cường"", ""phone"": ""0924""}]","{6,7,8}")',
            ["3", '[{"name": "Hồ Quốc Cường", "phone": "0924"}]', "{6,7,8}"],
        ),
    ],
)
def test_row_text_parses(text, values):
    assert parse_row(text) == (values, len(text))


def test_rows_are_split_only_outside_quotes():
    text = '(1,"một\n(2,giả)",)\n(2,hai,"")'
    assert parse_rows(text) == [["1", "một\n(2,giả)", None], ["2", "hai", ""]]
    assert parse_rows("") == []
    for broken in ("(1,2)x(3,4)", '(1,"abc', "(1,2", "1,2)"):
        with pytest.raises(ValueError):
            parse_rows(broken)


TEXTS = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=25),
    st.sampled_from(["", " ", '"', "\\", ",", "(", ")", "\n", 'Đỗ Thị Ánh, "Bé"\n(7,8)', "NULL"]),
)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(TEXTS, min_size=1, max_size=5), min_size=1, max_size=3))
def test_parser_reads_what_postgresql_writes(db, rows):
    width = max(len(r) for r in rows)
    rows = [r + [None] * (width - len(r)) for r in rows]
    with connection.cursor() as cursor:
        values = ", ".join("ROW(" + ", ".join(["%s::text"] * width) + ")::text" for _ in rows)
        cursor.execute(f"SELECT concat_ws(chr(10), {values})", [v for r in rows for v in r])
        text = cursor.fetchone()[0]
    assert parse_rows(text) == rows


def test_update_rows_pair_by_id_and_unchanged_rows_drop():
    old = [{"id": "1", "score": "8.0"}, {"id": "2", "score": "7.0"}]
    new = [{"id": "2", "score": "7.0"}, {"id": "1", "score": "9.0"}]
    assert changed_rows("UPDATE", old, new) == [("1", old[0], new[1])]


# --- every path is audited ---------------------------------------------------------------------------


def test_orm_write_through_a_service_is_audited_with_the_actor(w, klass):
    student = klass.students[0]
    from schools.models import Student

    with acting(w, "homeroom_a", "homeroom_teacher"):
        student_update(
            access=klass.access(w, "homeroom_a"),
            student=Student.objects.get(pk=student),
            profile={"address": 'Số 5, đường "Lê Lợi"\nTây Ninh'},
            today=TODAY,
        )
    entry = _last("schools_student")
    assert (entry.operation, entry.rows, entry.source) == ("UPDATE", 1, "web")
    assert (entry.account_id, entry.role, entry.tier, entry.request_id) == (
        w.accounts["homeroom_a"],
        "homeroom_teacher",
        "school",
        "req-homeroom_a",
    )
    change = history(student_id=student, limit=5).changes[0]
    # The profile service collapses whitespace; the row text keeps quotes and commas.
    assert [(f.field, f.old, f.new) for f in change.fields] == [("address", "", 'Số 5, đường "Lê Lợi" Tây Ninh')]
    assert change.account_id == w.accounts["homeroom_a"] and change.student_name == "Nguyễn Văn An"


def test_bulk_upsert_is_one_entry_per_statement_with_only_changed_rows(w, klass):
    access = klass.access(w, "teacher_a")
    with acting(w, "teacher_a", "subject_teacher", source="api"):
        sheet_save(
            access=access, school_class=klass.school_class, subject=klass.math, term=1, cells=_cells(klass.students)
        )
        inserted = _last("schools_assessment")
        sheet_save(
            access=access,
            school_class=klass.school_class,
            subject=klass.math,
            term=1,
            cells=[{"student": klass.students[2], "column": "gk", "value": "9,5"}],
        )
    updated = _last("schools_assessment")
    assert (inserted.operation, inserted.rows) == ("INSERT", 36)
    assert (updated.operation, updated.rows, updated.source, updated.account_id, updated.role) == (
        "UPDATE",
        1,
        "api",
        w.accounts["teacher_a"],
        "subject_teacher",
    )
    change = history(student_id=klass.students[2], table="schools_assessment", limit=1).changes[0]
    assert change.operation == "UPDATE" and change.description == "Toán · HKI · gk"
    assert [(f.field, f.old, f.new) for f in change.fields] == [("score", "8,0", "9,5")]


def test_raw_sql_without_context_says_sql_and_the_database_login(w):
    connection.set_tenant(School.objects.get(pk=w.school_a))
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO schools_schoolyear (start_year, starts_on, term2_starts_on, ends_on)"
                " VALUES (2031, '2031-09-05', '2032-01-12', '2032-05-31')"
            )
        entry = _last("schools_schoolyear")
        assert (entry.source, entry.account_id, entry.role, entry.tier) == (
            "sql",
            None,
            settings.DB_APP_USER,
            "database",
        )
        assert history(table="schools_schoolyear", limit=1).changes[0].description == "2031–2032"
    finally:
        connection.set_schema_to_public()


def test_import_path_is_audited_as_import(w, klass):
    with acting(w, "clerk_a", "clerk", source="import"):
        student = student_enrol(
            access=klass.access(w, "clerk_a"),
            school_class=klass.school_class,
            today=TODAY,
            profile={"full_name": "Y Đăk Lăk", "date_of_birth": "02/09/2014", "gender": "M"},
        )
    for table in ("schools_student", "schools_enrolment", "schools_recordbook"):
        entry = _last(table)
        assert (entry.operation, entry.source, entry.account_id, entry.role) == (
            "INSERT",
            "import",
            w.accounts["clerk_a"],
            "clerk",
        )
    tables = {c.table for c in history(student_id=student.pk).changes}
    assert tables == {"schools_student", "schools_enrolment", "schools_recordbook"}


def test_every_school_table_is_audited_and_cannot_be_truncated(w):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, array_agg(t.tgname ORDER BY t.tgname)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " LEFT JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal"
            " WHERE n.nspname = %s AND c.relkind = 'r'"
            # The chain itself, and derived data recomputable from the audited tables (the rollup outbox); the bytes
            # of a PDF being signed, each state of which is audited as its SHA-256 (reporting.models).
            " AND c.relname NOT IN ('django_migrations', 'schools_auditentry', 'schools_rollupoutbox',"
            " 'reporting_documentcontent')"
            " GROUP BY c.relname",
            [School.objects.get(pk=w.school_a).schema_name],
        )
        found = dict(cursor.fetchall())
    assert sorted(found) == SCHOOL_TABLES  # a new table needs its triggers (sql/0002_audit_tables.sql) and a label
    assert all({"audit_ins", "audit_upd", "audit_del", "audit_no_truncate"} <= set(t) for t in found.values())


# --- the chain cannot be changed by the application; tampering is found ------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE schools_auditentry SET new_values = 'x'",
        "DELETE FROM schools_auditentry",
        "TRUNCATE schools_auditentry",
    ],
)
def test_application_role_cannot_change_the_chain(w, klass, statement):
    with pytest.raises(Exception) as info:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert "permission denied" in str(info.value)
    assert AuditEntry.objects.exists()  # the test transaction survived


def _forge(cursor, *, good_hash: bool) -> int:
    cursor.execute("SELECT hash FROM schools_auditentry ORDER BY id DESC LIMIT 1")
    prev = cursor.fetchone()[0]
    cursor.execute(
        "INSERT INTO schools_auditentry (at, account_id, role, tier, request_id, source, table_name, operation, rows,"
        " old_values, new_values, prev_hash, hash) VALUES (now(), NULL, 'principal', 'school', '', 'web',"
        " 'schools_assessment', 'UPDATE', 1, '(1,1,tx,1,9.0)', '(1,1,tx,1,3.0)', %(p)s::text,"
        " CASE WHEN %(good)s THEN audit_payload(%(p)s::text, now(), NULL, 'principal', 'school', '', 'web',"
        " 'schools_assessment', 'UPDATE', 1, '(1,1,tx,1,9.0)', '(1,1,tx,1,3.0)') ELSE repeat('f', 64) END)"
        " RETURNING id",
        {"p": prev, "good": good_hash},
    )
    return cursor.fetchone()[0]


def test_verify_command_reports_intact_and_a_bad_link(w, klass, monkeypatch):
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert f"{klass.school.schema_name}: intact" in out.getvalue() and "0 broken" in out.getvalue()
    connection.set_tenant(klass.school)  # the command leaves the connection on public
    # Only the owner can tamper (test_owner_tampering_is_found_at_that_entry finds the exact entry);
    # here: how the command reports what the chain check found, and that it fails the run.
    broken = ChainReport(entries=5000, broken=BrokenLink(4242, None, "content"), head=None)
    monkeypatch.setattr(
        anchors, "audit_chain_verify", lambda schemas=None, **kw: {klass.school.schema_name: (broken, None)}
    )
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("audit_verify", "--schema", klass.school.schema_name, stdout=out)
    assert f"{klass.school.schema_name}: BROKEN at entry 4242" in out.getvalue()


def test_application_cannot_append_a_forged_entry(w, klass):
    with pytest.raises(Exception, match="permission denied"):
        with transaction.atomic(), connection.cursor() as cursor:
            _forge(cursor, good_hash=True)


@OWNER
def test_owner_tampering_is_found_at_that_entry(w):
    owner = connections["owner"]
    school = School.objects.get(pk=w.school_b)
    owner.set_schema(school.schema_name)
    try:
        with owner.cursor() as cursor:
            cursor.execute(
                "INSERT INTO schools_schoolyear (start_year, starts_on, term2_starts_on, ends_on)"
                " VALUES (2030, '2030-09-05', '2031-01-12', '2031-05-31')"
            )
            cursor.execute("UPDATE schools_schoolyear SET ends_on = '2031-05-30' WHERE start_year = 2030")
            cursor.execute("SELECT max(id) FROM schools_auditentry WHERE table_name = 'schools_schoolyear'")
            target = cursor.fetchone()[0]
        assert first_broken_link(using="owner") is None
        # Even the owner is refused by the trigger while it is enabled.
        with pytest.raises(Exception, match="append-only"):
            with transaction.atomic(using="owner"), owner.cursor() as cursor:
                cursor.execute("UPDATE schools_auditentry SET new_values = '' WHERE id = %s", [target])
        with owner.cursor() as cursor:
            cursor.execute("ALTER TABLE schools_auditentry DISABLE TRIGGER audit_no_update")
            cursor.execute(
                "UPDATE schools_auditentry SET new_values = replace(new_values, '2031-05-30', '2031-05-29')"
                " WHERE id = %s",
                [target],
            )
        assert first_broken_link(using="owner") == target
    finally:
        owner.set_schema_to_public()


# --- anchors ----------------------------------------------------------------------------------------


@pytest.fixture
def s3(settings, monkeypatch):
    from moto import mock_aws

    settings.S3_ENDPOINT_URL, settings.S3_REGION = None, "us-east-1"
    settings.S3_ACCESS_KEY_ID, settings.S3_SECRET_ACCESS_KEY = "testing", "testing"
    monkeypatch.setenv("HOCBA_ARCHIVE_BUCKET", "anchors-test")
    with mock_aws():
        yield archive.archive_client()


def test_anchor_writes_each_chain_head_to_a_locked_bucket(w, klass, s3):
    head = AuditEntry.objects.latest("id")
    out = io.StringIO()
    call_command("audit_anchor", "--schema", klass.school.schema_name, stdout=out)
    key = f"anchors/{timezone.localdate().isoformat()}/{klass.school.schema_name}.json"
    body = json.loads(s3.get_object(Bucket="anchors-test", Key=key)["Body"].read())
    assert (body["last_id"], body["hash"], body["school_id"]) == (head.pk, head.hash, klass.school.pk)
    assert f"s3://anchors-test/{key}: entry {head.pk}" in out.getvalue()
    assert (
        s3.get_object_lock_configuration(Bucket="anchors-test")["ObjectLockConfiguration"]["ObjectLockEnabled"]
        == "Enabled"
    )
    out = io.StringIO()
    call_command("audit_verify", "--schema", klass.school.schema_name, "--anchors", stdout=out)
    assert f"anchor {head.pk} matches" in out.getvalue()


def test_the_daily_beat_job_anchors_every_school_in_chunks(w, klass, s3, monkeypatch):
    from hocba.celery import app

    from tenants import tasks

    assert app.conf.beat_schedule["audit-anchors"]["task"] == "tenants.tasks.audit_anchors"
    sent = []
    monkeypatch.setattr(tasks.audit_anchors_chunk, "delay", sent.append)
    assert tasks.audit_anchors() == len(sent) >= 1
    assert klass.school.schema_name in [schema for chunk in sent for schema in chunk]
    head = AuditEntry.objects.latest("id")
    assert tasks.audit_anchors_chunk.run([klass.school.schema_name]) == 1
    key = f"anchors/{timezone.localdate().isoformat()}/{klass.school.schema_name}.json"
    assert json.loads(s3.get_object(Bucket="anchors-test", Key=key)["Body"].read())["last_id"] == head.pk


def test_anchor_refuses_a_bucket_without_object_lock(w, s3):
    s3.create_bucket(Bucket="anchors-test")
    with pytest.raises(CommandError, match="Object Lock"):
        call_command("audit_anchor", stdout=io.StringIO())


# --- history ----------------------------------------------------------------------------------------


def _approved_then_changed(w, klass) -> int:
    """Scores entered, records submitted and approved, then a score changed behind the workflow's back."""
    student = klass.students[0]
    with acting(w, "teacher_a", "subject_teacher"):
        sheet_save(
            access=klass.access(w, "teacher_a"),
            school_class=klass.school_class,
            subject=klass.math,
            term=1,
            cells=_cells(klass.students),
        )
    with acting(w, "homeroom_a", "homeroom_teacher"):
        records_submit(access=klass.access(w, "homeroom_a"), school_class=klass.school_class)
    with acting(w, "principal_a", "principal"):
        records_approve(
            access=klass.access(w, "principal_a"), school_class=klass.school_class, reason="Duyệt để kiểm tra nhật ký"
        )
    with acting(w, "teacher_a", "subject_teacher"), transaction.atomic():
        context.bind_to_transaction(connection)  # an ORM write outside the services, with its actor
        Assessment.objects.filter(student_id=student, subject=klass.math, term=1, kind="tx", seq=1).update(
            score=Decimal("9.5")
        )
    return student


def test_changes_after_approval_are_flagged_until_reopened(w, klass):
    student = _approved_then_changed(w, klass)
    with acting(w, "principal_a", "principal"):
        record_reopen(
            access=klass.access(w, "principal_a"),
            record=RecordBook.objects.get(student_id=student),
            reason="Sửa điểm nhập nhầm",
        )
    with acting(w, "teacher_a", "subject_teacher"):
        sheet_save(
            access=klass.access(w, "teacher_a"),
            school_class=klass.school_class,
            subject=klass.math,
            term=1,
            cells=[{"student": student, "column": "tx2", "value": "6"}],
        )
    changes = history(student_id=student).changes
    scores = [
        (c.fields[0].old, c.fields[0].new, c.after_approval)
        for c in changes
        if c.table == "schools_assessment" and c.operation == "UPDATE"
    ]
    assert scores == [("8,0", "6,0", False), ("8,0", "9,5", True)]
    assert not [c for c in changes if c.table != "schools_assessment" and c.after_approval]
    states = [
        (f.old, f.new) for c in changes if c.table == "schools_recordbook" for f in c.fields if f.field == "state"
    ]
    assert states == [
        ("Hiệu trưởng đã duyệt", "Đang nhập"),
        ("GVCN đã trình", "Hiệu trưởng đã duyệt"),
        ("Đang nhập", "GVCN đã trình"),
        (None, "Đang nhập"),
    ]


def test_history_queries_do_not_grow_with_entries(w, klass, queries):
    with acting(w, "teacher_a", "subject_teacher"):
        sheet_save(
            access=klass.access(w, "teacher_a"),
            school_class=klass.school_class,
            subject=klass.math,
            term=1,
            cells=_cells(klass.students[:1]),
        )
    with queries() as few:
        small = history(limit=3)
    _approved_then_changed(w, klass)
    with queries() as many:
        large = history(limit=40)
    assert len(large.changes) > 3 * len(small.changes)
    assert len(few) == len(many) <= 8


def test_history_page_flags_filters_and_is_for_the_principal(w, klass, login):
    student = _approved_then_changed(w, klass)
    principal = login("principal_a", SCHOOL_A_HOST)
    body = principal.get(f"/history/?student={student}").content.decode()
    assert "Nguyễn Văn An" in body and body.count('class="after-approval"') == 1 and "Sửa sau khi duyệt" in body
    assert "9,5" in body
    # By teacher: the teacher's score changes, not the homeroom teacher's submission.
    mine = principal.get(f"/history/?student={student}&teacher={w.accounts['teacher_a']}").content.decode()
    theirs = principal.get(f"/history/?student={student}&teacher={w.accounts['homeroom_a']}").content.decode()
    assert "9,5" in mine and "GVCN đã trình" not in mine
    assert "GVCN đã trình" in theirs and "9,5" not in theirs
    # By date (dd/mm/yyyy).
    today, tomorrow = timezone.localdate(), timezone.localdate() + dt.timedelta(days=1)
    on_day = principal.get(
        f"/history/?student={student}&date_from={today:%d/%m/%Y}&date_to={today:%d/%m/%Y}"
    ).content.decode()
    later = principal.get(f"/history/?date_from={tomorrow:%d/%m/%Y}").content.decode()
    assert "9,5" in on_day and "Không có thay đổi nào phù hợp." in later
    assert principal.get("/history/?date_from=31/02/2026").status_code == 200
    # Search by name, without tone marks.
    found = principal.get("/history/?q=nguyen van").content.decode()
    assert f'href="?student={student}"' in found
    assert login("teacher_a", SCHOOL_A_HOST).get("/history/").status_code == 403
    assert login("homeroom_a", SCHOOL_A_HOST).get(f"/history/?student={student}").status_code == 403


def test_token_api_saves_carry_the_actor(w, klass):
    from rest_framework.test import APIClient

    from tests.support import SCHOOL_A_HOST, api_token_for

    key = api_token_for(w.account("teacher_a"), f"school:{w.school_a}")
    client = APIClient(HTTP_HOST=SCHOOL_A_HOST)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    url = f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/"
    assert (
        client.put(
            url, {"cells": [{"student": klass.students[0], "column": "tx1", "value": "7"}]}, format="json"
        ).status_code
        == 200
    )
    entry = AuditEntry.objects.filter(table_name="schools_assessment").order_by("-id").first()
    assert entry.account_id == w.accounts["teacher_a"] and entry.role == "subject_teacher" and entry.source == "api"
