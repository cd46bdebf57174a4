"""Large imports run as background jobs: checked in the request, imported by the school-side task (its real code path,
entered with the school's schema as the worker does), all or nothing, each row's outcome recorded on the job."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from schools.models import Assessment, QualityAssessment, Student
from schools.tasks import import_file
from tenants.models import BackgroundJob, BackgroundJobRow, JobState, School
from tenants.services import windows as window_services
from tenants.services.accounts import account_create
from tests.schools.test_excel_qualities import primary  # noqa: F401  (the fixture: a TT27 class)
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, client_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON = {"HTTP_ACCEPT": "application/json"}
PUPILS = [
    ("Ngô Bảo Châu", "05/03/2014", "Nam"),
    ("Đặng Thùy Trâm", "26/11/2014", "Nữ"),
    ("Lương Thế Vinh", "17/08/2014", "Nam"),
    ("Hồ Xuân Hương", "01/02/2014", "Nữ"),
    ("Trần Đại Nghĩa", "13/09/2014", "Nam"),
]


@pytest.fixture
def low_threshold(monkeypatch):
    monkeypatch.setenv("HOCBA_IMPORT_INLINE_ROWS", "3")


def xlsx(wb: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(c, url, content: bytes, **extra):
    return c.post(url, {"file": SimpleUploadedFile("tep.xlsx", content, content_type=XLSX)}, **extra)


def student_list(c, class_id: int, pupils=PUPILS) -> bytes:
    response = c.get(f"/excel/classes/{class_id}/students-template.xlsx")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    for name, born, gender in pupils:
        wb["Danh sách học sinh"].append([name, born, gender])
    return xlsx(wb)


def run_job(job_id: int) -> BackgroundJob:
    """What the worker does with the message sent on commit: the task, with the school's schema first."""
    schema = connection.schema_name
    state = import_file.apply(args=[schema, job_id]).get()  # Celery's tracer, the task base entering the schema
    assert connection.schema_name == "public"
    connection.set_schema(schema)  # the task leaves the connection on public, as a worker's next task expects
    job = BackgroundJob.objects.get(pk=job_id)
    assert state in (job.state, "skipped")
    return job


def outcomes(job: BackgroundJob) -> list[tuple[int, str, str]]:
    return list(BackgroundJobRow.objects.filter(job=job).order_by("number").values_list("number", "key", "outcome"))


def test_a_large_student_list_becomes_a_job_whose_rows_say_what_became_of_each(
    w, klass, low_threshold, django_capture_on_commit_callbacks
):
    c = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    url = f"/excel/classes/{klass.school_class.pk}/students-import/"
    page = c.get(url)
    assert page.status_code == 200 and "students-template.xlsx" in page.content.decode()
    before = Student.objects.count()
    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = upload(c, url, student_list(c, klass.school_class.pk))
    assert response.status_code == 302
    job = BackgroundJob.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert len(sent) == 1  # the task is sent when the request's transaction commits
    assert (job.kind, job.state, job.total, job.school_id) == ("schools.import", JobState.QUEUED, 5, w.school_a)
    assert job.requested_by_id == w.accounts["homeroom_a"] and job.capability == "records.view_all"
    assert bytes(job.input_data) and job.params["kind"] == "students" and job.params["title"]["vi"]
    assert Student.objects.count() == before  # nothing imported in the request

    job = run_job(job.pk)
    assert job.state == JobState.DONE and (job.done, job.ok, job.failed) == (5, 5, 0)
    assert job.summary["vi"].startswith("Đã thêm 5 học sinh") and job.summary["en"]
    assert job.input_data is None  # the file is not kept once the job has ended
    assert outcomes(job) == [(n, name, "created") for n, (name, _b, _g) in enumerate(PUPILS, start=2)]
    assert Student.objects.count() == before + 5
    chau = Student.objects.get(full_name="Ngô Bảo Châu")
    assert chau.date_of_birth == dt.date(2014, 3, 5)
    row = BackgroundJobRow.objects.get(job=job, number=2)
    assert row.data["student_id"] == chau.pk and row.message == "Đã thêm vào lớp 6A1." and row.message_en
    assert row.group == "6A1"

    # The job's page, once ended, names each row; a second delivery of the message changes nothing.
    shown = c.get(f"/jobs/{job.pk}/")
    assert shown.status_code == 200 and "Trần Đại Nghĩa" in shown.content.decode()
    assert run_job(job.pk).done == 5 and Student.objects.count() == before + 5
    # A worker that died after the import committed (its rows with it) but before ending the job: the next delivery
    # finds the rows recorded and only ends the job.
    BackgroundJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING, finished_at=None)
    again = run_job(job.pk)
    assert again.state == JobState.DONE and again.ok == 5 and Student.objects.count() == before + 5


def test_one_bad_cell_saves_nothing_and_the_rows_say_why(w, klass, low_threshold):
    c = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    pupils = [*PUPILS[:2], ("Lương Thế Vinh", "31/02/2014", "Nam"), *PUPILS[3:]]  # 31 February, on row 4
    url = f"/excel/classes/{klass.school_class.pk}/students-import/"
    response = upload(c, url, student_list(c, klass.school_class.pk, pupils), **JSON)
    assert response.status_code == 202
    data = response.json()
    assert data["url"] == f"/jobs/{data['job']}/" and data["status_url"] == f"/api/v1/jobs/{data['job']}/"
    before = Student.objects.count()
    job = run_job(data["job"])
    assert job.state == JobState.FAILED and job.error["code"] == "excel.invalid"
    assert "chưa lưu gì" in job.error["detail"] and job.error["detail_en"]
    assert Student.objects.count() == before  # never half-written
    rows = list(BackgroundJobRow.objects.filter(job=job))
    assert [(r.number, r.outcome) for r in rows] == [(4, "error")]
    assert rows[0].key.startswith("B4") and "B4" in rows[0].message and rows[0].message_en
    status = c.get(f"/api/v1/jobs/{job.pk}/").json()
    assert status["state"] == "failed" and status["error"]["code"] == "excel.invalid"


def test_a_window_locked_when_the_job_runs_fails_it_and_nothing_is_written(w, klass_now, low_threshold):
    teacher = client_for(w.account("teacher_a"), SCHOOL_A_HOST)
    base = f"/excel/classes/{klass_now.school_class.pk}/sheets/{klass_now.math.pk}/1"
    wb = openpyxl.load_workbook(io.BytesIO(teacher.get(f"{base}.xlsx").content))
    ws = wb.worksheets[0]
    header = {c.value: c.column for c in ws[3] if c.value}
    for r in range(4, 4 + len(klass_now.students)):
        ws.cell(row=r, column=header["ĐĐGtx 1"], value=8)
    response = upload(teacher, f"{base}/import/", xlsx(wb), **JSON)
    assert response.status_code == 202  # six rows, over the threshold of three
    now = timezone.now()
    window_services.window_create(
        actor=None,
        category="scores_1",
        year_start=klass_now.school_class.year.start_year,
        opens_at=now - dt.timedelta(hours=2),
        locks_at=now - dt.timedelta(minutes=1),
        school=School.objects.get(pk=w.school_a),
        reason="Khóa sổ học kì I",
    )
    job = run_job(response.json()["job"])
    assert job.state == JobState.FAILED and job.error["detail"] and job.error["detail_en"]
    assert "khóa" in job.error["detail"].lower()
    assert not BackgroundJobRow.objects.filter(job=job).exists()
    assert not Assessment.objects.filter(student_id__in=klass_now.students).exists()


def test_the_sheet_job_records_each_row_and_the_changed_cells(w, klass, low_threshold):
    teacher = client_for(w.account("teacher_a"), SCHOOL_A_HOST)
    base = f"/excel/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1"
    wb = openpyxl.load_workbook(io.BytesIO(teacher.get(f"{base}.xlsx").content))
    ws = wb.worksheets[0]
    header = {c.value: c.column for c in ws[3] if c.value}
    ws.cell(row=4, column=header["ĐĐGtx 1"], value=7.5)
    ws.cell(row=4, column=header["ĐĐGtx 2"], value=9)
    ws.cell(row=6, column=header["ĐĐGgk"], value="8,5")
    response = upload(teacher, f"{base}/import/", xlsx(wb))
    assert response.status_code == 302
    job = run_job(int(response["Location"].strip("/").split("/")[-1]))
    assert job.state == JobState.DONE and (job.done, job.ok) == (6, 2)
    rows = outcomes(job)
    assert [(n, o) for n, _k, o in rows] == [
        (4, "updated"),
        (5, "skipped"),
        (6, "updated"),
        (7, "skipped"),
        (8, "skipped"),
        (9, "skipped"),
    ]
    first = BackgroundJobRow.objects.get(job=job, number=4)
    assert first.key == ws.cell(row=4, column=header["Họ và tên"]).value and first.message == "2 ô thay đổi."
    assert Assessment.objects.filter(student_id__in=klass.students, score__isnull=False).count() == 3


def test_refusals_come_before_any_job(w, klass, low_threshold):
    c = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    content = student_list(c, klass.school_class.pk)
    url = f"/excel/classes/{klass.school_class.pk}/students-import/"
    # A class id of another school does not exist on that school's address: 404 (page and API), and no job.
    principal_b = client_for(w.account("principal_b"), SCHOOL_B_HOST)
    assert upload(principal_b, url, content).status_code == 404
    api = f"/api/v1/classes/{klass.school_class.pk}/students/import/"
    assert upload(principal_b, api, content).status_code == 404
    connection.set_tenant(klass.school)
    # Not one's class, a class one does not keep, a hostile file, the template of another class: refused at once.
    teacher = client_for(w.account("teacher_a"), SCHOOL_A_HOST)
    assert upload(teacher, url, content).status_code == 403
    assert upload(c, f"/excel/classes/{klass.other_class.pk}/students-import/", content).status_code == 404
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", "<" * (2 * 1024 * 1024))
    refused = upload(c, url, bomb.getvalue(), **JSON)
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "excel.compression_ratio"
    wb = openpyxl.load_workbook(io.BytesIO(content))
    meta = wb["_hocba"]
    for row in meta.iter_rows():
        if row[0].value == "class":
            row[1].value = klass.other_class.pk
    wrong = upload(c, url, xlsx(wb), **JSON)
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["code"] == "excel.wrong_class"
    assert not BackgroundJob.objects.exists()


def test_the_job_is_seen_by_its_requester_and_the_school_leadership(w, klass, low_threshold):
    c = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    url = f"/excel/classes/{klass.school_class.pk}/students-import/"
    job_id = upload(c, url, student_list(c, klass.school_class.pk), **JSON).json()["job"]
    assert BackgroundJob.objects.filter(pk=job_id, state=JobState.QUEUED).exists()
    assert c.get(f"/jobs/{job_id}/").status_code == 200
    for name in ("principal_a", "vice_a"):  # they read every class
        assert client_for(w.account(name), SCHOOL_A_HOST).get(f"/api/v1/jobs/{job_id}/").status_code == 200
    # The rows name the class's students (and may quote an identity number): not for a homeroom teacher of another
    # class, nor a teacher, though both hold the import's capability somewhere in the school.
    connection.set_schema_to_public()
    other_homeroom = account_create(
        actor=None,
        username="homeroom-other-class",
        full_name="Chủ Nhiệm Lớp Khác",
        role="homeroom_teacher",
        school=School.objects.get(pk=w.school_a),
        valid_from=dt.date(2025, 7, 1),
    )
    connection.set_tenant(klass.school)
    for account in (other_homeroom, w.account("teacher_a"), w.account("clerk_a"), w.account("parent_a")):
        other = client_for(account, SCHOOL_A_HOST)
        assert other.get(f"/jobs/{job_id}/").status_code == 404
        assert other.get(f"/api/v1/jobs/{job_id}/").status_code == 404
    assert client_for(w.account("principal_b"), SCHOOL_B_HOST).get(f"/jobs/{job_id}/").status_code == 404
    connection.set_tenant(klass.school)


def test_a_small_file_is_still_imported_in_the_request(w, klass):
    c = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    url = f"/excel/classes/{klass.school_class.pk}/students-import/"
    response = upload(c, url, student_list(c, klass.school_class.pk), **JSON)  # 5 rows, under the default 200
    assert response.status_code == 201 and response.json()["created"] == 5
    assert not BackgroundJob.objects.exists()
    page = upload(c, url, student_list(c, klass.school_class.pk, [("Chu Văn An", "02/02/2014", "Nam")]))
    assert page.status_code == 200 and "Chu Văn An" in page.content.decode()


def test_the_api_imports_inline_or_as_a_job(w, klass, monkeypatch):
    c = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    base = f"/api/v1/classes/{klass.school_class.pk}/students/import/"
    template = c.get(f"{base}template/")
    assert template.status_code == 200 and template["Content-Type"] == XLSX
    wb = openpyxl.load_workbook(io.BytesIO(template.content))
    assert [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"] == ["Danh sách học sinh", "Hướng dẫn"]
    small = upload(c, base, student_list(c, klass.school_class.pk, PUPILS[:2]))
    assert small.status_code == 201 and small.json()["created"] == 2
    monkeypatch.setenv("HOCBA_IMPORT_INLINE_ROWS", "2")
    large = upload(c, base, student_list(c, klass.school_class.pk, PUPILS[2:]))
    assert large.status_code == 202
    job = run_job(large.json()["job"])
    assert job.state == JobState.DONE and job.ok == 3
    schema = c.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/classes/{id}/students/import/template/" in schema["paths"]
    upload_doc = schema["paths"]["/api/v1/classes/{id}/students/import/"]["post"]
    assert "/students/import/template/" in upload_doc["description"] and "202" in upload_doc["responses"]


def test_the_qualities_job_saves_the_levels(w, primary, monkeypatch):  # noqa: F811
    monkeypatch.setenv("HOCBA_IMPORT_INLINE_ROWS", "1")
    three, pupils = primary["class"], primary["pupils"]
    c = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    base = f"/excel/classes/{three.pk}/qualities/2/end"
    wb = openpyxl.load_workbook(io.BytesIO(c.get(f"{base}.xlsx").content))
    wb.worksheets[0].cell(row=5, column=5, value="Tốt")
    response = upload(c, f"{base}/import/", xlsx(wb), **JSON)
    assert response.status_code == 202
    job = BackgroundJob.objects.get(pk=response.json()["job"])
    assert job.capability == "records.view_all" and job.params["back_url"] == f"{base}/import/"
    job = run_job(job.pk)
    assert job.state == JobState.DONE and [o for _n, _k, o in outcomes(job)] == ["updated", "skipped"]
    assert job.summary["vi"].startswith("Đã đọc 2 hàng học sinh: 1 mức thay đổi")
    assert QualityAssessment.objects.filter(student_id__in=pupils, term=2, checkpoint="end").count() == 1


def test_handing_a_file_to_the_worker_takes_the_same_queries_whatever_its_rows(w, klass, low_threshold, queries):
    c = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    url = f"/excel/classes/{klass.school_class.pk}/students-import/"
    counts = []
    for n in (5, 60):
        content = student_list(c, klass.school_class.pk, [(f"Học Sinh Số {i}", "05/03/2014", "Nam") for i in range(n)])
        with queries() as q:
            assert upload(c, url, content, **JSON).status_code == 202
        counts.append(len(q))
    assert counts[0] == counts[1]
    assert sorted(BackgroundJob.objects.values_list("total", flat=True)) == [5, 60]
