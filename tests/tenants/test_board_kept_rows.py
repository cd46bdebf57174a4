"""The board's rows kept in the web process (``tenants.selectors.boards.query``, tenants/0024): after every kind of
write the board shows — a rollup's figures (also from a savepoint), a school's name, an exception requested then
gone, a reconciliation's drift, a rollup row deleted — the kept rows equal every row read again, and only the rows
written since are read; a write the board does not show (the hourly schema check) reads nothing; a transaction
still running when the rows are read is seen once it commits; inside a transaction nothing is kept.

Committed writes on connections of their own (threads), on a school year no other test uses, removed at the end."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from tenants.models import RollupDrift, School, SchoolRollup, Window, WindowException
from tenants.rollups import rollup_add
from tenants.selectors.boards import query
from tests.support import client_for, page_text, run_in_thread

YEAR = 1904
HEAD = "kept-rows-head"


def _board(ids):
    """The kept rows and, in the same thread, every row read again; the rows the kept read asked for."""

    def read():
        kept = query.school_rows(ids, year=YEAR, head=HEAD)
        read = query.last_read
        return sorted(kept), sorted(query.fetch_rows(ids, year=YEAR, head=HEAD)), read

    return run_in_thread(read)


def _figure(rows, school_id: int, name: str):
    return next(r for r in rows if r[0] == school_id)[query.AT[name]]


@pytest.fixture
def schools(w):
    names = dict(School.objects.filter(pk__in=(w.school_a, w.school_b)).values_list("pk", "name"))

    def clean():
        WindowException.objects.filter(window__year_start=YEAR).delete()
        Window.objects.filter(year_start=YEAR).delete()
        RollupDrift.objects.filter(year_start=YEAR).delete()
        SchoolRollup.objects.filter(year_start=YEAR).delete()
        for pk, name in names.items():
            School.objects.filter(pk=pk).update(name=name)

    run_in_thread(clean)
    run_in_thread(lambda: [rollup_add(school_id=s, year_start=YEAR, students=40) for s in names])
    query._KEPT.clear()
    yield w.school_a, w.school_b
    run_in_thread(clean)
    query._KEPT.clear()


def test_kept_rows_equal_a_full_read_after_every_write_the_board_shows(w, schools):
    a, b = schools
    ids = {a, b}
    kept, fresh, read = _board(ids)
    assert kept == fresh and read == 2  # the first board reads every row
    kept, fresh, read = _board(ids)
    assert kept == fresh and read == 0  # nothing written since: nothing read

    # a rollup's figures, written from inside a savepoint (its own transaction id is not in a snapshot)
    def in_savepoint():
        with transaction.atomic(), transaction.atomic():
            rollup_add(school_id=a, year_start=YEAR, entries=7)

    run_in_thread(in_savepoint)
    kept, fresh, read = _board(ids)
    assert kept == fresh and read == 1
    assert _figure(kept, a, "students") == 40

    # a school's name
    run_in_thread(lambda: School.objects.filter(pk=b).update(name="Trường THCS Đổi Tên"))
    kept, fresh, read = _board(ids)
    assert kept == fresh and read == 1 and _figure(kept, b, "name") == "Trường THCS Đổi Tên"

    # what the board does not show: the hourly schema check's time
    run_in_thread(lambda: School.objects.filter(pk__in=ids).update(schema_checked_at=timezone.now()))
    kept, fresh, read = _board(ids)
    assert kept == fresh and read == 0

    # an exception requested, then gone: its school is read while it has one, then shows none
    def request():
        now = timezone.now()
        window = Window.objects.create(
            tier="unit",
            unit_id=w.unit_a,
            category="scores_1",
            year_start=YEAR,
            opens_at=now - dt.timedelta(days=3),
            locks_at=now - dt.timedelta(days=1),
            reason="Lịch thử nghiệm",
        )
        WindowException.objects.create(
            window=window,
            school_id=a,
            class_ids=[1],
            until=now + dt.timedelta(days=1),
            reason="Nhập bù điểm",
            requested_by_id=w.account("principal_a").pk,
        )

    run_in_thread(request)
    kept, fresh, read = _board(ids)
    assert kept == fresh and _figure(kept, a, "open_requests") == 1 and read == 1
    run_in_thread(lambda: WindowException.objects.filter(window__year_start=YEAR).delete())
    kept, fresh, read = _board(ids)
    assert kept == fresh and _figure(kept, a, "open_requests") == 0 and read == 0

    # a reconciliation's drift (the rollup row stamped in the same transaction)
    def drift():
        with transaction.atomic():
            at = timezone.now()
            SchoolRollup.objects.filter(school_id=b, year_start=YEAR).update(reconciled_at=at, students=41)
            RollupDrift.objects.create(school_id=b, year_start=YEAR, field="students", old=40, new=41, found_at=at)

    run_in_thread(drift)
    kept, fresh, read = _board(ids)
    assert kept == fresh and _figure(kept, b, "drift") == 1 and _figure(kept, b, "students") == 41

    # a rollup row deleted (by hand: nothing in the product deletes one) stamps its school
    run_in_thread(lambda: SchoolRollup.objects.filter(school_id=a, year_start=YEAR).delete())
    kept, fresh, read = _board(ids)
    # (b is read at every board while its last reconciliation's drift stands)
    assert kept == fresh and read == 2 and _figure(kept, a, "has_rollup") is False

    # the scope's rows are kept apart from another scope's
    kept, fresh, read = _board({a})
    assert kept == fresh and read == 1


def test_a_transaction_running_when_the_rows_are_read_is_seen_once_it_commits(w, schools):
    a, b = schools
    ids = {a, b}
    _board(ids)
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
    ) as writer:
        writer.execute(
            "UPDATE public.tenants_schoolrollup SET students = 77 WHERE school_id = %s AND year_start = %s", (a, YEAR)
        )
        kept, fresh, read = _board(ids)  # read while the writer's transaction runs: not seen yet
        assert kept == fresh and _figure(kept, a, "students") == 40
        writer.commit()
    kept, fresh, read = _board(ids)
    assert kept == fresh and _figure(kept, a, "students") == 77 and read == 1


def test_inside_a_transaction_nothing_is_kept(w, schools):
    a, b = schools

    def in_transaction():
        with transaction.atomic():
            rows = query.school_rows({a, b}, year=YEAR, head=HEAD)
            return len(rows), query.last_read

    assert run_in_thread(in_transaction) == (2, 2)
    assert not query._KEPT


def test_rows_read_from_another_server_or_table_are_read_again(w, schools):
    a, b = schools
    _board({a, b})
    for kept in query._KEPT.values():
        kept.origin = "another server"
    kept, fresh, read = _board({a, b})
    assert kept == fresh and read == 2


def test_the_board_page_outside_a_transaction_shows_a_write_made_after_its_rows_were_kept(w, schools):
    """A web request runs in autocommit: the province board keeps its rows, reads none at the next view, and shows
    a school renamed in between."""
    a, b = schools
    url = f"/manage/board/?year={YEAR}"

    def view():
        client = client_for(w.account("province_admin"))
        first = client.get(url)
        read_first = query.last_read
        again = client.get(url)
        return first.status_code, read_first, again.status_code, query.last_read

    status, read_first, status_again, read_again = run_in_thread(view)
    assert (status, status_again) == (200, 200) and read_first >= 2 and read_again == 0
    run_in_thread(lambda: School.objects.filter(pk=a).update(name="Trường THCS Tên Mới Sau Khi Giữ"))

    def view_again():
        response = client_for(w.account("province_admin")).get(url + "&search=ten+moi+sau")
        return response.status_code, page_text(response), query.last_read

    status, text, read = run_in_thread(view_again)
    assert status == 200 and read == 1 and "Trường THCS Tên Mới Sau Khi Giữ" in text
