"""The window guard of each table of school data (schools/windowguards.py): under a locked window a write is refused
by the database (SQLSTATE HB423, the window's id in DETAIL), the same write under the open window passes; INSERT, UPDATE
and DELETE, each table placing its rows in a year and a class and deciding their category its own way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from schools import windowguards
from schools.models import (
    Absence,
    Assessment,
    AwardDiscipline,
    Conduct,
    Enrolment,
    Exemption,
    GuardianLink,
    QualityAssessment,
    RecordBook,
    SchoolClass,
    Student,
)
from tenants.models import School, Window, WindowException
from tests.school_fixtures import Klass, current_school_year

YEAR = current_school_year(timezone.localdate())
CATEGORIES = ("profile", "scores_1", "scores_2", "conduct", "attendance", "year_end")


def at(minutes: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


def _new_student(name: str = "Đinh Thị Mới") -> Student:
    """A student with no record book yet (their rows say no year: not checked)."""
    return Student.objects.create(full_name=name, date_of_birth=dt.date(2014, 2, 1), gender="F")


@dataclass(frozen=True)
class Table:
    model: type
    row: Callable  # (world, klass) -> the fields of the row inserted, then changed, then deleted
    change: dict
    categories: tuple[str, str, str]  # of the INSERT, the UPDATE and the DELETE
    klass: Callable[[Klass], SchoolClass] = lambda k: k.school_class  # the class the row is in

    @property
    def name(self) -> str:
        return self.model._meta.db_table


def _in_year(k: Klass, **fields) -> dict:
    return {"student_id": k.students[0], "year_id": k.school_class.year_id, **fields}


TABLES = [
    Table(
        Assessment,
        lambda w, k: _in_year(k, subject=k.math, term=1, kind="tx", seq=1, score=5),
        {"score": 6},
        ("scores_1",) * 3,
    ),
    Table(
        QualityAssessment,
        lambda w, k: _in_year(k, term=2, checkpoint="end", code="tu_chu", level="T"),
        {"level": "D"},
        ("scores_2",) * 3,
    ),
    Table(Conduct, lambda w, k: _in_year(k, term=1, level="T"), {"level": "K"}, ("conduct",) * 3),
    Table(
        Absence,
        lambda w, k: _in_year(k, date=timezone.localdate(), excused=True),
        {"excused": False},
        ("attendance",) * 3,
    ),
    Table(
        AwardDiscipline,
        lambda w, k: _in_year(k, kind="award", title="Học sinh giỏi", decided_on=timezone.localdate()),
        {"title": "Học sinh xuất sắc"},
        ("year_end",) * 3,
    ),
    # Opened with the student's profile; changing it afterwards is year-end work.
    Table(
        RecordBook,
        lambda w, k: {"student": _new_student(), "year_id": k.school_class.year_id, "school_class": k.school_class},
        {"homeroom_comment": "Chăm ngoan, tiến bộ"},
        ("profile", "year_end", "profile"),
    ),
    # Placed by the student's latest record book.
    Table(
        GuardianLink,
        lambda w, k: {"student_id": k.students[0], "account_id": w.accounts["parent_a"]},
        {"account_id": F("account_id")},
        ("profile",) * 3,
    ),
    # Placed by its own class (an earlier enrolment of the student, in the other class).
    Table(
        Enrolment,
        lambda w, k: {
            "student_id": k.students[0],
            "school_class": k.other_class,
            "starts_on": timezone.localdate() - dt.timedelta(days=30),
            "ends_on": timezone.localdate() - dt.timedelta(days=10),
        },
        {"exit_note": "Chuyển sang lớp 6A1"},
        ("profile",) * 3,
        klass=lambda k: k.other_class,
    ),
    # An exemption decision: a term's scores data (the whole year: term II's).
    Table(
        Exemption,
        lambda w, k: _in_year(
            k, subject=k.math, term=1, reason="Sức khỏe", decision_number="12/QĐ-THCS", decided_on=timezone.localdate()
        ),
        {"reason": "Điều trị dài ngày"},
        ("scores_1",) * 3,
    ),
]


@pytest.fixture
def windows(w, klass_now) -> dict[str, Window]:
    """One open province window per category, for the school year of ``klass_now``."""
    return {
        category: Window.objects.create(
            tier="province",
            unit_id=w.province,
            category=category,
            year_start=YEAR,
            opens_at=at(-60),
            locks_at=at(60),
            reason="Thử nghiệm",
        )
        for category in CATEGORIES
    }


def _set(window: Window, *, locked: bool, **fields) -> None:
    Window.objects.filter(pk=window.pk).update(locks_at=at(-1) if locked else at(60), **fields)


def _refused(window: Window, write: Callable[[], object]) -> None:
    """``write`` is refused while ``window`` is locked, by that window; the window is open again afterwards."""
    _set(window, locked=True)
    with pytest.raises(DatabaseError) as info, transaction.atomic():
        write()
    cause = info.value.__cause__
    assert (cause.sqlstate, cause.diag.message_detail) == ("HB423", str(window.pk))
    _set(window, locked=False)


def _insert(table: Table, w, k):
    row = table.row(w, k)
    return lambda: table.model.objects.create(**row)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_refused_under_a_locked_window_accepted_under_the_open_one(w, klass_now, windows, table):
    on_insert, on_update, on_delete = (windows[category] for category in table.categories)
    insert = _insert(table, w, klass_now)
    _refused(on_insert, insert)
    rows = table.model.objects.filter(pk=insert().pk)
    _refused(on_update, lambda: rows.update(**table.change))
    assert rows.update(**table.change) == 1
    _refused(on_delete, rows.delete)
    rows.delete()
    assert not rows.exists()


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_locks_of_other_categories_and_other_grades_let_the_writes_through(w, klass_now, windows, table):
    for category, window in windows.items():
        # The table's own categories locked for grades 10–12 only: the write is in grade 6.
        _set(window, locked=True, **({"grades": [10, 11, 12]} if category in table.categories else {}))
    rows = table.model.objects.filter(pk=_insert(table, w, klass_now)().pk)
    assert rows.update(**table.change) == 1
    rows.delete()


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_an_exception_for_the_rows_class_lets_the_insert_through(w, klass_now, windows, table):
    window = windows[table.categories[0]]
    own = table.klass(klass_now)
    other = klass_now.other_class if own == klass_now.school_class else klass_now.school_class
    exception = WindowException.objects.create(
        window=window,
        school_id=w.school_a,
        class_ids=[other.pk],
        until=at(30),
        status="approved",
        reason="Nhập bù",
        requested_by_id=w.accounts["principal_a"],
    )
    insert = _insert(table, w, klass_now)
    _refused(window, insert)  # the exception names another class
    WindowException.objects.filter(pk=exception.pk).update(class_ids=[own.pk])
    _set(window, locked=True)
    assert table.model.objects.filter(pk=insert().pk).exists()


def test_a_student_is_placed_by_their_latest_record_book(w, klass_now, windows):
    student = Student.objects.filter(pk=klass_now.students[0])
    _refused(windows["profile"], lambda: student.update(address="Thôn 3, xã An Thạnh"))
    assert student.update(address="Thôn 3, xã An Thạnh") == 1
    # A student with no record book yet: no year says which windows apply, so no lock stops their rows.
    for window in windows.values():
        _set(window, locked=True)
    newcomer = Student.objects.filter(pk=_new_student().pk)
    assert newcomer.update(address="Thôn 1, xã An Thạnh") == 1
    newcomer.delete()
    assert not newcomer.exists()


def test_a_term_decides_the_category_of_scores(w, klass_now, windows):
    _set(windows["scores_2"], locked=True)
    term_1 = Assessment.objects.create(**_in_year(klass_now, subject=klass_now.math, term=1, kind="tx", seq=1, score=5))
    _refused(windows["scores_2"], lambda: Assessment.objects.filter(pk=term_1.pk).update(term=2))
    _set(windows["scores_2"], locked=True)
    # One statement writing both terms: the locked term refuses it.
    with pytest.raises(DatabaseError) as info, transaction.atomic():
        Assessment.objects.bulk_create(
            [
                Assessment(**_in_year(klass_now, subject=klass_now.math, term=term, kind="tx", seq=2, score=7))
                for term in (1, 2)
            ]
        )
    assert info.value.__cause__.diag.message_detail == str(windows["scores_2"].pk)


def test_one_function_serves_every_table_in_one_session(w, klass_now, windows):
    """The function's statements are prepared per trigger's table (its columns differ): writes to every table in
    turn, twice over on one connection, are each placed and refused as their own table says."""
    for _ in range(2):
        for table in TABLES:
            _refused(windows[table.categories[0]], _insert(table, w, klass_now))


def test_a_new_school_has_the_function_and_every_tables_triggers(w):
    """Schools are made by replaying the template's DDL: the guard asks its cheap question before the exact one."""
    schema = School.objects.get(pk=w.school_a).schema_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname, p.proname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc p ON p.oid = t.tgfoid"
            " WHERE n.nspname = %s AND t.tgname LIKE 'window%%'",
            [schema],
        )
        triggers = set(cursor.fetchall())
        cursor.execute(
            "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = %s AND p.proname LIKE 'window%%'",
            [schema],
        )
        sources = [source for (source,) in cursor.fetchall()]
    assert triggers == {
        (guard.table, f"window_{suffix}", windowguards.FUNCTION)
        for guard in windowguards.GUARDS
        for suffix, _event, _table in windowguards.EVENTS
    }
    assert len(sources) == 1
    assert sources[0].index("hocba_window_may_block") < sources[0].index("hocba_window_enforce")


class _Undo(Exception):
    pass


@pytest.mark.django_db(databases=["default", "owner"])
def test_the_upgrade_replaces_a_schools_per_table_guards(w):
    """A school made before the one function (migration 0007): its per-table guard functions are dropped and every
    table's triggers run ``window_guard``; running the upgrade again changes nothing."""
    owner = connections["owner"]
    schema = School.objects.get(pk=w.school_b).schema_name
    owner.set_schema(schema)
    try:
        with pytest.raises(_Undo), transaction.atomic(using="owner"), owner.cursor() as cursor:
            cursor.execute(
                "CREATE FUNCTION window_guard_conduct() RETURNS trigger LANGUAGE plpgsql"
                " AS $$ BEGIN RETURN NULL; END $$;"
                " DROP TRIGGER window_ins ON schools_conduct;"
                " CREATE TRIGGER window_ins AFTER INSERT ON schools_conduct REFERENCING NEW TABLE AS new_rows"
                " FOR EACH STATEMENT EXECUTE FUNCTION window_guard_conduct();"
            )
            for _ in range(2):
                cursor.execute(windowguards.upgrade_sql())
                cursor.execute(
                    "SELECT c.relname, t.tgname, p.proname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc p ON p.oid = t.tgfoid"
                    " WHERE n.nspname = %s AND t.tgname LIKE 'window%%'",
                    [schema],
                )
                assert set(cursor.fetchall()) == {
                    (guard.table, f"window_{suffix}", windowguards.FUNCTION)
                    for guard in windowguards.GUARDS
                    for suffix, _event, _table in windowguards.EVENTS
                }
                cursor.execute(
                    "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                    " WHERE n.nspname = %s AND p.proname LIKE 'window%%'",
                    [schema],
                )
                assert [name for (name,) in cursor.fetchall()] == [windowguards.FUNCTION]
            raise _Undo
    finally:
        owner.set_schema_to_public()
