"""Grade-sheet saves (DESIGN §6–7): ``sheet_save_one``, ``sheet_save_full``, ``audit_overhead``, ``sheet_load(_one_column)``.

``python -m bench.sheets --scale full|small|tiny [--only a,b] [--results-dir DIR]``; ``bench.run`` (``make bench``)
starts this module in a child process (``launch``) because it runs against its own database: ``<bench db>_sheets``
(``hocba_bench_sheets`` by default) or ``BENCH_SHEETS_DATABASE_URL``; the database is dropped and re-created at
the start and dropped at the end unless ``BENCH_SHEETS_KEEP=1`` (or ``--keep`` given to this module).

Setup runs as the database owner as production's setup does (``migrate_schemas --shared``, ``db_roles``,
``migrate_schools``), then one school (THCS + THPT) with its year, classes, teachers, students and teaching
assignments is made through the services. The measured saves then run as the application's role
(``hocba_app``, which owns nothing), with a teacher's actor context bound to every transaction, like a request.

* ``sheet_save_one``: one subject sheet — Toán, 140 periods/year → tx1–tx4, gk, ck, nx: 7 columns × 45 students
  = 315 values (a TT22 sheet of a 140-period subject has exactly these 7 columns). Wall time of
  ``sheets.sheet_save`` in-process, after a warm-up, every save changing every value; queries per save
  (``CaptureQueriesContext``, ``SET search_path`` excluded) at 5 and 45 students. Baseline in the same run,
  interleaved: the same validation, then ``update_or_create`` per cell in one transaction.
* ``sheet_save_full``: a whole class, 40 students × 12 subjects × 6 values = 2,880 values, through
  ``sheets.class_sheets_save`` — the whole-class save of the API (``PUT /api/v1/classes/<id>/terms/<term>/sheets/``):
  one transaction, one upsert, the sheets read back; baseline: the twelve row-by-row saves in one transaction.
  The same class as twelve ``sheet_save`` calls in one transaction is timed beside it as an extra.
* ``audit_overhead``: the same two saves with ``schools_assessment``'s audit triggers disabled (as the owner,
  on a separate connection) and enabled, alternating blocks in the same run; overhead = (with − without) / with.
* ``sheet_load`` (every value of the sheet changed by every save) and ``sheet_load_one_column`` (the whole sheet
  sent, one column changed): see ``bench.sheets_load``.
"""  # noqa: E501

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import common, rollup_modes
from .common import Deadline, Result, fmt, say, summary
from .sheets_loadgen import cells as make_cells

NAMES = ("sheet_save_one", "sheet_save_full", "audit_overhead", "sheet_load", "sheet_load_one_column")
REPO = common.BENCH_DIR.parent
START_YEAR = 2026
TODAY = dt.date(2026, 10, 1)
GRANTED_ON = dt.date(2026, 7, 1)
TERM = 1
SLUG = "bench-sheets"


@dataclass(frozen=True)
class SheetScale:
    name: str
    one_students: int  # the one-subject sheet
    few_students: int  # the small class whose query count must equal the big one's
    one_warmup: int
    one_runs: int
    one_baseline_runs: int
    full_students: int
    full_subjects: int
    full_values: int
    full_warmup: int
    full_runs: int
    full_baseline_runs: int
    audit_rounds_one: int  # rounds of (block with audit, block without), order alternating
    audit_block_one: int
    audit_rounds_full: int
    audit_block_full: int
    profile_runs: int  # extra runs with every statement timed (where the time goes)
    load_classes: int
    load_students: int
    load_levels: tuple[int, ...]
    load_seconds: float
    load_warmup_seconds: float
    deadline: float = 300.0  # per measured loop


SCALES = {
    "full": SheetScale(
        "full",
        one_students=45,
        few_students=5,
        one_warmup=5,
        one_runs=60,
        one_baseline_runs=12,
        full_students=40,
        full_subjects=12,
        full_values=6,
        full_warmup=3,
        full_runs=30,
        full_baseline_runs=3,
        audit_rounds_one=6,
        audit_block_one=10,
        audit_rounds_full=6,
        audit_block_full=5,
        profile_runs=5,
        load_classes=20,
        load_students=45,
        load_levels=(1, 2, 4, 8, 16),
        load_seconds=30.0,
        load_warmup_seconds=5.0,
        deadline=600.0,
    ),
    # Quick check (< 2 min): the one-subject sheet at its real size; the full class at 20 students (1,440 values),
    # because its row-by-row baseline alone takes 15–40 s per run at 40 students on this shared machine.
    "small": SheetScale(
        "small",
        one_students=45,
        few_students=5,
        one_warmup=3,
        one_runs=20,
        one_baseline_runs=2,
        full_students=20,
        full_subjects=12,
        full_values=6,
        full_warmup=2,
        full_runs=8,
        full_baseline_runs=1,
        audit_rounds_one=4,
        audit_block_one=5,
        audit_rounds_full=2,
        audit_block_full=2,
        profile_runs=2,
        load_classes=8,
        load_students=45,
        load_levels=(1, 4, 8),
        load_seconds=8.0,
        load_warmup_seconds=2.0,
        deadline=60.0,
    ),
    # For the test suite: every code path once or twice, the real sizes only where a figure depends on them.
    "tiny": SheetScale(
        "tiny",
        one_students=45,
        few_students=5,
        one_warmup=1,
        one_runs=3,
        one_baseline_runs=1,
        full_students=5,
        full_subjects=12,
        full_values=6,
        full_warmup=1,
        full_runs=2,
        full_baseline_runs=1,
        audit_rounds_one=2,
        audit_block_one=2,
        audit_rounds_full=2,
        audit_block_full=1,
        profile_runs=1,
        load_classes=2,
        load_students=5,
        load_levels=(1, 2),
        load_seconds=1.5,
        load_warmup_seconds=0.5,
        deadline=30.0,
    ),
}

# --- the database ---------------------------------------------------------------------------------


def database_url() -> str:
    """``BENCH_SHEETS_DATABASE_URL``; else the bench database with ``_sheets`` appended."""
    return common.derived_database_url("BENCH_SHEETS_DATABASE_URL", "_sheets")


def launch(names: list[str], scale: str, results_dir: Path) -> int:
    return common.launch_module("bench.sheets", names, scale, results_dir, "sheet")


# --- the school -----------------------------------------------------------------------------------

FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
]
MIDDLE = ["Văn", "Thị", "Minh", "Thu", "Hoàng", "Ngọc", "Đức", "Thanh", "Quốc", "Bảo"]
GIVEN = [
    "An",
    "Bình",
    "Cường",
    "Dung",
    "Đức",
    "Giang",
    "Hà",
    "Hải",
    "Khánh",
    "Linh",
    "Mai",
    "Nam",
    "Oanh",
    "Phúc",
    "Quân",
    "Sơn",
    "Tâm",
    "Uyên",
    "Vy",
    "Yến",
]


def student_name(n: int) -> str:
    return f"{FAMILY[n % len(FAMILY)]} {MIDDLE[(n // 3) % len(MIDDLE)]} {GIVEN[(n // 7) % len(GIVEN)]}"


@dataclass
class SheetRef:
    """One sheet (class × subject × term) and who saves it; ``gen`` counts the saves so values always change."""

    school_class: object
    subject: object
    access: object
    teacher_id: int
    students: list[int]
    columns: list[tuple[str, str]]  # (key, value_type) actually sent
    term: int = TERM
    gen: int = 0
    last_cells: list[dict] = field(default_factory=list)

    def next_cells(self) -> list[dict]:
        self.gen += 1
        self.last_cells = make_cells(self.students, self.columns, self.gen)
        return self.last_cells

    @property
    def values(self) -> int:
        return len(self.students) * len(self.columns)


@dataclass
class World:
    school: object
    owner_url: str
    one: SheetRef | None = None
    few: SheetRef | None = None
    full: list[SheetRef] = field(default_factory=list)
    load: list[tuple[SheetRef, str]] = field(default_factory=list)  # (sheet, API token)
    setup_seconds: dict = field(default_factory=dict)
    vacuumed: dict = field(default_factory=dict)


def _quiet(*args, **kwargs) -> str:
    from django.core.management import call_command

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        call_command(*args, stdout=sink, stderr=sink, **kwargs)
    return sink.getvalue()


def login_as(user: str, password: str) -> None:
    """Reconnect the default connection with another database login (the tests' way)."""
    from django.db import connections

    conn = connections["default"]
    conn.close()
    conn.settings_dict.update(USER=user, PASSWORD=password)


def _teacher(school, username: str, full_name: str):
    from tenants.services.accounts import account_create

    return account_create(
        actor=None,
        username=username,
        full_name=full_name,
        email=f"{username}@bench.hocba.vn",
        password=None,
        role="subject_teacher",
        school=school,
        valid_from=GRANTED_ON,
    )


def _enrol(system, school_class, count: int, first: int, birth_year: int) -> list[int]:
    from django.db import transaction

    from schools.services.students import student_enrol

    with transaction.atomic():
        return [
            student_enrol(
                access=system,
                school_class=school_class,
                today=TODAY,
                profile={
                    "full_name": student_name(first + n),
                    "date_of_birth": f"05/03/{birth_year}",
                    "gender": "M" if n % 2 == 0 else "F",
                },
            ).pk
            for n in range(count)
        ]


def _columns(subject, school_class, limit: int | None = None) -> list[tuple[str, str]]:
    from schools.services.sheets import sheet_columns

    cols = [(c.key, c.value_type) for c in sheet_columns(subject, school_class, TERM)]
    return cols[:limit] if limit else cols


def build_world(scale: SheetScale, selected: list[str], owner_url: str) -> World:
    """Public schema, roles, template, then one school and what the selected benchmarks need (as the owner)."""
    from django.conf import settings
    from django.db import connection

    from schools.models import SchoolClass, Subject
    from schools.services.common import system_access
    from schools.services.setup import assignment_set, class_create, school_year_open
    from tenants.models import UnitKind
    from tenants.services.schools import school_create
    from tenants.services.tokens import api_token_issue
    from tenants.services.units import unit_create

    times: dict[str, float] = {}
    t = time.perf_counter()
    _quiet("migrate_schemas", "--shared", interactive=False, verbosity=0)
    _quiet("db_roles")
    _quiet("migrate_schools")
    times["public_roles_template"] = time.perf_counter() - t

    t = time.perf_counter()
    province = unit_create(
        actor=None,
        kind=UnitKind.PROVINCE,
        name="Sở GD&ĐT Bench Bảng điểm",
        official_code="BSHEET",
        valid_from=GRANTED_ON,
    )
    unit = unit_create(
        actor=None,
        kind=UnitKind.COMMUNE,
        name="Xã Bench Bảng điểm",
        official_code="BSHEET-01",
        parent=province,
        valid_from=GRANTED_ON,
    )
    school = school_create(
        actor=None,
        unit=unit,
        code="BS000001",
        name="Trường THCS-THPT Bench Bảng điểm",
        levels="THCS, THPT",
        slug=SLUG,
        on=GRANTED_ON,
    )
    _quiet("db_roles")  # the new schema's grants, as after any provisioning
    connection.set_tenant(school)
    system = system_access(school.pk)
    year = school_year_open(access=system, start_year=START_YEAR, levels=["lower_secondary", "upper_secondary"])
    times["school"] = time.perf_counter() - t

    world = World(school=school, owner_url=owner_url)
    t = time.perf_counter()
    needs_one = bool({"sheet_save_one", "audit_overhead"} & set(selected))
    needs_full = bool({"sheet_save_full", "audit_overhead"} & set(selected))
    refs: list[tuple[str, SheetRef]] = []
    if needs_one:
        toan6 = Subject.objects.get(level="lower_secondary", code="toan")
        teacher = _teacher(school, "gv-toan-bench", "Nguyễn Thị Toán")
        for label, count, first in (("one", scale.one_students, 0), ("few", scale.few_students, 1000)):
            c = class_create(
                access=system, year=year, name="6A1" if label == "one" else "6A2", grade=6, homeroom_teacher_id=None
            )
            assignment_set(access=system, school_class=c, subject=toan6, teacher_id=teacher.pk)
            students = _enrol(system, c, count, first, 2014)
            refs.append((label, SheetRef(c, toan6, None, teacher.pk, students, _columns(toan6, c))))
    if needs_full:
        teacher = _teacher(school, "gv-chu-nhiem-bench", "Trần Văn Chủ Nhiệm")
        c = class_create(access=system, year=year, name="10A1", grade=10, homeroom_teacher_id=None)
        students = _enrol(system, c, scale.full_students, 2000, 2010)
        subjects = [
            s
            for s in Subject.objects.filter(level="upper_secondary").order_by("order")
            if len(_columns(s, c)) >= scale.full_values
        ][: scale.full_subjects]
        if len(subjects) < scale.full_subjects:
            raise RuntimeError(f"only {len(subjects)} upper-secondary subjects have {scale.full_values} columns")
        for s in subjects:
            assignment_set(access=system, school_class=c, subject=s, teacher_id=teacher.pk)
            refs.append(("full", SheetRef(c, s, None, teacher.pk, students, _columns(s, c, scale.full_values))))
    if {"sheet_load", "sheet_load_one_column"} & set(selected):
        toan7 = Subject.objects.get(level="lower_secondary", code="toan")
        for k in range(scale.load_classes):
            teacher = _teacher(school, f"gv-tai-{k:02d}", f"Giáo viên Tải {k:02d}")
            c = class_create(access=system, year=year, name=f"7B{k + 1:02d}", grade=7, homeroom_teacher_id=None)
            assignment_set(access=system, school_class=c, subject=toan7, teacher_id=teacher.pk)
            students = _enrol(system, c, scale.load_students, 3000 + 100 * k, 2013)
            token = api_token_issue(actor=teacher, name="bench", scope=f"school:{school.pk}", may_write=True, days=1)[1]
            world.load.append((SheetRef(c, toan7, None, teacher.pk, students, _columns(toan7, c)), token))
    times["classes_students"] = time.perf_counter() - t
    times["students"] = len({s for _l, r in refs for s in r.students} | {s for r, _t in world.load for s in r.students})

    # From here on, the application's login, like production; the class rows are re-read with the year.
    login_as(settings.DB_APP_USER, settings.DB_APP_PASSWORD)
    connection.set_tenant(school)
    for label, ref in refs:
        ref.school_class = SchoolClass.objects.select_related("year").get(pk=ref.school_class.pk)
        ref.access = access_of(school, ref.teacher_id)
        if label == "one":
            world.one = ref
        elif label == "few":
            world.few = ref
        else:
            world.full.append(ref)
    for ref, _token in world.load:
        ref.school_class = SchoolClass.objects.select_related("year").get(pk=ref.school_class.pk)
        ref.access = access_of(school, ref.teacher_id)
    world.setup_seconds = times
    return world


SOURCES = (
    "schools/services/sheets.py",
    "schools/services/common.py",
    "schools/sql/0002_audit.sql",
    "schools/sql/0002_audit_tables.sql",
    "schools/sql/0003_windows.sql",
    "schools/api/views.py",
    "platform/hocba/kernel/middleware.py",
    "tenants/middleware.py",
    "platform/hocba/settings/base.py",
)


def sources() -> dict:
    """sha256 (12 hex) of the code the figures depend on: the tree changes while engineers work."""
    import hashlib

    out = {}
    for rel in SOURCES:
        path = REPO / rel
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.exists() else None
    return out


SERVER_SETTINGS = ("autovacuum", "synchronous_commit", "shared_buffers", "fsync", "max_connections", "work_mem")


def server_settings(owner_url: str) -> dict:
    import psycopg

    with psycopg.connect(owner_url, autocommit=True, connect_timeout=10) as conn:
        return dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", [list(SERVER_SETTINGS)]
            ).fetchall()
        )


def vacuum(owner_url: str, schema: str) -> dict:
    """``VACUUM (ANALYZE)`` of the bench database as the owner, before each benchmark: what autovacuum would have
    done by then (this server runs with autovacuum off, and dead row versions of the sheets' rows pile up); returns
    the assessments' live/dead row counts found before it."""
    import psycopg

    with psycopg.connect(owner_url, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute(
            "SELECT n_live_tup, n_dead_tup FROM pg_stat_user_tables WHERE schemaname = %s"
            " AND relname = 'schools_assessment'",
            [schema],
        ).fetchone()
        t = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")
        return {
            "assessment_live_rows": row[0] if row else None,
            "assessment_dead_rows": row[1] if row else None,
            "vacuum_seconds": time.perf_counter() - t,
        }


def access_of(school, account_id: int):
    from schools.access import school_access
    from tenants.models import Account
    from tenants.selectors import access_for

    account = Account.objects.get(pk=account_id)
    return school_access(account.pk, school.pk, access_for(account).school_roles(school.pk))


@contextlib.contextmanager
def acting_as(ref: SheetRef):
    """The actor context a request of this teacher would carry (the audit triggers read it)."""
    from hocba.kernel import context

    token = context.activate(
        context.ActorContext(
            account_id=ref.teacher_id,
            role="subject_teacher",
            tier="school",
            request_id=context.new_request_id(),
            source="api",
        )
    )
    try:
        yield
    finally:
        context.reset(token)


def current_user() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return cursor.fetchone()[0]


# --- the saves ------------------------------------------------------------------------------------


def save(ref: SheetRef, cells: list[dict]):
    from schools.services import sheets

    return sheets.sheet_save(
        access=ref.access, school_class=ref.school_class, subject=ref.subject, term=ref.term, cells=cells
    )


def _validated(access, school_class, subject, term: int, cells: list[dict]):
    """``sheets.sheet_save``'s own checks and validation (the service's functions), for the row-by-row baseline."""
    from schools.services import sheets

    sheets._check_subject(access, school_class, subject)
    sheets._check_term(term)
    columns = {c.key: c for c in sheets.sheet_columns(subject, school_class, term)}
    students = {s.id: s for s in sheets._students(school_class)}
    batch = sheets._Batch()
    sheets._validate(batch, cells, school_class=school_class, subject=subject, columns=columns, students=students)
    if batch.errors:
        raise sheets.SheetInvalid(batch.errors)
    upserts = [(st, k, q, sc, v, t) for st, _j, k, q, sc, v, t in batch.upserts]
    clears = [(st, k, q) for st, _j, k, q in batch.clears]
    return columns, students, upserts, clears


def _rowwise(*, access, school_class, subject, term: int, cells: list[dict]):
    """The naive save: same validation, then ``update_or_create`` per cell and ``delete`` per cleared cell."""
    from schools.models import Assessment
    from schools.rollups import rollup_add
    from schools.services import sheets

    columns, students, upserts, clears = _validated(access, school_class, subject, term, cells)
    inserted = cleared = 0
    for student_id, kind, seq, score, verdict, text in upserts:
        _obj, created = Assessment.objects.update_or_create(
            student_id=student_id,
            subject=subject,
            year_id=school_class.year_id,
            term=term,
            kind=kind,
            seq=seq,
            defaults={"score": score, "verdict": verdict, "text": text},
        )
        inserted += created
    for student_id, kind, seq in clears:
        cleared += Assessment.objects.filter(
            student_id=student_id, subject=subject, year_id=school_class.year_id, term=term, kind=kind, seq=seq
        ).delete()[0]
    rollup_add(school_id=access.school_id, year_start=school_class.year.start_year, entries=inserted - cleared)
    sheet = sheets._build(school_class, subject, term, list(columns.values()), list(students.values()))
    return sheets.SaveResult(len(upserts), cleared, sheet)


def rowwise_save(ref: SheetRef, cells: list[dict]):
    from schools.services.common import school_write

    return school_write(_rowwise)(
        access=ref.access, school_class=ref.school_class, subject=ref.subject, term=ref.term, cells=cells
    )


def save_full(refs: list[SheetRef], cells: list[list[dict]], rowwise: bool = False) -> int:
    """A whole class — every subject sheet of it — as the API's whole-class save does it (``class_sheets_save``:
    one transaction, one upsert); ``rowwise``: the baseline, the row-by-row save of each sheet in ONE transaction.
    Returns the values written."""
    from django.db import transaction

    from schools.services import sheets

    if not rowwise:
        first = refs[0]
        return sheets.class_sheets_save(
            access=first.access,
            school_class=first.school_class,
            term=first.term,
            sheets=[{"subject": r.subject.pk, "cells": c} for r, c in zip(refs, cells, strict=True)],
        ).written
    written = 0
    with transaction.atomic():
        for ref, c in zip(refs, cells, strict=True):
            written += rowwise_save(ref, c).written
    return written


def save_per_subject(refs: list[SheetRef], cells: list[list[dict]]) -> int:
    """The class as one ``sheet_save`` per subject inside one transaction (what a client without the whole-class
    save would do in one go; each call is then a savepoint). Extra figure."""
    from django.db import transaction

    written = 0
    with transaction.atomic():
        for ref, c in zip(refs, cells, strict=True):
            written += save(ref, c).written
    return written


# --- measuring ------------------------------------------------------------------------------------


def timed(fn) -> tuple[float, float, object]:
    """(wall ms, this process's CPU ms, result)."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000, out


def queries_of(fn) -> list[str]:
    """The statements ``fn`` sends, without the tenant backend's ``SET search_path``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn()
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("SET search_path")]


LABELS = (
    ('SET LOCAL "hocba".', "bind audit context (SET LOCAL)"),
    ("INSERT INTO schools_assessment", "upsert (INSERT … ON CONFLICT, + audit trigger)"),
    ("DELETE FROM schools_assessment", "delete cleared cells"),
    ("INSERT INTO public.tenants_schoolrollup", "rollup"),
    ("INSERT INTO schools_rollupoutbox", "rollup outbox row (HOCBA_ROLLUP_MODE=outbox)"),
    ("SAVEPOINT", "savepoint"),
    ("RELEASE SAVEPOINT", "release savepoint"),
    ("ROLLBACK TO SAVEPOINT", "rollback to savepoint"),
)


def label_of(sql: str) -> str:
    text = " ".join(sql.split())
    if text.startswith('SET LOCAL "hocba".') and "pg_advisory_xact_lock" in text:
        return "bind audit context + take the school's chain lock"
    if text.startswith("SELECT pg_advisory_xact_lock"):
        return "take the school's chain lock (advisory)"
    if text.startswith("WITH chain AS MATERIALIZED") and "INSERT INTO schools_assessment" in text:
        return "upsert (INSERT … ON CONFLICT, + audit trigger)"  # its first step takes the school's chain lock
    for prefix, label in LABELS:
        if text.startswith(prefix):
            return label
    if text.startswith("SELECT") and "schools_enrolment" in text:
        return "students of the class (enrolments)"
    if text.startswith("SELECT") and "schools_recordbook" in text:
        return "record states"
    if text.startswith("SELECT") and "FOR UPDATE" in text and "schools_assessment" in text:
        return "row-by-row: SELECT … FOR UPDATE"
    if text.startswith("SELECT") and "schools_assessment" in text:
        return "read back the sheet (values)"
    if text.startswith("UPDATE") and "schools_assessment" in text:
        return "row-by-row: UPDATE (+ audit trigger)"
    if text.startswith("INSERT") and "schools_assessment" in text:
        return "row-by-row: INSERT (+ audit trigger)"
    return text[:60]


class QueryCounter:
    """``connection.execute_wrapper`` counting statements (``SET search_path`` excluded), for long baselines."""

    def __init__(self):
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        if not sql.startswith("SET search_path"):
            self.n += 1
        return execute(sql, params, many, context)


class StatementTimer:
    """``connection.execute_wrapper``: wall time of every statement (server + round trip + result transfer)."""

    def __init__(self):
        self.by_label: dict[str, list[float]] = {}

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.by_label.setdefault(label_of(sql), []).append((time.perf_counter() - t0) * 1000)

    def total(self) -> float:
        return sum(sum(v) for v in self.by_label.values())


def profile_runs(fn, runs: int) -> dict:
    """Where a save's wall time goes: per statement kind (ms per save), and the rest (Python, commit)."""
    from django.db import connection

    walls, cpus, timer = [], [], StatementTimer()
    for _ in range(runs):
        with connection.execute_wrapper(timer):
            wall, cpu, _out = timed(fn)
        walls.append(wall)
        cpus.append(cpu)
    if not walls:
        return {}
    n = len(walls)
    per_save = {
        label: {"ms": sum(v) / n, "statements": len(v) / n}
        for label, v in sorted(timer.by_label.items(), key=lambda kv: -sum(kv[1]))
    }
    wall = sum(walls) / n
    db = timer.total() / n
    return {
        "runs": n,
        "wall_ms": wall,
        "process_cpu_ms": sum(cpus) / n,
        "statements_ms": db,
        "outside_statements_ms": wall - db,
        "statements": per_save,
        "note": "statement time = execute() wall time seen from Django (server work, triggers, round trip, "
        "result transfer); outside = Python (validation, parsing, building the returned sheet) and COMMIT",
    }


class _Rollback(Exception):
    pass


def explain_upsert(save_fn) -> dict:
    """Where the upsert statement's time goes: ``EXPLAIN (ANALYZE, BUFFERS)`` of the exact statement a save sends
    (captured from a save that is then rolled back, so its values differ from the rows'), run as the application's
    role with the actor bound, in a transaction that is rolled back: execution time and each trigger's time."""
    import json as _json

    from django.db import connection, transaction
    from hocba.kernel import context

    captured: list[str] = []
    try:
        with transaction.atomic():
            captured = queries_of(save_fn)
            raise _Rollback
    except _Rollback:
        pass
    upserts = [q for q in captured if "INSERT INTO schools_assessment" in q]
    if not upserts:
        return {"error": "no upsert statement captured"}
    out = []
    for sql in upserts[:1]:
        try:
            with transaction.atomic():
                context.bind_to_transaction(connection)
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
                    plan = cursor.fetchone()[0]
                raise _Rollback
        except _Rollback:
            pass
        plan = plan if isinstance(plan, list) else _json.loads(plan)
        top = plan[0]
        root = top.get("Plan", {})
        out.append(
            {
                "rows": root.get("Actual Rows"),
                "planning_ms": top.get("Planning Time"),
                "execution_ms": top.get("Execution Time"),
                "triggers_ms": {t["Trigger Name"]: t.get("Time") for t in top.get("Triggers", [])},
                "statement_without_triggers_ms": (top.get("Execution Time") or 0)
                - sum(t.get("Time") or 0 for t in top.get("Triggers", [])),
                "shared_hit": root.get("Shared Hit Blocks"),
                "shared_dirtied": root.get("Shared Dirtied Blocks"),
                "shared_read": root.get("Shared Read Blocks"),
                "wal_note": "EXPLAIN ANALYZE with per-node timing; the transaction is rolled back",
            }
        )
    return {"statements_explained": len(out), "upserts_in_save": len(upserts), **(out[0] if out else {})}


def interleaved(
    measured, baseline, runs: int, baseline_runs: int, deadline: Deadline, prepare=None
) -> tuple[list, list, bool]:
    """``runs`` measured calls with ``baseline_runs`` baseline calls spread evenly between them. With ``prepare``,
    each call gets ``prepare()``'s result — made before the clock starts (the cells a client would send)."""
    positions = {int((k + 0.5) * runs / baseline_runs) for k in range(baseline_runs)} if baseline_runs else set()
    got, base, stopped = [], [], False

    def one(fn):
        if prepare is None:
            return timed(fn)[:2]
        args = prepare()
        return timed(lambda: fn(args))[:2]

    for r in range(runs):
        if deadline.passed():
            stopped = True
            break
        got.append(one(measured))
        if r in positions:
            base.append(one(baseline))
    return got, base, stopped


def verify(ref: SheetRef) -> dict:
    """The last cells sent are what the database holds now (read back with a fresh query)."""
    from schools.models import Assessment
    from schools.services.sheets import _display, sheet_columns

    columns = {c.key: c for c in sheet_columns(ref.subject, ref.school_class, ref.term)}
    by_kind = {(c.kind, c.seq): c for c in columns.values()}
    rows = Assessment.objects.filter(
        subject=ref.subject, year_id=ref.school_class.year_id, term=ref.term, student_id__in=ref.students
    ).values("student_id", "kind", "seq", "score", "verdict", "text")
    held = {}
    for r in rows:
        c = by_kind.get((r["kind"], r["seq"]))
        if c is not None:
            held[(r["student_id"], c.key)] = _display(r, c.value_type)
    expected = {(c["student"], c["column"]): c["value"] for c in ref.last_cells}
    matching = sum(1 for k, v in expected.items() if held.get(k) == v)
    sample = [
        {
            "student": c["student"],
            "subject": ref.subject.pk,
            "term": ref.term,
            "column": c["column"],
            "kind": columns[c["column"]].kind,
            "seq": columns[c["column"]].seq,
            "value": c["value"],
        }
        for c in ref.last_cells[:: max(1, len(ref.last_cells) // 5)][:6]
    ]
    return {
        "cells": len(expected),
        "matching": matching,
        "ok": bool(expected) and matching == len(expected),
        "generation": ref.gen,
        "sample": sample,
    }


def _ratio(baseline: float | None, value: float | None) -> float | None:
    return baseline / value if baseline and value else None


def _loadavg() -> list[float] | None:
    try:
        return list(os.getloadavg())
    except OSError:
        return None


# --- sheet_save_one -------------------------------------------------------------------------------

ONE_GOAL = "one-subject sheet p95 ≤ 60 ms; queries per save independent of the number of students"


def run_one(world: World, scale: SheetScale, results_dir: Path, machine: dict) -> Result:
    ref, few = world.one, world.few
    load_before = _loadavg()
    with acting_as(ref):
        for _ in range(scale.one_warmup):
            save(ref, ref.next_cells())
        rowwise_save(ref, ref.next_cells())  # the baseline's warm-up
        save(few, few.next_cells())
        first_few = save(few, few.next_cells())  # few: rows exist, values change, like the big one
        q45 = queries_of(lambda: save(ref, ref.next_cells()))
        q5 = queries_of(lambda: save(few, few.next_cells()))
        q_base = queries_of(lambda: rowwise_save(ref, ref.next_cells()))
        q_base5 = queries_of(lambda: rowwise_save(few, few.next_cells()))
        got, base, stopped = interleaved(
            lambda c: save(ref, c),
            lambda c: rowwise_save(ref, c),
            scale.one_runs,
            scale.one_baseline_runs,
            Deadline(scale.deadline),
            prepare=ref.next_cells,
        )
        profile = profile_runs(lambda: save(ref, ref.next_cells()), scale.profile_runs)
        profile_base = profile_runs(lambda: rowwise_save(ref, ref.next_cells()), 1)
        explained = explain_upsert(lambda: save(ref, ref.next_cells()))
        last = save(ref, ref.next_cells())
    verified = verify(ref)
    modes = modes_one(ref, scale)
    wall = summary([w for w, _c in got])
    cpu = summary([c for _w, c in got])
    bwall = summary([w for w, _c in base])
    bcpu = summary([c for _w, c in base])
    ratio = _ratio(bwall["p50"], wall["p50"])
    constant = len(q5) == len(q45)
    goal_met = bool(wall["p95"] is not None and wall["p95"] <= 60 and constant and verified["ok"])
    result = Result(
        name="sheet_save_one",
        metric=f"ms wall time of sheets.sheet_save for one subject sheet: {ref.values} values "
        f"({len(ref.students)} students × {len(ref.columns)} columns {'/'.join(k for k, _t in ref.columns)}), "
        f"in-process as {world_user(world)}, every value changed by every save; p50 over the runs after a warm-up",
        unit="ms",
        value=wall["p50"],
        baseline={
            "what": "row-by-row save in the same run, interleaved: same validation, update_or_create per cell in one "
            "transaction (school_write), same read-back; p50",
            "value": bwall["p50"],
        },
        ratio=ratio,
        goal=ONE_GOAL,
        scale=scale.name,
        runs=wall["runs"],
        p50=wall["p50"],
        p95=wall["p95"],
        machine=machine,
    )
    extra = {
        "goal_met": goal_met,
        "values_per_save": ref.values,
        "students": len(ref.students),
        "columns": [k for k, _t in ref.columns],
        "written_per_save": last.written,
        "wall_ms": wall,
        "process_cpu_ms": cpu,
        "baseline_wall_ms": bwall,
        "baseline_process_cpu_ms": bcpu,
        "queries": len(q45),
        "queries_by_students": {str(len(ref.students)): len(q45), str(len(few.students)): len(q5)},
        "queries_constant": constant,
        "statements": [label_of(q) for q in q45],
        "baseline_queries": len(q_base),
        "baseline_queries_by_students": {str(len(ref.students)): len(q_base), str(len(few.students)): len(q_base5)},
        "few_students_written": first_few.written,
        "profile": profile,
        "baseline_profile": profile_base,
        "upsert_explain": explained,
        "verified": verified,
        "school": {"schema": world.school.schema_name, "slug": world.school.slug},
        "stopped_by_deadline": stopped,
        "database_user": world_user(world),
        "vacuum_before": world.vacuumed,
        "loadavg_before": load_before,
        "loadavg_after": _loadavg(),
        "timing": "wall clock (time.perf_counter) around the in-process call, commit included, "
        "the cells made before the clock starts; database and app on the same machine; "
        "process CPU = time.process_time of this process",
        "note": "a TT22 sheet of a 140-period subject has 7 columns (tx1–tx4, gk, ck, nx), "
        "so 45 students give 315 values, not 360: there is no 8th column to send",
        "rollup_mode": _rollup_mode(),
        **({"rollup_modes": modes} if modes else {}),
    }
    path = result.write(results_dir, extra)
    say_modes("sheet_save_one", modes)
    say(
        f"sheet_save_one: sheet_save {ref.values} values p50 {fmt(wall['p50'], 1)} ms, "
        f"p95 {fmt(wall['p95'], 1)} ms (CPU p50 {fmt(cpu['p50'], 1)} ms), {wall['runs']} runs; "
        f"queries/save {len(q45)} at {len(ref.students)} students, {len(q5)} at {len(few.students)} students"
    )
    say(
        f"sheet_save_one: baseline row-by-row p50 {fmt(bwall['p50'], 1)} ms, p95 {fmt(bwall['p95'], 1)} ms, "
        f"{bwall['runs']} runs, queries/save {len(q_base)} at {len(ref.students)} students, "
        f"{len(q_base5)} at {len(few.students)}"
    )
    say(
        f"sheet_save_one: ratio {fmt(ratio, 1)}×; verified {verified['matching']}/{verified['cells']} values in the "
        f"database; goal {ONE_GOAL}: {'met' if goal_met else 'NOT met'} → {path}"
    )
    return result


def _rollup_mode() -> str:
    from django.conf import settings

    return settings.ROLLUP_MODE


def modes_one(ref: SheetRef, scale: SheetScale) -> dict | None:
    """With ``BENCH_ROLLUP_MODES=inline,outbox``: the one-subject save in both rollup modes, and the drain latency
    (``bench.rollup_modes``). After ``verify``: these saves clear and refill a column."""
    if not rollup_modes.comparing():
        return None
    clear = ref.columns[-1][0]
    with acting_as(ref):
        out = rollup_modes.compare(
            lambda c: save(ref, c),
            rollup_modes.counting_cells(ref.next_cells, clear),
            rounds=max(4, scale.one_runs // 5),
            block=6,
            discard=1,
            deadline=Deadline(scale.deadline),
        )
        if "outbox" in rollup_modes.modes():

            def cells_with(k: int) -> list[dict]:
                cells = make_cells(ref.students, ref.columns, 1)
                return [c if i < k else {**c, "value": ""} for i, c in enumerate(cells)]

            out["drain_latency"] = rollup_modes.drain_latency(
                lambda c: save(ref, c),
                cells_with,
                saves=min(ref.values - 1, 60 if scale.name == "full" else 24),
                gap=(0.2, 2.5),
            )
    return out


def say_modes(name: str, modes: dict | None) -> None:
    if not modes:
        return
    parts = [
        f"{m} p50 {fmt(modes['wall_ms'][m]['p50'], 1)} ms p95 {fmt(modes['wall_ms'][m]['p95'], 1)} ms "
        f"({modes['wall_ms'][m]['runs']} runs)"
        for m in modes["modes"]
    ]
    drain = modes["drain_after_each_outbox_block_ms"]
    writes = modes["rollup_write_ms"]
    line = f"{name}: rollup modes {'; '.join(parts)}; outbox/inline p50 {fmt(modes.get('ratio_p50'), 3)}×"
    line += f", p95 {fmt(modes.get('ratio_p95'), 3)}×; the rollup write inside the save p50 " + ", ".join(
        f"{m} {fmt(writes[m]['p50'], 2)} ms" for m in modes["modes"]
    )
    line += f"; drain of a block's rows p50 {fmt(drain['p50'], 1)} ms"
    latency = modes.get("drain_latency")
    if latency:
        lat = latency["latency_ms"]
        line += (
            f"; commit → public row (beat {latency['beat_seconds']:g} s) p50 {fmt(lat['p50'], 0)} ms "
            f"p95 {fmt(lat['p95'], 0)} ms ({latency['applied']}/{latency['saves']} saves)"
        )
    say(line)


def world_user(world: World) -> str:
    if not getattr(world, "_user", None):
        world._user = current_user()
    return world._user


# --- sheet_save_full ------------------------------------------------------------------------------

FULL_GOAL = "full class (2,880 values) p95 ≤ 150 ms; queries independent of the number of students"


def _full_cells(refs: list[SheetRef]) -> list[list[dict]]:
    return [r.next_cells() for r in refs]


def modes_full(refs: list[SheetRef], scale: SheetScale) -> dict | None:
    """With ``BENCH_ROLLUP_MODES=inline,outbox``: the whole-class save in both rollup modes (``bench.rollup_modes``);
    every other save sends one subject's last column empty."""
    if not rollup_modes.comparing():
        return None
    clear = refs[0].columns[-1][0]
    first = rollup_modes.counting_cells(refs[0].next_cells, clear)

    def make() -> list[list[dict]]:
        return [first(), *(r.next_cells() for r in refs[1:])]

    with acting_as(refs[0]):
        return rollup_modes.compare(
            lambda c: save_full(refs, c),
            make,
            rounds=max(4, scale.full_runs // 3),
            block=4,
            discard=1,
            deadline=Deadline(scale.deadline),
        )


def run_full(world: World, scale: SheetScale, results_dir: Path, machine: dict) -> Result:
    from django.db import connection

    refs = world.full
    values = sum(r.values for r in refs)
    load_before = _loadavg()
    with acting_as(refs[0]):
        for _ in range(scale.full_warmup):
            save_full(refs, _full_cells(refs))
        queries = queries_of(lambda: save_full(refs, _full_cells(refs)))
        # Query count against the class's size and the number of subjects: 5 students, and one subject.
        few = [
            SheetRef(r.school_class, r.subject, r.access, r.teacher_id, r.students[:5], r.columns, gen=r.gen)
            for r in refs
        ]
        q_few = queries_of(lambda: save_full(few, _full_cells(few)))
        q_one_subject = queries_of(lambda: save_full(refs[:1], _full_cells(refs[:1])))
        for r, f in zip(refs, few, strict=True):
            r.gen = f.gen
        base_counts: list[int] = []

        def baseline(cells) -> None:
            counter = QueryCounter()
            with connection.execute_wrapper(counter):
                save_full(refs, cells, rowwise=True)
            base_counts.append(counter.n)

        got, base, stopped = interleaved(
            lambda c: save_full(refs, c),
            baseline,
            scale.full_runs,
            scale.full_baseline_runs,
            Deadline(scale.deadline),
            prepare=lambda: _full_cells(refs),
        )
        per_subject = []
        for _ in range(max(2, scale.profile_runs) + 1):
            cells = _full_cells(refs)
            per_subject.append(timed(lambda c=cells: save_per_subject(refs, c))[:2])
        per_subject = per_subject[1:]
        profile = profile_runs(lambda: save_full(refs, _full_cells(refs)), scale.profile_runs)
        explained = explain_upsert(lambda: save_full(refs, _full_cells(refs)))
        save_full(refs, _full_cells(refs))  # the generation after the rolled-back explain: now every value changes
        last_written = save_full(refs, _full_cells(refs))
    verified = [verify(r) for r in refs]
    modes = modes_full(refs, scale)
    wall = summary([w for w, _c in got])
    cpu = summary([c for _w, c in got])
    bwall = summary([w for w, _c in base])
    bcpu = summary([c for _w, c in base])
    ratio = _ratio(bwall["p50"], wall["p50"])
    ok = all(v["ok"] for v in verified)
    constant = len(queries) == len(q_few) == len(q_one_subject)
    goal_met = bool(wall["p95"] is not None and wall["p95"] <= 150 and ok and constant)
    per_subject_wall = summary([w for w, _c in per_subject])
    result = Result(
        name="sheet_save_full",
        metric=f"ms wall time to save a whole class: {values} values "
        f"({len(refs[0].students)} students × {len(refs)} subjects × {len(refs[0].columns)} values) "
        "through sheets.class_sheets_save (the API's whole-class save, "
        "PUT /api/v1/classes/<id>/terms/<term>/sheets/): one transaction, every value changed; p50",
        unit="ms",
        value=wall["p50"],
        baseline={
            "what": f"row-by-row in the same run: the same {len(refs)} sheets, same validation, update_or_create per "
            "cell, one transaction; p50",
            "value": bwall["p50"],
        },
        ratio=ratio,
        goal=FULL_GOAL,
        scale=scale.name,
        runs=wall["runs"],
        p50=wall["p50"],
        p95=wall["p95"],
        machine=machine,
    )
    extra = {
        "goal_met": goal_met,
        "goal_applies": values == 2880,
        "values_per_save": values,
        "students": len(refs[0].students),
        "subjects": [r.subject.code for r in refs],
        "written_per_save": last_written,
        "wall_ms": wall,
        "process_cpu_ms": cpu,
        "baseline_wall_ms": bwall,
        "baseline_process_cpu_ms": bcpu,
        "queries": len(queries),
        "queries_by_size": {
            f"whole class ({len(refs[0].students)} students × {len(refs)} subjects)": len(queries),
            f"5 students × {len(refs)} subjects": len(q_few),
            "whole class, 1 subject": len(q_one_subject),
        },
        "queries_constant": constant,
        "statements": [label_of(q) for q in queries],
        "baseline_queries": base_counts[-1] if base_counts else None,
        "one_sheet_save_per_subject": {
            "what": f"the same class as {len(refs)} sheet_save calls (one per subject) in one transaction",
            "wall_ms": per_subject_wall,
        },
        "upsert_explain": explained,
        "profile": profile,
        "verified": {"ok": ok, "sheets": verified},
        "school": {"schema": world.school.schema_name, "slug": world.school.slug},
        "stopped_by_deadline": stopped,
        "database_user": world_user(world),
        "vacuum_before": world.vacuumed,
        "loadavg_before": load_before,
        "loadavg_after": _loadavg(),
        "timing": "wall clock (time.perf_counter) around the call, commit and the read-back of the sheets included, "
        "the cells (what a client sends) made before the clock starts; database and app on the same machine",
        "rollup_mode": _rollup_mode(),
        **({"rollup_modes": modes} if modes else {}),
    }
    path = result.write(results_dir, extra)
    say_modes("sheet_save_full", modes)
    say(
        f"sheet_save_full: {values} values through class_sheets_save p50 {fmt(wall['p50'], 1)} ms, "
        f"p95 {fmt(wall['p95'], 1)} ms (CPU p50 {fmt(cpu['p50'], 1)} ms), {wall['runs']} runs; "
        f"queries/save {len(queries)} (5 students: {len(q_few)}; 1 subject: {len(q_one_subject)})"
    )
    say(
        f"sheet_save_full: baseline row-by-row p50 {fmt(bwall['p50'], 1)} ms, p95 {fmt(bwall['p95'], 1)} ms, "
        f"{bwall['runs']} runs"
    )
    say(
        f"sheet_save_full: as {len(refs)} sheet_save calls in one transaction "
        f"p50 {fmt(per_subject_wall['p50'], 1)} ms, p95 {fmt(per_subject_wall['p95'], 1)} ms "
        f"({per_subject_wall['runs']} runs)"
    )
    say(
        f"sheet_save_full: ratio {fmt(ratio, 1)}×; verified "
        f"{sum(v['matching'] for v in verified)}/{sum(v['cells'] for v in verified)} values; goal {FULL_GOAL}: "
        f"{'met' if goal_met else 'NOT met'} → {path}"
    )
    return result


# --- audit_overhead -------------------------------------------------------------------------------

AUDIT_GOAL = "audit overhead ≤ 20% of the save"


class AuditSwitch:
    """Enable/disable ``schools_assessment``'s audit triggers as the owner, on a connection of its own."""

    TRIGGERS = ("audit_ins", "audit_upd", "audit_del")

    def __init__(self, owner_url: str, schema: str):
        import psycopg

        self.conn = psycopg.connect(owner_url, autocommit=True, connect_timeout=10)
        self.schema = schema
        self.state = None

    def set(self, on: bool) -> None:
        from psycopg import sql

        verb = sql.SQL("ENABLE" if on else "DISABLE")
        clauses = sql.SQL(", ").join(sql.SQL("{} TRIGGER {}").format(verb, sql.Identifier(t)) for t in self.TRIGGERS)
        self.conn.execute(sql.SQL("ALTER TABLE {}.schools_assessment {}").format(sql.Identifier(self.schema), clauses))
        self.state = on

    def enabled(self) -> dict:
        rows = self.conn.execute(
            "SELECT t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = 'schools_assessment'"
            " AND t.tgname = ANY(%s)",
            [self.schema, list(self.TRIGGERS)],
        ).fetchall()
        return {name: state != "D" for name, state in rows}

    def close(self) -> None:
        try:
            self.set(True)
        finally:
            self.conn.close()


def _audit_blocks(switch: AuditSwitch, fn, rounds: int, block: int, deadline: Deadline) -> dict:
    from django.db import connection

    from schools.models import AuditEntry

    on, off, pairs, rounds_done = [], [], [], 0
    stmt = {True: StatementTimer(), False: StatementTimer()}
    entries = {True: 0, False: 0}
    for r in range(rounds):
        if deadline.passed():
            break
        got = {}
        for state in (True, False) if r % 2 == 0 else (False, True):
            switch.set(state)
            fn()  # first save after the switch: plans are rebuilt
            before = AuditEntry.objects.count()
            got[state] = []
            with connection.execute_wrapper(stmt[state]):
                for _ in range(block):
                    got[state].append(timed(fn)[0])
            entries[state] += AuditEntry.objects.count() - before
        on += got[True]
        off += got[False]
        pairs += [(a - b) / a * 100 for a, b in zip(got[True], got[False], strict=False) if a]
        rounds_done += 1
    switch.set(True)
    upsert = "upsert (INSERT … ON CONFLICT, + audit trigger)"
    upsert_on = stmt[True].by_label.get(upsert, [])
    upsert_off = stmt[False].by_label.get(upsert, [])
    s_on, s_off = summary(on), summary(off)
    u_on, u_off = summary(upsert_on), summary(upsert_off)
    overhead = (s_on["p50"] - s_off["p50"]) / s_on["p50"] * 100 if s_on["p50"] and s_off["p50"] is not None else None
    return {
        "with_audit_ms": s_on,
        "without_audit_ms": s_off,
        "overhead_pct_of_save": overhead,
        "overhead_pct_of_unaudited": ((s_on["p50"] - s_off["p50"]) / s_off["p50"] * 100) if s_off["p50"] else None,
        "overhead_ms": (s_on["p50"] - s_off["p50"]) if s_on["p50"] is not None and s_off["p50"] is not None else None,
        "paired_overhead_pct": summary(pairs),
        "upsert_statement_ms": {
            "with_audit": u_on,
            "without_audit": u_off,
            "overhead_pct_of_statement": ((u_on["p50"] - u_off["p50"]) / u_on["p50"] * 100)
            if u_on["p50"] and u_off["p50"] is not None
            else None,
        },
        "audit_entries_written": {"with_audit": entries[True], "without_audit": entries[False]},
        "rounds": rounds_done,
        "block": block,
    }


def run_audit(world: World, scale: SheetScale, results_dir: Path, machine: dict) -> Result:
    ref, refs = world.one, world.full
    switch = AuditSwitch(world.owner_url, world.school.schema_name)
    load_before = _loadavg()
    try:
        with acting_as(ref):
            save(ref, ref.next_cells())
            one = _audit_blocks(
                switch,
                lambda: save(ref, ref.next_cells()),
                scale.audit_rounds_one,
                scale.audit_block_one,
                Deadline(scale.deadline),
            )
            save_full(refs, _full_cells(refs))
            full = _audit_blocks(
                switch,
                lambda: save_full(refs, _full_cells(refs)),
                scale.audit_rounds_full,
                scale.audit_block_full,
                Deadline(scale.deadline),
            )
            explained = {
                "one_subject": explain_upsert(lambda: save(ref, ref.next_cells())),
                "full_class": explain_upsert(lambda: save_full(refs, _full_cells(refs))),
            }
            save(ref, ref.next_cells())  # the sheets end with values that were committed (the explains rolled back)
            save_full(refs, _full_cells(refs))
    finally:
        switch.close()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT audit_first_broken_link()")
        broken = cursor.fetchone()[0]
    switch2 = AuditSwitch(world.owner_url, world.school.schema_name)
    try:
        triggers_after = switch2.enabled()
    finally:
        switch2.conn.close()
    # The trigger's own time, from EXPLAIN ANALYZE of the upsert, as a share of the audited save's p50: steadier than
    # the difference of two noisy p50s on a shared machine (both are reported).
    for d, ex, calls in ((one, explained["one_subject"], 1), (full, explained["full_class"], 1)):
        trig = sum(v or 0 for k, v in (ex.get("triggers_ms") or {}).items() if k.startswith("audit_")) * calls
        d["audit_trigger_ms_from_explain"] = trig
        d["overhead_pct_from_explain"] = trig / d["with_audit_ms"]["p50"] * 100 if d["with_audit_ms"]["p50"] else None
    verified = {"one_subject": verify(ref), "full_class": [verify(r) for r in refs]}
    verified["ok"] = verified["one_subject"]["ok"] and all(v["ok"] for v in verified["full_class"])
    worst = max((x for x in (one["overhead_pct_of_save"], full["overhead_pct_of_save"]) if x is not None), default=None)
    which = "one-subject" if worst == one["overhead_pct_of_save"] else "full-class"
    headline = one if which == "one-subject" else full
    goal_met = bool(
        worst is not None
        and worst <= 20
        and all(triggers_after.values())
        and broken is None
        and verified["ok"]
        and one["audit_entries_written"]["without_audit"] == 0
        and one["audit_entries_written"]["with_audit"] > 0
    )
    result = Result(
        name="audit_overhead",
        metric="audit overhead in % of the save: (p50 with the audit triggers − p50 without) / p50 with, "
        f"for the one-subject sheet ({ref.values} values) and the full class ({sum(r.values for r in refs)} values, "
        f"one transaction); value = the larger of the two (here: {which}); "
        "p50/p95 = paired per-run overheads of that save, %",
        unit="%",
        value=worst,
        baseline={
            "what": f"the same {which} save with schools_assessment's audit triggers disabled (audit_ins, audit_upd, "
            "audit_del, by the owner), alternating blocks in the same run; p50 ms",
            "value": headline["without_audit_ms"]["p50"],
        },
        ratio=(headline["with_audit_ms"]["p50"] / headline["without_audit_ms"]["p50"])
        if headline["without_audit_ms"]["p50"]
        else None,
        goal=AUDIT_GOAL,
        scale=scale.name,
        runs=headline["with_audit_ms"]["runs"],
        p50=headline["paired_overhead_pct"]["p50"],
        p95=headline["paired_overhead_pct"]["p95"],
        machine=machine,
    )
    extra = {
        "goal_met": goal_met,
        "one_subject": one,
        "full_class": full,
        "ratio_is": "p50 with audit / p50 without",
        "upsert_explain_with_audit": explained,
        "verified": verified,
        "chain_lock": "school_write's own statement (binding the actor and, in this tree, "
        "taking the school's audit-chain advisory lock) runs in both states: only the triggers are switched",
        "other_triggers": "schools_assessment's other statement triggers (window_ins/upd/del, "
        "the open/lock window guard of schools/sql/0003_windows.sql, when present) stay enabled in both states; "
        "their cost is in upsert_explain_with_audit.*.triggers_ms",
        "triggers_enabled_after": triggers_after,
        "audit_chain_first_broken_link": broken,
        "school": {"schema": world.school.schema_name},
        "database_user": world_user(world),
        "vacuum_before": world.vacuumed,
        "loadavg_before": load_before,
        "loadavg_after": _loadavg(),
        "timing": "wall clock around sheet_save (one) or the one-transaction full-class save, commit included",
    }
    path = result.write(results_dir, extra)
    for label, d in (("one-subject", one), ("full-class", full)):
        say(
            f"audit_overhead: {label} save with audit p50 {fmt(d['with_audit_ms']['p50'], 1)} ms "
            f"(p95 {fmt(d['with_audit_ms']['p95'], 1)}), without p50 {fmt(d['without_audit_ms']['p50'], 1)} ms "
            f"(p95 {fmt(d['without_audit_ms']['p95'], 1)}): overhead {fmt(d['overhead_pct_of_save'], 1)}% of the save "
            f"({fmt(d['overhead_pct_of_unaudited'], 1)}% over the unaudited save); "
            f"upsert statement {fmt(d['upsert_statement_ms']['with_audit']['p50'], 1)} vs "
            f"{fmt(d['upsert_statement_ms']['without_audit']['p50'], 1)} ms; "
            f"{d['with_audit_ms']['runs']}+{d['without_audit_ms']['runs']} runs; "
            f"audit trigger time by EXPLAIN {fmt(d['audit_trigger_ms_from_explain'], 1)} ms = "
            f"{fmt(d['overhead_pct_from_explain'], 1)}% of the save"
        )
    say(
        f"audit_overhead: worst {fmt(worst, 1)}% ({which}); chain intact: {broken is None}; triggers re-enabled: "
        f"{all(triggers_after.values())}; goal {AUDIT_GOAL}: {'met' if goal_met else 'NOT met'} → {path}"
    )
    return result


# --- the run --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sheets", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--only", default="", help="comma-separated: " + ", ".join(NAMES))
    parser.add_argument(
        "--keep",
        action="store_true",
        default=os.environ.get("BENCH_SHEETS_KEEP", "") not in {"", "0"},
        help="keep the database at the end (also BENCH_SHEETS_KEEP=1)",
    )
    parser.add_argument("--results-dir", type=Path, default=common.RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scale = SCALES[args.scale]
    selected = [n.strip() for n in args.only.split(",") if n.strip()] or list(NAMES)
    unknown = [n for n in selected if n not in NAMES]
    if unknown:
        raise SystemExit(f"bench: unknown sheet benchmark(s) {', '.join(unknown)}; known: {', '.join(NAMES)}")
    url = database_url()
    common.prepare_environment(url)  # the owner's login for setup (HOCBA_DB_ROLE=owner)
    os.environ["HOCBA_BASE_DOMAIN"] = "hocba.localhost"  # the school's host, here and in the app under load
    common.database_recreate(url)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    settings.DEBUG = False
    started = time.perf_counter()
    failed = False
    try:
        machine = {**common.machine(), "loadavg": _loadavg()}
        t = time.perf_counter()
        world = build_world(scale, selected, url)
        say(
            f"sheets: setup {time.perf_counter() - t:.1f} s as the owner ({world.setup_seconds['students']} students); "
            f"measuring as {world_user(world)}"
        )
        if world_user(world) != settings.DB_APP_USER:
            raise RuntimeError(f"the measured saves must run as {settings.DB_APP_USER}, not {world_user(world)}")
        machine["server_settings"] = server_settings(url)
        machine["sources"] = sources()
        runners = {"sheet_save_one": run_one, "sheet_save_full": run_full, "audit_overhead": run_audit}
        for name in NAMES:
            if name not in selected:
                continue
            world.vacuumed = vacuum(url, world.school.schema_name)
            if name in ("sheet_load", "sheet_load_one_column"):
                from . import sheets_load

                connections.close_all()
                sheets_load.run(
                    world, scale, args.results_dir, machine, url, changes="all" if name == "sheet_load" else "column"
                )
            else:
                runners[name](world, scale, args.results_dir, machine)
    except Exception:
        failed = True
        raise
    finally:
        connections.close_all()
        if args.keep:
            say(f"bench: kept database {common.database_name(url)}")
        else:
            common.database_drop(url)
        print(
            f"bench: sheets {'failed' if failed else 'done'} "
            f"in {time.perf_counter() - started:.1f} s (scale {scale.name})",
            file=sys.stderr,
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
