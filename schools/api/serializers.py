from rest_framework import serializers


class ClassSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    grade = serializers.IntegerField()
    year = serializers.CharField(source="year.label")
    homeroom_teacher_id = serializers.IntegerField(allow_null=True)


class StudentSerializer(serializers.Serializer):
    """A student's profile. Read by someone who does not keep profiles, it comes without ``PERSONAL_FIELDS`` (no
    ethnicity, nationality, place of birth, address, identity number, MoET code nor guardians)."""

    id = serializers.IntegerField(read_only=True)
    full_name = serializers.CharField()
    date_of_birth = serializers.DateField(format="%d/%m/%Y", input_formats=["%d/%m/%Y", "iso-8601"])
    gender = serializers.ChoiceField(choices=["M", "F"])
    ethnicity = serializers.CharField(required=False)
    nationality = serializers.CharField(required=False)
    place_of_birth = serializers.CharField(required=False, allow_blank=True)
    address = serializers.CharField(required=False, allow_blank=True)
    personal_id = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    moet_code = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    guardians = serializers.ListField(child=serializers.DictField(), required=False)


class ChildSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="student.id")
    full_name = serializers.CharField(source="student.full_name")
    school_class = serializers.CharField(source="record.school_class.name", default="")
    year = serializers.CharField(source="record.year.label", default="")
    record_state = serializers.CharField(source="record.state", default="")
    approved = serializers.BooleanField()


class ColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    value_type = serializers.CharField()
    label = serializers.CharField()
    label_en = serializers.CharField()


class SheetRowSerializer(serializers.Serializer):
    student = serializers.IntegerField()
    full_name = serializers.CharField()
    left = serializers.BooleanField()
    record_state = serializers.CharField()
    values = serializers.DictField(child=serializers.CharField(allow_blank=True))
    computed = serializers.DictField(child=serializers.CharField(allow_blank=True))
    exempt = serializers.CharField(
        allow_blank=True,
        help_text="subject: exempted from the subject this term (its cells read Miễn and take no value); "
        "practical: exempted from its practical part (assessed on theory); empty: not exempt",
    )


class SheetSerializer(serializers.Serializer):
    school_class = serializers.IntegerField()
    subject = serializers.IntegerField()
    term = serializers.IntegerField()
    columns = ColumnSerializer(many=True)
    rows = SheetRowSerializer(many=True)


class CellSerializer(serializers.Serializer):
    student = serializers.IntegerField()
    column = serializers.CharField()
    value = serializers.CharField(allow_blank=True, allow_null=True, trim_whitespace=False)


class SheetSaveSerializer(serializers.Serializer):
    cells = CellSerializer(many=True)


class SheetSaveResultSerializer(serializers.Serializer):
    written = serializers.IntegerField()
    cleared = serializers.IntegerField()
    sheet = SheetSerializer()


class SubjectSheetCellsSerializer(serializers.Serializer):
    subject = serializers.IntegerField()
    cells = CellSerializer(many=True)


class ClassSheetsSaveSerializer(serializers.Serializer):
    sheets = SubjectSheetCellsSerializer(many=True)


class ClassSheetsSaveResultSerializer(serializers.Serializer):
    written = serializers.IntegerField()
    cleared = serializers.IntegerField()
    sheets = SheetSerializer(many=True)


class ConductEntrySerializer(serializers.Serializer):
    student = serializers.IntegerField()
    level = serializers.CharField()
    text = serializers.CharField(required=False, allow_blank=True)


class ConductSaveSerializer(serializers.Serializer):
    entries = ConductEntrySerializer(many=True)


class AbsenceEntrySerializer(serializers.Serializer):
    student = serializers.IntegerField()
    excused = serializers.BooleanField()
    reason = serializers.CharField(required=False, allow_blank=True)


class AbsencesSaveSerializer(serializers.Serializer):
    date = serializers.DateField(input_formats=["%d/%m/%Y", "iso-8601"])
    entries = AbsenceEntrySerializer(many=True)


class AbsenceMarkSerializer(serializers.Serializer):
    student = serializers.IntegerField()
    date = serializers.DateField(input_formats=["%d/%m/%Y", "iso-8601"])
    mark = serializers.CharField(allow_blank=True, help_text='"P" absent excused, "K" absent not excused, "" present')


class AbsenceMarksSerializer(serializers.Serializer):
    marks = AbsenceMarkSerializer(many=True)


class ReopenSerializer(serializers.Serializer):
    reason = serializers.CharField()


class WorkflowSerializer(serializers.Serializer):
    student_ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="the students; absent: the whole class"
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, help_text="approve: why incomplete records are approved (≥ 10 characters)"
    )


class MovedSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    incomplete = serializers.ListField(
        child=serializers.DictField(), help_text="the incomplete records moved: student, full_name, missing items"
    )


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class RecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    student = serializers.IntegerField(source="student_id")
    school_class = serializers.IntegerField(source="school_class_id")
    state = serializers.CharField()
    homeroom_comment = serializers.CharField()
    results = serializers.DictField()


class RecordGuardianSerializer(serializers.Serializer):
    name = serializers.CharField()
    relation = serializers.CharField(allow_blank=True)
    account = serializers.BooleanField(help_text="the person has a parent's account linked to the student")


class StudentRecordSerializer(serializers.Serializer):
    """A record book as its reader may read it. A parent reads the approved book: while the school corrects a
    reopened record (``being_corrected``), the version approved last (its state, comment and approval date)."""

    id = serializers.IntegerField(source="record.id")
    student = serializers.IntegerField(source="record.student_id")
    school_class = serializers.IntegerField(source="record.school_class_id")
    state = serializers.CharField(source="record.state")
    homeroom_comment = serializers.CharField(source="record.homeroom_comment")
    principal_comment = serializers.CharField(source="record.principal_comment")
    approved_at = serializers.DateTimeField(source="record.approved_at", allow_null=True)
    being_corrected = serializers.BooleanField(
        help_text="reopened by the principal since its approval: a parent reads the last approved version"
    )
    results = serializers.DictField(read_only=True)
    guardians = RecordGuardianSerializer(
        many=True,
        required=False,
        allow_null=True,
        help_text="every parent or guardian (names and relations): only for those who read the student's personal data",
    )
