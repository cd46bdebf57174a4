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

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from openpyxl import Workbook, load_workbook

from tenants.models import BackgroundJob, BackgroundJobRow, JobState, RowOutcome, School
from tenants.selectors import access_for
from tenants.services import jobs as job_services
from tenants.services import school_files
from tenants.services import schools as school_services
from tests.platform import hostile_files
from tests.support import client_for

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
        unit=school_services.AdministrativeUnit.objects.get(pk=w.unit_a),
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
    from rest_framework.test import APIClient

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
        "/api/v1/schools/provision/", {"file": SimpleUploadedFile("x.xlsx", hostile_files.NOT_A_ZIP)}, format="multipart"
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
    client = login("unit_a_admin")
    response = client.get("/manage/schools/provision/template.xlsx")
    assert response.status_code == 200 and "mau-tao-truong.xlsx" in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["Trường", "Đơn vị", "Hướng dẫn"]
    data = [[c.value for c in row] for row in wb["Trường"].iter_rows()]
    assert data[0] == ["code", "name", "levels", "unit_code", "slug"] and len(data) == 2
    assert data[1][3] == "99-AT"  # the example names a unit this person may use
    units = [[c.value for c in row] for row in wb["Đơn vị"].iter_rows(min_row=2)]
    assert [u[0] for u in units] == ["99-AT"]  # only the units in this person's scope
    filled = _filled_xlsx(response.content, [["99500011", "Trường THCS Mẫu Hai", "THCS", "99-AT", "thcs-mau-hai"]])
    with django_capture_on_commit_callbacks(execute=False):
        job_id = _start(w, filled, name="mau-tao-truong.xlsx", who="unit_a_admin")
    assert _run(job_id) == JobState.DONE
    assert [o for o, _k, _m in _rows(job_id).values()] == ["created", "created"]

    csv_response = client.get("/manage/schools/provision/template.csv")
    assert csv_response.status_code == 200 and csv_response.content.startswith(b"\xef\xbb\xbfcode,name,levels")
    content = csv_response.content.replace(b"79000001", b"99500021").replace(b"thcs-mau", b"thcs-mau-csv")
    with django_capture_on_commit_callbacks(execute=False):
        job_id = _start(w, content, who="unit_a_admin")
    assert _run(job_id) == JobState.DONE
    assert login("unit_a_admin").get("/manage/schools/provision/template.pdf").status_code == 404
    assert login("teacher_a").get("/manage/schools/provision/template.xlsx").status_code == 403


def test_the_upload_form_links_the_templates(w, login):
    body = login("province_admin").get("/manage/schools/provision/").content.decode()
    assert 'href="/manage/schools/provision/template.xlsx"' in body and "template.csv" in body


# ------------------------------------------------------------------------------------------ who sees a job


def test_only_the_requester_and_peers_in_scope_see_a_job(w, login, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job_id = _start(w, (HEADER + GOOD).encode(), who="unit_a_admin")
    assert BackgroundJob.objects.get(pk=job_id).unit_id == w.unit_a
    for name in ("unit_a_admin", "province_admin"):  # the requester; schools.manage over unit A
        client = login(name)
        assert client.get(f"/jobs/{job_id}/").status_code == 200, name
        assert client.get(f"/api/v1/jobs/{job_id}/").status_code == 200, name
    for name in ("unit_b_admin", "unit_a_staff", "inspector", "principal_a"):
        client = login(name)
        assert client.get(f"/jobs/{job_id}/").status_code == 404, name
        response = client.get(f"/api/v1/jobs/{job_id}/")
        assert response.status_code == 404 and response.json()["code"] == "jobs.not_found", name
    # A platform job is unknown on a school's site, even to its requester; an unknown id is unknown.
    on_school = login("unit_a_admin", host="thcs-an-thanh.hocba.localhost")
    assert on_school.get(f"/jobs/{job_id}/").status_code in (403, 404)
    assert login("unit_a_admin").get(f"/jobs/{job_id + 1000}/").status_code == 404


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
