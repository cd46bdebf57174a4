"""Year-end work on a class: TT27 qualities and competencies (homeroom teacher), and the principal's
decisions — re-test results, summer conduct training, comments, completion and commendations.

Every write refuses a student outside the class or a record no longer editable (approved, signed,
locked), row by row and all or nothing, like conduct; the open/lock windows are enforced by the
database triggers (a refusal surfaces as ``WindowLocked``, HTTP 423).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _
from hocba.kernel import recordstates
from hocba.kernel.errors import DomainError
from hocba.kernel.levels import PRIMARY

from ..access import SchoolAccess
from ..models import Grading, QualityAssessment, RecordBook, SchoolClass
from ..rollups import class_rollup_add
from ..rules import rules_for, tt27
from ..rules.common import RuleInputError, validate_score
from .classwork import ClassInputInvalid, _check_student, _editable_students
from .common import require, school_write
from .results import class_results

CHECKPOINTS = ("mid", "end")
# What teachers write for a TT27 level, folded (no accents, đ → d, upper case, single spaces): T / Đ / C.
QUALITY_WORDS = {
    "T": "T",
    "TOT": "T",
    "D": "D",
    "DAT": "D",
    "C": "C",
    "CCG": "C",
    "CAN CO GANG": "C",
}


def quality_level(raw: Any) -> str | None:
    """A level of a quality or competency as teachers type it — “T”, “Đ”, “D”, “Tốt”, “Đạt”, “Cần cố gắng”,
    “C”, any case, with or without accents — as the stored code T / D / C; None when it is none of them."""
    decomposed = unicodedata.normalize("NFD", str(raw or "").replace("đ", "d").replace("Đ", "D"))
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return QUALITY_WORDS.get(" ".join(folded.upper().split()))


RETEST_VERDICTS = {"D": "D", "Đ": "D", "ĐẠT": "D", "CD": "CD", "CĐ": "CD", "CHƯA ĐẠT": "CD"}


def _row_error(errors: list, index: int, student: Any, code: str, vi: str, en: str, **extra) -> None:
    errors.append({"index": index, "student": student, "code": code, "detail": vi, "detail_en": en, **extra})


def primary_rules(school_class: SchoolClass) -> tt27.TT27Rules:
    rules = rules_for(school_class.level, school_class.year.start_year)
    if not isinstance(rules, tt27.TT27Rules):
        raise DomainError("yearend.not_primary", _("Phẩm chất và năng lực chỉ đánh giá ở lớp tiểu học (Thông tư 27)."))
    return rules


def trait_codes(rules: tt27.TT27Rules) -> list[str]:
    return [q.code for q in (*rules.qualities, *rules.competencies)]


def check_checkpoint(term: Any, checkpoint: Any) -> None:
    if term not in (1, 2):
        raise DomainError("sheet.bad_term", _("Học kì phải là I hoặc II."), field="term")
    if checkpoint not in CHECKPOINTS:
        raise DomainError(
            "yearend.bad_checkpoint", _("Thời điểm đánh giá phải là giữa kì hoặc cuối kì."), field="checkpoint"
        )


def qualities_of(
    school_class: SchoolClass, student_ids: list[int], term: int, checkpoint: str
) -> dict[tuple[int, str], tuple[str, str]]:
    """{(student, code): (level, comment)} at one checkpoint (one query)."""
    return {
        (q.student_id, q.code): (q.level, q.text)
        for q in QualityAssessment.objects.filter(
            year_id=school_class.year_id, student_id__in=student_ids, term=term, checkpoint=checkpoint
        )
    }


@school_write
def qualities_save(
    *, access: SchoolAccess, school_class: SchoolClass, term: int, checkpoint: str, entries: list[dict[str, Any]]
) -> int:
    """Levels (T / Đ / C) and comments of qualities and competencies at a checkpoint: each entry
    ``{student, code, level, text?}``; an empty level clears the cell, an absent ``text`` keeps the comment."""
    require(
        access.may_manage_class(school_class.pk), _("Chỉ giáo viên chủ nhiệm của lớp mới đánh giá phẩm chất, năng lực.")
    )
    check_checkpoint(term, checkpoint)
    rules = primary_rules(school_class)
    codes = set(trait_codes(rules))
    students = _editable_students(school_class)
    errors: list[dict] = []
    rows: dict[tuple[int, str], tuple[str, str | None]] = {}
    clears: list[tuple[int, str]] = []
    for i, e in enumerate(entries):
        if not _check_student(students, e.get("student"), school_class, errors, i):
            continue
        code = str(e.get("code") or "")
        if code not in codes:
            _row_error(
                errors,
                i,
                e["student"],
                "class.bad_quality_code",
                f"Không có phẩm chất hay năng lực “{code}”.",
                f"There is no quality or competency “{code}”.",
                field=code,
            )
            continue
        raw = str(e.get("level") or "").strip()
        if not raw:
            clears.append((e["student"], code))
            continue
        level = quality_level(raw)
        if level is None:
            _row_error(
                errors,
                i,
                e["student"],
                "class.bad_quality_level",
                f"Mức “{raw}” không hợp lệ (T — Tốt, Đ — Đạt, C — Cần cố gắng).",
                f"Level “{raw}” is not valid (T — Good, D — Achieved, C — Needs effort).",
                field=code,
            )
            continue
        text = e.get("text")
        rows[(e["student"], code)] = (level, None if text is None else str(text).strip()[:2000])
    if errors:
        raise ClassInputInvalid(errors)
    if rows:
        keys = list(rows)
        if any(t is None for _level, t in rows.values()):  # keep the comments not sent
            kept = qualities_of(school_class, sorted({k[0] for k in keys}), term, checkpoint)
            rows = {k: (level, kept.get(k, ("", ""))[1] if t is None else t) for k, (level, t) in rows.items()}
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO schools_qualityassessment (student_id, year_id, term, checkpoint, code, level, text)
                SELECT u.s, %s, %s, %s, u.c, u.l, u.t
                  FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) AS u(s, c, l, t)
                ON CONFLICT (student_id, year_id, term, checkpoint, code)
                DO UPDATE SET level = EXCLUDED.level, text = EXCLUDED.text
                 WHERE (schools_qualityassessment.level, schools_qualityassessment.text)
                       IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.text)
                """,
                [
                    school_class.year_id,
                    term,
                    checkpoint,
                    [k[0] for k in keys],
                    [k[1] for k in keys],
                    [rows[k][0] for k in keys],
                    [rows[k][1] for k in keys],
                ],
            )
    if clears:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                DELETE FROM schools_qualityassessment q USING unnest(%s::bigint[], %s::text[]) AS u(s, c)
                 WHERE q.student_id = u.s AND q.code = u.c AND q.year_id = %s AND q.term = %s AND q.checkpoint = %s
                """,
                [[c[0] for c in clears], [c[1] for c in clears], school_class.year_id, term, checkpoint],
            )
    if rows or clears:  # the pupils' qualities and competencies done per term (the school's conduct figures)
        class_rollup_add(school_id=access.school_id, school_class=school_class, stale=True)
    return len(rows) + len(clears)


# ------------------------------------------------------------------------------ principal's decisions

DECISION_FIELDS = (
    "retest",
    "retest_chosen",
    "summer_training",
    "followup_plan",
    "followup_levels",
    "followup_decision",
    "principal_comment",
    "completion_note",
    "exemplary",
    "adhoc_commendation",
)


def _retest_value(raw: Any, grading: str) -> str | None:
    """A re-test result as stored: "6.5" for a scored subject, "D"/"CD" for a comment-graded one; None if invalid."""
    text = str(raw).strip()
    if grading != Grading.SCORE:
        return RETEST_VERDICTS.get(text.upper())
    try:
        return str(validate_score(text.replace(",", "."), field="retest"))
    except RuleInputError:
        return None


# What teachers write for a TT27 subject level after the follow-up, folded like ``quality_level``: T / H / C.
SUBJECT_WORDS = {
    "T": "T",
    "HTT": "T",
    "HOAN THANH TOT": "T",
    "H": "H",
    "HT": "H",
    "HOAN THANH": "H",
    "C": "C",
    "CHT": "C",
    "CHUA HOAN THANH": "C",
}
FOLLOWUP_DECISIONS = ("len_lop", "o_lai_lop")


def followup_level(raw: Any, kind: str) -> str | None:
    """A follow-up level as typed: T / H / C for a subject, T / Đ / C for a quality or competency (the stored
    codes T/H/C and T/D/C); None when it is not one of them."""
    if kind != "subject":
        return quality_level(raw)
    decomposed = unicodedata.normalize("NFD", str(raw or "").replace("đ", "d").replace("Đ", "D"))
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return SUBJECT_WORDS.get(" ".join(folded.upper().split()))


def _retest_choice(raw: Any, candidates: dict[str, dict]) -> tuple[list[str] | None, list[str]]:
    """(the chosen subject codes in the candidates' order or None, the codes that are not candidates)."""
    if raw is None:
        return None, []
    codes = [str(c) for c in raw] if isinstance(raw, list | tuple) else [str(raw)]
    return [c for c in candidates if c in codes], [c for c in codes if c not in candidates]


@school_write
def yearend_save(*, access: SchoolAccess, school_class: SchoolClass, entries: list[dict[str, Any]]) -> int:
    """The principal's (or a vice principal's) year-end decisions, one entry per student; only the keys
    present change: ``retest`` {subject code: score or Đ/CĐ, "" clears}, ``retest_chosen`` (the subjects the
    student chose to re-test, TT22 Điều 12.1; null: no choice recorded, every candidate), ``summer_training``
    (true, false, null), ``principal_comment``, ``completion_note``, and for primary ``exemplary`` (Học sinh
    Tiêu biểu), ``adhoc_commendation`` and the summer follow-up of a pupil who has not completed the grade
    (TT27): ``followup_plan``, ``followup_levels`` {subject or quality code: level, "" clears} and
    ``followup_decision`` (len_lop / o_lai_lop / "", once the follow-up leaves the grade not completed).
    The record must still be editable; the final outcome is recomputed by the rules
    (``tt22.year_end_outcome``, ``tt27.year_end_completion``) and ``retest_passed`` kept in step with it."""
    require(access.can("records.approve"), _("Chỉ Hiệu trưởng hoặc Phó hiệu trưởng mới ghi quyết định cuối năm."))
    students = _editable_students(school_class)
    primary = school_class.level == PRIMARY
    errors: list[dict] = []
    ids = [e.get("student") for e in entries if isinstance(e.get("student"), int) and e.get("student") in students]
    records = {
        r.student_id: r
        for r in RecordBook.objects.select_for_update().filter(school_class=school_class, student_id__in=ids)
    }
    computed = class_results(school_class, ids) if ids else {}
    changed: dict[int, RecordBook] = {}
    positions: dict[int, int] = {}
    for i, e in enumerate(entries):
        if not _check_student(students, e.get("student"), school_class, errors, i):
            continue
        sid = e["student"]
        record = records.get(sid)
        if record is None:
            _row_error(
                errors,
                i,
                sid,
                "yearend.no_record",
                "Học sinh chưa có học bạ của năm học này.",
                "The student has no record for this year.",
            )
            continue
        res = computed.get(sid)
        before = len(errors)
        candidates = {c["code"]: c for c in (res.retest_candidates if res and not primary else [])}
        if "retest_chosen" in e:
            chosen, strangers = _retest_choice(e["retest_chosen"], candidates)
            if not candidates:
                _row_error(
                    errors,
                    i,
                    sid,
                    "yearend.no_retest",
                    "Học sinh này không phải kiểm tra lại.",
                    "This student has no re-test.",
                    field="retest_chosen",
                )
            elif strangers:
                _row_error(
                    errors,
                    i,
                    sid,
                    "yearend.retest_not_candidate",
                    f"Môn “{strangers[0]}” không thuộc các môn phải kiểm tra lại.",
                    f"“{strangers[0]}” is not one of the subjects to re-test.",
                    field="retest_chosen",
                )
            else:
                record.retest_chosen = chosen
        if "retest" in e:
            retest = e["retest"] if isinstance(e["retest"], dict) else None
            if primary or retest is None or not candidates:
                _row_error(
                    errors,
                    i,
                    sid,
                    "yearend.no_retest",
                    "Học sinh này không phải kiểm tra lại.",
                    "This student has no re-test.",
                    field="retest",
                )
            else:
                scores = dict(record.retest_scores or {})
                for code, raw in retest.items():
                    if code not in candidates:
                        _row_error(
                            errors,
                            i,
                            sid,
                            "yearend.retest_not_candidate",
                            f"Môn “{code}” không thuộc các môn phải kiểm tra lại.",
                            f"“{code}” is not one of the subjects to re-test.",
                            field=code,
                        )
                        continue
                    if raw is None or not str(raw).strip():
                        scores.pop(code, None)
                        continue
                    value = _retest_value(raw, candidates[code]["grading"])
                    if value is None:
                        name = candidates[code]["name"]
                        _row_error(
                            errors,
                            i,
                            sid,
                            "yearend.bad_retest",
                            f"Kết quả kiểm tra lại môn {name} “{raw}” không hợp lệ (điểm 0–10, một chữ số thập phân; "
                            "môn đánh giá bằng nhận xét: Đ hoặc CĐ).",
                            f"The re-test result of {name} “{raw}” is not valid (a score 0–10 with one decimal; "
                            "comment-graded subject: D or CD).",
                            field=code,
                        )
                        continue
                    scores[code] = value
                record.retest_scores = scores
        if record.retest_chosen is not None and candidates and len(errors) == before:
            for code in record.retest_scores or {}:
                if code in candidates and code not in record.retest_chosen:
                    name = candidates[code]["name"]
                    _row_error(
                        errors,
                        i,
                        sid,
                        "yearend.retest_not_chosen",
                        f"Môn {name} có kết quả kiểm tra lại nhưng không được chọn: chọn môn này hoặc xóa kết quả.",
                        f"{name} has a re-test result but is not chosen: choose it or clear the result.",
                        field=code,
                    )
        _followup_entry(e, record, res, primary, errors, i)
        if "summer_training" in e:
            value = e["summer_training"]
            if primary or res is None or res.promotion_code != "ren_luyen_he":
                _row_error(
                    errors,
                    i,
                    sid,
                    "yearend.no_training",
                    "Học sinh này không phải rèn luyện trong kì nghỉ hè.",
                    "This student has no summer conduct training.",
                    field="summer_training",
                )
            elif value not in (True, False, None):
                _row_error(
                    errors,
                    i,
                    sid,
                    "yearend.bad_training",
                    "Kết quả rèn luyện hè phải là đạt, chưa đạt hoặc để trống.",
                    "The summer training result must be passed, failed or empty.",
                    field="summer_training",
                )
            else:
                record.summer_training_passed = value
        for key, size in (("principal_comment", 4000), ("completion_note", 1000), ("adhoc_commendation", 300)):
            if key in e:
                if key == "adhoc_commendation" and not primary:
                    _row_error(
                        errors,
                        i,
                        sid,
                        "yearend.not_primary_commendation",
                        "Khen thưởng theo Thông tư 27 chỉ dành cho học sinh tiểu học.",
                        "Commendations under TT27 are for primary pupils only.",
                        field=key,
                    )
                    continue
                setattr(record, key, str(e[key] or "").strip()[:size])
        if "exemplary" in e:
            if not primary:
                _row_error(
                    errors,
                    i,
                    sid,
                    "yearend.not_primary_commendation",
                    "Khen thưởng theo Thông tư 27 chỉ dành cho học sinh tiểu học.",
                    "Commendations under TT27 are for primary pupils only.",
                    field="exemplary",
                )
            else:
                record.exemplary_recognised = bool(e["exemplary"])
        if len(errors) == before:
            changed[sid] = record
            positions[sid] = i
    if errors:
        raise ClassInputInvalid(errors)
    if not changed:
        return 0
    after = class_results_with(school_class, list(changed.values()))
    for sid, record in changed.items():
        if not primary:
            record.retest_passed = after[sid].retest_passed
        elif record.followup_decision and after[sid].followup_decision_code != record.followup_decision:
            if not entries[positions[sid]].get("followup_decision"):
                record.followup_decision = ""  # taken on a follow-up evaluation since changed: no longer stands
                continue
            _row_error(
                errors,
                positions[sid],
                sid,
                "yearend.followup_no_decision",
                "Hiệu trưởng chỉ quyết định lên lớp hay ở lại lớp khi học sinh đã được đánh giá bổ sung mọi nội "
                "dung mà vẫn chưa hoàn thành chương trình lớp học.",
                "The principal decides promoted or held back only once every item has been evaluated again "
                "and the pupil still has not completed the grade.",
                field="followup_decision",
            )
    if errors:
        raise ClassInputInvalid(errors)
    RecordBook.objects.bulk_update(
        list(changed.values()),
        [
            "retest_scores",
            "retest_chosen",
            "followup_plan",
            "followup_levels",
            "followup_decision",
            "retest_passed",
            "summer_training_passed",
            "principal_comment",
            "completion_note",
            "exemplary_recognised",
            "adhoc_commendation",
        ],
    )
    return len(changed)


def _followup_entry(e: dict[str, Any], record: RecordBook, res: Any, primary: bool, errors: list, i: int) -> None:
    """The summer follow-up keys of one entry (TT27): refused unless the pupil is primary and has not completed
    the grade; each level must suit its item (a subject T/H/C, a quality or competency T/Đ/C)."""
    keys = [k for k in ("followup_plan", "followup_levels", "followup_decision") if k in e]
    if not keys:
        return
    sid = e["student"]
    items = {item["code"]: item for item in (res.followup_items if res and primary else [])}
    if not items:
        _row_error(
            errors,
            i,
            sid,
            "yearend.no_followup",
            "Học sinh này không phải theo dõi, đánh giá bổ sung trong hè (chỉ học sinh tiểu học chưa hoàn thành "
            "chương trình lớp học).",
            "This pupil has no summer follow-up (only primary pupils who have not completed the grade).",
            field=keys[0],
        )
        return
    if "followup_plan" in e:
        record.followup_plan = str(e["followup_plan"] or "").strip()[:4000]
    if "followup_levels" in e:
        given = e["followup_levels"] if isinstance(e["followup_levels"], dict) else None
        if given is None:
            _row_error(
                errors,
                i,
                sid,
                "yearend.bad_followup",
                "Đánh giá bổ sung phải ghi theo từng môn học hoặc phẩm chất, năng lực.",
                "The follow-up evaluation is given per subject or quality.",
                field="followup_levels",
            )
            return
        levels = dict(record.followup_levels or {})
        for code, raw in given.items():
            item = items.get(code)
            if item is None:
                _row_error(
                    errors,
                    i,
                    sid,
                    "yearend.followup_not_needed",
                    f"“{code}” không thuộc các nội dung phải đánh giá bổ sung.",
                    f"“{code}” is not one of the items to evaluate again.",
                    field=code,
                )
                continue
            if raw is None or not str(raw).strip():
                levels.pop(code, None)
                continue
            level = followup_level(raw, item["kind"])
            if level is None:
                vi, en = (
                    (
                        "T — Hoàn thành tốt, H — Hoàn thành, C — Chưa hoàn thành",
                        "T — Completed well, H — Completed, C — Not completed",
                    )
                    if item["kind"] == "subject"
                    else ("T — Tốt, Đ — Đạt, C — Cần cố gắng", "T — Good, D — Achieved, C — Needs effort")
                )
                _row_error(
                    errors,
                    i,
                    sid,
                    "yearend.bad_followup_level",
                    f"Mức đánh giá bổ sung “{raw}” của {item['name']} không hợp lệ ({vi}).",
                    f"The follow-up level “{raw}” of {item['name']} is not valid ({en}).",
                    field=code,
                )
                continue
            levels[code] = level
        record.followup_levels = levels
    if "followup_decision" in e:
        value = str(e["followup_decision"] or "").strip()
        if value and value not in FOLLOWUP_DECISIONS:
            _row_error(
                errors,
                i,
                sid,
                "yearend.bad_followup_decision",
                "Quyết định của Hiệu trưởng phải là lên lớp, ở lại lớp hoặc để trống.",
                "The principal's decision must be promoted, held back or empty.",
                field="followup_decision",
            )
        else:
            record.followup_decision = value


def class_results_with(school_class: SchoolClass, records: list[RecordBook]) -> dict:
    """The results of these students as they will be once the records' unsaved decisions are saved."""
    return class_results(
        school_class,
        [r.student_id for r in records],
        decisions={
            r.student_id: {
                "retest_scores": r.retest_scores,
                "retest_chosen": r.retest_chosen,
                "summer_training_passed": r.summer_training_passed,
                "followup_plan": r.followup_plan,
                "followup_levels": r.followup_levels,
                "followup_decision": r.followup_decision,
                "exemplary_recognised": r.exemplary_recognised,
                "adhoc_commendation": r.adhoc_commendation,
            }
            for r in records
        },
    )


# ------------------------------------------------------------------------------------------- reads


def may_view_yearend(access: SchoolAccess, school_class: SchoolClass) -> bool:
    """The year-end page: BGH (records.approve) decides, the class's homeroom teacher reads."""
    return access.can("records.approve") or access.may_manage_class(school_class.pk)


def retest_input(value: Any) -> str:
    text = str(value or "")
    return {"D": "Đ", "CD": "CĐ"}.get(text, text.replace(".", ","))


def yearend_rows(school_class: SchoolClass, members: list) -> list[dict[str, Any]]:
    """One row per member of the class (``selectors.ClassMember``): the year's results — frozen for a
    final record, else computed now — with the decisions recorded on the record book (constant queries)."""
    ids = [m.student.pk for m in members]
    records = {r.student_id: r for r in RecordBook.objects.filter(school_class=school_class, student_id__in=ids)}
    live_ids = [
        sid for sid in ids if not (sid in records and records[sid].state in recordstates.FINAL and records[sid].results)
    ]
    live = class_results(school_class, live_ids) if live_ids else {}
    rows = []
    for m in members:
        sid = m.student.pk
        record = records.get(sid)
        data = live[sid].as_dict() if sid in live else dict(record.results)
        inputs = {code: retest_input(v) for code, v in ((record.retest_scores or {}) if record else {}).items()}
        results = data.get("retest_results", {})
        candidates = [
            {
                **c,
                "chosen": c.get("chosen", True),
                "input": inputs.get(c["code"], ""),
                "result": results.get(c["code"], ""),
            }
            for c in data.get("retest_candidates", [])
        ]
        rows.append(
            {
                "student": sid,
                "full_name": m.student.full_name,
                "left": m.left,
                "record_id": record.pk if record else None,
                "record_state": m.record_state,
                "state_label": m.state_label,
                "editable": record is not None and m.record_state in recordstates.EDITABLE,
                "learning": data.get("learning", {}).get("year", ""),
                "conduct": data.get("conduct", {}).get("year", ""),
                "title": data.get("title", ""),
                "promotion": data.get("promotion", ""),
                "promotion_code": data.get("promotion_code", ""),
                "retest_candidates": candidates,
                "retest_results": results,
                "retest_inputs": inputs,
                "learning_after_retest": data.get("learning_after_retest", ""),
                "summer_training": data.get("summer_training", ""),
                "retest_choice_recorded": bool(data.get("retest_choice_recorded")),
                "followup_items": data.get("followup_items", []),
                "followup_plan": data.get("followup_plan", ""),
                "evaluation_after_followup": data.get("evaluation_after_followup", ""),
                "followup_decision": data.get("followup_decision", ""),
                "followup_decision_code": data.get("followup_decision_code", ""),
                "completion": data.get("completion", ""),
                "promotion_final": data.get("promotion_final", ""),
                "promotion_final_code": data.get("promotion_final_code", ""),
                "pending": data.get("yearend_pending", []),
                "evaluation": data.get("evaluation", ""),
                "commendations": data.get("commendations", []),
                "qualities": data.get("qualities", {}),
                "exemplary": bool(record and record.exemplary_recognised),
                "adhoc_commendation": record.adhoc_commendation if record else "",
                "principal_comment": record.principal_comment if record else "",
                "completion_note": record.completion_note if record else "",
                "homeroom_comment": record.homeroom_comment if record else "",
                "absences": data.get("absences", {}).get("total", 0),
            }
        )
    return rows
