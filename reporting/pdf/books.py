"""The record book (học bạ) of a student as a PDF: one year, or the student's years at this school, drawn from what
the principal's approval froze (``RecordBook.results`` and ``RecordBook.approved_view``) — never from the working
data, which may change after a reopen — in the Ministry's layout of the record's circular (TT22: lower and upper
secondary; TT27: primary).

The PDF is printed and sealed at the school only, by those who keep the profiles (004 art. 10.3): the identity page
shows what the Ministry's layout asks (name, sex, date and place of birth, ethnicity, nationality, address, personal
identification number, MoET code, the parents or guardians by name and relation) and nothing more (no telephone).
Who may print is the caller's to decide.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from hocba.kernel import recordstates
from hocba.kernel.errors import DomainError
from hocba.kernel.levels import LOWER_SECONDARY, PRIMARY, UPPER_SECONDARY

from schools.audit.history import history
from schools.models import RecordBook, SchoolClass, Student
from schools.rules import RULE_SETS, tt27
from schools.selectors import enrolment_history, record_guardians, subject_teachers
from tenants.selectors import account_names, school_list, unit_tree_on

from .engine import Rendered, html_to_pdf, qr_data_uri

# The layout of each circular's book, versioned: a corrected layout is a new version (a new folder of templates),
# and every document says which version drew it (004 art. 11.2c).
TEMPLATES = {"TT22/2021": "tt22-v1", "TT27/2020": "tt27-v1"}
BOOK_TITLES = {
    PRIMARY: _("TIỂU HỌC"),
    LOWER_SECONDARY: _("TRUNG HỌC CƠ SỞ"),
    UPPER_SECONDARY: _("TRUNG HỌC PHỔ THÔNG"),
}
PROGRAMME_DONE = {
    PRIMARY: _("Hoàn thành chương trình tiểu học"),
    LOWER_SECONDARY: _("Hoàn thành chương trình trung học cơ sở"),
    UPPER_SECONDARY: _("Hoàn thành chương trình trung học phổ thông"),
}
PROMOTED = "len_lop"
TEST_IN_LEVEL = re.compile(r"^(?P<level>.*?)\s*\((?P<test>\d+)\)$")
LAST_GRADE = {PRIMARY: 5, LOWER_SECONDARY: 9, UPPER_SECONDARY: 12}
QUALITY_LEVELS = {"T": _("Tốt"), "D": _("Đạt"), "C": _("Cần cố gắng")}
GENDERS = {"M": _("Nam"), "F": _("Nữ")}
# The unit kinds whose people's committee heads a school's letterhead ("UBND XÃ NAM LỢI").
COMMITTEE_KINDS = frozenset({"commune", "ward", "special_zone", "district"})
PLACE_PREFIXES = ("Sở Giáo dục và Đào tạo ", "Sở GD&ĐT ", "Sở GDĐT ", "Đặc khu ", "Phường ", "Xã ", "Quận ", "Huyện ")


class RecordNotPrintable(DomainError):
    """A record book is printed and signed only once the principal has approved it (approved, signed or locked)."""

    def __init__(self, record: RecordBook | None = None):
        super().__init__(
            "records.not_printable",
            _("Chỉ in được học bạ đã được Hiệu trưởng duyệt; học bạ này chưa được duyệt."),
            http_status=409,
        )
        self.record = record


@dataclass(frozen=True)
class SchoolHeading:
    """The school as its letterhead and cover name it: the authority over it (first line), its name, the commune
    or ward and the province, and the place of the date lines ("Nam Lợi, ngày …")."""

    name: str
    authority: str
    commune: str
    province: str
    place: str
    moet_code: str = ""


def _place(name: str) -> str:
    for prefix in PLACE_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def school_heading(school_id: int | None = None, *, day: dt.date | None = None) -> SchoolHeading:
    """The heading of the school (``school_id``, else the school whose schema this connection serves) as of ``day``
    (the units it sat under then): three statements on the public schema."""
    if school_id is None:
        school_id = getattr(connection.tenant, "pk", None)
        if school_id is None:
            raise ValueError("school_heading: name the school (a job enters its schema by name only)")
    day = day or timezone.localdate()
    found = school_list(school_ids=[school_id], day=day)
    if not found:
        raise ValueError(f"school {school_id} does not exist")
    school = found[0]
    tree = unit_tree_on(day)
    path = tree.path(school.unit_id) if school.unit_id in tree.nodes else []
    unit = path[-1] if path else None
    province = path[0] if path else None
    if unit is None:
        authority = ""
    elif unit.kind in COMMITTEE_KINDS:
        authority = f"UBND {unit.name}".upper()
    else:
        authority = unit.name.upper()
    return SchoolHeading(
        name=school.name,
        authority=authority,
        commune=unit.name if unit is not None and unit.kind in COMMITTEE_KINDS else "",
        province=_place(province.name) if province is not None else "",
        place=_place(unit.name) if unit is not None else "",
        moet_code=school.moet_code,
    )


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return timezone.localdate(value)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        moment = parse_datetime(value)
        if moment is not None:
            return timezone.localdate(moment) if timezone.is_aware(moment) else moment.date()
        return parse_date(value)
    return None


# The changes of a student's data that name a subject (their history description starts with its name).
SUBJECT_TABLES = frozenset({"schools_assessment", "schools_exemption"})
HISTORY_PAGE = 500  # audit entries read per statement while counting corrections


@dataclass(frozen=True)
class Corrections:
    """The corrections of one year's record made after its approval ("Trong bảng này có sửa chữa ở … chỗ, thuộc
    các môn học: …"): the changed rows (places) and the subjects they belong to, in the book's order."""

    places: int = 0
    subjects: tuple[str, ...] = ()


def record_corrections(records: list[RecordBook]) -> dict[int, Corrections]:
    """By record id, the changes the school's history flags as made after approval (``schools.audit.history``: the
    one judgement, the principal's history page and the boards' daily count read it too) of the record's student
    and year, made up to the record's last approval: the corrections its frozen results carry. Audit entries are
    never rewritten, so the same record always prints the same count. One history reading for all the records of a
    student (a constant number of statements a page of ``HISTORY_PAGE`` entries)."""
    if not records:
        return {}
    student_id = records[0].student_id
    approved = {r.pk: r.approved_at for r in records if r.approved_at}
    if not approved:
        return {r.pk: Corrections() for r in records}
    by_year = {r.year_id: r for r in records}
    first_day = min(r.year.starts_on for r in records)
    last_day = timezone.localdate(max(approved.values()))
    flagged: dict[int, list] = {r.pk: [] for r in records}
    page = 1
    while True:
        found = history(student_id=student_id, date_from=first_day, date_to=last_day, limit=HISTORY_PAGE, page=page)
        for change in found.changes:
            record = by_year.get(change.year_id)
            if (
                change.after_approval
                and record is not None
                and record.pk in approved
                and change.at <= approved[record.pk]
            ):
                flagged[record.pk].append(change)
        if not found.has_next:
            break
        page += 1
    out = {}
    for record in records:
        order = {line["name"]: i for i, line in enumerate((record.results or {}).get("subjects", []))}
        names = {c.description.split(" · ")[0] for c in flagged[record.pk] if c.table in SUBJECT_TABLES}
        names.discard("")
        out[record.pk] = Corrections(
            places=len(flagged[record.pk]),
            subjects=tuple(sorted(names, key=lambda n: (order.get(n, len(order)), n))),
        )
    return out


@dataclass
class BookYear:
    """One school year of the book, as the template reads it."""

    record: RecordBook
    prefix: str  # of the year's signature steps: "" in a one-year book, "2025-" in a book of several
    school_class: SchoolClass
    results: dict[str, Any]
    frozen: dict[str, Any]
    homeroom: str
    principal: str
    approved_on: dt.date | None
    subjects: list[dict[str, Any]] = field(default_factory=list)
    traits: list[dict[str, Any]] = field(default_factory=list)
    awards: list[dict[str, Any]] = field(default_factory=list)
    steps: dict[str, str] = field(default_factory=dict)  # step -> who signs it (the name printed under its box)
    programme_done: str = ""
    corrections: Corrections = field(default_factory=Corrections)

    @property
    def label(self) -> str:
        return self.record.year.label

    def step(self, name: str) -> str:
        return f"{self.prefix}{name}"


def _check_printable(record: RecordBook) -> None:
    if record.state not in recordstates.FINAL or not record.results:
        raise RecordNotPrintable(record)


def _book_year(
    record: RecordBook,
    *,
    prefix: str,
    names: Mapping[int, str],
    teachers: Mapping[int, list],
    wanted: Collection[str] | None,
    signer_names: Mapping[str, str],
    corrections: Corrections,
) -> BookYear:
    school_class = record.school_class
    results = dict(record.results)
    frozen = dict(record.approved_view or {})
    approved_by = frozen.get("approved_by", record.approved_by)
    year = BookYear(
        record=record,
        prefix=prefix,
        school_class=school_class,
        results=results,
        frozen=frozen,
        homeroom=names.get(school_class.homeroom_teacher_id or 0, ""),
        principal=names.get(approved_by or 0, ""),
        approved_on=_date(frozen.get("approved_at", record.approved_at)),
        corrections=corrections,
    )

    def sign(step: str, default: str) -> str | None:
        full = year.step(step)
        if wanted is not None and full not in wanted:
            return None
        year.steps[full] = signer_names.get(full, default)
        return full

    def signer(step: str, default: str) -> str:
        return year.steps.get(year.step(step), default)

    retest = results.get("retest_results") or {}
    comments_year_end = 2 if school_class.level == PRIMARY else None
    for line in results.get("subjects", []):
        parts = teachers.get(line["subject_id"], [])
        teacher_names = ", ".join(p.teacher_name for p in parts if p.teacher_name)
        comments = {int(k): v for k, v in (line.get("comments") or {}).items() if v}
        level_and_test = TEST_IN_LEVEL.match(line.get("year") or "") if comments_year_end else None
        year.subjects.append(
            {
                **line,
                "level": level_and_test["level"] if level_and_test else line.get("year", ""),
                "test": level_and_test["test"] if level_and_test else "",
                "teachers": parts,
                "retest": retest.get(line["code"], ""),
                "comment": comments.get(comments_year_end, "") if comments_year_end else "",
                "step": sign(f"subject-{line['code']}", teacher_names) if parts else None,
                "signer": signer(f"subject-{line['code']}", teacher_names),
            }
        )
    rules = RULE_SETS.get(results.get("rules", ""))
    if isinstance(rules, tt27.TT27Rules):
        levels = results.get("qualities") or {}
        texts = (results.get("quality_comments") or {}).get("term2") or {}
        english = translation.get_language() == "en"
        for group, items in (
            (_("Phẩm chất chủ yếu"), rules.qualities),
            (_("Năng lực chung"), rules.general_competencies),
            (_("Năng lực đặc thù"), rules.specific_competencies),
        ):
            year.traits.append(
                {
                    "group": group,
                    "items": [
                        {
                            "label": q.label_en if english else q.label_vi,
                            "level": QUALITY_LEVELS.get(levels.get(q.code, ""), ""),
                            "comment": texts.get(q.code, ""),
                        }
                        for q in items
                    ],
                }
            )
    for award in frozen.get("awards", []):
        year.awards.append({**award, "decided_on": parse_date(award.get("decided_on") or "")})
    level = school_class.level
    if school_class.grade == LAST_GRADE.get(level) and _promoted(results):
        year.programme_done = str(PROGRAMME_DONE[level])
    sign("homeroom", year.homeroom)
    sign("principal", year.principal)
    sign("seal", "")
    year.homeroom, year.principal = signer("homeroom", year.homeroom), signer("principal", year.principal)
    return year


def _promoted(results: dict[str, Any]) -> bool:
    """Promoted at the year's end (after re-test or summer training when they were needed); TT27: the grade
    completed."""
    return (results.get("promotion_final_code") or results.get("promotion_code") or "") == PROMOTED


def _identity(student: Student) -> dict[str, Any]:
    return {
        "student": student,
        "gender": GENDERS.get(student.gender, student.gender),
        "guardians": record_guardians(student),
    }


def _enrolments(student: Student) -> list[dict[str, Any]]:
    return [
        {
            "year": e.school_class.year.label,
            "class_name": e.school_class.name,
            "starts_on": e.starts_on,
            "entry": e.get_entry_display(),
        }
        for e in enrolment_history(student)
    ]


def _render_book(
    records: list[RecordBook],
    *,
    verify_url: str,
    school: SchoolHeading | None,
    signature_boxes: Collection[str] | None,
    signer_names: Mapping[str, str] | None,
    language: str,
    identifier: str,
    several: bool = False,
) -> Rendered:
    for record in records:
        _check_printable(record)
    first = records[-1]
    rules_code = first.results.get("rules", "")
    template = TEMPLATES.get(rules_code)
    if template is None or any(r.results.get("rules") != rules_code for r in records):
        raise RecordNotPrintable(first)
    with translation.override(language):
        heading = school or school_heading(day=_date(first.approved_at) or timezone.localdate())
        student = first.student
        people = {r.school_class.homeroom_teacher_id for r in records}
        people |= {(r.approved_view or {}).get("approved_by", r.approved_by) for r in records}
        names = account_names({p for p in people if p})
        corrections = record_corrections(records)
        years = [
            _book_year(
                record,
                prefix=f"{record.year.start_year}-" if several else "",
                names=names,
                teachers=subject_teachers(record.school_class),
                wanted=signature_boxes,
                signer_names=signer_names or {},
                corrections=corrections[record.pk],
            )
            for record in records
        ]
        level = first.school_class.level
        context = {
            "template": template,
            "school": heading,
            "book_title": BOOK_TITLES.get(level, ""),
            "level": level,
            "years": years,
            "last": years[-1],
            "identity": _identity(student),
            "enrolments": _enrolments(student),
            "verify_url": verify_url,
            "qr": qr_data_uri(verify_url),
            "language": language,
        }
        html = render_to_string(f"reporting/pdf/{template}/book.html", context)
    return html_to_pdf(html, template=template, identifier=identifier)


def render_record_book(
    record: RecordBook,
    *,
    verify_url: str,
    school: SchoolHeading | None = None,
    signature_boxes: Collection[str] | None = None,
    signer_names: Mapping[str, str] | None = None,
    language: str = "vi",
) -> Rendered:
    """One student's record book for one year, from the record's frozen results, in its circular's layout.

    ``verify_url``: where the QR code on every page leads (the public verification page, token link).
    ``school``: the heading (default: the school this connection serves, as of the approval day).
    ``signature_boxes``: the signature steps to draw a box for (``subject-<code>``, ``homeroom``, ``principal``,
    ``seal``; default every step of the record: a box per subject that has a teacher, the homeroom teacher, the
    principal, and the seal over the principal's box). ``signer_names``: a step's signer when it is not who the
    record names (a reassigned subject, a vice principal). Refuses (``RecordNotPrintable``) a record not approved.
    """
    _check_printable(record)
    return _render_book(
        [record],
        verify_url=verify_url,
        school=school,
        signature_boxes=signature_boxes,
        signer_names=signer_names,
        language=language,
        identifier=f"record:{record.pk}:{record.approved_at}:{verify_url}",
    )


def student_book_records(student: Student, *, level: str | None = None) -> list[RecordBook]:
    """The student's approved (or later) records at this school of one school level (default: the level of their
    latest approved record), oldest year first: one statement."""
    records = [
        r
        for r in RecordBook.objects.filter(student=student, state__in=recordstates.FINAL)
        .select_related("student", "year", "school_class__year")
        .order_by("year__start_year")
        if r.results
    ]
    if not records:
        raise RecordNotPrintable()
    level = level or records[-1].school_class.level
    return [r for r in records if r.school_class.level == level]


def render_multi_year(
    student: Student,
    *,
    verify_url: str,
    level: str | None = None,
    school: SchoolHeading | None = None,
    signature_boxes: Collection[str] | None = None,
    signer_names: Mapping[str, str] | None = None,
    language: str = "vi",
) -> Rendered:
    """The book across the student's approved years at this school (one level: a primary and a secondary book are
    two books), one section per year; each year's signature steps start with its year (``2025-principal``)."""
    records = student_book_records(student, level=level)
    return _render_book(
        records,
        verify_url=verify_url,
        school=school,
        signature_boxes=signature_boxes,
        signer_names=signer_names,
        language=language,
        identifier=f"book:{student.pk}:" + ",".join(f"{r.pk}@{r.approved_at}" for r in records) + f":{verify_url}",
        several=True,
    )


FINAL_GRADES = frozenset({5, 9, 12})


def render_final_grade_batch(
    school_class: SchoolClass,
    *,
    verify_url_for: Any,
    school: SchoolHeading | None = None,
    language: str = "vi",
) -> Iterator[tuple[int, Rendered]]:
    """The books of a final-grade class (grades 5, 9, 12; 004 art. 12.1: printed for those leaving the level), one
    (student id, ``Rendered``) at a time: each student's book across their years at this school, up to this class's
    year. ``verify_url_for(student_id)`` gives each book's verification link. A student whose record of this year
    is not approved is refused (``RecordNotPrintable``) before anything is drawn."""
    if school_class.grade not in FINAL_GRADES:
        raise DomainError(
            "records.not_final_grade",
            _("Chỉ in lô học bạ cuối cấp cho lớp 5, lớp 9 và lớp 12."),
            http_status=400,
        )
    records = list(
        RecordBook.objects.filter(school_class=school_class).select_related("student", "year", "school_class__year")
    )
    for record in records:
        _check_printable(record)
    heading = school or school_heading(day=timezone.localdate())
    for record in sorted(records, key=lambda r: (r.student.sort_key, r.student_id)):
        years = [
            r
            for r in student_book_records(record.student, level=school_class.level)
            if r.year.start_year <= record.year.start_year
        ]
        yield (
            record.student_id,
            _render_book(
                years,
                verify_url=verify_url_for(record.student_id),
                school=heading,
                signature_boxes=None,
                signer_names=None,
                language=language,
                identifier=f"final:{record.student_id}:" + ",".join(f"{r.pk}@{r.approved_at}" for r in years),
                several=True,
            ),
        )
