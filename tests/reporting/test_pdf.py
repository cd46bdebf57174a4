"""The printed record book (reporting.pdf): a TT22 and a TT27 record render from their frozen results in their
circular's layout — the student's name with its diacritics, the subjects and the results as approved, "Trang 1/N",
the template version, the signature boxes where the layout put them — a record not approved is refused, and the
identity page shows what the Ministry's layout asks and nothing more. Text read back with poppler's ``pdftotext``."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess

import pytest
from django.db import connection
from hocba.kernel.errors import DomainError

from reporting.pdf import (
    RecordNotPrintable,
    render_class_book,
    render_final_grade_batch,
    render_multi_year,
    render_record_book,
    school_heading,
)
from reporting.pdf.classbook import subject_heads
from schools.models import RecordBook, Student, Subject
from schools.selectors import subject_column_choices
from schools.services.classwork import award_add, conduct_save, homeroom_comment_save
from schools.services.common import system_access
from schools.services.records import record_reopen, records_approve, records_submit
from schools.services.setup import assignment_set, class_create, school_year_open
from schools.services.sheets import sheet_save
from schools.services.students import class_carry_over, student_enrol
from schools.services.yearend import primary_rules, qualities_save

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")

VERIFY = "https://hocba.example.vn/xac-minh/Zt7Qk2/"
REASON = "Duyệt để in học bạ"


def pdf_text(pdf: bytes, *, layout: bool = True) -> str:
    command = ["pdftotext", *(["-layout"] if layout else []), "-", "-"]
    out = subprocess.run(command, input=pdf, capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def pages_text(pdf: bytes) -> list[str]:
    return pdf_text(pdf).split("\f")[:-1]


def row_of(text: str, name: str) -> str:
    """The table row of a subject in ``pdftotext -layout`` output: the line where its name starts and the lines
    around it (a long name wraps in its cell, and the cells beside it sit in the middle)."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith(name[:12]))
    return " ".join(lines[max(at - 1, 0) : at + 2])


def score(i: int, term: int) -> str:
    return f"{5 + ((i * 7 + term * 3) % 50) / 10:.1f}"


def fill_year(klass, school_class, student: int, *, level: str) -> dict[str, str]:
    """Every subject of the class, both terms, for one student; returns {subject code: expected year result}."""
    system = system_access(klass.school.pk)
    subjects = list(Subject.objects.filter(level=level, grades__contains=[school_class.grade]).order_by("order"))
    for subject in subjects:
        assignment_set(access=system, school_class=school_class, subject=subject, teacher_id=klass.teacher_id)
    for i, subject in enumerate(subjects):
        keys = [c.key for c in subject_column_choices(school_class, subject)]
        for term in (1, 2):
            cells = []
            for key in keys:
                if key == "nx":
                    value = f"Nhận xét {subject.name} kì {term}: tiến bộ, cần cố gắng thêm"
                elif key in ("mgk", "mck"):
                    value = "T" if i % 3 else "H"
                elif key in ("kgk", "kck"):
                    value = str(7 + i % 3)
                elif subject.grading == "score":
                    value = score(i, term)
                else:
                    value = "D"
                cells.append({"student": student, "column": key, "value": value})
            sheet_save(access=system, school_class=school_class, subject=subject, term=term, cells=cells)
    return {s.code: s.name for s in subjects}


def approve(w, klass, school_class, student: int) -> RecordBook:
    records_submit(access=klass.access(w, "homeroom_a"), school_class=school_class, student_ids=[student])
    records_approve(
        access=klass.access(w, "principal_a"), school_class=school_class, student_ids=[student], reason=REASON
    )
    return RecordBook.objects.select_related("student", "year", "school_class__year").get(student_id=student)


@pytest.fixture
def secondary(w, klass):
    """6A1's second student (Trần Thị Bình), every subject of grade 6 entered for both terms, conduct, comments, an
    award and a guardian with a telephone number; approved."""
    klass.teacher_id = w.accounts["teacher_a"]
    student = klass.students[1]
    Student.objects.filter(pk=student).update(
        guardians=[{"name": "Trần Văn Dũng", "relation": "Bố", "phone": "0912345678"}],
        place_of_birth="Xã An Thạnh, tỉnh Tây Ninh",
        address="Ấp Hòa Bình, xã An Thạnh",
        moet_code="7200012345",
    )
    subjects = fill_year(klass, klass.school_class, student, level="lower_secondary")
    homeroom = klass.access(w, "homeroom_a")
    for term, text in ((1, "Ngoan, lễ phép"), (2, "Tích cực giúp đỡ bạn bè")):
        conduct_save(
            access=homeroom,
            school_class=klass.school_class,
            term=term,
            entries=[{"student": student, "level": "T", "text": text}],
        )
    homeroom_comment_save(
        access=homeroom,
        school_class=klass.school_class,
        student_id=student,
        text="Chăm chỉ, có ý thức tự học; cần mạnh dạn phát biểu hơn.",
    )
    award_add(
        access=homeroom,
        school_class=klass.school_class,
        student_id=student,
        kind="award",
        title="Giấy khen học sinh tiêu biểu",
        decided_on=dt.date(2026, 5, 20),
    )
    return approve(w, klass, klass.school_class, student), subjects


@pytest.fixture
def primary(w, klass):
    """Grade 3 class 3A (TT27) of 2026–2027, one pupil with every subject, test, quality and competency; approved."""
    klass.teacher_id = w.accounts["teacher_a"]
    system = system_access(klass.school.pk)
    year = school_year_open(access=system, start_year=2026, levels=["primary"])
    three = class_create(access=system, year=year, name="3A", grade=3, homeroom_teacher_id=w.accounts["homeroom_a"])
    pupil = student_enrol(
        access=system,
        school_class=three,
        today=dt.date(2026, 9, 10),
        profile={"full_name": "Lý Thị Ngọc Ánh", "date_of_birth": "05/03/2018", "gender": "F"},
    ).pk
    subjects = fill_year(klass, three, pupil, level="primary")
    rules = primary_rules(three)
    entries = [
        {"student": pupil, "code": q.code, "level": "T", "text": f"Nhận xét {q.label_vi.lower()} cuối năm"}
        for q in (*rules.qualities, *rules.competencies)
    ]
    qualities_save(access=klass.access(w, "homeroom_a"), school_class=three, term=2, checkpoint="end", entries=entries)
    homeroom_comment_save(
        access=klass.access(w, "homeroom_a"), school_class=three, student_id=pupil, text="Em ngoan, học tốt."
    )
    return approve(w, klass, three, pupil), subjects


def test_a_tt22_record_renders_its_frozen_results_in_the_tt22_layout(w, klass, secondary):
    record, subjects = secondary
    rendered = render_record_book(record, verify_url=VERIFY)
    text = pdf_text(rendered.pdf)
    pages = pages_text(rendered.pdf)
    assert rendered.template == "tt22-v1" and rendered.pdf.startswith(b"%PDF-")
    assert rendered.pages == len(pages) >= 3
    assert "Trần Thị Bình" in text and "HỌC BẠ" in text and "TRUNG HỌC CƠ SỞ" in text
    assert "Trường THCS An Thạnh" in text and "UBND XÃ AN THẠNH" in text
    assert f"Trang 1/{rendered.pages}" in pages[0] and f"Trang {rendered.pages}/{rendered.pages}" in pages[-1]
    assert "tt22-v1" in text
    # Every subject of the frozen results, with its term and year results as approved.
    frozen = {line["code"]: line for line in record.results["subjects"]}
    assert set(frozen) == set(subjects)
    for line in frozen.values():
        row = row_of(text, line["name"])
        for value in (line["term1"], line["term2"], line["year"]):
            assert value in row, (line["name"], value, row)
    assert record.results["learning"]["year"] in text and "Tốt" in text
    assert "Chăm chỉ, có ý thức tự học" in text and "Giấy khen học sinh tiêu biểu" in text
    assert "Tích cực giúp đỡ bạn bè" in text
    # A box per subject taught, the homeroom teacher's, the principal's and the seal over the principal's.
    assert set(rendered.boxes) == {f"subject-{code}" for code in subjects} | {"homeroom", "principal", "seal"}
    principal, seal = rendered.boxes["principal"], rendered.boxes["seal"]
    assert principal.page == seal.page == rendered.pages - 1
    assert seal.x1 < principal.x1 < seal.x2 and seal.y1 < principal.y2  # overlapping the principal's box
    for box in rendered.boxes.values():
        assert 0 <= box.x1 < box.x2 <= 595.3 and 0 <= box.y1 < box.y2 <= 841.9 and box.width > 20
    # The same record renders to the same bytes (an archive rerun finds the same SHA-256).
    assert render_record_book(record, verify_url=VERIFY).sha256 == rendered.sha256


def test_a_tt27_record_renders_levels_tests_qualities_and_competencies(w, klass, primary):
    record, subjects = primary
    rendered = render_record_book(record, verify_url=VERIFY)
    text = pdf_text(rendered.pdf)
    assert rendered.template == "tt27-v1" and "tt27-v1" in text
    assert "Lý Thị Ngọc Ánh" in text and "TIỂU HỌC" in text and f"Trang 1/{rendered.pages}" in text
    assert "NĂM HỌC 2026–2027" in text
    rules = primary_rules(record.school_class)
    flat = " ".join(pdf_text(rendered.pdf, layout=False).split())  # a long label wraps in its cell
    for q in (*rules.qualities, *rules.competencies):
        assert q.label_vi in flat
    assert "Nhận xét yêu nước cuối năm" in text
    assert record.results["evaluation"] and record.results["evaluation"] in text
    for line in record.results["subjects"]:
        assert line["name"] in flat
    tested = [line for line in record.results["subjects"] if "(" in line["year"]]
    assert tested, "grade 3 has end-of-year tests (Tiếng Việt, Toán)"
    for line in tested:
        row = row_of(text, line["name"])
        level, test = re.match(r"^(.*?)\s*\((\d+)\)$", line["year"]).groups()
        assert level in row and test in row
    assert {"homeroom", "principal", "seal"} <= set(rendered.boxes)
    assert len([s for s in rendered.boxes if s.startswith("subject-")]) == len(subjects)


def test_a_record_not_approved_is_refused(w, klass):
    record = RecordBook.objects.select_related("student", "school_class__year").get(student_id=klass.students[0])
    assert record.state == "draft"
    with pytest.raises(RecordNotPrintable) as refused:
        render_record_book(record, verify_url=VERIFY)
    assert "chưa được duyệt" in str(refused.value)


def test_the_identity_page_shows_what_the_layout_asks_and_no_telephone(w, klass, secondary):
    record, _subjects = secondary
    identity = pages_text(render_record_book(record, verify_url=VERIFY).pdf)[1]
    for shown in (
        "LÝ LỊCH HỌC SINH",
        "Trần Thị Bình",
        "Nữ",
        "05/03/2014",
        "Xã An Thạnh, tỉnh Tây Ninh",
        "Kinh",
        "Việt Nam",
        "Ấp Hòa Bình, xã An Thạnh",
        "7200012345",
        "Trần Văn Dũng (Bố)",
    ):
        assert shown in identity, shown
    assert "0912345678" not in identity


def test_signature_steps_and_signers_can_be_chosen(w, klass, secondary):
    record, _subjects = secondary
    rendered = render_record_book(
        record,
        verify_url=VERIFY,
        signature_boxes={"homeroom", "principal"},
        signer_names={"principal": "Nguyễn Phó Hiệu Trưởng"},
    )
    assert set(rendered.boxes) == {"homeroom", "principal"}
    assert "Nguyễn Phó Hiệu Trưởng" in pdf_text(rendered.pdf)


def test_the_multi_year_book_names_each_years_steps(w, klass, secondary, queries):
    record, _subjects = secondary
    heading = school_heading(klass.school.pk, day=dt.date(2026, 6, 1))
    with queries() as q:
        rendered = render_multi_year(record.student, verify_url=VERIFY, school=heading)
    assert rendered.template == "tt22-v1"
    assert {"2025-homeroom", "2025-principal", "2025-seal"} <= set(rendered.boxes)
    # Records, enrolments, guardians, names, teaching assignments, the history's reading of the corrections (its
    # entries, the record books' states, years, classes, subjects, names): never per subject.
    assert len(q) <= 14
    connection.set_tenant(klass.school)


def test_the_class_book_of_a_term_lists_every_subjects_assessments_and_the_summary(w, klass, secondary, queries):
    record, subjects = secondary
    school_class = record.school_class
    with queries() as q:
        rendered = render_class_book(school_class, 1, verify_url=VERIFY)
    text = pdf_text(rendered.pdf)
    assert rendered.template == "tt22-v1" and "tt22-v1" in text and f"Trang 1/{rendered.pages}" in text
    assert "SỔ THEO DÕI VÀ ĐÁNH GIÁ HỌC SINH" in " ".join(text.split()) and "Học kì I" in text
    for name in subjects.values():
        assert name[:18] in text
    math = next(line for line in record.results["subjects"] if line["code"] == "toan")
    assert math["term1"] in text and score(1, 1).replace(".", ",") in text  # Toán's scores of term I
    for name in ("Nguyễn Văn An", "Trần Thị Bình", "Vũ Thị Hà"):
        assert name in text
    assert {f"subject-{code}" for code in subjects} | {"homeroom", "principal", "seal"} == set(rendered.boxes)
    with queries() as other:  # one student, nothing entered, no teacher (so no names to read)
        render_class_book(klass.other_class, 1, verify_url=VERIFY)
    # Students, subjects, assessments, records, the live results (subjects, assessments, absences, exemptions,
    # decisions, conduct), teachers and their names, the heading: never a statement per student or subject.
    assert len(other) <= len(q) <= 17
    with pytest.raises(DomainError):
        render_class_book(school_class, 3, verify_url=VERIFY)


def page_size(pdf: bytes, page: int) -> tuple[int, int]:
    out = subprocess.run(
        ["pdfinfo", "-f", str(page), "-l", str(page), "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    width, height = re.search(rf"Page\s+{page} size:\s+([\d.]+) x ([\d.]+) pts", out).groups()
    return round(float(width)), round(float(height))


def test_the_class_summary_is_a_landscape_page_with_short_subject_headers_and_a_legend(w, klass, secondary):
    record, _subjects = secondary
    rendered = render_class_book(record.school_class, 1, verify_url=VERIFY)
    summary = pages_text(rendered.pdf)[rendered.boxes["principal"].page]
    assert "TỔNG HỢP KẾT QUẢ LỚP 6A1" in summary
    assert page_size(rendered.pdf, rendered.boxes["principal"].page + 1) == (842, 595)  # A4 landscape
    assert page_size(rendered.pdf, 1) == (595, 842)
    header = next(line for line in summary.splitlines() if "Họ và tên" in line)
    for short in ("NV", "Toán", "NN1", "GDCD", "LSĐL", "KHTN", "GDTC", "HĐTNHN", "NDGDĐP"):
        assert re.search(rf"(^|\s){short}(\s|$)", header), (short, header)
    legend = " ".join(summary[summary.index("Chú thích:") :].split())
    for entry in ("NV: Ngữ văn", "NN1: Ngoại ngữ 1", "LSĐL: Lịch sử và Địa lí", "NDGDĐP: Nội dung giáo dục địa phương"):
        assert entry in legend
    assert "Toán: Toán" not in legend  # a one-word name is printed whole, not explained
    # Bình's row: each subject's term result under its own short name, then learning, conduct and absences.
    row = next(line for line in summary.splitlines() if "Trần Thị Bình" in line).split()
    frozen = {line["code"]: line["term1"] for line in record.results["subjects"]}
    taught = Subject.objects.filter(level="lower_secondary", grades__contains=[6]).order_by("order")
    assert row[4:17] == [frozen[s.code] for s in taught]


def test_a_primary_class_summary_prints_levels_as_letters(w, klass, primary):
    record, _subjects = primary
    rendered = render_class_book(record.school_class, 2, verify_url=VERIFY)
    summary = " ".join(pages_text(rendered.pdf)[rendered.boxes["principal"].page].split())
    assert "TV: Tiếng Việt" in summary and "TNXH: Tự nhiên và Xã hội" in summary
    assert "T: Hoàn thành tốt; H: Hoàn thành; C: Chưa hoàn thành" in summary
    assert "T: Tốt; Đ: Đạt; C: Cần cố gắng" in summary
    row = summary[summary.index("Lý Thị Ngọc Ánh") :].split()[4:]
    assert "Hoàn" not in row[:5] and set(row[:5]) <= {"T", "H", "C", "(7)", "(8)", "(9)", "(10)"}, row


def test_subject_abbreviations_are_unique():
    heads = subject_heads(
        [Subject(name="Tin học"), Subject(name="Toán học"), Subject(name="Toán"), Subject(name="Ngoại ngữ 2")]
    )
    assert [h["short"] for h in heads] == ["TH", "TH2", "Toán", "NN2"]
    assert [h["abbreviated"] for h in heads] == [True, True, False, True]


def test_a_final_grade_batch_is_only_for_grades_5_9_and_12(w, klass):
    with pytest.raises(DomainError) as refused:
        next(render_final_grade_batch(klass.school_class, verify_url_for=lambda sid: VERIFY))
    assert "lớp 5, lớp 9 và lớp 12" in str(refused.value)


# --- corrections after approval, the multi-year book, the final-grade batch ---------------------------------------


def corrections_line(pdf: bytes) -> str:
    """The line "Trong bảng này có sửa chữa ở … chỗ, thuộc các môn học: …" as printed (a paragraph of its own)."""
    lines = [line.strip() for line in pdf_text(pdf, layout=False).splitlines()]
    return next(line for line in lines if line.startswith("Trong bảng này có sửa chữa ở"))


def test_the_book_counts_the_corrections_made_after_approval(w, klass, secondary):
    record, _subjects = secondary
    assert "Trong bảng này có sửa chữa ở 0 chỗ, thuộc các môn học: —" in corrections_line(
        render_record_book(record, verify_url=VERIFY).pdf
    )
    math = Subject.objects.get(level="lower_secondary", code="toan")
    # Two Toán scores of term I changed behind the services while the record stands approved: two places.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE schools_assessment SET score = score - 0.5 WHERE id IN (SELECT id FROM schools_assessment"
            " WHERE student_id = %s AND subject_id = %s AND term = 1 AND score IS NOT NULL ORDER BY id LIMIT 2)",
            [record.student_id, math.pk],
        )
        assert cursor.rowcount == 2
    # Not in the book yet: its frozen results are those approved before the change.
    assert "sửa chữa ở 0 chỗ" in corrections_line(render_record_book(record, verify_url=VERIFY).pdf)
    # The principal reopens it; a change while it is a draft again is no correction after approval.
    record_reopen(access=klass.access(w, "principal_a"), record=record, reason="Sửa điểm Toán học kì I")
    pe = Subject.objects.get(level="lower_secondary", code="giao_duc_the_chat")
    sheet_save(
        access=system_access(klass.school.pk),
        school_class=record.school_class,
        subject=pe,
        term=2,
        cells=[{"student": record.student_id, "column": "nx", "value": "Tích cực luyện tập"}],
    )
    again = approve(w, klass, record.school_class, record.student_id)
    assert again.approved_at > record.approved_at
    line = corrections_line(render_record_book(again, verify_url=VERIFY).pdf)
    assert line == "Trong bảng này có sửa chữa ở 2 chỗ, thuộc các môn học: Toán", line


def test_a_multi_year_book_spans_two_approved_years(w, klass, secondary, queries):
    record, _subjects = secondary
    heading = school_heading(klass.school.pk, day=dt.date(2027, 6, 1))
    with queries() as one_year:
        render_multi_year(record.student, verify_url=VERIFY, school=heading)
    system = system_access(klass.school.pk)
    year = school_year_open(access=system, start_year=2026, levels=["lower_secondary"])
    seven = class_create(access=system, year=year, name="7A1", grade=7, homeroom_teacher_id=w.accounts["homeroom_a"])
    class_carry_over(access=system, school_class=record.school_class, to_class=seven, today=dt.date(2026, 9, 5))
    fill_year(klass, seven, record.student_id, level="lower_secondary")
    homeroom = klass.access(w, "homeroom_a")
    for term in (1, 2):
        conduct_save(
            access=homeroom,
            school_class=seven,
            term=term,
            entries=[{"student": record.student_id, "level": "K", "text": "Lễ phép, cần đúng giờ hơn"}],
        )
    records_submit(access=homeroom, school_class=seven, student_ids=[record.student_id])
    records_approve(
        access=klass.access(w, "principal_a"), school_class=seven, student_ids=[record.student_id], reason=REASON
    )
    second = RecordBook.objects.get(student_id=record.student_id, year=year)
    assert second.state == "approved"
    with queries() as q:
        rendered = render_multi_year(Student.objects.get(pk=record.student_id), verify_url=VERIFY, school=heading)
    text = pdf_text(rendered.pdf)
    flat = " ".join(text.split())
    assert "NĂM HỌC 2025–2026" in text and "NĂM HỌC 2026–2027" in text
    assert "Lớp: 6A1" in flat and "Lớp: 7A1" in flat
    assert flat.index("NĂM HỌC 2025–2026") < flat.index("NĂM HỌC 2026–2027")  # oldest year first
    assert "Lễ phép, cần đúng giờ hơn" in text and "Tích cực giúp đỡ bạn bè" in text  # each year's own comments
    assert text.count("Trong bảng này có sửa chữa ở") == 2
    for start in (2025, 2026):
        assert {f"{start}-homeroom", f"{start}-principal", f"{start}-seal", f"{start}-subject-toan"} <= set(
            rendered.boxes
        )
    assert rendered.boxes["2025-principal"].page < rendered.boxes["2026-principal"].page
    # The identity page lists both classes of the student's time at the school.
    identity = pages_text(rendered.pdf)[1]
    assert "2025–2026" in identity and "2026–2027" in identity and "7A1" in identity
    # The years' records, names and corrections read once per book (the audit: its entries and the record books'
    # states); each year adds its teaching assignments and their teachers' names; nothing per subject.
    for book in (one_year, q):
        assert sum('FROM "schools_auditentry"' in statement for statement in book.statements) <= 2
    assert len(one_year) <= 14 and len(q) <= 19, "\n".join(q.statements)


def test_a_final_grade_batch_renders_each_students_book(w, klass):
    klass.teacher_id = w.accounts["teacher_a"]
    system = system_access(klass.school.pk)
    nine = class_create(
        access=system, year=klass.school_class.year, name="9A1", grade=9, homeroom_teacher_id=w.accounts["homeroom_a"]
    )
    pupils = [
        student_enrol(
            access=system,
            school_class=nine,
            today=dt.date(2025, 9, 5),
            profile={"full_name": name, "date_of_birth": "12/08/2011", "gender": gender},
        ).pk
        for name, gender in (("Đặng Quốc Bảo", "M"), ("Huỳnh Ngọc Châu", "F"))
    ]
    for pupil in pupils:
        fill_year(klass, nine, pupil, level="lower_secondary")
        for term in (1, 2):
            conduct_save(
                access=klass.access(w, "homeroom_a"),
                school_class=nine,
                term=term,
                entries=[{"student": pupil, "level": "T", "text": "Gương mẫu"}],
            )
    records_submit(access=klass.access(w, "homeroom_a"), school_class=nine, student_ids=pupils)
    records_approve(access=klass.access(w, "principal_a"), school_class=nine, student_ids=pupils, reason=REASON)
    links = {pupil: f"https://hocba.example.vn/xac-minh/final{pupil}/" for pupil in pupils}
    batch = list(render_final_grade_batch(nine, verify_url_for=links.__getitem__))
    assert [sid for sid, _rendered in batch] == pupils  # in the class list's order (Bảo before Châu)
    for (sid, rendered), name in zip(batch, ("Đặng Quốc Bảo", "Huỳnh Ngọc Châu"), strict=True):
        text = pdf_text(rendered.pdf)
        flat = " ".join(text.split())
        assert rendered.template == "tt22-v1" and name in text and f"Trang 1/{rendered.pages}" in text
        other = "Huỳnh Ngọc Châu" if name == "Đặng Quốc Bảo" else "Đặng Quốc Bảo"
        assert other not in text  # one student's book each
        assert "NĂM HỌC 2025–2026" in text and "Lớp: 9A1" in flat
        assert "Hoàn thành chương trình trung học cơ sở" in flat  # promoted from the level's last grade
        assert links[sid] in flat  # each book's own verification link under its QR code
        assert {"2025-homeroom", "2025-principal", "2025-seal"} <= set(rendered.boxes)
    # A pupil whose record is not approved stops the batch before anything is drawn.
    record_reopen(
        access=klass.access(w, "principal_a"),
        record=RecordBook.objects.get(student_id=pupils[1]),
        reason="Bổ sung nhận xét",
    )
    with pytest.raises(RecordNotPrintable):
        next(render_final_grade_batch(nine, verify_url_for=links.__getitem__))


# --- the renderer warmed at worker start ---------------------------------------------------------------------------


def test_each_worker_process_warms_the_renderer_and_a_failure_only_logs(monkeypatch, caplog):
    from celery import signals
    from hocba import worker

    from reporting.pdf import engine

    assert "hocba.worker.process_init" in {key[0] for key, _receiver in signals.worker_process_init.receivers}
    engine.warm_up()  # the real one: the style sheet compiled, the fonts laid out once in this process
    assert engine._stylesheet.cache_info().currsize == 1 and engine._font_config()._folder is not None

    calls = []
    monkeypatch.setattr(worker.metrics, "clear_dir", lambda **kwargs: None)
    monkeypatch.setattr(worker.pdf, "prepare_fonts", lambda: calls.append("fonts cut"))
    monkeypatch.setattr(worker.pdf, "warm_up", lambda: calls.append("warmed"))
    worker.worker_init()  # the main process, before the pool forks: the font files only
    worker.worker_process_init()  # each pool process
    assert calls == ["fonts cut", "warmed"]

    def broken():
        raise OSError("font cache not writable")

    monkeypatch.setattr(worker.pdf, "prepare_fonts", broken)
    monkeypatch.setattr(worker.pdf, "warm_up", broken)
    with caplog.at_level("ERROR", logger="hocba.worker"):
        worker.worker_init()
        worker.worker_process_init()
    assert "record book fonts could not be prepared" in caplog.text
    assert "record book renderer warm-up failed" in caplog.text and "font cache not writable" in caplog.text
