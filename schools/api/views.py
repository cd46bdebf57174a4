"""School API v1 (on the school's own address). Rows are scoped by the requester's SchoolAccess."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import request_school_access
from ..selectors import (
    asked_year,
    children_with_records,
    class_and_subject_get,
    class_get,
    class_students,
    classes_visible,
    current_class_id,
    enrolment_history,
    not_found,
    personal_data_readable,
    record_for_reader,
    record_get,
    record_guardians,
    student_visible,
    year_shown,
)
from ..services import classwork, records, sheets, students
from ..services.common import require
from ..services.readerview import ever_approved
from ..services.students import PERSONAL_FIELDS
from . import serializers as s

# The services' own refusals, checked here before the body is read (the services check them again).
CONDUCT_NOT_ALLOWED = _("Chỉ giáo viên chủ nhiệm của lớp mới đánh giá rèn luyện.")
ABSENCES_NOT_ALLOWED = _("Chỉ giáo viên chủ nhiệm của lớp mới điểm danh.")
REOPEN_NOT_ALLOWED = _("Chỉ Hiệu trưởng mới mở lại được học bạ đã duyệt.")


def sheet_data(sheet: sheets.Sheet) -> dict:
    return {
        "school_class": sheet.school_class.pk,
        "subject": sheet.subject.pk,
        "term": sheet.term,
        "columns": [c.__dict__ for c in sheet.columns],
        "rows": [
            {
                "student": st.id,
                "full_name": st.full_name,
                "left": st.left,
                "record_state": st.record_state,
                "values": {c.key: sheet.values.get((st.id, c.key), "") for c in sheet.columns},
                "computed": sheet.computed.get(st.id, {}),
                "exempt": sheet.exempt.get(st.id, ""),
            }
            for st in sheet.students
        ],
    }


class ClassListApi(APIView):
    required_capability = "school.enter"

    @extend_schema(
        responses=s.ClassSerializer(many=True),
        parameters=[
            OpenApiParameter(
                "year",
                int,
                description="the school year's first calendar year (2025 for 2025–2026); default: the latest",
            )
        ],
        summary="Classes of a school year you may see",
    )
    def get(self, request):
        access = request_school_access(request)
        return Response(s.ClassSerializer(classes_visible(access, year_shown(request)), many=True).data)


def students_data(access, rows: list) -> list[dict]:
    """The whole profile of the students whose personal data this person may read, the rest without
    ``PERSONAL_FIELDS`` (the rule: ``selectors.personal_data_readable``)."""
    readable = personal_data_readable(access, [st.pk for st in rows])
    out = []
    for st in rows:
        data = s.StudentSerializer(st).data
        out.append(data if st.pk in readable else {k: v for k, v in data.items() if k not in PERSONAL_FIELDS})
    return out


class ClassStudentsApi(APIView):
    required_capability = "school.enter"
    write_capability = "profiles.edit"

    @extend_schema(
        responses=s.StudentSerializer(many=True),
        summary="Students of a class, in Vietnamese order (identity data only for those who keep profiles)",
    )
    def get(self, request, pk: int):
        access = request_school_access(request)
        school_class = class_get(access, pk)
        return Response(students_data(access, class_students(school_class)))

    @extend_schema(request=s.StudentSerializer, responses={201: s.StudentSerializer}, summary="Enrol a new student")
    def post(self, request, pk: int):
        access = request_school_access(request)
        school_class = class_get(access, pk)
        require(access.may_edit_profiles(school_class.pk))  # before the body: a refusal names no field
        ser = s.StudentSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        student = students.student_enrol(
            access=access, school_class=school_class, profile=dict(ser.validated_data), today=timezone.localdate()
        )
        return Response(s.StudentSerializer(student).data, status=status.HTTP_201_CREATED)


class SheetApi(APIView):
    """A grade sheet: class × subject × term. PUT saves the whole sheet in one request."""

    required_capability = "school.enter"
    write_capability = "sheets.enter"

    @extend_schema(responses=s.SheetSerializer, summary="Read a grade sheet")
    def get(self, request, pk: int, subject: int, term: int):
        access = request_school_access(request)
        school_class, subject = class_and_subject_get(access, pk, subject)
        sheet = sheets.sheet_read(access=access, school_class=school_class, subject=subject, term=term)
        return Response(sheet_data(sheet))

    @extend_schema(
        request=s.SheetSaveSerializer,
        responses=s.SheetSaveResultSerializer,
        summary="Save a whole sheet: all cells or none; each error names its cell",
    )
    def put(self, request, pk: int, subject: int, term: int):
        access = request_school_access(request)
        school_class, subject = class_and_subject_get(access, pk, subject)
        sheets.sheet_require_entry(access=access, school_class=school_class, subject=subject)
        # The body is checked for shape by a plain function, not cell by cell through a serializer (which cost a
        # third of the request); SheetSaveSerializer above documents the same shape in the OpenAPI schema.
        cells = sheets.cells_from_payload(request.data)
        result = sheets.sheet_save(access=access, school_class=school_class, subject=subject, term=term, cells=cells)
        return Response({"written": result.written, "cleared": result.cleared, "sheet": sheet_data(result.sheet)})


class ClassSheetsApi(APIView):
    """Several subject sheets of one class and term (a whole class) saved in one request and one transaction."""

    required_capability = "school.enter"
    write_capability = "sheets.enter"

    @extend_schema(
        request=s.ClassSheetsSaveSerializer,
        responses=s.ClassSheetsSaveResultSerializer,
        summary="Save several subject sheets of a class at once: all cells of all subjects or none",
    )
    def put(self, request, pk: int, term: int):
        access = request_school_access(request)
        parts = request.data.get("sheets") if isinstance(request.data, dict) else None
        if not isinstance(parts, list):
            parts = []  # refused by the service with its message
        result = sheets.class_sheets_save(access=access, school_class=class_get(access, pk), term=term, sheets=parts)
        return Response(
            {
                "written": result.written,
                "cleared": result.cleared,
                "sheets": [sheet_data(sheet) for sheet in result.sheets],
            }
        )


class ConductApi(APIView):
    required_capability = "class.enter"

    @extend_schema(
        request=s.ConductSaveSerializer, responses=s.CountSerializer, summary="Conduct of the class for a term"
    )
    def put(self, request, pk: int, term: int):
        access = request_school_access(request)
        school_class = class_get(access, pk)
        require(access.may_manage_class(school_class.pk), CONDUCT_NOT_ALLOWED)
        ser = s.ConductSaveSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        n = classwork.conduct_save(
            access=access,
            school_class=school_class,
            term=term,
            entries=[dict(e) for e in ser.validated_data["entries"]],
        )
        return Response({"count": n})


class AbsencesApi(APIView):
    required_capability = "class.enter"

    @extend_schema(
        request=s.AbsencesSaveSerializer, responses=s.CountSerializer, summary="The day's absences of the class"
    )
    def put(self, request, pk: int):
        access = request_school_access(request)
        school_class = class_get(access, pk)
        require(access.may_manage_class(school_class.pk), ABSENCES_NOT_ALLOWED)
        ser = s.AbsencesSaveSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        n = classwork.absences_record(
            access=access,
            school_class=school_class,
            date=ser.validated_data["date"],
            entries=[dict(e) for e in ser.validated_data["entries"]],
        )
        return Response({"count": n})


class AbsenceMarksApi(APIView):
    required_capability = "class.enter"

    @extend_schema(
        request=s.AbsenceMarksSerializer,
        responses=s.CountSerializer,
        summary="Several days' absences of the class at once (P excused, K not, empty present): all or none",
    )
    def put(self, request, pk: int):
        access = request_school_access(request)
        school_class = class_get(access, pk)
        require(access.may_manage_class(school_class.pk), ABSENCES_NOT_ALLOWED)
        classwork.absence_marks_count_check(request.data.get("marks") if isinstance(request.data, dict) else None)
        ser = s.AbsenceMarksSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        n = classwork.absences_mark(
            access=access, school_class=school_class, marks=[dict(m) for m in ser.validated_data["marks"]]
        )
        return Response({"count": n})


def _workflow_body(request) -> tuple[list[int] | None, str]:
    """``student_ids`` (absent: the whole class) and ``reason`` of a submit, withdraw or approve request."""
    data = request.data
    if hasattr(data, "getlist"):  # a form body
        ids, reason = data.getlist("student_ids") or None, data.get("reason", "")
    else:
        ids = data.get("student_ids") if isinstance(data, dict) else None
        reason = data.get("reason", "") if isinstance(data, dict) else ""
    return records.student_ids_from(ids), reason if isinstance(reason, str) else ""


def _moved(moved: records.Moved) -> dict:
    return {"count": moved.count, "incomplete": moved.incomplete_data()}


class SubmitApi(APIView):
    required_capability = "records.submit"

    @extend_schema(
        request=s.WorkflowSerializer,
        responses=s.MovedSerializer,
        summary="The homeroom teacher submits the class's draft records (or those of student_ids); the response "
        "lists the incomplete ones and what each misses",
    )
    def post(self, request, pk: int):
        access = request_school_access(request)
        school_class = class_get(access, pk)
        require(access.may_manage_class(school_class.pk), records.SUBMIT_NOT_ALLOWED)
        ids, _reason = _workflow_body(request)
        return Response(_moved(records.records_submit(access=access, school_class=school_class, student_ids=ids)))


class WithdrawApi(APIView):
    required_capability = "records.submit"

    @extend_schema(
        request=s.WorkflowSerializer,
        responses=s.MovedSerializer,
        summary="Take submitted, not yet approved records (the class's or those of student_ids) back to draft",
    )
    def post(self, request, pk: int):
        access = request_school_access(request)
        school_class = class_get(access, pk)
        ids, _reason = _workflow_body(request)
        return Response(_moved(records.records_withdraw(access=access, school_class=school_class, student_ids=ids)))


class ApproveApi(APIView):
    required_capability = "records.approve"

    @extend_schema(
        request=s.WorkflowSerializer,
        responses=s.MovedSerializer,
        summary="Approve the class's submitted records (or those of student_ids); incomplete ones need a reason "
        "(409 listing what each misses without it)",
    )
    def post(self, request, pk: int):
        access = request_school_access(request)
        school_class = class_get(access, pk)
        ids, reason = _workflow_body(request)
        moved = records.records_approve(access=access, school_class=school_class, student_ids=ids, reason=reason)
        return Response(_moved(moved))


class ReopenApi(APIView):
    required_capability = "records.reopen"

    @extend_schema(
        request=s.ReopenSerializer, responses=s.RecordSerializer, summary="Reopen an approved record, with a reason"
    )
    def post(self, request, pk: int):
        access = request_school_access(request)
        record = record_get(pk)
        require(access.can("records.reopen"), REOPEN_NOT_ALLOWED)
        ser = s.ReopenSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        record = records.record_reopen(access=access, record=record, reason=ser.validated_data["reason"])
        return Response(s.RecordSerializer(record).data)


class StudentApi(APIView):
    required_capability = "school.enter"
    write_capability = "profiles.edit"

    @extend_schema(
        responses=s.StudentSerializer, summary="A student's profile (identity data only for those who keep profiles)"
    )
    def get(self, request, pk: int):
        access = request_school_access(request)
        student, _record = student_visible(access, pk)
        return Response(students_data(access, [student])[0])

    @extend_schema(request=s.StudentSerializer, responses=s.StudentSerializer, summary="Edit a student's profile")
    def patch(self, request, pk: int):
        access = request_school_access(request)
        student, _record = student_visible(access, pk)
        require(access.may_edit_profiles(current_class_id(enrolment_history(student))))
        ser = s.StudentSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        student = students.student_update(
            access=access, student=student, profile=dict(ser.validated_data), today=timezone.localdate()
        )
        return Response(s.StudentSerializer(student).data)


class StudentRecordApi(APIView):
    required_capability = "school.enter"

    @extend_schema(
        responses=s.StudentRecordSerializer,
        parameters=[
            OpenApiParameter(
                "year",
                int,
                description=(
                    "the school year's first calendar year (2025 for 2025–2026); default: the latest one you may see"
                ),
            )
        ],
        summary="A student's record of a year with its results (only the subjects you may read); a parent reads "
        "the approved version",
    )
    def get(self, request, pk: int):
        access = request_school_access(request)
        student, record = student_visible(access, pk, year_start=asked_year(request), record_only=True)
        if record is None:
            raise not_found()
        view = record_for_reader(access, student, record)
        approved = view["approved"]  # a parent's view of a record being corrected: the last approved version
        personal = student.pk in personal_data_readable(access, [student.pk])
        data = s.StudentRecordSerializer(
            {
                "record": approved.record if approved else record,
                "being_corrected": approved is not None,
                "guardians": record_guardians(student) if personal else None,
            }
        ).data
        data["results"] = view["results"]
        if data["guardians"] is None:
            data.pop("guardians")
        return Response(data)


class MyChildrenApi(APIView):
    required_capability = "records.view_child"

    @extend_schema(
        responses=s.ChildSerializer(many=True), summary="A parent's children and whether each one's record is approved"
    )
    def get(self, request):
        rows = [
            {"student": st, "record": r, "approved": r is not None and ever_approved(r)}
            for st, r in children_with_records(request_school_access(request).child_ids)
        ]
        return Response(s.ChildSerializer(rows, many=True).data)
