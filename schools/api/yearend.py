"""School API v1, year-end: TT27 qualities and competencies, the class's year-end table and the principal's
decisions (re-test, summer training, comments, completion, commendations), homeroom comments, awards and
discipline. Rows are scoped by the requester's SchoolAccess; the services refuse what is not editable."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from hocba.kernel import recordstates
from hocba.kernel.errors import NotAllowed
from hocba.kernel.levels import PRIMARY
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import SchoolAccess, request_school_access
from ..models import AwardDiscipline, SchoolClass
from ..selectors import class_awards, class_get, class_members, class_students
from ..services import classwork, yearend
from ..services.common import require
from .serializers import CountSerializer

# The services' own refusals, checked here before the body is read (the services check them again).
QUALITIES_NOT_ALLOWED = _("Chỉ giáo viên chủ nhiệm của lớp mới đánh giá phẩm chất, năng lực.")
COMMENTS_NOT_ALLOWED = _("Chỉ giáo viên chủ nhiệm của lớp mới ghi nhận xét cuối năm.")
AWARDS_NOT_ALLOWED = _("Chỉ giáo viên chủ nhiệm của lớp hoặc Ban giám hiệu mới ghi khen thưởng, kỉ luật.")

# --- serializers (documented in the OpenAPI schema) ------------------------------------------------


class TraitSerializer(serializers.Serializer):
    code = serializers.CharField()
    group = serializers.ChoiceField(choices=["quality", "general", "specific"])
    label = serializers.CharField()
    label_en = serializers.CharField()


class QualityRowSerializer(serializers.Serializer):
    student = serializers.IntegerField()
    full_name = serializers.CharField()
    record_state = serializers.CharField()
    editable = serializers.BooleanField()
    levels = serializers.DictField(child=serializers.CharField(allow_blank=True), help_text="code → T / D / C")
    texts = serializers.DictField(child=serializers.CharField(allow_blank=True), help_text="code → comment")


class QualitiesSerializer(serializers.Serializer):
    school_class = serializers.IntegerField()
    term = serializers.IntegerField()
    checkpoint = serializers.ChoiceField(choices=yearend.CHECKPOINTS)
    traits = TraitSerializer(many=True)
    rows = QualityRowSerializer(many=True)


class QualityEntrySerializer(serializers.Serializer):
    student = serializers.IntegerField()
    code = serializers.CharField(help_text="a quality or competency code, e.g. cham_chi, tu_chu_va_tu_hoc")
    level = serializers.CharField(allow_blank=True, help_text="T (Tốt), Đ/D (Đạt), C (Cần cố gắng); empty clears")
    text = serializers.CharField(required=False, allow_blank=True, help_text="absent: the comment is kept")


class QualitiesSaveSerializer(serializers.Serializer):
    entries = QualityEntrySerializer(many=True)


class RetestCandidateSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    grading = serializers.CharField(help_text="score / comment")
    chosen = serializers.BooleanField(help_text="chosen by the student for the re-test (TT22 Điều 12.1)")
    input = serializers.CharField(allow_blank=True, help_text="the recorded re-test result as typed: 6,5 or Đ/CĐ")
    result = serializers.CharField(allow_blank=True, help_text="the recorded re-test result as read")


class FollowUpItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["subject", "quality"])
    level = serializers.CharField(help_text="the end-of-year level (and test score)")
    input = serializers.CharField(allow_blank=True, help_text="the follow-up level recorded: T/H/C or T/D/C")
    after = serializers.CharField(allow_blank=True, help_text="the follow-up level as read")


class YearEndRowSerializer(serializers.Serializer):
    student = serializers.IntegerField()
    full_name = serializers.CharField()
    left = serializers.BooleanField()
    record_id = serializers.IntegerField(allow_null=True)
    record_state = serializers.CharField()
    state_label = serializers.CharField()
    editable = serializers.BooleanField()
    learning = serializers.CharField(allow_blank=True)
    conduct = serializers.CharField(allow_blank=True)
    title = serializers.CharField(allow_blank=True)
    promotion = serializers.CharField(allow_blank=True, help_text="Điều 12 decision from the year's results")
    promotion_code = serializers.CharField(allow_blank=True)
    retest_candidates = RetestCandidateSerializer(many=True)
    retest_results = serializers.DictField(child=serializers.CharField())
    retest_inputs = serializers.DictField(child=serializers.CharField())
    learning_after_retest = serializers.CharField(allow_blank=True)
    summer_training = serializers.CharField(allow_blank=True, help_text="passed / failed / empty")
    retest_choice_recorded = serializers.BooleanField(help_text="false: no choice recorded, every candidate counts")
    followup_items = FollowUpItemSerializer(many=True, help_text="TT27: what the summer follow-up evaluates again")
    followup_plan = serializers.CharField(allow_blank=True, help_text="TT27: the plan of help over the summer")
    evaluation_after_followup = serializers.CharField(allow_blank=True, help_text="TT27: Hoàn thành / Chưa hoàn thành")
    followup_decision = serializers.CharField(allow_blank=True, help_text="TT27: the principal's decision, as read")
    followup_decision_code = serializers.CharField(allow_blank=True, help_text="len_lop / o_lai_lop / empty")
    completion = serializers.CharField(allow_blank=True, help_text="TT27: completion of the grade's programme")
    promotion_final = serializers.CharField(allow_blank=True, help_text="after re-test / training; empty while pending")
    promotion_final_code = serializers.CharField(allow_blank=True)
    pending = serializers.ListField(child=serializers.CharField())
    evaluation = serializers.CharField(allow_blank=True, help_text="TT27 end-of-year evaluation")
    commendations = serializers.ListField(child=serializers.CharField())
    qualities = serializers.DictField(child=serializers.CharField(allow_blank=True), help_text="TT27: code → T / D / C")
    exemplary = serializers.BooleanField()
    adhoc_commendation = serializers.CharField(allow_blank=True)
    principal_comment = serializers.CharField(allow_blank=True)
    completion_note = serializers.CharField(allow_blank=True)
    homeroom_comment = serializers.CharField(allow_blank=True)
    absences = serializers.IntegerField()


class YearEndSerializer(serializers.Serializer):
    school_class = serializers.IntegerField()
    primary = serializers.BooleanField()
    may_decide = serializers.BooleanField()
    rows = YearEndRowSerializer(many=True)


class DecisionEntrySerializer(serializers.Serializer):
    student = serializers.IntegerField()
    retest = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="subject code → re-test score (6,5) or Đ/CĐ; empty clears",
    )
    retest_chosen = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        allow_null=True,
        help_text="the subjects the student chose to re-test (TT22 Điều 12.1); null: no choice (every candidate)",
    )
    summer_training = serializers.BooleanField(required=False, allow_null=True)
    followup_plan = serializers.CharField(required=False, allow_blank=True, help_text="TT27: the summer plan of help")
    followup_levels = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="TT27: subject code → T/H/C, quality or competency code → T/Đ/C after the follow-up; empty clears",
    )
    followup_decision = serializers.ChoiceField(
        choices=["len_lop", "o_lai_lop", ""],
        required=False,
        allow_blank=True,
        help_text="TT27: the principal's decision once the follow-up leaves the grade not completed",
    )
    principal_comment = serializers.CharField(required=False, allow_blank=True)
    completion_note = serializers.CharField(required=False, allow_blank=True)
    exemplary = serializers.BooleanField(required=False, help_text="TT27: Học sinh Tiêu biểu")
    adhoc_commendation = serializers.CharField(required=False, allow_blank=True, help_text="TT27: ad-hoc commendation")


class DecisionsSaveSerializer(serializers.Serializer):
    entries = DecisionEntrySerializer(many=True)


class CommentEntrySerializer(serializers.Serializer):
    student = serializers.IntegerField()
    text = serializers.CharField(allow_blank=True)


class CommentsSaveSerializer(serializers.Serializer):
    entries = CommentEntrySerializer(many=True)


class AwardSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    student = serializers.IntegerField(source="student_id")
    kind = serializers.ChoiceField(choices=classwork.AWARD_KINDS)
    title = serializers.CharField(max_length=200)
    decided_on = serializers.DateField(format="%d/%m/%Y", input_formats=["%d/%m/%Y", "iso-8601"])
    decided_by = serializers.CharField(required=False, allow_blank=True, max_length=120)


# --- helpers -----------------------------------------------------------------------------------


def managed_class(access: SchoolAccess, pk: int) -> SchoolClass:
    school_class = class_get(access, pk)
    if not access.may_manage_class(school_class.pk):
        raise NotAllowed("school.not_allowed", _("Chỉ giáo viên chủ nhiệm của lớp mới thực hiện được thao tác này."))
    return school_class


def yearend_class(access: SchoolAccess, pk: int) -> SchoolClass:
    school_class = class_get(access, pk)
    if not yearend.may_view_yearend(access, school_class):
        raise NotAllowed(
            "school.not_allowed", _("Chỉ Ban giám hiệu và giáo viên chủ nhiệm của lớp mới xem được tổng kết cuối năm.")
        )
    return school_class


def traits_of(school_class: SchoolClass) -> list[dict]:
    rules = yearend.primary_rules(school_class)
    return [
        {"code": q.code, "group": group, "label": q.label_vi, "label_en": q.label_en}
        for group, items in (
            ("quality", rules.qualities),
            ("general", rules.general_competencies),
            ("specific", rules.specific_competencies),
        )
        for q in items
    ]


def qualities_data(school_class: SchoolClass, term: int, checkpoint: str) -> dict:
    yearend.check_checkpoint(term, checkpoint)
    traits = traits_of(school_class)
    members = class_members(school_class, class_students(school_class))
    cells = yearend.qualities_of(school_class, [m.student.pk for m in members], term, checkpoint)
    rows = []
    for m in members:
        sid = m.student.pk
        rows.append(
            {
                "student": sid,
                "full_name": m.student.full_name,
                "record_state": m.record_state,
                "editable": m.record_state in recordstates.EDITABLE,
                "levels": {t["code"]: cells.get((sid, t["code"]), ("", ""))[0] for t in traits},
                "texts": {t["code"]: cells.get((sid, t["code"]), ("", ""))[1] for t in traits},
            }
        )
    return {"school_class": school_class.pk, "term": term, "checkpoint": checkpoint, "traits": traits, "rows": rows}


def award_data(award: AwardDiscipline) -> dict:
    return {
        "id": award.pk,
        "student": award.student_id,
        "kind": award.kind,
        "title": award.title,
        "decided_on": award.decided_on.strftime("%d/%m/%Y"),
        "decided_by": award.decided_by,
    }


# --- views -------------------------------------------------------------------------------------


class QualitiesApi(APIView):
    """TT27 qualities and competencies of a primary class at a checkpoint (term 1/2 × mid/end)."""

    required_capability = "class.enter"

    @extend_schema(responses=QualitiesSerializer, summary="Qualities and competencies of the class at a checkpoint")
    def get(self, request, pk: int, term: int, checkpoint: str):
        school_class = managed_class(request_school_access(request), pk)
        return Response(qualities_data(school_class, term, checkpoint))

    @extend_schema(
        request=QualitiesSaveSerializer,
        responses=CountSerializer,
        summary="Save levels and comments of qualities and competencies: all entries or none",
    )
    def put(self, request, pk: int, term: int, checkpoint: str):
        access = request_school_access(request)
        school_class = class_get(access, pk)
        require(access.may_manage_class(school_class.pk), QUALITIES_NOT_ALLOWED)
        ser = QualitiesSaveSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        n = yearend.qualities_save(
            access=access,
            school_class=school_class,
            term=term,
            checkpoint=checkpoint,
            entries=[dict(e) for e in ser.validated_data["entries"]],
        )
        return Response({"count": n})


class YearEndApi(APIView):
    """The class's year-end table: results, promotion, re-test and training, commendations, comments."""

    required_capability = "class.enter"

    @extend_schema(responses=YearEndSerializer, summary="Year-end results and decisions of the class")
    def get(self, request, pk: int):
        access = request_school_access(request)
        school_class = yearend_class(access, pk)
        members = class_members(school_class, class_students(school_class))
        return Response(
            {
                "school_class": school_class.pk,
                "primary": school_class.level == PRIMARY,
                "may_decide": access.can("records.approve"),
                "rows": yearend.yearend_rows(school_class, members),
            }
        )


class YearEndDecisionsApi(APIView):
    required_capability = "records.approve"

    @extend_schema(
        request=DecisionsSaveSerializer,
        responses=CountSerializer,
        summary="The principal's year-end decisions (re-test, summer training, comments, commendations)",
    )
    def put(self, request, pk: int):
        access = request_school_access(request)
        school_class = class_get(access, pk)
        ser = DecisionsSaveSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        n = yearend.yearend_save(
            access=access, school_class=school_class, entries=[dict(e) for e in ser.validated_data["entries"]]
        )
        return Response({"count": n})


class HomeroomCommentsApi(APIView):
    required_capability = "class.enter"

    @extend_schema(
        request=CommentsSaveSerializer,
        responses=CountSerializer,
        summary="The homeroom teacher's year-end comments of the class's students",
    )
    def put(self, request, pk: int):
        access = request_school_access(request)
        school_class = class_get(access, pk)
        require(access.may_manage_class(school_class.pk), COMMENTS_NOT_ALLOWED)
        ser = CommentsSaveSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        n = classwork.homeroom_comments_save(
            access=access, school_class=school_class, entries=[dict(e) for e in ser.validated_data["entries"]]
        )
        return Response({"count": n})


class AwardListApi(APIView):
    required_capability = "class.enter"

    @extend_schema(
        responses=AwardSerializer(many=True), summary="Awards and discipline of the class's students this year"
    )
    def get(self, request, pk: int):
        school_class = managed_class(request_school_access(request), pk)
        return Response([award_data(a) for a in class_awards(school_class)])

    @extend_schema(request=AwardSerializer, responses={201: AwardSerializer}, summary="Add an award or a discipline")
    def post(self, request, pk: int):
        access = request_school_access(request)
        school_class = class_get(access, pk)
        require(access.may_manage_class(school_class.pk), AWARDS_NOT_ALLOWED)
        ser = AwardSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        award = classwork.award_add(
            access=access,
            school_class=school_class,
            student_id=data["student_id"],
            kind=data["kind"],
            title=data["title"],
            decided_on=data["decided_on"],
            decided_by=data.get("decided_by", ""),
        )
        return Response(award_data(award), status=status.HTTP_201_CREATED)


class AwardApi(APIView):
    required_capability = "class.enter"

    @extend_schema(request=None, responses={204: None}, summary="Remove an award or a discipline")
    def delete(self, request, pk: int, award: int):
        access = request_school_access(request)
        classwork.award_remove(access=access, school_class=class_get(access, pk), award_id=award)
        return Response(status=status.HTTP_204_NO_CONTENT)
