"""The grade entry page: one class × one subject × one term, entered in the browser and saved whole
through the API (PUT /api/v1/classes/<id>/sheets/<subject>/<term>/) by grade_sheet.js."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from hocba.kernel import recordstates
from hocba.kernel.errors import DomainError

from tenants.windows import category_of_term, entry_state

from ..models import Grading, RecordState
from ..rules import rules_for, tt22
from ..selectors import class_get, subject_teachers, subjects_of
from ..services.sheets import COMMENT_MAX, EXEMPT_MARK, sheet_read
from .common import SchoolTemplatePage

TERM_LABELS = {1: gettext_lazy("Học kì I"), 2: gettext_lazy("Học kì II")}
# Column widths in rem: the table has a fixed layout so that nothing moves while a teacher types.
WIDTHS = {
    "number": 2.6,
    "name": 14.0,
    "score": 4.6,
    "passfail": 4.6,
    "level": 4.6,
    "test": 5.2,
    "text": 15.0,
    "computed": 5.4,
}
INPUT_MODES = {"score": "decimal", "test": "numeric"}


def _computed_columns(grading: str, term: int) -> list[dict[str, Any]]:
    """The results shown beside the cells: a term I page shows term I only (term II and the year do not exist
    yet); a term II page shows term I read-only for reference, then term II and the year."""
    columns = _all_computed_columns(grading)
    if term == 1:
        return [c for c in columns if c["key"] == "term1"]
    return [{**c, "reference": c["key"] == "term1"} for c in columns]


def _all_computed_columns(grading: str) -> list[dict[str, str]]:
    if grading == Grading.SCORE:
        return [
            {"key": "term1", "label": _("ĐTBmhk I"), "title": _("Điểm trung bình môn học kì I")},
            {"key": "term2", "label": _("ĐTBmhk II"), "title": _("Điểm trung bình môn học kì II")},
            {"key": "year", "label": _("ĐTBmcn"), "title": _("Điểm trung bình môn cả năm")},
        ]
    if grading == Grading.COMMENT:
        return [
            {"key": "term1", "label": _("KQ HK I"), "title": _("Kết quả học kì I (Đạt / Chưa đạt)")},
            {"key": "term2", "label": _("KQ HK II"), "title": _("Kết quả học kì II (Đạt / Chưa đạt)")},
            {"key": "year", "label": _("KQ cả năm"), "title": _("Kết quả cả năm: bằng kết quả học kì II")},
        ]
    return []


def _rules(school_class, subject) -> dict | None:
    """What the page's live computation needs from the rule set in force (weights, number of ĐĐGtx)."""
    if subject.grading not in tt22.GRADINGS:
        return None
    rules = rules_for(school_class.level, school_class.year.start_year)
    if not isinstance(rules, tt22.TT22Rules):
        return None
    return {
        "code": rules.code,
        "regular_count": tt22.regular_assessment_count(subject.periods_per_year, rules=rules),
        "regular_weight": rules.regular_weight,
        "midterm_weight": rules.midterm_weight,
        "final_weight": rules.final_weight,
        "semester_i_weight": rules.semester_i_weight,
        "semester_ii_weight": rules.semester_ii_weight,
    }


def _messages() -> dict[str, str]:
    return {
        "saving": _("Đang lưu…"),
        "saved": _("Đã lưu %(n)s ô."),
        "saved_none": _("Không có ô nào thay đổi; bảng điểm đã được cập nhật từ máy chủ."),
        "dirty": _("%(n)s ô đã sửa, chưa lưu"),
        "clean": _("Mọi thay đổi đã được lưu."),
        "invalid": _("Bảng điểm có %(n)s ô không hợp lệ; chưa lưu gì. Hãy sửa các ô tô đỏ rồi lưu lại."),
        "offline": _("Mất kết nối tới máy chủ; dữ liệu bạn nhập vẫn còn trên trang. Tự thử lại sau %(s)s giây…"),
        "offline_final": _("Chưa lưu được vì mất kết nối. Dữ liệu bạn nhập vẫn còn trên trang — bấm “Thử lại”."),
        "server_error": _("Máy chủ gặp lỗi (%(status)s); chưa lưu gì. Dữ liệu bạn nhập vẫn còn trên trang."),
        "refused": _("Không lưu được: %(detail)s"),
        "session": _("Phiên đăng nhập có thể đã hết hạn. Hãy đăng nhập lại ở một thẻ khác rồi bấm “Thử lại”."),
        "leave": _("Có ô chưa lưu. Rời trang sẽ mất các thay đổi này."),
        "bad_score": _("Điểm từ 0 đến 10, tối đa một chữ số thập phân (ví dụ 7,5)."),
        "bad_test": _("Điểm kiểm tra là số nguyên từ 0 đến 10."),
        "bad_passfail": _("Chỉ nhận Đ (Đạt) hoặc CĐ (Chưa đạt)."),
        "bad_level": _("Chỉ nhận T, H hoặc C."),
        "go_to_cell": _("Đến ô này"),
        "why_letter": _("“%(value)s” là mức hoặc nhận xét, không phải điểm số."),
        "why_nan": _("“%(value)s” không phải là số."),
        "why_high": _("%(value)s lớn hơn 10."),
        "why_decimals": _("%(value)s có quá một chữ số thập phân."),
        "why_not_integer": _("%(value)s không phải số nguyên."),
        "why_value": _("Không nhận “%(value)s”."),
        "why_long": _("Nhận xét dài %(n)s ký tự, quá giới hạn %(max)s ký tự."),
        "short_letter": _("Cần điểm số"),
        "short_nan": _("Không phải số"),
        "short_high": _("Lớn hơn 10"),
        "short_decimals": _("Quá 1 số lẻ"),
        "short_integer": _("Cần số nguyên"),
        "short_passfail": _("Chỉ Đ hoặc CĐ"),
        "short_level": _("Chỉ T, H, C"),
        "short_long": _("Quá dài"),
        "invalid_count": _("%(n)s ô chưa hợp lệ"),
        "invalid_local": _(
            "Chưa lưu: bảng điểm có %(n)s ô chưa hợp lệ. Hãy sửa các ô tô đỏ (con trỏ đã ở ô đầu tiên) rồi lưu lại."
        ),
        "blocked": _("Chưa tính được: ô %(cell)s (“%(value)s”) chưa hợp lệ."),
    }


class SheetView(SchoolTemplatePage):
    """Read-only for those who may only read the subject; every cell of an approved record is read-only."""

    required_capability = "school.enter"
    template_name = "schools/sheet_entry.html"

    def get_context_data(self, **kwargs):
        access = self.access
        school_class = class_get(access, self.kwargs["pk"])
        subjects = subjects_of(school_class)
        subject = next((s for s in subjects if s.pk == self.kwargs["subject"]), None)
        if subject is None:
            raise DomainError(
                "school.not_found",
                _("Môn học này không có ở lớp %(class)s."),
                params={"class": school_class.name},
                http_status=404,
            )
        term = self.kwargs["term"]
        sheet = sheet_read(access=access, school_class=school_class, subject=subject, term=term)
        window_state = entry_state(
            school_id=access.school_id,
            category=category_of_term(term),
            year_start=school_class.year.start_year,
            grade=school_class.grade,
            class_id=school_class.pk,
        )
        editable = access.may_enter_sheet(school_class.pk, subject.pk) and window_state.open
        # A subject shared by several teachers: each enters the columns of their part, the others' are read-only.
        parts = subject_teachers(school_class, [subject.pk]).get(subject.pk, [])
        mine = access.entry_columns(school_class.pk, subject.pk) if editable else None
        computed_columns = _computed_columns(subject.grading, term)
        rows = []
        for st in sheet.students:
            locked = st.record_state not in recordstates.EDITABLE
            computed = sheet.computed.get(st.id, {})
            rows.append(
                {
                    "student": st,
                    "locked": locked,
                    "state_label": RecordState(st.record_state).label,
                    "exempt": sheet.exempt.get(st.id, ""),  # "subject": the cells read "Miễn"; "practical": a tag
                    "cells": [
                        {
                            "column": c,
                            "value": sheet.values.get((st.id, c.key), ""),
                            "readonly": locked or not editable or (mine is not None and c.key not in mine),
                            "others": mine is not None and c.key not in mine,
                            "inputmode": INPUT_MODES.get(c.value_type, "text"),
                        }
                        for c in sheet.columns
                    ],
                    "computed": [
                        {"key": cc["key"], "value": computed.get(cc["key"], ""), "current": cc["key"] == f"term{term}"}
                        for cc in computed_columns
                    ],
                }
            )
        widths = (
            [WIDTHS["number"], WIDTHS["name"]]
            + [WIDTHS[c.value_type] for c in sheet.columns]
            + [WIDTHS["computed"]] * len(computed_columns)
        )
        config = {
            "api": reverse("api_sheet", args=[school_class.pk, subject.pk, term]),
            "term": term,
            "grading": subject.grading,
            "editable": editable,
            "columns": [{"key": c.key, "kind": c.kind, "type": c.value_type, "label": c.label} for c in sheet.columns],
            "rules": _rules(school_class, subject),
            "messages": _messages(),
            "exempt_mark": str(EXEMPT_MARK),
        }
        others = [
            s
            for s in subjects
            if s.pk != subject.pk
            and (
                access.may_enter_sheet(school_class.pk, s.pk)
                or s.pk in access.readable_subject_ids(school_class.pk, frozenset({s.pk}))
            )
        ]
        return super().get_context_data(
            school_class=school_class,
            subject=subject,
            term=term,
            term_label=TERM_LABELS[term],
            terms=list(TERM_LABELS.items()),
            editable=editable,
            rows=rows,
            columns=sheet.columns,
            computed_columns=computed_columns,
            config=config,
            other_subjects=others,
            col_widths=widths,
            table_width=f"{sum(widths):.1f}",
            window_state=window_state,
            locked_count=sum(1 for r in rows if r["locked"]),
            parts=parts if len(parts) > 1 else [],
            my_columns=mine,
            comment_max=COMMENT_MAX,
            **kwargs,
        )
