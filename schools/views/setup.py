"""Setting the school up (``school.setup``): its years, the classes of a year and who teaches what, the
curriculum and the departments. Forms only carry strings; the services in ``services.setup`` validate them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from hocba.kernel.errors import DomainError
from hocba.kernel.levels import LEVEL_GRADES, LEVEL_LABELS, LEVELS, PRIMARY, grades_of
from hocba.kernel.refusals import refusal_text

from tenants.selectors import account_names

from ..models import Grading
from ..selectors import (
    STAFF_ROLES,
    class_assignments,
    department_get,
    department_list,
    school_levels,
    setup_class_get,
    staff_names,
    subject_column_choices,
    subject_get,
    subject_list,
    subject_teachers,
    year_chosen,
    year_classes,
    year_get,
    year_list,
)
from ..services import setup
from .common import SchoolTemplatePage

CAPABILITY = "school.setup"
DATE_WIDGET = {"placeholder": "dd/mm/yyyy", "inputmode": "numeric"}


# --- forms ----------------------------------------------------------------------------------------------------------


def parse_date(value: str | None) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, "%d/%m/%Y").date()
    except ValueError:
        raise forms.ValidationError(_("Ngày phải theo dạng dd/mm/yyyy.")) from None


class DateField(forms.CharField):
    """A day typed as dd/mm/yyyy; shown the same way."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={**DATE_WIDGET, "maxlength": "10"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return value.strftime("%d/%m/%Y") if isinstance(value, dt.date) else value

    def to_python(self, value):
        return parse_date(super().to_python(value))


class LooseSelect(forms.CharField):
    """A select whose value the service checks (so that its message, naming the field, is the one shown)."""

    def __init__(self, *, choices=(), **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(widget=forms.Select(choices=choices), **kwargs)


class LooseMultipleChoice(forms.MultipleChoiceField):
    def valid_value(self, value) -> bool:
        return True


class SetupForm(forms.Form):
    def add_domain_error(self, exc: DomainError) -> None:
        self.add_error(exc.field if exc.field in self.fields else None, refusal_text(exc))


class YearDatesForm(SetupForm):
    starts_on = DateField(label=gettext_lazy("Ngày bắt đầu năm học"), help_text="dd/mm/yyyy")
    term2_starts_on = DateField(label=gettext_lazy("Ngày bắt đầu học kì II"), help_text="dd/mm/yyyy")
    ends_on = DateField(label=gettext_lazy("Ngày kết thúc năm học"), help_text="dd/mm/yyyy")


class YearOpenForm(SetupForm):
    start_year = forms.CharField(
        label=gettext_lazy("Năm bắt đầu"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "2026", "maxlength": "4"}),
    )
    levels = LooseMultipleChoice(label=gettext_lazy("Cấp học"), required=False, widget=forms.CheckboxSelectMultiple)
    starts_on = DateField(
        label=gettext_lazy("Ngày bắt đầu năm học"),
        required=False,
        help_text=gettext_lazy("dd/mm/yyyy; để trống là 05/09"),
    )
    term2_starts_on = DateField(
        label=gettext_lazy("Ngày bắt đầu học kì II"),
        required=False,
        help_text=gettext_lazy("dd/mm/yyyy; để trống là 12/01"),
    )
    ends_on = DateField(
        label=gettext_lazy("Ngày kết thúc năm học"),
        required=False,
        help_text=gettext_lazy("dd/mm/yyyy; để trống là 31/05"),
    )

    def __init__(self, *args, levels: tuple[str, ...] = (), **kwargs):
        kwargs.setdefault("initial", {"levels": list(levels)})
        super().__init__(*args, **kwargs)
        self.fields["levels"].choices = [(level, LEVEL_LABELS[level]) for level in levels]


class ClassForm(SetupForm):
    name = forms.CharField(label=gettext_lazy("Tên lớp"), max_length=40, required=False)
    grade = LooseSelect(label=gettext_lazy("Khối"))
    homeroom_teacher = LooseSelect(label=gettext_lazy("Giáo viên chủ nhiệm"))

    def __init__(self, *args, grades=(), teachers=(), with_grade: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if with_grade:
            self.fields["grade"].widget.choices = [(g, g) for g in grades]
        else:
            del self.fields["grade"]
        self.fields["homeroom_teacher"].widget.choices = [("", _("— chưa chọn —")), *teachers]


class SubjectForm(SetupForm):
    level = LooseSelect(label=gettext_lazy("Cấp học"))
    name = forms.CharField(label=gettext_lazy("Tên môn học"), max_length=200, required=False)
    periods_per_year = forms.CharField(
        label=gettext_lazy("Số tiết cả năm"),
        max_length=5,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    grading = LooseSelect(label=gettext_lazy("Cách đánh giá"), choices=Grading.choices)
    department = LooseSelect(label=gettext_lazy("Tổ chuyên môn"))
    has_periodic_test = forms.BooleanField(label=gettext_lazy("Có bài kiểm tra định kì (tiểu học)"), required=False)
    grades = LooseMultipleChoice(
        label=gettext_lazy("Các khối học"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, levels=(), grades=(), departments=(), with_level: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if with_level:
            self.fields["level"].widget.choices = [(level, LEVEL_LABELS[level]) for level in levels]
        else:
            del self.fields["level"]
        self.fields["grades"].choices = [(g, g) for g in grades]
        self.fields["department"].widget.choices = [("", _("— không thuộc tổ nào —")), *departments]

    def data_for_service(self) -> dict[str, Any]:
        return {key: value for key, value in self.cleaned_data.items() if key != "level"}


class DepartmentForm(SetupForm):
    name = forms.CharField(label=gettext_lazy("Tên tổ"), max_length=200, required=False)
    head = LooseSelect(label=gettext_lazy("Tổ trưởng"))

    def __init__(self, *args, staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["head"].widget.choices = [("", _("— chưa có —")), *staff]


class AssignmentsForm(SetupForm):
    """One select per subject of the class's grade: ``teacher_<subject id>`` (empty: nobody)."""

    def __init__(self, *args, rows=(), teachers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.subjects = [subject for subject, _teacher in rows]
        choices = [("", _("— chưa phân công —")), *teachers]
        for subject, teacher in rows:
            self.fields[f"teacher_{subject.pk}"] = LooseSelect(
                label=subject.name, initial=teacher or "", choices=choices
            )

    def lines(self) -> list[tuple[Any, forms.BoundField]]:
        return [(subject, self[f"teacher_{subject.pk}"]) for subject in self.subjects]

    def rows(self) -> list[dict[str, Any]]:
        return [{"subject": s.pk, "teacher": self.cleaned_data.get(f"teacher_{s.pk}") or None} for s in self.subjects]

    def add_row_errors(self, errors: list[dict[str, Any]], english: bool) -> None:
        for error in errors:
            field = f"teacher_{error['subject']}"
            self.add_error(field if field in self.fields else None, error["detail_en" if english else "detail"])


class SubjectPartsForm(SetupForm):
    """A subject shared by several teachers: a line per teacher (``teacher_<n>``, ``part_<n>``) and, for each column
    of the sheet, the line whose teacher enters it (``column_<key>``: one choice, so never two teachers)."""

    def __init__(self, *args, columns=(), parts=(), teachers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.sheet_columns = list(columns)
        self.slots = list(range(1, max(len(parts) + 1, 3) + 1))
        choices = [("", _("— chưa chọn —")), *teachers]
        owner = {}
        for n, part in zip(self.slots, parts, strict=False):
            for key in part.columns or [c.key for c in self.sheet_columns]:
                owner[key] = str(n)
            self.initial.setdefault(f"teacher_{n}", part.teacher_id)
            self.initial.setdefault(f"part_{n}", part.part)
        for n in self.slots:
            teacher_label = _("Giáo viên %(n)s") % {"n": n}
            part_label = _("Phần dạy của giáo viên %(n)s") % {"n": n}
            self.fields[f"teacher_{n}"] = LooseSelect(label=teacher_label, choices=choices)
            self.fields[f"teacher_{n}"].widget.attrs["aria-label"] = teacher_label
            self.fields[f"part_{n}"] = forms.CharField(
                label=part_label,
                required=False,
                max_length=200,
                widget=forms.TextInput(
                    attrs={"placeholder": _("ví dụ: Vật lí"), "maxlength": "60", "aria-label": part_label}
                ),
            )
        for column in self.sheet_columns:
            self.fields[f"column_{column.key}"] = forms.ChoiceField(
                label=column.label,
                required=False,
                choices=[(str(n), str(n)) for n in self.slots],
                initial=owner.get(column.key, ""),
                widget=forms.RadioSelect,
            )

    def lines(self) -> list[dict[str, Any]]:
        return [{"n": n, "teacher": self[f"teacher_{n}"], "part": self[f"part_{n}"]} for n in self.slots]

    def grid(self) -> list[dict[str, Any]]:
        """Per column of the sheet, one radio per line: which line's teacher enters it."""
        out = []
        for column in self.sheet_columns:
            field = self[f"column_{column.key}"]
            value = str(field.value() or "")
            radios = [
                {
                    "value": str(n),
                    "checked": value == str(n),
                    "label": _("%(column)s — dòng %(n)s") % {"column": column.label, "n": n},
                }
                for n in self.slots
            ]
            out.append({"column": column, "name": field.html_name, "radios": radios})
        return out

    def clean(self):
        data = super().clean()
        for n in self.slots:
            given = [c.label for c in self.sheet_columns if data.get(f"column_{c.key}") == str(n)]
            if given and not data.get(f"teacher_{n}"):
                self.add_error(
                    f"teacher_{n}",
                    _("Đã giao cột %(columns)s cho dòng này: hãy chọn giáo viên.") % {"columns": ", ".join(given)},
                )
        return data

    def rows(self) -> list[dict[str, Any]]:
        """The lines with a teacher, as ``services.setup.subject_parts_save`` takes them."""
        return [
            {
                "teacher": self.cleaned_data[f"teacher_{n}"],
                "part": self.cleaned_data.get(f"part_{n}", ""),
                "columns": [c.key for c in self.sheet_columns if self.cleaned_data.get(f"column_{c.key}") == str(n)],
            }
            for n in self.slots
            if self.cleaned_data.get(f"teacher_{n}")
        ]

    def add_row_errors(self, errors: list[dict[str, Any]], english: bool) -> None:
        lines = [n for n in self.slots if self.cleaned_data.get(f"teacher_{n}")]
        for error in errors:
            index = error["index"]
            n = lines[index] if 0 <= index < len(lines) else None
            field = f"{'teacher' if error['field'] == 'teacher' else 'part'}_{n}" if n is not None else None
            if error["field"] == "columns" and error["code"] == "assignments.column_unassigned":
                field = None
            self.add_error(field if field in self.fields else None, error["detail_en" if english else "detail"])


def _home_url(year=None) -> str:
    url = reverse("setup:home")
    return f"{url}?year={year.start_year}" if year is not None else url


class FormSubmit:
    """The POST of a setup form: the service runs once the form is valid; its refusal lands on the form (a 403 goes
    on to the refusal page), success is a message and a redirect, anything else shows the page again."""

    def submit(self, form, action, done, again: dict):
        """``action(cleaned_data)`` → result; ``done(result)`` → (message, url); ``again``: the page's context."""
        if form.is_valid():
            try:
                result = action(form.cleaned_data)
            except DomainError as exc:
                if exc.http_status == 403:
                    raise
                shown = self.refused(form, exc)
                if shown is not None:
                    return shown
            else:
                message, url = done(result)
                messages.success(self.request, message)
                return redirect(url)
        messages.error(self.request, _("Chưa lưu được: hãy sửa các ô báo lỗi."))
        return self.render_to_response(self.get_context_data(**again))

    def refused(self, form, exc: DomainError):
        form.add_domain_error(exc)


# --- years and classes ----------------------------------------------------------------------------------------------


class SetupHomeView(SchoolTemplatePage):
    """The school's years (open a new one, edit dates) and the classes of the chosen year (``?year=<start year>``,
    the newest by default)."""

    required_capability = CAPABILITY
    template_name = "schools/setup_home.html"

    def levels(self) -> tuple[str, ...]:
        return school_levels(self.access)

    def get_context_data(self, open_form=None, class_form=None, year=None, **kwargs):
        access = self.access
        levels = self.levels()
        if year is None:
            year = year_chosen(access, self.request.GET.get("year"))
        teachers = staff_names(access)
        classes = year_classes(access, year) if year is not None else []
        names = dict(teachers)
        missing = {
            c.homeroom_teacher_id for c in classes if c.homeroom_teacher_id and c.homeroom_teacher_id not in names
        }
        if missing:
            names.update(account_names(missing))
        ctx = {
            "years": year_list(access),
            "year": year,
            "level_labels": [LEVEL_LABELS[lv] for lv in levels],
            "classes": [{"school_class": c, "homeroom": names.get(c.homeroom_teacher_id, "")} for c in classes],
            "open_form": open_form or YearOpenForm(levels=levels, prefix="open"),
            "class_form": class_form
            or (
                ClassForm(grades=sorted(grades_of(levels)), teachers=teachers, prefix="class")
                if year is not None
                else None
            ),
        }
        return super().get_context_data(**ctx, **kwargs)


class YearOpenView(FormSubmit, SetupHomeView):
    http_method_names = ["post"]

    def post(self, request):
        form = YearOpenForm(request.POST, levels=self.levels(), prefix="open")
        return self.submit(
            form,
            lambda d: setup.school_year_create(access=self.access, **d),
            lambda year: (_("Đã mở năm học %(year)s.") % {"year": year.label}, _home_url(year)),
            {"open_form": form},
        )


class ClassCreateView(FormSubmit, SetupHomeView):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        year = year_get(self.access, pk)
        form = ClassForm(
            request.POST, grades=sorted(grades_of(self.levels())), teachers=staff_names(self.access), prefix="class"
        )
        return self.submit(
            form,
            lambda d: setup.class_create(
                access=self.access,
                year=year,
                name=d["name"],
                grade=d["grade"],
                homeroom_teacher_id=d["homeroom_teacher"] or None,
            ),
            lambda school_class: (_("Đã tạo lớp %(name)s.") % {"name": school_class.name}, _home_url(year) + "#lop"),
            {"class_form": form, "year": year},
        )


class YearEditView(FormSubmit, SchoolTemplatePage):
    """A year's dates: start, start of term II, end (dd/mm/yyyy)."""

    required_capability = CAPABILITY
    template_name = "schools/setup_year.html"

    def get_context_data(self, form=None, **kwargs):
        year = year_get(self.access, self.kwargs["pk"])
        form = form or YearDatesForm(
            initial={"starts_on": year.starts_on, "term2_starts_on": year.term2_starts_on, "ends_on": year.ends_on}
        )
        return super().get_context_data(year=year, form=form, **kwargs)

    def post(self, request, pk: int):
        year = year_get(self.access, pk)
        form = YearDatesForm(request.POST)
        return self.submit(
            form,
            lambda d: setup.school_year_update(access=self.access, year=year, **d),
            lambda _r: (_("Đã lưu ngày của năm học %(year)s.") % {"year": year.label}, _home_url(year)),
            {"form": form},
        )


# --- a class: its name, homeroom teacher and teaching assignments ---------------------------------------------------


def _assignment_rows(school_class) -> tuple[list, list[dict[str, Any]]]:
    """The subjects the one-teacher form lists, and the subjects shared by several teachers (set on their own page)."""
    parts_of = {s: parts for s, parts in subject_teachers(school_class).items() if len(parts) > 1}
    rows = class_assignments(school_class)
    shared = [{"subject": subject, "parts": parts_of[subject.pk]} for subject, _t in rows if subject.pk in parts_of]
    return [(subject, teacher) for subject, teacher in rows if subject.pk not in parts_of], shared


class ClassSetupView(FormSubmit, SchoolTemplatePage):
    required_capability = CAPABILITY
    template_name = "schools/setup_class.html"

    def school_class(self):
        return setup_class_get(self.access, self.kwargs["pk"])

    def get_context_data(self, class_form=None, assignments_form=None, **kwargs):
        school_class = self.school_class()
        teachers = staff_names(self.access)
        rows, shared = _assignment_rows(school_class)
        names = dict(teachers)
        ctx = {
            "school_class": school_class,
            "year": school_class.year,
            "class_form": class_form
            or ClassForm(
                initial={"name": school_class.name, "homeroom_teacher": school_class.homeroom_teacher_id or ""},
                teachers=teachers,
                with_grade=False,
                prefix="class",
            ),
            "assignments_form": assignments_form or AssignmentsForm(rows=rows, teachers=teachers, prefix="assign"),
            "assigned": [
                {"subject": subject, "teacher": names.get(teacher, "")} for subject, teacher in rows if teacher
            ],
            "shared": shared,
        }
        return super().get_context_data(**ctx, **kwargs)


class ClassUpdateView(ClassSetupView):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        school_class = self.school_class()
        form = ClassForm(request.POST, teachers=staff_names(self.access), with_grade=False, prefix="class")
        return self.submit(
            form,
            lambda d: setup.class_update(
                access=self.access,
                school_class=school_class,
                name=d["name"],
                homeroom_teacher_id=d["homeroom_teacher"] or None,
            ),
            lambda _r: (_("Đã lưu lớp %(name)s.") % {"name": school_class.name}, reverse("setup:class", args=[pk])),
            {"class_form": form},
        )


class AssignmentsSaveView(ClassSetupView):
    """Every subject's teacher of the class in one POST: all or nothing."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        school_class = self.school_class()
        form = AssignmentsForm(
            request.POST, rows=_assignment_rows(school_class)[0], teachers=staff_names(self.access), prefix="assign"
        )
        return self.submit(
            form,
            lambda _d: setup.assignments_save(access=self.access, school_class=school_class, rows=form.rows()),
            lambda _r: (
                _("Đã lưu phân công giảng dạy của lớp %(name)s.") % {"name": school_class.name},
                reverse("setup:class", args=[pk]) + "#phan-cong",
            ),
            {"assignments_form": form},
        )

    def refused(self, form, exc: DomainError):
        if not isinstance(exc, setup.AssignmentsInvalid):
            return super().refused(form, exc)
        form.add_row_errors(exc.errors, english=translation.get_language() == "en")
        messages.error(self.request, refusal_text(exc))
        return self.render_to_response(self.get_context_data(assignments_form=form))


class AssignmentClearView(ClassSetupView):
    http_method_names = ["post"]

    def post(self, request, pk: int, subject: int):
        school_class = self.school_class()
        found = subject_get(self.access, subject)
        if setup.assignment_clear(access=self.access, school_class=school_class, subject=found):
            messages.success(request, _("Đã bỏ phân công môn %(subject)s.") % {"subject": found.name})
        return redirect(reverse("setup:class", args=[pk]) + "#phan-cong")


class SubjectPartsView(FormSubmit, SchoolTemplatePage):
    """One subject of a class taught by several teachers: each teacher's part and the sheet columns they enter."""

    required_capability = CAPABILITY
    template_name = "schools/setup_subject_parts.html"

    def class_and_subject(self):
        school_class = setup_class_get(self.access, self.kwargs["pk"])
        return school_class, subject_get(self.access, self.kwargs["subject"])

    def make_form(self, school_class, subject, data=None):
        return SubjectPartsForm(
            data,
            columns=subject_column_choices(school_class, subject),
            parts=subject_teachers(school_class, [subject.pk]).get(subject.pk, []),
            teachers=staff_names(self.access),
            prefix="parts",
        )

    def get_context_data(self, form=None, **kwargs):
        school_class, subject = self.class_and_subject()
        return super().get_context_data(
            school_class=school_class,
            year=school_class.year,
            subject=subject,
            form=form or self.make_form(school_class, subject),
            **kwargs,
        )

    def post(self, request, pk: int, subject: int):
        school_class, found = self.class_and_subject()
        form = self.make_form(school_class, found, request.POST)
        return self.submit(
            form,
            lambda _d: setup.subject_parts_save(
                access=self.access, school_class=school_class, subject=found, parts=form.rows()
            ),
            lambda _r: (
                _("Đã lưu phân công môn %(subject)s của lớp %(name)s.")
                % {"subject": found.name, "name": school_class.name},
                reverse("setup:class", args=[pk]) + "#phan-cong",
            ),
            {"form": form},
        )

    def refused(self, form, exc: DomainError):
        if not isinstance(exc, setup.AssignmentsInvalid):
            return super().refused(form, exc)
        form.add_row_errors(exc.errors, english=translation.get_language() == "en")
        messages.error(self.request, refusal_text(exc))
        return self.render_to_response(self.get_context_data(form=form))


# --- curriculum and departments -------------------------------------------------------------------------------------


def _department_choices(access) -> list[tuple[int, str]]:
    return [(d.pk, d.name) for d in department_list(access)]


class SubjectListView(FormSubmit, SchoolTemplatePage):
    """The school's curriculum, level by level (GDPT 2018 to start with, editable), and adding a subject."""

    required_capability = CAPABILITY
    template_name = "schools/setup_subjects.html"

    def levels(self) -> tuple[str, ...]:
        return school_levels(self.access)

    def new_form(self, data=None) -> SubjectForm:
        levels = self.levels()
        return SubjectForm(
            data,
            levels=levels,
            grades=sorted(grades_of(levels)),
            departments=_department_choices(self.access),
            prefix="new",
            initial={"grading": Grading.SCORE if levels[-1] != PRIMARY else Grading.LEVEL},
        )

    def get_context_data(self, form=None, **kwargs):
        subjects = subject_list(self.access)
        groups = []
        for level in (*self.levels(), *(lv for lv in LEVELS if lv not in self.levels())):
            rows = [s for s in subjects if s.level == level]
            if rows or level in self.levels():
                groups.append({"level": level, "label": LEVEL_LABELS[level], "subjects": rows})
        return super().get_context_data(groups=groups, form=form or self.new_form(), **kwargs)


class SubjectCreateView(SubjectListView):
    http_method_names = ["post"]

    def post(self, request):
        form = self.new_form(request.POST)
        return self.submit(
            form,
            lambda d: setup.subject_create(access=self.access, level=d["level"], data=form.data_for_service()),
            lambda subject: (
                _("Đã thêm môn %(subject)s.") % {"subject": subject.name},
                reverse("setup:subjects") + f"#cap-{subject.level}",
            ),
            {"form": form},
        )


class SubjectEditView(FormSubmit, SchoolTemplatePage):
    required_capability = CAPABILITY
    template_name = "schools/setup_subject.html"

    def form_for(self, subject, data=None) -> SubjectForm:
        initial = {
            "name": subject.name,
            "periods_per_year": subject.periods_per_year,
            "grading": subject.grading,
            "department": subject.department_id or "",
            "has_periodic_test": subject.has_periodic_test,
            "grades": [str(g) for g in subject.grades],
        }
        return SubjectForm(
            data,
            initial=initial,
            grades=list(LEVEL_GRADES[subject.level]),
            departments=_department_choices(self.access),
            with_level=False,
        )

    def get_context_data(self, form=None, **kwargs):
        subject = subject_get(self.access, self.kwargs["pk"])
        return super().get_context_data(
            subject=subject, level_label=LEVEL_LABELS[subject.level], form=form or self.form_for(subject), **kwargs
        )

    def post(self, request, pk: int):
        subject = subject_get(self.access, pk)
        form = self.form_for(subject, request.POST)
        return self.submit(
            form,
            lambda _d: setup.subject_update(access=self.access, subject=subject, data=form.data_for_service()),
            lambda _r: (
                _("Đã lưu môn %(subject)s.") % {"subject": subject.name},
                reverse("setup:subjects") + f"#cap-{subject.level}",
            ),
            {"form": form},
        )


class DepartmentListView(FormSubmit, SchoolTemplatePage):
    """The departments: rename, choose the head among the school's staff."""

    required_capability = CAPABILITY
    template_name = "schools/setup_departments.html"

    def get_context_data(self, bound=None, **kwargs):
        access = self.access
        staff = staff_names(access, STAFF_ROLES)
        names = dict(staff)
        rows = []
        for department in department_list(access):
            if bound is not None and bound[0] == department.pk:
                form = bound[1]
            else:
                form = DepartmentForm(
                    initial={"name": department.name, "head": department.head_id or ""},
                    staff=staff,
                    prefix=f"d{department.pk}",
                )
            rows.append({"department": department, "head": names.get(department.head_id, ""), "form": form})
        return super().get_context_data(rows=rows, **kwargs)


class DepartmentUpdateView(DepartmentListView):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        department = department_get(self.access, pk)
        form = DepartmentForm(request.POST, staff=staff_names(self.access, STAFF_ROLES), prefix=f"d{department.pk}")
        return self.submit(
            form,
            lambda d: setup.department_update(
                access=self.access, department=department, name=d["name"], head_id=d["head"] or None
            ),
            lambda _r: (
                _("Đã lưu tổ %(name)s.") % {"name": department.name},
                reverse("setup:departments") + f"#to-{pk}",
            ),
            {"bound": (department.pk, form)},
        )
