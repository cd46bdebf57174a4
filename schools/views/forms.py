"""The student profile form: it only carries strings; students.clean_profile validates them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import Student
from ..models.students import Gender
from ..services.students import IDENTITY_FIELDS

GUARDIAN_PARTS = (
    ("name", _("Họ tên")),
    ("relation", _("Quan hệ")),
    ("phone", _("Điện thoại")),
    ("occupation", _("Nghề nghiệp")),
)


class StudentProfileForm(forms.Form):
    full_name = forms.CharField(label=_("Họ và tên"), max_length=120)
    date_of_birth = forms.CharField(
        label=_("Ngày sinh"),
        max_length=10,
        help_text="dd/mm/yyyy",
        widget=forms.TextInput(attrs={"placeholder": "dd/mm/yyyy", "inputmode": "numeric"}),
    )
    gender = forms.ChoiceField(label=_("Giới tính"), choices=Gender.choices)
    ethnicity = forms.CharField(label=_("Dân tộc"), max_length=40, initial="Kinh")
    nationality = forms.CharField(label=_("Quốc tịch"), max_length=40, initial="Việt Nam")
    place_of_birth = forms.CharField(label=_("Nơi sinh"), max_length=200, required=False)
    address = forms.CharField(label=_("Nơi ở hiện nay"), max_length=300, required=False)
    personal_id = forms.CharField(
        label=_("Số định danh cá nhân"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "pattern": "[0-9]{12}"}),
    )
    moet_code = forms.CharField(label=_("Mã học sinh"), max_length=20, required=False)

    def __init__(self, *args, guardian_rows: int = 2, **kwargs):
        super().__init__(*args, **kwargs)
        self.guardian_rows = guardian_rows
        for i in range(guardian_rows):
            for part, label in GUARDIAN_PARTS:
                self.fields[f"guardian_{i}_{part}"] = forms.CharField(label=label, max_length=120, required=False)

    @classmethod
    def for_student(cls, student: Student, data=None, **kwargs) -> StudentProfileForm:
        rows = max(2, len(student.guardians or []) + 1)
        initial: dict[str, Any] = {
            name: getattr(student, name) or ""
            for name in (
                "full_name",
                "gender",
                "ethnicity",
                "nationality",
                "place_of_birth",
                "address",
                "personal_id",
                "moet_code",
            )
        }
        initial["date_of_birth"] = student.date_of_birth.strftime("%d/%m/%Y") if student.date_of_birth else ""
        for i, guardian in enumerate(student.guardians or []):
            for part, _label in GUARDIAN_PARTS:
                initial[f"guardian_{i}_{part}"] = guardian.get(part, "")
        return cls(data, initial=initial, guardian_rows=rows, **kwargs)

    def guardian_fields(self) -> list[list[forms.BoundField]]:
        return [[self[f"guardian_{i}_{part}"] for part, _label in GUARDIAN_PARTS] for i in range(self.guardian_rows)]

    def identity_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in IDENTITY_FIELDS]

    def profile(self) -> dict[str, Any]:
        """What the service takes: the identity strings and the guardians that have a name."""
        data = self.cleaned_data
        profile = {name: data.get(name, "") for name in IDENTITY_FIELDS}
        guardians = []
        for i in range(self.guardian_rows):
            guardian = {part: (data.get(f"guardian_{i}_{part}") or "").strip() for part, _label in GUARDIAN_PARTS}
            if any(guardian.values()):
                guardians.append({k: v for k, v in guardian.items() if v})
        profile["guardians"] = guardians
        return profile

    def add_domain_error(self, field: str | None, message: str) -> None:
        self.add_error(field if field in self.fields else None, message)
