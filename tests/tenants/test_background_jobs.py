"""Background jobs (tenants.services.jobs): bulk school creation and the year-end carry-over run in a worker with
a progress bar and a result page naming each row's outcome.

Most tests run the task's real code path in this process (``task.apply``: Celery's tracer, the task base, the
school task entering its schema), inside the test's transaction; the last one runs a real worker on a database and a
Redis of its own, kills it mid-job, and checks that the job is redelivered, resumes and creates nothing twice.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from celery import Celery
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection
from hocba.kernel.roles import Role
from openpyxl import load_workbook
from rest_framework.test import APIClient

from schools.models import Enrolment, RecordBook
from schools.services.carry_jobs import carry_over_class
from schools.services.common import system_access
from schools.services.setup import class_create, school_year_open
from tenants.models import AdministrativeUnit, BackgroundJob, BackgroundJobRow, JobState, RowOutcome, School
from tenants.services import jobs as job_services
from tenants.services import school_files
from tenants.services import schools as school_services
from tenants.services.accounts import account_create
from tests.platform import hostile_files
from tests.servers import REPO, app_database, app_env, private_redis, setup_database, stop_group
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, client_for, give_totp

HEADER = "code,name,levels,unit_code,slug\n"
GOOD = (
    "99500001,Trường Tiểu học Năm Một,Tiểu học,99-AT,th-nam-mot\n"
    "99500002,Trường THCS Năm Hai,THCS,99-AT,thcs-nam-hai\n"
    "99500003,Trường THPT Năm Ba,THPT,99,thpt-nam-ba\n"
)
BAD_ROW = "99500004,Đơn vị lạ,THCS,XX-00,thcs-don-vi-la\n"


def _post(client, name: str, content: bytes, **data):
    return client.post("/manage/schools/provision/", {"file": SimpleUploadedFile(name, content), **data})


def _start(w, content: bytes, *, name: str = "truong.csv", who: str = "province_admin", **data) -> int:
    """Upload as ``who`` through the page; the job is queued (its task captured, not sent) and its id returned."""
    client = client_for(w.account(who))
    response = _post(client, name, content, **data)
    assert response.status_code == 302, response.content.decode()[:800]
    job_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    assert response["Location"] == f"/jobs/{job_id}/"
    return job_id


def _run(job_id: int) -> str:
    return school_files.provision_schools_job.apply(args=[job_id]).get()


def _rows(job_id: int) -> dict[int, tuple[str, str, str]]:
    return {
        r.number: (r.outcome, r.key, r.message)
        for r in BackgroundJobRow.objects.filter(job_id=job_id).order_by("number")
    }


# ------------------------------------------------------------------------------------------ bulk school creation


def test_a_job_is_queued_then_run_with_counters_and_each_rows_outcome(w, login, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job_id = _start(w, (HEADER + GOOD + BAD_ROW).encode(), create_valid="on")
    assert len(callbacks) == 1  # the task is sent once the request's transaction commits
    job = BackgroundJob.objects.get(pk=job_id)
    assert (job.state, job.total, job.done, job.kind) == (JobState.QUEUED, 4, 0, "schools.provision")
    assert job.input_data and job.unit_id == w.province and job.requested_by_id == w.accounts["province_admin"]
    client = login("province_admin")
    page = client.get(f"/jobs/{job_id}/").content.decode()
    assert "<progress" in page and "Đã xử lý 0/4 dòng" in page and 'data-job-poll="/api/v1/jobs/' in page
    assert 'id="job-rows"' not in page  # no result table before the end
    # The breadcrumbs lead back to the form the job came from, by its name (never a bare "back").
    crumbs = page.split('class="crumbs"', 1)[1].split("</nav>", 1)[0]
    assert '<a href="/manage/schools/provision/">Tạo trường từ tệp</a>' in crumbs and "Quay lại" not in crumbs
    assert f"Việc số {job_id}" in crumbs
    status = client.get(f"/api/v1/jobs/{job_id}/").json()
    assert (status["state"], status["done"], status["total"], status["finished"]) == ("queued", 0, 4, False)

    assert _run(job_id) == JobState.PARTLY_DONE
    job.refresh_from_db()
    assert (job.state, job.total, job.done, job.ok, job.failed, job.attempts) == (JobState.PARTLY_DONE, 4, 4, 3, 1, 1)
    assert job.input_data is None and job.finished_at and job.summary["vi"].startswith("Đã tạo 3 trường")
    rows = _rows(job_id)
    assert [rows[n][0] for n in (2, 3, 4, 5)] == ["created"] * 3 + ["error"]
    assert rows[2][1] == "Trường Tiểu học Năm Một (99500001)" and "th-nam-mot.hocba.localhost" in rows[2][2]
    assert "XX-00" in rows[5][2]  # the reason, in words
    assert School.objects.filter(moet_code__startswith="995").count() == 3

    page = client.get(f"/jobs/{job_id}/").content.decode()
    assert 'id="job-rows"' in page and "Đã xử lý 4/4 dòng" in page and 'value="100"' in page
    assert "Trường THCS Năm Hai (99500002)" in page and "Xã An Thạnh (99-AT)" in page  # name, code and unit
    assert page.count('data-outcome="created"') == 3 and 'data-outcome="error"' in page and "Lỗi" in page
    status = client.get(f"/api/v1/jobs/{job_id}/").json()
    assert status["finished"] and status["percent"] == 100 and len(status["rows"]) == 4
    assert status["rows"][3]["outcome"] == "error" and status["rows"][0]["data"]["school_id"]
    english = client.get(f"/api/v1/jobs/{job_id}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["summary"].startswith("Created 3 schools") and "XX-00" in english["rows"][3]["message"]


def test_a_finished_job_is_not_run_again(w, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job_id = _start(w, (HEADER + GOOD).encode())
    assert _run(job_id) == JobState.DONE
    before = (School.objects.count(), BackgroundJobRow.objects.filter(job_id=job_id).count())
    assert _run(job_id) == "skipped"  # a redelivered message finds it done
    job = BackgroundJob.objects.get(pk=job_id)
    assert job.attempts == 1 and job.state == JobState.DONE
    assert (School.objects.count(), BackgroundJobRow.objects.filter(job_id=job_id).count()) == before


def test_a_job_taken_by_a_dead_worker_resumes_after_its_recorded_rows(w, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job_id = _start(w, (HEADER + GOOD).encode())
    # The first delivery created the school of line 3 (its row committed with it), then its worker died.
    first = job_services.job_start(job_id)
    progress = job_services.JobProgress(first)
    school_services.school_create(
        actor=w.account("province_admin"),
        code="99500002",
        name="Trường THCS Năm Hai",
        levels="THCS",
        unit=AdministrativeUnit.objects.get(pk=w.unit_a),
        slug="thcs-nam-hai",
    )
    progress.row(3, key="Trường THCS Năm Hai (99500002)", outcome=RowOutcome.CREATED)
    progress.flush()
    assert BackgroundJob.objects.get(pk=job_id).state == JobState.RUNNING

    assert _run(job_id) == JobState.DONE  # the redelivery
    job = BackgroundJob.objects.get(pk=job_id)
    assert (job.attempts, job.done, job.ok, job.failed) == (2, 3, 3, 0)
    assert [o for o, _k, _m in _rows(job_id).values()] == ["created"] * 3  # line 3 not refused as "code taken"
    assert School.objects.filter(moet_code="99500002").count() == 1


def test_a_job_started_too_many_times_fails_without_running(w, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job_id = _start(w, (HEADER + GOOD).encode())
    BackgroundJob.objects.filter(pk=job_id).update(state=JobState.RUNNING, attempts=job_services.MAX_ATTEMPTS)
    assert _run(job_id) == "skipped"
    job = BackgroundJob.objects.get(pk=job_id)
    assert job.state == JobState.FAILED and job.error["code"] == "jobs.interrupted" and job.error["detail_en"]
    assert not School.objects.filter(moet_code__startswith="995").exists() and job.input_data is None


def test_a_file_with_a_bad_row_creates_nothing_unless_asked(w, login, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job_id = _start(w, (HEADER + GOOD + BAD_ROW).encode())
    assert _run(job_id) == JobState.FAILED  # every row failed or was skipped: nothing created
    job = BackgroundJob.objects.get(pk=job_id)
    assert (job.ok, job.failed, job.done) == (0, 1, 4)
    assert "chưa tạo trường nào" in job.summary["vi"] and job.summary["en"] != job.summary["vi"]
    assert [o for o, _k, _m in _rows(job_id).values()] == ["skipped"] * 3 + ["error"]
    assert not School.objects.filter(moet_code__startswith="995").exists()
    page = login("province_admin").get(f"/jobs/{job_id}/").content.decode()
    assert page.count("Bỏ qua") >= 3 and "Thất bại" in page


def test_one_school_failing_does_not_stop_the_others(w, monkeypatch, django_capture_on_commit_callbacks):
    real = school_services.school_create

    def flaky(**kwargs):
        if kwargs["slug"] == "thcs-nam-hai":
            raise DatabaseError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(school_files, "school_create", flaky)
    with django_capture_on_commit_callbacks(execute=False):
        job_id = _start(w, (HEADER + GOOD).encode())
    assert _run(job_id) == JobState.PARTLY_DONE
    rows = _rows(job_id)
    assert [rows[n][0] for n in (2, 3, 4)] == ["created", "error", "created"]
    assert "lỗi cơ sở dữ liệu" in rows[3][2]
    assert set(School.objects.filter(moet_code__startswith="995").values_list("slug", flat=True)) == {
        "th-nam-mot",
        "thpt-nam-ba",
    }


def test_a_dry_run_still_answers_at_once_and_queues_nothing(w, login):
    before = BackgroundJob.objects.count()
    response = _post(login("province_admin"), "truong.csv", (HEADER + GOOD).encode(), dry_run="1")
    assert response.status_code == 200 and response.content.decode().count('data-status="would_create"') == 3
    assert BackgroundJob.objects.count() == before and not School.objects.filter(moet_code__startswith="995")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bomb.xlsx", hostile_files.BOMBS["unpacks_to_50_mb"]()),
        ("laughs.xlsx", hostile_files.BOMBS["billion_laughs"]()),
        ("fake.xlsx", hostile_files.NOT_A_ZIP),
        ("missing.csv", b"code,name\n1,x\n"),
    ],
)
def test_a_hostile_or_malformed_file_is_refused_before_any_job(w, login, name, content):
    before = BackgroundJob.objects.count()
    response = _post(login("province_admin"), name, content)
    assert response.status_code == 400 and 'id="provision-error"' in response.content.decode()
    assert BackgroundJob.objects.count() == before


def test_the_api_queues_a_job_and_reports_it(w, django_capture_on_commit_callbacks):
    client = APIClient(HTTP_HOST="hocba.localhost")
    client.force_authenticate(w.account("province_admin"))
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/api/v1/schools/provision/",
            {"file": SimpleUploadedFile("truong.csv", (HEADER + GOOD).encode()), "create_valid": "true"},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["state"] == "queued" and body["status_url"] == f"/api/v1/jobs/{body['job_id']}/"
    _run(body["job_id"])
    status = client.get(body["status_url"]).json()
    assert status["state"] == "done" and [r["outcome"] for r in status["rows"]] == ["created"] * 3
    bad = client.post(
        "/api/v1/schools/provision/",
        {"file": SimpleUploadedFile("x.xlsx", hostile_files.NOT_A_ZIP)},
        format="multipart",
    )
    assert bad.status_code == 400 and bad.json()["detail_en"]


# ------------------------------------------------------------------------------------------ the template


def _filled_xlsx(content: bytes, rows: list[list[str]]) -> bytes:
    wb = load_workbook(io.BytesIO(content))
    ws = wb.worksheets[0]
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_the_template_downloads_and_uploads_back(w, login, django_capture_on_commit_callbacks):
    client = login("province_admin")
    response = client.get("/manage/schools/provision/template.xlsx")
    assert response.status_code == 200 and "mau-tao-truong.xlsx" in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["Trường", "Đơn vị", "Hướng dẫn"]
    data = [[c.value for c in row] for row in wb["Trường"].iter_rows()]
    assert data[0] == ["code", "name", "levels", "unit_code", "slug"] and len(data) == 2
    units = [[c.value for c in row] for row in wb["Đơn vị"].iter_rows(min_row=2)]
    assert sorted(u[0] for u in units) == ["99", "99-AT", "99-BM"]  # the units this person may use, with names
    assert "Xã An Thạnh" in [u[1] for u in units] and data[1][3] in {u[0] for u in units}
    filled = _filled_xlsx(response.content, [["99500011", "Trường THCS Mẫu Hai", "THCS", "99-AT", "thcs-mau-hai"]])
    with django_capture_on_commit_callbacks(execute=False):
        job_id = _start(w, filled, name="mau-tao-truong.xlsx")
    assert _run(job_id) == JobState.DONE
    assert [o for o, _k, _m in _rows(job_id).values()] == ["created", "created"]  # the example row, and ours

    csv_response = client.get("/manage/schools/provision/template.csv")
    assert csv_response.status_code == 200 and csv_response.content.startswith(b"\xef\xbb\xbfcode,name,levels")
    content = csv_response.content.replace(b"79000001", b"99500021").replace(b"thcs-mau", b"thcs-mau-csv")
    with django_capture_on_commit_callbacks(execute=False):
        job_id = _start(w, content)
    assert _run(job_id) == JobState.DONE
    assert client.get("/manage/schools/provision/template.pdf").status_code == 404
    assert login("unit_a_admin").get("/manage/schools/provision/template.xlsx").status_code == 403


def test_the_upload_form_links_the_templates(w, login):
    body = login("province_admin").get("/manage/schools/provision/").content.decode()
    assert 'href="/manage/schools/provision/template.xlsx"' in body and "template.csv" in body


# ------------------------------------------------------------------------------------------ who sees a job


def test_only_the_requester_and_peers_in_scope_see_a_job(w, login, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job_id = _start(w, (HEADER + GOOD).encode())
    assert BackgroundJob.objects.get(pk=job_id).unit_id == w.province
    peer = account_create(
        actor=None,
        username="province_admin_2",
        full_name="Quản trị Sở Hai",
        email="province_admin_2@example.vn",
        role=Role.PROVINCE_ADMIN.value,
        unit=AdministrativeUnit.objects.get(pk=w.province),
    )
    give_totp(peer)  # an administrator: the second factor first
    for client in (login("province_admin"), client_for(peer)):  # the requester; schools.manage in the same scope
        assert client.get(f"/jobs/{job_id}/").status_code == 200
        assert client.get(f"/api/v1/jobs/{job_id}/").status_code == 200
    for name in ("unit_a_admin", "unit_b_admin", "unit_a_staff", "inspector", "principal_a"):
        client = login(name)
        assert client.get(f"/jobs/{job_id}/").status_code == 404, name
        response = client.get(f"/api/v1/jobs/{job_id}/")
        assert response.status_code == 404 and response.json()["code"] == "jobs.not_found", name
    # A platform job is unknown on a school's site, even to its requester; an unknown id is unknown.
    assert login("principal_a", host="thcs-an-thanh.hocba.localhost").get(f"/jobs/{job_id}/").status_code == 404
    assert login("province_admin").get(f"/jobs/{job_id + 1000}/").status_code == 404


def test_the_job_page_takes_the_same_queries_whatever_its_rows(w, login, queries):
    def job_with(n: int) -> int:
        job = BackgroundJob.objects.create(
            kind="schools.provision",
            requested_by=w.account("province_admin"),
            capability="schools.manage",
            unit_id=w.province,
            state=JobState.DONE,
            total=n,
            done=n,
            ok=n,
        )
        BackgroundJobRow.objects.bulk_create(
            BackgroundJobRow(job=job, number=i + 2, key=f"Trường {i}", outcome=RowOutcome.CREATED) for i in range(n)
        )
        return job.pk

    client = login("province_admin")
    counts = []
    for n in (3, 450):
        job_id = job_with(n)
        client.get(f"/jobs/{job_id}/")  # warm the session
        with queries() as q:
            response = client.get(f"/jobs/{job_id}/?page=2")
        counts.append(len(q))
        body = response.content.decode()
        assert response.status_code == 200
    assert counts[0] == counts[1], counts
    assert body.count('data-outcome="created"') == 200 and "Trang 2/3" in body  # 200 rows a page


# ------------------------------------------------------------------------------------------ the year-end carry-over


@pytest.fixture
def next_year(klass):
    """The school year 2026–2027 with 7A1 (one grade up) and 8A1."""
    system = system_access(klass.school.pk)
    year = school_year_open(access=system, start_year=2026, levels=["lower_secondary"])
    return {
        name: class_create(access=system, year=year, name=name, grade=grade, homeroom_teacher_id=None)
        for name, grade in (("7A1", 7), ("8A1", 8))
    }


def test_the_carry_over_runs_as_a_school_job_naming_each_student(
    w, klass, next_year, django_capture_on_commit_callbacks
):
    held, pending = klass.students[0], klass.students[1]
    RecordBook.objects.filter(student_id=held).update(state="approved", results={"promotion": "Ở lại lớp"})
    RecordBook.objects.filter(student_id=pending).update(
        state="approved", results={"promotion": "Kiểm tra lại", "retest_subjects": ["Toán"]}
    )
    client = client_for(w.account("principal_a"), SCHOOL_A_HOST)
    url = f"/students/classes/{klass.school_class.pk}/carry-over/"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url, {"to_class": next_year["7A1"].pk, "repeat_class": "", "confirm": "1"})
    assert response.status_code == 302 and len(callbacks) == 1
    job_id = int(response["Location"].strip("/").rsplit("/", 1)[1])
    job = BackgroundJob.objects.get(pk=job_id)
    assert (job.school_id, job.total, job.state, job.capability) == (w.school_a, 6, JobState.QUEUED, "school.setup")
    assert not Enrolment.objects.filter(school_class=next_year["7A1"]).exists()  # nothing yet

    assert carry_over_class.apply(args=[klass.school.schema_name, job_id]).get() == JobState.DONE
    connection.set_tenant(klass.school)
    job.refresh_from_db()
    assert (job.done, job.ok, job.failed) == (6, 4, 0) and "trong một lần" in job.summary["vi"]
    rows = {r.data["student_id"]: r for r in BackgroundJobRow.objects.filter(job_id=job_id)}
    assert rows[held].outcome == "stayed" and "Ở lại lớp" in rows[held].message
    assert rows[pending].outcome == "stayed" and "thi lại" in rows[pending].message
    moved = [r for r in rows.values() if r.outcome == "moved"]
    assert len(moved) == 4 and all(r.message == "Lên lớp 7A1." and r.group == "6A1" for r in moved)
    assert Enrolment.objects.filter(school_class=next_year["7A1"], entry="promoted").count() == 4

    page = client.get(f"/jobs/{job_id}/").content.decode()
    assert page.count('data-outcome="moved"') == 4 and page.count('data-outcome="stayed"') == 2
    assert "Đã chuyển lớp" in page and "Chưa chuyển" in page and "Lên lớp 7A1." in page
    assert carry_over_class.apply(args=[klass.school.schema_name, job_id]).get() == "skipped"  # not run twice
    # Only the school's staff with the capability, on this school's site, see it.
    assert client_for(w.account("vice_a"), SCHOOL_A_HOST).get(f"/jobs/{job_id}/").status_code == 200
    assert client_for(w.account("teacher_a"), SCHOOL_A_HOST).get(f"/api/v1/jobs/{job_id}/").status_code == 404
    assert client_for(w.account("principal_b"), SCHOOL_B_HOST).get(f"/jobs/{job_id}/").status_code == 404
    assert client_for(w.account("principal_a")).get(f"/jobs/{job_id}/").status_code == 404  # the platform site


def test_a_carry_over_refused_when_it_runs_fails_the_job_and_writes_nothing(
    w, klass, next_year, django_capture_on_commit_callbacks
):
    client = client_for(w.account("principal_a"), SCHOOL_A_HOST)
    url = f"/students/classes/{klass.school_class.pk}/carry-over/"
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(url, {"to_class": next_year["7A1"].pk, "confirm": "1"})
    job_id = int(response["Location"].strip("/").rsplit("/", 1)[1])
    late = klass.students[4]  # meanwhile, one student got a record of the next year
    RecordBook.objects.create(student_id=late, year=next_year["7A1"].year, school_class=next_year["7A1"])
    assert carry_over_class.apply(args=[klass.school.schema_name, job_id]).get() == JobState.FAILED
    connection.set_tenant(klass.school)
    job = BackgroundJob.objects.get(pk=job_id)
    assert job.error["code"] == "students.carry_already" and "Hoàng Minh Đức" in job.error["detail"]
    assert job.error["detail_en"] and not BackgroundJobRow.objects.filter(job_id=job_id).exists()
    assert not Enrolment.objects.filter(school_class=next_year["7A1"]).exists()
    page = client.get(f"/jobs/{job_id}/").content.decode()
    assert 'id="job-error"' in page and "Thất bại" in page
    bad = client.post(url, {"to_class": next_year["8A1"].pk, "confirm": "1"})  # checked in the request: no job
    assert bad.status_code == 400 and BackgroundJob.objects.filter(school_id=w.school_a).count() == 1


# ------------------------------------------------------------------------------------------ a real worker, killed

VISIBILITY = 10  # seconds, for this test only (production: hocba.celery.VISIBILITY_TIMEOUT)
WORKER_SCHOOLS = 6
SEED = f"""
from django.core.files.base import ContentFile
from tenants.models import UnitKind
from tenants.selectors import access_for
from tenants.services.accounts import account_create
from tenants.services.school_files import schools_provision_start
from tenants.services.units import unit_create
import datetime as dt
day = dt.date(2025, 1, 1)
province = unit_create(actor=None, kind=UnitKind.PROVINCE, name="Sở Thử việc nền", official_code="97", valid_from=day)
admin = account_create(actor=None, username="jobs_admin", full_name="Quản trị việc nền", email="jobs@example.vn",
                       role="province_admin", unit=province, valid_from=day)
rows = "".join(f"9770{{i:04d}},Trường THCS Nền {{i}},THCS,97,thcs-nen-{{i}}\\n" for i in range({WORKER_SCHOOLS}))
job_id = schools_provision_start(actor=admin, access=access_for(admin), name="truong.csv",
                                 content=("code,name,levels,unit_code,slug\\n" + rows).encode(), create_valid=False)
print("JOB", job_id)
"""


@pytest.fixture
def private_broker(tmp_path):
    with private_redis(tmp_path / "redis.log") as url:
        yield url


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:

    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hocba", "worker", "--pool", "prefork", "--concurrency", "1"]
        + ["-l", "info", "-Q", "celery", "--without-mingle", "--without-gossip", "--without-heartbeat"]
        + ["-n", f"jobs-{log.stem}@%h"],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"{what} not seen within {timeout} s:\n{log.read_text()[-4000:]}")


@pytest.mark.server
def test_a_real_worker_killed_mid_job_is_redelivered_and_creates_each_school_once(private_broker, tmp_path):

    with app_database(f"hocba_jobs_{os.getpid()}") as url:
        env = app_env(url, "hocba.localhost", REDIS_URL=private_broker, HOCBA_CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY))
        out = setup_database(env, seed_script=SEED, label="jobs")
        job_id = int(out.split("JOB", 1)[1].split()[0])

        def job() -> tuple:
            with psycopg.connect(url, autocommit=True) as conn:
                return conn.execute(
                    "SELECT state, done, ok, failed, attempts, input_data IS NULL FROM tenants_backgroundjob"
                    " WHERE id = %s",
                    [job_id],
                ).fetchone()

        assert job()[:2] == ("queued", 0)
        worker_env = {**env, "HOCBA_DB_ROLE": "app"}
        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        first = _start_worker(worker_env, first_log)
        second = None
        try:
            _wait(lambda: " ready." in first_log.read_text(), 60, "the first worker", first_log)
            Celery("sender", broker=private_broker).send_task("tenants.provision_schools", args=[job_id])
            _wait(lambda: job()[1] >= 2, 60, "two schools created", first_log)
            os.kill(first.pid, signal.SIGKILL)  # as an OOM kill would: the main process, then its pool
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
            state, done, *_rest = job()
            assert state == "running" and 2 <= done < WORKER_SCHOOLS, job()

            second = _start_worker(worker_env, second_log)
            _wait(lambda: job()[0] == "done", VISIBILITY + 90, "the redelivered job's end", second_log)
            state, done, ok, failed, attempts, cleared = job()
            assert (done, ok, failed, attempts, cleared) == (WORKER_SCHOOLS, WORKER_SCHOOLS, 0, 2, True)
            with psycopg.connect(url, autocommit=True) as conn:
                codes = [
                    r[0] for r in conn.execute("SELECT moet_code FROM tenants_school WHERE moet_code LIKE '9770%'")
                ]
                outcomes = conn.execute(
                    "SELECT outcome, count(*) FROM tenants_backgroundjobrow WHERE job_id = %s GROUP BY outcome",
                    [job_id],
                ).fetchall()
            assert len(codes) == len(set(codes)) == WORKER_SCHOOLS  # each school once, none lost
            assert outcomes == [("created", WORKER_SCHOOLS)]
        finally:
            for proc in (first, second):
                stop_group(proc)
