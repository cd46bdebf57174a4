"""Schools from a file: the whole file is checked first and nothing is created if a row is refused (unless the
person chooses to create the valid rows); a dry run reports without creating; a failure mid-way leaves nothing
behind; a file that cannot be read is a 400 with a translated message, on the page and the API. The pages and the API
create through a background job (tests/tenants/test_background_jobs.py has the job's own tests)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils.html import escape
from hocba.kernel.errors import DomainError
from openpyxl import Workbook
from rest_framework.test import APIClient

from tenants import provisioning
from tenants.models import BackgroundJob, BackgroundJobRow, Domain, PlatformAuditEntry, School, SchoolPlacement
from tenants.services import schools as school_services
from tenants.services.school_files import provision_schools_job

HEADER = "code,name,levels,unit_code,slug\n"
GOOD = (
    "99400001,Trường Tiểu học Bốn Một,Tiểu học,99-AT,th-bon-mot\n"
    "99400002,Trường THCS Bốn Hai,THCS,99-AT,thcs-bon-hai\n"
    "99400003,Trường THPT Bốn Ba,THPT,99,thpt-bon-ba\n"
)


def _rows(text: str):
    return school_services.read_school_rows("schools.csv", text.encode())


def _schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {r[0] for r in cursor.fetchall()}


def _state() -> tuple:
    """Everything a provisioning run could leave behind."""
    return (
        School.objects.count(),
        Domain.objects.count(),
        SchoolPlacement.objects.count(),
        PlatformAuditEntry.objects.count(),
        frozenset(_schemas()),
    )


def _statuses(report) -> dict[int, str]:
    return {r.line: r.status for r in report.rows}


# ------------------------------------------------------------------------------------------ the service


def test_one_bad_row_creates_nothing(w):
    before = _state()
    report = school_services.schools_provision(
        actor=None, rows=_rows(HEADER + GOOD + "99400004,Sai cấp,Đại học,99-AT,thcs-sai-cap\n")
    )
    assert report.created == 0 and not report.ok
    assert _statuses(report) == {2: "held", 3: "held", 4: "held", 5: "refused"}
    assert report.rows[3].error_code == "schools.bad_level"
    assert "Đại học" in report.rows[3].message and "Invalid school level" in report.rows[3].message_en
    assert all(r.school_id is None for r in report.rows)
    assert _state() == before


def test_create_valid_rows_creates_the_rest(w):
    before_schemas = _schemas()
    report = school_services.schools_provision(
        actor=None,
        rows=_rows(HEADER + GOOD + "99400004,Đơn vị lạ,THCS,XX-00,thcs-don-vi-la\n"),
        create_valid=True,
    )
    assert _statuses(report) == {2: "created", 3: "created", 4: "created", 5: "refused"}
    assert report.created == 3 and report.rows[3].error_code == "schools.unknown_unit"
    created = School.objects.filter(moet_code__startswith="994")
    assert set(created.values_list("moet_code", flat=True)) == {"99400001", "99400002", "99400003"}
    assert {r.school_id for r in report.rows[:3]} == set(created.values_list("pk", flat=True))
    assert _schemas() - before_schemas == {"s_th_bon_mot", "s_thcs_bon_hai", "s_thpt_bon_ba"}


def test_all_good_rows_are_created_in_one_run(w):
    report = school_services.schools_provision(actor=None, rows=_rows(HEADER + GOOD))
    assert report.ok and report.created == 3
    assert School.objects.get(moet_code="99400003").levels == ["upper_secondary"]


def test_dry_run_creates_nothing_and_reports(w):
    before = _state()
    report = school_services.schools_provision(actor=None, rows=_rows(HEADER + GOOD), dry_run=True)
    assert report.dry_run and report.ok and report.would_create == 3 and report.created == 0
    assert set(_statuses(report).values()) == {"would_create"}
    bad = HEADER + GOOD + ",Thiếu mã,THCS,99-AT,thcs-thieu-ma\n"
    report = school_services.schools_provision(actor=None, rows=_rows(bad), dry_run=True)
    assert _statuses(report) == {2: "held", 3: "held", 4: "held", 5: "refused"}
    assert report.rows[3].error_code == "schools.missing_code"
    report = school_services.schools_provision(actor=None, rows=_rows(bad), dry_run=True, create_valid=True)
    assert report.would_create == 3 and report.rows[3].status == "refused"
    assert _state() == before


def test_duplicates_within_the_file(w):
    before = _state()
    text = (
        HEADER + GOOD + "99400001,Trùng mã với dòng 2,THCS,99-AT,thcs-khac\n"  # line 5
        "99400006,Trùng miền với dòng 3,THCS,99-AT,THCS-Bon-Hai\n"  # line 6 (upper case is the same sub-domain)
    )
    report = school_services.schools_provision(actor=None, rows=_rows(text), create_valid=True)
    refused = {r.line: (r.error_code, r.message, r.message_en) for r in report.failed}
    assert set(refused) == {5, 6}
    assert refused[5][0] == "provision.duplicate_code" and "dòng 2" in refused[5][1] and "row 2" in refused[5][2]
    assert refused[6][0] == "provision.duplicate_slug" and "dòng 3" in refused[6][1] and "row 3" in refused[6][2]
    assert report.created == 3  # with create_valid the first of each pair is created
    assert School.objects.filter(moet_code__startswith="994").count() == 3
    assert _state() != before


def test_duplicates_of_existing_schools(w):
    text = (
        HEADER + "99000001,Trùng mã có sẵn,THCS,99-AT,thcs-moi-mot\n"  # the code of an existing school
        "99400007,Trùng miền có sẵn,THCS,99-AT,thcs-an-thanh\n"  # the sub-domain of an existing school
        "99400009,Trường hợp lệ,THCS,99-AT,thcs-hop-le\n"
    )
    before = _state()
    report = school_services.schools_provision(actor=w.account("province_admin"), rows=_rows(text))
    assert [(r.line, r.error_code) for r in report.failed] == [(2, "schools.code_taken"), (3, "schools.slug_taken")]
    assert "99000001" in report.rows[0].message and "thcs-an-thanh" in report.rows[1].message_en
    assert report.rows[2].status == "held" and _state() == before


def test_checking_a_file_takes_the_same_queries_whatever_its_length(w, queries):
    def lines(n: int) -> str:
        return HEADER + "".join(f"9960{i:04d},Trường {i},THCS,99-AT,thcs-dem-{i}\n" for i in range(n))

    actor = w.account("province_admin")
    school_services.schools_provision(actor=actor, rows=_rows(lines(2)), dry_run=True)  # caches warmed
    with queries() as two:
        school_services.schools_provision(actor=actor, rows=_rows(lines(2)), dry_run=True)
    with queries() as twenty:
        report = school_services.schools_provision(actor=actor, rows=_rows(lines(20)), dry_run=True)
    assert report.would_create == 20 and len(twenty) == len(two), twenty.statements


def test_too_many_schools_for_one_file(w):
    text = HEADER + "".join(
        f"9950{i:04d},Trường {i},THCS,99-AT,thcs-so-{i}\n" for i in range(school_services.max_schools_per_file() + 1)
    )
    with pytest.raises(DomainError) as info:
        school_services.schools_provision(actor=None, rows=_rows(text), dry_run=True)
    assert info.value.code == "provision.too_many"
    with pytest.raises(DomainError) as info:
        school_services.schools_provision(actor=None, rows=_rows(HEADER))
    assert info.value.code in {"provision.no_rows", "provision.empty"}


def test_the_limit_per_file_is_a_setting(w, monkeypatch):
    monkeypatch.setenv("HOCBA_PROVISION_MAX_SCHOOLS", "3")
    text = HEADER + "".join(f"9950{i:04d},Trường {i},THCS,99-AT,thcs-so-{i}\n" for i in range(4))
    with pytest.raises(DomainError) as info:
        school_services.schools_provision(actor=None, rows=_rows(text), dry_run=True)
    assert info.value.code == "provision.too_many" and info.value.params["max"] == 3
    monkeypatch.setenv("HOCBA_PROVISION_MAX_SCHOOLS", "30")
    report = school_services.schools_provision(actor=None, rows=_rows(text), dry_run=True)
    assert report.would_create == 4


def _failing_at(monkeypatch, slug: str):
    """The schema of ``slug`` fails in the database itself (the transaction is really aborted)."""
    real = provisioning.schema_create

    def schema_create(schema_name: str) -> None:
        if schema_name == school_services.schema_name_for(slug):
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")
        real(schema_name)

    monkeypatch.setattr(provisioning, "schema_create", schema_create)


def test_a_failure_mid_way_leaves_nothing_behind(w, monkeypatch):
    _failing_at(monkeypatch, "thpt-bon-ba")  # the third school, after two schemas were created
    before = _state()
    report = school_services.schools_provision(actor=None, rows=_rows(HEADER + GOOD))
    assert _statuses(report) == {2: "held", 3: "held", 4: "refused"}
    assert report.rows[2].error_code == "provision.failed" and report.rows[2].message_en
    assert _state() == before
    assert not _schemas() & {"s_th_bon_mot", "s_thcs_bon_hai", "s_thpt_bon_ba"}


def test_a_failure_mid_way_with_create_valid_rolls_back_only_that_school(w, monkeypatch):
    _failing_at(monkeypatch, "thcs-bon-hai")
    report = school_services.schools_provision(actor=None, rows=_rows(HEADER + GOOD), create_valid=True)
    assert _statuses(report) == {2: "created", 3: "refused", 4: "created"}
    assert set(School.objects.filter(moet_code__startswith="994").values_list("slug", flat=True)) == {
        "th-bon-mot",
        "thpt-bon-ba",
    }
    assert "s_thcs_bon_hai" not in _schemas() and {"s_th_bon_mot", "s_thpt_bon_ba"} <= _schemas()


def test_the_command_checks_first_and_dry_runs(w, tmp_path):
    f = tmp_path / "schools.csv"
    f.write_text(HEADER + GOOD + "99400004,Sai cấp,Đại học,99-AT,thcs-sai-cap\n", encoding="utf-8")
    before = _state()
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("provision_schools", str(f), stdout=io.StringIO(), stderr=err)
    assert "dòng 5" in err.getvalue() and _state() == before
    f.write_text(HEADER + GOOD, encoding="utf-8")
    out = io.StringIO()
    call_command("provision_schools", str(f), "--dry-run", stdout=out)
    assert "3 would be created, 0 failed" in out.getvalue() and _state() == before


# ------------------------------------------------------------------------------------------ the page


def _xlsx(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _post(client, name: str, content: bytes, **data):
    return client.post("/manage/schools/provision/", {"file": SimpleUploadedFile(name, content), **data})


FILE_ERRORS = [
    ("broken.xlsx", b"PK\x03\x04 not a workbook at all", "provision.bad_file"),
    ("empty.csv", b"", "provision.empty"),
    ("columns.csv", b"code,name\n1,x\n", "provision.missing_columns"),
    ("latin.csv", HEADER.encode() + b"1,Tr\xf0\xe9ng,THCS,99-AT,abc\n", "provision.bad_encoding"),
    ("schools.txt", b"x", "provision.bad_type"),
]


def _reader_says(name: str, content: bytes) -> dict[str, str]:
    """What the reader refuses the file with: the code and the message in both languages."""
    with pytest.raises(DomainError) as info:
        school_services.read_school_rows(name, content)
    return info.value.as_dict()


@pytest.mark.parametrize(("name", "content", "code"), FILE_ERRORS)
def test_file_errors_on_the_page_are_400_with_the_form_again(w, login, name, content, code):
    said = _reader_says(name, content)
    assert said["code"] == code and said["detail"] != said["detail_en"]  # translated
    before = _state()
    response = _post(login("province_admin"), name, content)
    assert response.status_code == 400, response.content.decode()[:500]
    body = response.content.decode()
    assert 'id="provision-error"' in body and 'id="provision-form"' in body
    # The page's language only (English with an English page): no English line under the Vietnamese.
    assert escape(said["detail"]) in body and escape(said["detail_en"]) not in body
    assert "not a zip file" not in body.lower()  # not Python's "File is not a zip file"
    assert _state() == before


def test_file_errors_speak_vietnamese_then_english(w, login):
    client = login("province_admin")
    said = _reader_says("broken.xlsx", b"not a workbook")
    vi = _post(client, "broken.xlsx", b"not a workbook").content.decode()
    assert '<html lang="vi"' in vi and escape(said["detail"]) in vi
    en = client.post(
        "/manage/schools/provision/",
        {"file": SimpleUploadedFile("empty.csv", b"")},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    body = en.content.decode()
    assert en.status_code == 400 and '<html lang="en"' in body and "The file contains no data." in body
    nothing = client.post("/manage/schools/provision/", {})
    assert nothing.status_code == 400 and "Hãy chọn một tệp CSV hoặc XLSX." in nothing.content.decode()


def _job(response) -> BackgroundJob:
    """The background job a creation queued (the page redirects to it; the API answers 202 with its id)."""
    if response.status_code == 302:
        job_id = int(response["Location"].strip("/").rsplit("/", 1)[1])
    else:
        assert response.status_code == 202, response.content
        job_id = response.json()["job_id"]
    provision_schools_job.apply(args=[job_id]).get()  # the worker's code path, in this test's transaction
    return BackgroundJob.objects.get(pk=job_id)


def _outcomes(job: BackgroundJob) -> list[tuple[int, str]]:
    return list(BackgroundJobRow.objects.filter(job=job).order_by("number").values_list("number", "outcome"))


def test_page_dry_run_then_all_or_nothing_then_create_valid(w, login, django_capture_on_commit_callbacks):
    client = login("province_admin")
    assert client.get("/manage/schools/provision/").status_code == 200
    good = _xlsx(
        [["code", "name", "levels", "unit_code", "slug"], *[line.split(",") for line in GOOD.split("\n")[:-1]]]
    )
    before = _state()
    response = _post(client, "schools.xlsx", good, dry_run="1")
    body = response.content.decode()
    assert response.status_code == 200 and 'data-outcome="dry-run"' in body
    assert body.count('data-status="would_create"') == 3 and _state() == before
    bad = (HEADER + GOOD + "99400004,Đơn vị lạ,THCS,XX-00,thcs-don-vi-la\n").encode()
    with django_capture_on_commit_callbacks(execute=False):
        response = _post(client, "schools.csv", bad)
    job = _job(response)  # the creation runs as a background job: nothing created, each row says why
    assert job.state == "failed" and _outcomes(job) == [(2, "skipped"), (3, "skipped"), (4, "skipped"), (5, "error")]
    assert _state() == before
    with django_capture_on_commit_callbacks(execute=False):
        response = _post(client, "schools.csv", bad, create_valid="on")
    job = _job(response)
    assert job.state == "partly_done" and [o for _n, o in _outcomes(job)] == ["created"] * 3 + ["error"]
    assert School.objects.filter(moet_code__startswith="994").count() == 3


def test_school_list_offers_the_check_and_the_choice(w, login):
    body = login("province_admin").get("/manage/schools/").content.decode()
    assert 'id="provision-check"' in body and 'name="create_valid"' in body


# ------------------------------------------------------------------------------------------ the API


def _api(w, name: str = "province_admin") -> APIClient:
    client = APIClient(HTTP_HOST="hocba.localhost")
    client.force_authenticate(w.account(name))
    return client


def _api_post(client, name: str, content: bytes, **data):
    return client.post(
        "/api/v1/schools/provision/", {"file": SimpleUploadedFile(name, content), **data}, format="multipart"
    )


@pytest.mark.parametrize(("name", "content", "code"), FILE_ERRORS)
def test_file_errors_on_the_api_are_refusals_in_both_languages(w, name, content, code):
    before = _state()
    response = _api_post(_api(w), name, content)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code and body["detail"] and body["detail_en"] and body["detail"] != body["detail_en"]
    assert "zip" not in (body["detail"] + body["detail_en"]).lower()
    assert _state() == before


def test_api_dry_run_all_or_nothing_and_create_valid(w, django_capture_on_commit_callbacks):
    client = _api(w)
    before = _state()
    response = _api_post(client, "schools.csv", (HEADER + GOOD).encode(), dry_run="true")
    assert response.status_code == 200
    body = response.json()
    assert body["dry_run"] and body["would_create"] == 3 and body["created"] == 0 and _state() == before
    bad = (HEADER + GOOD + "99400002,Trùng mã,THCS,99-AT,thcs-trung-ma\n").encode()
    with django_capture_on_commit_callbacks(execute=False):
        response = _api_post(client, "schools.csv", bad)
    job = _job(response)
    assert job.state == "failed" and _state() == before
    status = client.get(f"/api/v1/jobs/{job.pk}/").json()
    assert [(r["number"], r["outcome"]) for r in status["rows"]][-1] == (5, "error")
    assert "trùng với dòng 3" in status["rows"][-1]["message"]
    assert {r["outcome"] for r in status["rows"][:3]} == {"skipped"}
    with django_capture_on_commit_callbacks(execute=False):
        response = _api_post(client, "schools.csv", bad, create_valid="true")
    job = _job(response)
    assert (job.state, job.ok, job.failed) == ("partly_done", 3, 1)
    assert all(r.data["school_id"] for r in BackgroundJobRow.objects.filter(job=job, outcome="created"))
