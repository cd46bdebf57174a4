"""Students, their guardians' accounts and their enrolments in classes."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from hocba.kernel.text import fold

from ..rules.names import vietnamese_sort_string


class Gender(models.TextChoices):
    MALE = "M", _("Nam")
    FEMALE = "F", _("Nữ")


class Student(models.Model):
    """One record per student for life; identity as the record book holds it."""

    full_name = models.CharField(_("Họ và tên"), max_length=120)
    sort_key = models.CharField(max_length=400, editable=False, db_collation="C")
    search_name = models.CharField(max_length=120, editable=False, db_default="")  # fold(full_name): accent-free search
    date_of_birth = models.DateField(_("Ngày sinh"))
    gender = models.CharField(_("Giới tính"), max_length=1, choices=Gender.choices)
    ethnicity = models.CharField(_("Dân tộc"), max_length=40, default="Kinh")
    nationality = models.CharField(_("Quốc tịch"), max_length=40, default="Việt Nam")
    place_of_birth = models.CharField(_("Nơi sinh"), max_length=200, blank=True)
    address = models.CharField(_("Nơi ở hiện nay"), max_length=300, blank=True)
    # Checked on entry by services.students.check_personal_id (rules.identity); unique in the school when given
    # (partial unique indexes below). NULL is "not given", as stored since the first version.
    personal_id = models.CharField(_("Số định danh cá nhân"), max_length=12, null=True, blank=True)  # noqa: DJ001
    moet_code = models.CharField(_("Mã học sinh"), max_length=20, null=True, blank=True)  # noqa: DJ001
    guardians = models.JSONField(_("Cha mẹ hoặc người giám hộ"), default=list, blank=True)

    class Meta:
        ordering = ["sort_key"]
        constraints = [
            models.CheckConstraint(
                condition=Q(personal_id__regex=r"^[0-9]{12}$") | Q(personal_id__isnull=True),
                name="student_personal_id_12_digits",
            ),
            models.UniqueConstraint(
                fields=["personal_id"],
                condition=Q(personal_id__isnull=False) & ~Q(personal_id=""),
                name="student_personal_id_once",
            ),
            models.UniqueConstraint(
                fields=["moet_code"],
                condition=Q(moet_code__isnull=False) & ~Q(moet_code=""),
                name="student_moet_code_once",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args, **kwargs):
        self.sort_key = vietnamese_sort_string(self.full_name)
        self.search_name = fold(self.full_name)
        if kwargs.get("update_fields") is not None and "full_name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "sort_key", "search_name"}
        super().save(*args, **kwargs)


class GuardianLink(models.Model):
    """A parent's account that may see this student's approved record."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardian_links")
    account = models.ForeignKey("tenants.Account", on_delete=models.PROTECT, related_name="+", db_constraint=False)
    relation = models.CharField(_("Quan hệ với học sinh"), max_length=40, blank=True)  # Bố, Mẹ, Ông, Bà, …

    class Meta:
        constraints = [models.UniqueConstraint(fields=["student", "account"], name="guardian_once")]

    def __str__(self) -> str:
        return f"{self.account_id} → {self.student_id}"


class EntryKind(models.TextChoices):
    NEW = "new", _("Nhập học")
    TRANSFER_IN = "transfer_in", _("Chuyển đến")
    CLASS_MOVE = "class_move", _("Chuyển lớp")
    PROMOTED = "promoted", _("Lên lớp")


class ExitKind(models.TextChoices):
    TRANSFER_OUT = "transfer_out", _("Chuyển đi")
    CLASS_MOVE = "class_move", _("Chuyển lớp")
    DROPPED = "dropped", _("Thôi học")
    YEAR_END = "year_end", _("Kết thúc năm học")


class Enrolment(models.Model):
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="enrolments")
    school_class = models.ForeignKey("schools.SchoolClass", on_delete=models.PROTECT, related_name="enrolments")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    entry = models.CharField(max_length=20, choices=EntryKind.choices, default=EntryKind.NEW)
    exit = models.CharField(max_length=20, choices=ExitKind.choices, blank=True)
    exit_note = models.CharField(
        max_length=300, blank=True, help_text="on a transfer out: the destination school and the decision or reason"
    )

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["student"], condition=Q(ends_on__isnull=True), name="one_open_enrolment"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")), name="enrolment_period"
            ),
        ]
        indexes = [models.Index(fields=["school_class", "student"])]

    def __str__(self) -> str:
        return f"{self.student_id} @ {self.school_class_id} {self.starts_on:%d/%m/%Y}"
