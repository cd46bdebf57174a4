"""The class assessment book (sổ theo dõi và đánh giá học sinh) of a class for a term, as a PDF: one table per
subject (every assessment of the term, the term's result, the teacher's comment, the subject teacher's signature
box), then the class's summary (each student's term results, learning and conduct or qualities and competencies,
absences) with the homeroom teacher's and the principal's boxes and the seal.

The book of a term is kept while the year runs, so it reads the sheets as they stand — the records' frozen results
where the principal has approved them. A constant number of statements whatever the class: students, subjects,
assessments, records, teachers and names, absences, qualities (TT27).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from hocba.kernel import recordstates
from hocba.kernel.errors import DomainError
from hocba.kernel.levels import PRIMARY

from schools.models import Assessment, Enrolment, QualityAssessment, RecordBook, SchoolClass, Student, Subject
from schools.rules import rules_for, tt27
from schools.rules.common import SubjectLevel
from schools.selectors import subject_teachers
from schools.services.results import class_results, class_subjects, fmt_score
from schools.services.sheets import sheet_columns
from tenants.selectors import account_names

from .books import QUALITY_LEVELS, TEMPLATES, TEST_IN_LEVEL, SchoolHeading, school_heading
from .engine import Rendered, html_to_pdf, qr_data_uri

VERDICTS = {"D": "Đ", "CD": "CĐ"}
TERM_LABELS = {1: _("Học kì I"), 2: _("Học kì II")}
# The summary's cells of a primary class: a subject's level as its letter (T/H/C), the test score kept beside it
# ("T (9)"); a quality's or competency's as the class book writes it (T/Đ/C). Explained under the tables.
SUBJECT_LEVEL_LETTERS = {
    **{level.label_vi: level.code for level in SubjectLevel},
    **{level.label_en: level.code for level in SubjectLevel},
}
SUBJECT_LEVEL_LEGEND = [(level.code, level) for level in sorted(SubjectLevel, key=lambda lv: -lv.rank)]
QUALITY_LETTERS = {"T": "T", "D": "Đ", "C": "C"}
SKIPPED_WORDS = frozenset({"và", "and"})


def abbreviation(name: str) -> str:
    """The short name of a subject in a narrow column header: a one-word name as it is ("Toán"), otherwise the
    initials of its words, digits kept ("Ngoại ngữ 1" → "NN1", "Lịch sử và Địa lí" → "LSĐL")."""
    words = [w for w in re.split(r"[\s,;/()–-]+", name) if w and w.lower() not in SKIPPED_WORDS]
    if len(words) <= 1:
        return name.strip()
    return "".join(w if w.isdigit() else w[0].upper() for w in words)


def subject_heads(subjects: list[Subject]) -> list[dict[str, str]]:
    """Each subject's header in the summary (its abbreviation, made unique with a digit when two collide) and its
    full name for the legend under the table."""
    heads, taken = [], set()
    for subject in subjects:
        short = base = abbreviation(subject.name)
        n = 1
        while short in taken:
            n += 1
            short = f"{base}{n}"
        taken.add(short)
        heads.append({"short": short, "name": subject.name, "abbreviated": short != subject.name})
    return heads


def _short_level(value: str) -> str:
    """A primary subject's result as a letter, its test score kept: "Hoàn thành tốt (9)" → "T (9)"."""
    found = TEST_IN_LEVEL.match(value or "")
    level, test = (found["level"], found["test"]) if found else (value or "", "")
    letter = SUBJECT_LEVEL_LETTERS.get(level, level)
    return f"{letter} ({test})" if test else letter


def _shown(row: dict[str, Any], value_type: str) -> str:
    if value_type == "score":
        return fmt_score(row["score"])
    if value_type == "test":
        return "" if row["score"] is None else str(int(row["score"]))
    if value_type == "text":
        return row["text"]
    return VERDICTS.get(row["verdict"], row["verdict"])


def _students(school_class: SchoolClass) -> list[Student]:
    """Everyone enrolled in the class during the year (those who left or moved on too), in Vietnamese order."""
    seen: dict[int, Student] = {}
    for enrolment in (
        Enrolment.objects.filter(school_class=school_class)
        .select_related("student")
        .order_by("student__sort_key", "student_id")
    ):
        seen.setdefault(enrolment.student_id, enrolment.student)
    return list(seen.values())


def render_class_book(
    school_class: SchoolClass,
    term: int,
    *,
    verify_url: str,
    school: SchoolHeading | None = None,
    language: str = "vi",
) -> Rendered:
    """The class's assessment book of ``term`` (1 or 2). Signature steps: ``subject-<code>`` per subject taught,
    ``homeroom``, ``principal``, ``seal``."""
    if term not in (1, 2):
        raise DomainError("sheet.bad_term", _("Học kì phải là I hoặc II."), field="term")
    rules = rules_for(school_class.level, school_class.year.start_year)
    template = TEMPLATES[rules.code]
    with translation.override(language):
        students = _students(school_class)
        ids = [s.pk for s in students]
        subjects = class_subjects(school_class)
        rows: dict[tuple[int, int], list[dict]] = defaultdict(list)
        for row in Assessment.objects.filter(
            year_id=school_class.year_id, student_id__in=ids, subject__in=subjects, term=term
        ).values("student_id", "subject_id", "kind", "seq", "score", "verdict", "text"):
            rows[(row["subject_id"], row["student_id"])].append(row)
        records = {
            r.student_id: r
            for r in RecordBook.objects.filter(school_class=school_class, student_id__in=ids).only(
                "student_id", "state", "results", "approved_by"
            )
        }
        live_ids = [sid for sid in ids if sid not in records or records[sid].state not in recordstates.FINAL]
        live = {sid: res.as_dict() for sid, res in class_results(school_class, live_ids).items()} if live_ids else {}
        results = {sid: live.get(sid) or dict(records[sid].results) for sid in ids}
        teachers = subject_teachers(school_class)
        names = account_names({i for i in (school_class.homeroom_teacher_id,) if i})
        key = f"term{term}"
        sections = []
        for subject in subjects:
            columns = sheet_columns(subject, school_class, term)
            table = []
            for student in students:
                by_column = {(r["kind"], r["seq"]): r for r in rows[(subject.pk, student.pk)]}
                line = next((x for x in results[student.pk].get("subjects", []) if x["subject_id"] == subject.pk), {})
                table.append(
                    {
                        "name": student.full_name,
                        "cells": [
                            _shown(by_column[(c.kind, c.seq)], c.value_type) if (c.kind, c.seq) in by_column else ""
                            for c in columns
                            if c.kind != "nx"
                        ],
                        "result": line.get(key, ""),
                        "comment": by_column[("nx", 0)]["text"] if ("nx", 0) in by_column else "",
                    }
                )
            parts = teachers.get(subject.pk, [])
            sections.append(
                {
                    "subject": subject,
                    "columns": [c for c in columns if c.kind != "nx"],
                    "scored": school_class.level != PRIMARY,
                    "rows": table,
                    "teacher": ", ".join(p.teacher_name for p in parts if p.teacher_name),
                    "step": f"subject-{subject.code}" if parts else None,
                }
            )
        primary = school_class.level == PRIMARY
        summary = [
            {
                "name": student.full_name,
                "subjects": [
                    (_short_level if primary else str)(
                        next(
                            (
                                x.get(key, "")
                                for x in results[student.pk].get("subjects", [])
                                if x["subject_id"] == s.pk
                            ),
                            "",
                        )
                    )
                    for s in subjects
                ],
                "learning": (results[student.pk].get("learning") or {}).get(key, ""),
                "conduct": (results[student.pk].get("conduct") or {}).get(key, ""),
                "absences": (results[student.pk].get("absences") or {}).get("total", 0),
            }
            for student in students
        ]
        traits: list[dict[str, Any]] = []
        trait_names: list[str] = []
        if isinstance(rules, tt27.TT27Rules):
            levels: dict[int, dict[str, str]] = defaultdict(dict)
            for q in QualityAssessment.objects.filter(
                year_id=school_class.year_id, student_id__in=ids, term=term, checkpoint="end"
            ).values("student_id", "code", "level"):
                levels[q["student_id"]][q["code"]] = q["level"]
            english = translation.get_language() == "en"
            every = (*rules.qualities, *rules.competencies)
            trait_names = [q.label_en if english else q.label_vi for q in every]
            traits = [
                {"name": s.full_name, "levels": [QUALITY_LETTERS.get(levels[s.pk].get(q.code, ""), "") for q in every]}
                for s in students
            ]
        heading = school or school_heading(day=timezone.localdate())
        english_labels = translation.get_language() == "en"
        context = {
            "template": template,
            "school": heading,
            "school_class": school_class,
            "term": term,
            "term_label": TERM_LABELS[term],
            "homeroom": names.get(school_class.homeroom_teacher_id or 0, ""),
            "sections": sections,
            "subjects": subjects,
            "subject_heads": subject_heads(subjects),
            "subject_levels": [
                (code, level.label_en if english_labels else level.label_vi) for code, level in SUBJECT_LEVEL_LEGEND
            ],
            "quality_levels": [(QUALITY_LETTERS[code], label) for code, label in QUALITY_LEVELS.items()],
            "summary": summary,
            "traits": traits,
            "trait_names": trait_names,
            "primary": primary,
            "verify_url": verify_url,
            "qr": qr_data_uri(verify_url),
            "language": language,
            "today": timezone.localdate(),
        }
        html = render_to_string(f"reporting/pdf/{template}/class_book.html", context)
    return html_to_pdf(html, template=template, identifier=f"class-book:{school_class.pk}:{term}:{verify_url}")
