"""The rollups' reconciliation: it recomputes each school under the school's write lock (the chain lock every school
write takes before its ``rollup_add``), so a write committing between its read and its overwrite cannot lose its
delta; it records and logs every figure it fixed (``RollupDrift``); the school's page shows the last pass.

Most tests run inside the test's transaction. The two concurrency tests need sessions that commit: they work in
school B on a school year no other test uses (1902), committed by a thread of their own and removed at the end."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client import REGISTRY

import schools.rollups as school_rollups
from schools.models import RollupOutbox, SchoolYear
from schools.rollups import school_figures
from schools.services.common import school_write
from schools.services.sheets import sheet_save
from tenants import rollup_outbox, selectors, tasks
from tenants.models import RollupDrift, School, SchoolRollup
from tenants.rollups import rollup_set
from tests.support import in_thread, run_in_thread

RACE_YEAR = 1902


def _reconciled(name: str) -> float:
    return REGISTRY.get_sample_value("hocba_rollup_reconciled_schools_total", {"drift": name}) or 0.0


def _save_math(w, k, value: str = "7"):
    cells = [{"student": s, "column": c, "value": value} for s in k.students for c in ("tx1", "gk")]
    return sheet_save(access=k.access(w, "teacher_a"), school_class=k.school_class, subject=k.math, term=1, cells=cells)


def _reconcile(w, k, run: str = "pass-1") -> None:
    connection.set_schema_to_public()  # where a worker starts
    tasks.rollups_reconcile_chunk.run([[w.school_a, k.school.schema_name]], run)
    connection.set_tenant(k.school)


def _drift(school_id: int) -> set[tuple]:
    return set(
        RollupDrift.objects.filter(school_id=school_id).values_list("year_start", "table", "field", "old", "new")
    )


# --- drift recorded ------------------------------------------------------------------------------------------------


def test_drift_is_recorded_one_row_per_field_and_logged(w, klass, caplog):
    _save_math(w, klass)
    SchoolRollup.objects.filter(school_id=w.school_a, year_start=2025).update(entries=999, absences=5)
    fixed, none = _reconciled("fixed"), _reconciled("none")
    with caplog.at_level(logging.INFO, logger="tenants.rollup_outbox"):
        _reconcile(w, klass, run="pass-7")

    row = SchoolRollup.objects.get(school_id=w.school_a, year_start=2025)
    figures = school_figures(klass.school_class.year)
    assert (row.entries, row.absences) == (figures["entries"], figures["absences"]) == (12, 0)
    assert _drift(w.school_a) == {(2025, "schoolrollup", "entries", 999, 12), (2025, "schoolrollup", "absences", 5, 0)}
    drifts = list(RollupDrift.objects.filter(school_id=w.school_a))
    assert {d.found_at for d in drifts} == {row.reconciled_at} and {d.run for d in drifts} == {"pass-7"}
    assert (_reconciled("fixed"), _reconciled("none")) == (fixed + 1, none)

    lines = [r for r in caplog.records if r.getMessage().startswith("rollup drift fixed")]
    assert len(lines) == 1  # one line per school with drift, naming every figure
    message = lines[0].getMessage()
    assert f"school {w.school_a}" in message and "entries 999 -> 12" in message and "absences 5 -> 0" in message
    assert lines[0].levelno == logging.WARNING and lines[0].school_id == w.school_a and lines[0].run == "pass-7"
    assert {(d["field"], d["old"], d["new"]) for d in lines[0].drift} == {("entries", 999, 12), ("absences", 5, 0)}

    # The next pass finds nothing: the rows recorded stay, none added.
    caplog.clear()
    _reconcile(w, klass, run="pass-8")
    assert RollupDrift.objects.filter(school_id=w.school_a).count() == 2
    assert not [r for r in caplog.records if r.getMessage().startswith("rollup drift fixed")]
    assert _reconciled("none") == none + 1


def test_a_clean_school_has_no_drift(w, klass, caplog):
    _save_math(w, klass)
    none = _reconciled("none")
    with caplog.at_level(logging.INFO, logger="tenants.rollup_outbox"):
        _reconcile(w, klass)
    assert not RollupDrift.objects.exists() and _reconciled("none") == none + 1
    assert "rollup drift" not in caplog.text
    assert SchoolRollup.objects.get(school_id=w.school_a, year_start=2025).reconciled_at is not None


def test_the_first_reconciliation_is_not_drift(w, klass):
    """A school year without a public row yet (no write reached it, or the row was lost): the pass creates the row;
    nothing was wrong in it, so nothing is recorded."""
    SchoolRollup.objects.filter(school_id=w.school_a).delete()
    fixed = _reconciled("fixed")
    _reconcile(w, klass)
    row = SchoolRollup.objects.get(school_id=w.school_a, year_start=2025)
    assert row.students == 7 and row.records_draft == 7 and row.reconciled_at is not None
    assert not RollupDrift.objects.exists() and _reconciled("fixed") == fixed


def test_rollup_set_returns_the_differing_fields(w, klass):
    figures = school_figures(klass.school_class.year)
    SchoolRollup.objects.filter(school_id=w.school_a, year_start=2025).update(students=3)
    assert rollup_set(school_id=w.school_a, year_start=2025, values=figures) == {"students": (3, 7)}
    assert rollup_set(school_id=w.school_a, year_start=2025, values=figures) == {}
    assert rollup_set(school_id=w.school_a, year_start=1903, values=figures) == {}  # created: not drift


# --- shown where the school may be viewed ------------------------------------------------------------------------


def test_the_school_page_shows_the_last_reconciliation_and_its_drift(w, klass, login, django_assert_max_num_queries):
    page = f"/manage/schools/{w.school_a}/"
    body = login("unit_a_admin").get(page).content.decode()
    assert "Số liệu của trường chưa được đối soát lần nào." in body and "Đối soát số liệu lần cuối" not in body

    SchoolRollup.objects.filter(school_id=w.school_a, year_start=2025).update(students=40, records_draft=1)
    _reconcile(w, klass)
    connection.set_schema_to_public()
    at = timezone.localtime(SchoolRollup.objects.get(school_id=w.school_a, year_start=2025).reconciled_at)
    for name in ("unit_a_admin", "province_admin", "unit_a_staff"):
        response = login(name).get(page)
        assert response.status_code == 200, name
        text = re.sub(r"\s+", " ", response.content.decode())
        assert f"Đối soát số liệu lần cuối: {at:%d/%m/%Y %H:%M}; 2 sai lệch đã sửa" in text, name
        assert "Sai lệch gần đây đã sửa" in text
        assert "<td>2025–2026</td><td>Học sinh</td><td>40</td><td>7</td>" in text
        assert "<td>Học bạ: Đang nhập</td><td>1</td><td>7</td>" in text

    # Another unit's staff: refused, nothing of the school shown.
    other = login("unit_b_admin").get(page)
    assert other.status_code == 403
    assert "sai lệch" not in other.content.decode() and "Đối soát" not in other.content.decode()

    # English.
    english = login("unit_a_admin")
    english.cookies["django_language"] = "en"
    text = re.sub(r"\s+", " ", english.get(page).content.decode())
    assert f"Figures last reconciled: {at:%d/%m/%Y %H:%M}; 2 discrepancies fixed" in text
    assert "<td>Student</td><td>40</td><td>7</td>" in text

    # The selector: three queries whatever the number of schools; frozen rows.
    with django_assert_max_num_queries(3):
        found = selectors.reconciliations(school_ids=[w.school_a, w.school_b])
    assert found[w.school_b] == selectors.Reconciliation(w.school_b, None, 0, ())
    mine = found[w.school_a]
    assert mine.fixed == 2 and mine.reconciled_at == at and len(mine.drift) == 2
    with pytest.raises(AttributeError):
        mine.fixed = 0  # type: ignore[misc]


def test_the_latest_drift_comes_first_and_only_the_last_pass_is_counted(w, klass):
    for students in (30, 31, 32):
        SchoolRollup.objects.filter(school_id=w.school_a, year_start=2025).update(students=students)
        _reconcile(w, klass)
        # Each pass runs in the test's transaction (one now()): spread them as separate passes would be.
        RollupDrift.objects.filter(school_id=w.school_a, old=students).update(
            found_at=timezone.now() - dt.timedelta(hours=40 - students)
        )
    connection.set_schema_to_public()
    latest = timezone.now() - dt.timedelta(hours=8)
    SchoolRollup.objects.filter(school_id=w.school_a).update(reconciled_at=latest)
    RollupDrift.objects.filter(school_id=w.school_a, old=32).update(found_at=latest)
    got = selectors.reconciliation(school_id=w.school_a, recent=2)
    assert got.fixed == 1 and [d.old for d in got.drift] == [32, 31]


# --- the race, and no deadlock ----------------------------------------------------------------------------------


@pytest.fixture
def race_school(w):
    """School B with a committed school year RACE_YEAR (no class, no student: its figures are all zero), removed
    afterwards with everything the test left in public for it."""
    school = School.objects.get(pk=w.school_b)

    @school_write
    def open_year():
        SchoolYear.objects.create(
            start_year=RACE_YEAR,
            starts_on=dt.date(RACE_YEAR, 9, 5),
            term2_starts_on=dt.date(RACE_YEAR + 1, 1, 15),
            ends_on=dt.date(RACE_YEAR + 1, 5, 31),
        )

    @school_write
    def remove_year():
        RollupOutbox.objects.filter(year_start=RACE_YEAR).delete()
        SchoolYear.objects.filter(start_year=RACE_YEAR).delete()

    def setup():
        connection.set_tenant(school)
        open_year()

    def cleanup():
        connection.set_tenant(school)
        remove_year()
        connection.set_schema_to_public()
        SchoolRollup.objects.filter(school_id=school.pk, year_start=RACE_YEAR).delete()
        RollupDrift.objects.filter(school_id=school.pk, year_start=RACE_YEAR).delete()

    run_in_thread(setup)
    try:
        yield school
    finally:
        run_in_thread(cleanup)


def _writer(school, gate: threading.Event | None = None, wrote: threading.Event | None = None):
    """A school write as every service makes it: ``school_write`` (the chain lock first), the rows, its
    ``rollup_add`` (here three assessment cells' worth, the rows themselves left out). ``gate``: hold the
    transaction open after the ``rollup_add`` until it is set."""

    @school_write
    def write():
        school_rollups.rollup_add(school_id=school.pk, year_start=RACE_YEAR, entries=3, entries_term1=3)
        if wrote is not None:
            wrote.set()
        if gate is not None:
            assert gate.wait(20)

    def run():
        connection.set_tenant(school)
        write()

    return run


def _public(school_id: int) -> dict | None:
    def read():
        return SchoolRollup.objects.filter(school_id=school_id, year_start=RACE_YEAR).values("entries").first()

    return run_in_thread(read)


def _outbox_entries(school) -> list[int]:
    def read():
        connection.set_tenant(school)
        return list(RollupOutbox.objects.filter(year_start=RACE_YEAR).values_list("entries", flat=True))

    return run_in_thread(read)


@pytest.mark.parametrize("mode", ["inline", "outbox"])
def test_a_write_committing_between_the_read_and_the_overwrite_keeps_its_delta(
    w, race_school, settings, monkeypatch, mode
):
    """The reconciliation reads the figures and pauses before it overwrites; a writer starts meanwhile. It must not
    commit before the reconciliation does (it queues on the chain lock); once the reconciliation has committed the
    writer's delta lands on top of the new figures — in the public row (inline) or in the outbox, drained after."""
    settings.ROLLUP_MODE = mode
    school = race_school
    read, go = threading.Event(), threading.Event()
    real = school_rollups.school_figures

    def figures_then_pause(year):
        figures = real(year)
        if year.start_year == RACE_YEAR:
            read.set()
            assert go.wait(20)
        return figures

    monkeypatch.setattr(school_rollups, "school_figures", figures_then_pause)
    reconciler, reconciled = in_thread(rollup_outbox.reconcile_school, school.pk, school.schema_name)
    try:
        assert read.wait(20), reconciled
        writer, written = in_thread(_writer(school))
        time.sleep(0.8)
        assert writer.is_alive(), written  # queued behind the reconciliation, not committed in between
    finally:
        go.set()
    reconciler.join(20)
    writer.join(20)
    assert not reconciler.is_alive() and not writer.is_alive()
    assert "error" not in reconciled and "error" not in written, (reconciled, written)
    assert reconciled["value"] >= 1

    if mode == "outbox":
        assert _public(school.pk) == {"entries": 0} and _outbox_entries(school) == [3]
        assert run_in_thread(lambda: rollup_outbox.drain_school(school.pk, school.schema_name, via="sweep")) == 1
    assert _public(school.pk) == {"entries": 3}  # the delta survived the overwrite
    assert run_in_thread(lambda: list(RollupDrift.objects.filter(school_id=school.pk))) == []  # first pass: no drift


@pytest.mark.parametrize("mode", ["inline", "outbox"])
def test_a_writer_holding_its_locks_makes_the_reconciliation_wait_without_deadlock(w, race_school, settings, mode):
    """The other interleaving: the writer holds the chain lock and has written its delta (the public row locked in
    the inline mode, an outbox row in the other) when the reconciliation starts. The reconciliation waits at the
    chain lock — before the outbox and the public rows, as the writers take them — and runs once the writer
    commits: no deadlock, and its figures are read after the write (its delta, with no rows behind it here, is
    drift the pass fixes)."""
    settings.ROLLUP_MODE = mode
    school = race_school
    wrote, gate = threading.Event(), threading.Event()
    writer, written = in_thread(_writer(school, gate=gate, wrote=wrote))
    try:
        assert wrote.wait(20), written
        reconciler, reconciled = in_thread(rollup_outbox.reconcile_school, school.pk, school.schema_name)
        time.sleep(0.8)
        assert reconciler.is_alive(), reconciled  # waiting for the writer
    finally:
        gate.set()
    writer.join(20)
    reconciler.join(20)
    assert not reconciler.is_alive() and not writer.is_alive()
    assert "error" not in written and "error" not in reconciled, (written, reconciled)
    assert _public(school.pk) == {"entries": 0} and _outbox_entries(school) == []
    drift = run_in_thread(
        lambda: set(RollupDrift.objects.filter(school_id=school.pk).values_list("year_start", "field", "old", "new"))
    )
    assert drift == {(RACE_YEAR, "entries", 3, 0), (RACE_YEAR, "entries_term1", 3, 0)}
