"""The school's three imports — a class's student list, a grade sheet, a checkpoint's TT27 qualities — behind one
door for the pages, the API and the worker.

* :class:`Target` names what an upload is for, in plain ids (it travels in a background job's parameters);
* :func:`resolve` finds it for a person before anything is read: another school's class id does not exist on this
  school's address (404), a person not allowed is refused (403);
* :func:`check` reads the upload's shape within the kernel's limits (``hocba.kernel.spreadsheets``: hostile files are
  refused in the request) and counts its data rows;
* :func:`run` imports it — all or nothing, as the importers do — and says what became of each row.

Whether a file is imported in the request or by the worker (``HOCBA_IMPORT_INLINE_ROWS``) is the caller's choice
(:func:`runs_in_background`); the outcome is the same either way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from hocba.env import runtime
from hocba.kernel.errors import DomainError, NotAllowed, both_languages
from hocba.kernel.spreadsheets import ImportFailed, Problem

from ..access import SchoolAccess
from ..models import SchoolClass, Subject
from ..selectors import class_and_subject_get, class_for_profiles, class_get
from . import qualities as excel_qualities
from . import sheets as excel_sheets
from . import students as excel_students
from .common import TERM_LABEL, RowRead

INLINE_ROWS = 200  # the default of HOCBA_IMPORT_INLINE_ROWS
KINDS = ("students", "sheet", "qualities")
CAPABILITIES = {"students": "profiles.edit", "sheet": "sheets.enter", "qualities": "class.enter"}


def inline_rows() -> int:
    """``HOCBA_IMPORT_INLINE_ROWS``: a file with more data rows than this is imported by the worker."""
    try:
        value = int(runtime("HOCBA_IMPORT_INLINE_ROWS", str(INLINE_ROWS)))
    except ValueError:
        return INLINE_ROWS
    return value if value >= 0 else INLINE_ROWS


def runs_in_background(rows: int) -> bool:
    return rows > inline_rows()


# --------------------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    kind: str  # one of KINDS
    class_id: int
    subject_id: int | None = None
    term: int | None = None
    checkpoint: str = ""

    def params(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Target:
        return cls(
            kind=str(params["kind"]),
            class_id=int(params["class_id"]),
            subject_id=int(params["subject_id"]) if params.get("subject_id") is not None else None,
            term=int(params["term"]) if params.get("term") is not None else None,
            checkpoint=str(params.get("checkpoint") or ""),
        )


@dataclass(frozen=True)
class Resolved:
    """A target found for a person: the class (and subject) the file is for."""

    target: Target
    school_class: SchoolClass
    subject: Subject | None = None

    @property
    def capability(self) -> str:
        return CAPABILITIES[self.target.kind]

    def label(self) -> str:
        """What the file fills in, in Vietnamese (the job's title; the names in it are data)."""
        t, name = self.target, self.school_class.name
        if t.kind == "students":
            return f"Danh sách học sinh lớp {name}"
        if t.kind == "sheet" and self.subject is not None:
            return f"Bảng điểm môn {self.subject.name} lớp {name}, học kì {TERM_LABEL.get(t.term or 0, t.term)}"
        return f"Phẩm chất, năng lực {excel_qualities.checkpoint_label(self.school_class, t.term or 0, t.checkpoint)}"


def sheet_target(access: SchoolAccess, pk: int, subject_pk: int) -> tuple[SchoolClass, Subject]:
    """A class and a subject taught in it (a subject of another level or grade has no sheet here: 404)."""
    school_class, subject = class_and_subject_get(access, pk, subject_pk)
    if subject.level != school_class.level or school_class.grade not in subject.grades:
        raise DomainError(
            "sheet.subject_not_taught",
            _("Môn %(subject)s không học ở lớp %(class)s."),
            params={"subject": subject.name, "class": school_class.name},
            http_status=404,
        )
    return school_class, subject


def qualities_target(access: SchoolAccess, pk: int, term: int, checkpoint: str) -> SchoolClass:
    """The class whose qualities this person enters (the qualities page's rule) at a TT27 checkpoint."""
    school_class = class_get(access, pk)
    excel_qualities.managed_class(access, school_class)
    excel_qualities.check_target(term, checkpoint)
    excel_qualities.traits_of(school_class)  # a secondary class has none (TT22)
    return school_class


def resolve(access: SchoolAccess, target: Target) -> Resolved:
    """The target for this person, or the refusal (404 for what this school does not hold, 403 for what is not
    theirs to import)."""
    if target.kind == "students":
        return Resolved(target, class_for_profiles(access, target.class_id))
    if target.kind == "sheet":
        school_class, subject = sheet_target(access, target.class_id, target.subject_id or 0)
        if not access.may_enter_sheet(school_class.pk, subject.pk):
            raise NotAllowed(
                "sheet.not_assigned",
                _("Bạn không được phân công dạy môn %(subject)s ở lớp %(class)s."),
                params={"subject": subject.name, "class": school_class.name},
            )
        return Resolved(target, school_class, subject)
    if target.kind == "qualities":
        return Resolved(target, qualities_target(access, target.class_id, target.term or 0, target.checkpoint))
    raise DomainError("excel.unknown_import", _("Không có loại nhập dữ liệu này."), http_status=404)


# --------------------------------------------------------------------------------------- check and run


def check(access: SchoolAccess, resolved: Resolved, content: bytes) -> int:
    """The upload's data rows, after its shape is checked: a zip bomb, a file of another class, missing headers or
    too many rows are refused here, in the request."""
    t, school_class = resolved.target, resolved.school_class
    if t.kind == "students":
        return excel_students.students_rows(access=access, school_class=school_class, content=content)
    if t.kind == "sheet":
        return excel_sheets.sheet_rows(
            access=access, school_class=school_class, subject=resolved.subject, term=t.term, content=content
        )
    return excel_qualities.qualities_rows(
        access=access, school_class=school_class, term=t.term, checkpoint=t.checkpoint, content=content
    )


@dataclass(frozen=True)
class RowReport:
    """What became of one row of the file: ``created``, ``updated`` or ``skipped`` (nothing changed), or
    ``error`` with why (then nothing of the file was saved)."""

    number: int
    key: str
    outcome: str
    message: str = ""
    message_en: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    group: str = ""  # the class


@dataclass(frozen=True)
class Outcome:
    result: Any  # the importer's own result (the inline page and JSON show it)
    rows: list[RowReport]
    summary: dict[str, str]  # {"vi", "en"}


def run(access: SchoolAccess, resolved: Resolved, content: bytes, *, today: dt.date) -> Outcome:
    """Import the file, all or nothing; :class:`ImportFailed` (the problems per row and cell) or another refusal
    (a locked window: 423) when nothing was saved."""
    t, school_class = resolved.target, resolved.school_class
    if t.kind == "students":
        result = excel_students.students_import(access=access, school_class=school_class, content=content, today=today)
        added = both_languages(_("Đã thêm vào lớp %(class)s."), {"class": school_class.name})
        rows = [
            RowReport(number, s.full_name, "created", added["vi"], added["en"], {"student_id": s.pk}, school_class.name)
            for number, s in zip(result.rows, result.students, strict=True)
        ]
        summary = both_languages(
            _("Đã thêm %(n)s học sinh vào lớp %(class)s."), {"n": len(rows), "class": school_class.name}
        )
        return Outcome(result, rows, summary)
    if t.kind == "sheet":
        result = excel_sheets.sheet_import(
            access=access, school_class=school_class, subject=resolved.subject, term=t.term, content=content
        )
        counts = {"written": result.saved.written, "cleared": result.saved.cleared}
    else:
        result = excel_qualities.qualities_import(
            access=access, school_class=school_class, term=t.term, checkpoint=t.checkpoint, content=content
        )
        counts = {"written": result.written, "cleared": result.cleared}
    message = (
        _("Đã đọc %(rows)s hàng học sinh: %(changed)s ô thay đổi, %(written)s ô được ghi, %(cleared)s ô được xoá.")
        if t.kind == "sheet"
        else _(
            "Đã đọc %(rows)s hàng học sinh: %(changed)s mức thay đổi, %(written)s mức được ghi, %(cleared)s mức được "
            "xoá."
        )
    )
    summary = both_languages(message, {"rows": result.rows, "changed": result.changed, **counts})
    return Outcome(result, [_read_row(r, school_class.name) for r in result.rows_read], summary)


def _read_row(read: RowRead, group: str) -> RowReport:
    if not read.changed:
        same = both_languages(_("Không có ô nào thay đổi."))
        return RowReport(read.row, read.name, "skipped", same["vi"], same["en"], group=group)
    changed = both_languages(_("%(n)s ô thay đổi."), {"n": read.changed})
    return RowReport(read.row, read.name, "updated", changed["vi"], changed["en"], group=group)


def result_data(resolved: Resolved, outcome: Outcome) -> tuple[dict[str, Any], int]:
    """An import done in the request, as JSON and its status: the students added (201), or the sheet's counts."""
    result = outcome.result
    if resolved.target.kind == "students":
        students = [{"id": s.pk, "full_name": s.full_name} for s in result.students]
        return {"created": len(students), "students": students}, 201
    counts = (
        {"written": result.saved.written, "cleared": result.saved.cleared}
        if resolved.target.kind == "sheet"
        else {"written": result.written, "cleared": result.cleared}
    )
    return {"rows": result.rows, "changed": result.changed, **counts}, 200


TEMPLATE_CAPABILITIES = {"students": "profiles.edit", "sheet": "school.enter", "qualities": "class.enter"}


def template_file(access: SchoolAccess, target: Target) -> tuple[bytes, str]:
    """The template of an import and its file name. A grade sheet's is the sheet as it stands, which whoever may
    read it may download (the service decides); the others are for those who may import them."""
    t = target
    if t.kind == "students":
        school_class = class_for_profiles(access, t.class_id)
        content = excel_students.students_template(access=access, school_class=school_class)
        return content, f"danh-sach-hoc-sinh-{slugify(school_class.name)}.xlsx"
    if t.kind == "sheet":
        school_class, subject = sheet_target(access, t.class_id, t.subject_id or 0)
        content = excel_sheets.sheet_template(access=access, school_class=school_class, subject=subject, term=t.term)
        return content, f"bang-diem-{slugify(subject.code)}-{slugify(school_class.name)}-hk{t.term}.xlsx"
    school_class = qualities_target(access, t.class_id, t.term or 0, t.checkpoint)
    content = excel_qualities.qualities_template(
        access=access, school_class=school_class, term=t.term, checkpoint=t.checkpoint
    )
    return content, f"pham-chat-nang-luc-{slugify(school_class.name)}-hk{t.term}-{t.checkpoint}.xlsx"


URL_NAMES = {  # (the upload page, the template)
    "students": ("excel_students_import", "excel_students_template"),
    "sheet": ("excel_sheet_import", "excel_sheet_template"),
    "qualities": ("excel_qualities_import", "excel_qualities_template"),
}


def _url_args(target: Target) -> list[Any]:
    if target.kind == "students":
        return [target.class_id]
    if target.kind == "sheet":
        return [target.class_id, target.subject_id, target.term]
    return [target.class_id, target.term, target.checkpoint]


def page_url(target: Target) -> str:
    """The import's page (its upload form), on the school's site."""
    return reverse(URL_NAMES[target.kind][0], args=_url_args(target))


def template_url(target: Target) -> str:
    """Where the import's template is downloaded, on the school's site."""
    return reverse(URL_NAMES[target.kind][1], args=_url_args(target))


def failed_rows(exc: ImportFailed, group: str = "") -> list[RowReport]:
    """The problems of a refused file, one report per row (a row's problems joined); problems of the whole file
    (no row) come first, as row 0."""
    by_row: dict[int, list[Problem]] = {}
    for problem in exc.problems:
        by_row.setdefault(problem.row or 0, []).append(problem)
    reports = []
    for number, problems in sorted(by_row.items()):
        cells = [p.cell for p in problems if p.cell]
        key = ", ".join(cells) or problems[0].header or str(number)
        reports.append(
            RowReport(
                number,
                key,
                "error",
                " · ".join(p.detail for p in problems),
                " · ".join(p.detail_en for p in problems),
                {"cells": cells, "codes": [p.code for p in problems]},
                group,
            )
        )
    return reports
