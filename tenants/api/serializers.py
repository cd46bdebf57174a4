from __future__ import annotations

from hocba.kernel.levels import LEVEL_LABELS
from hocba.kernel.roles import Role
from rest_framework import serializers

from ..models import SchoolLevel, UnitKind


def _field(obj, name: str):
    """A field of what is serialised: the selectors' plain data as a dict (``asdict``) or as the dataclass."""
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


class UnitNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_label = serializers.SerializerMethodField(help_text="the kind as people read it, in the request's language")
    name = serializers.CharField()
    official_code = serializers.CharField()
    parent_id = serializers.IntegerField(allow_null=True)

    def get_kind_label(self, obj) -> str:
        kind = _field(obj, "kind")
        return str(UnitKind(kind).label) if kind in UnitKind.values else kind


class UnitVersionSerializer(serializers.Serializer):
    name = serializers.CharField()
    official_code = serializers.CharField()
    parent_id = serializers.IntegerField(allow_null=True)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True)


class UnitCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[c for c in UnitKind.values if c != UnitKind.PROVINCE])
    name = serializers.CharField(max_length=200)
    official_code = serializers.CharField(max_length=20)
    parent_id = serializers.IntegerField()
    valid_from = serializers.DateField(required=False, input_formats=["%d/%m/%Y", "iso-8601"])


class UnitRenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    official_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    on = serializers.DateField(required=False, input_formats=["%d/%m/%Y", "iso-8601"])


class UnitTargetSerializer(serializers.Serializer):
    target_id = serializers.IntegerField()
    on = serializers.DateField(required=False, input_formats=["%d/%m/%Y", "iso-8601"])


class MergeResultSerializer(serializers.Serializer):
    units = serializers.IntegerField()
    schools = serializers.IntegerField()
    memberships = serializers.IntegerField()


class SchoolSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    moet_code = serializers.CharField()
    name = serializers.CharField()
    slug = serializers.CharField()
    levels = serializers.ListField(child=serializers.CharField())
    level_labels = serializers.SerializerMethodField(
        help_text="the levels as people read them (Tiểu học, THCS, THPT), in the request's language"
    )
    status = serializers.CharField()
    unit_id = serializers.IntegerField(allow_null=True)
    domain = serializers.CharField()

    def get_level_labels(self, obj) -> list[str]:
        return [str(LEVEL_LABELS.get(level, level)) for level in _field(obj, "levels")]


class SchoolCreateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=200)
    levels = serializers.ListField(child=serializers.ChoiceField(choices=SchoolLevel.values), min_length=1)
    unit_id = serializers.IntegerField()
    slug = serializers.CharField(max_length=40)


class ProvisionSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True, help_text="CSV (UTF-8) or XLSX with the columns code,name,levels,unit_code,slug"
    )
    dry_run = serializers.BooleanField(required=False, default=False, help_text="check only; create nothing")
    create_valid = serializers.BooleanField(
        required=False, default=False, help_text="create the valid rows even if other rows are refused"
    )


class ProvisionRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    ok = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["created", "would_create", "held", "refused"])
    moet_code = serializers.CharField()
    name = serializers.CharField()
    slug = serializers.CharField()
    unit_code = serializers.CharField()
    levels = serializers.ListField(child=serializers.CharField())
    school_id = serializers.IntegerField(allow_null=True)
    code = serializers.CharField(allow_null=True, help_text="why the row was refused")
    detail = serializers.CharField(allow_null=True)
    detail_en = serializers.CharField(allow_null=True)


class ProvisionReportSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    dry_run = serializers.BooleanField()
    create_valid = serializers.BooleanField()
    created = serializers.IntegerField()
    would_create = serializers.IntegerField()
    failed = serializers.IntegerField()
    rows = ProvisionRowSerializer(many=True)


class ProvisionJobSerializer(serializers.Serializer):
    job_id = serializers.IntegerField()
    state = serializers.CharField(help_text="queued")
    status_url = serializers.CharField(help_text="GET it for the progress and, once ended, each row's outcome")
    page_url = serializers.CharField(help_text="the job's page on this site")


class PlacementSerializer(serializers.Serializer):
    unit_id = serializers.IntegerField()
    unit_name = serializers.CharField()
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True)


class AccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    email = serializers.CharField()


class AccountCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    full_name = serializers.CharField(max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True)
    password = serializers.CharField(write_only=True, min_length=10)
    role = serializers.ChoiceField(choices=[r.value for r in Role])
    unit_id = serializers.IntegerField(required=False, allow_null=True)
    school_id = serializers.IntegerField(required=False, allow_null=True)


class MembershipSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    account_id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    role = serializers.CharField()
    unit_id = serializers.IntegerField(allow_null=True)
    school_id = serializers.IntegerField(allow_null=True)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True)


class MembershipGrantSerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    role = serializers.ChoiceField(choices=[r.value for r in Role])
    unit_id = serializers.IntegerField(required=False, allow_null=True)
    school_id = serializers.IntegerField(required=False, allow_null=True)
    valid_from = serializers.DateField(required=False, input_formats=["%d/%m/%Y", "iso-8601"])
    valid_to = serializers.DateField(required=False, allow_null=True, input_formats=["%d/%m/%Y", "iso-8601"])
