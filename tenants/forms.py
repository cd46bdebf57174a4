"""Forms for the administration pages. Validation of meaning lives in the services."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _
from hocba.kernel.forms import moment_field
from hocba.kernel.roles import Role

from .models import SchoolLevel, UnitKind

DATE_WIDGET = forms.DateInput(format="%d/%m/%Y", attrs={"placeholder": "dd/mm/yyyy", "inputmode": "numeric"})


def _date(label, required=False, help_text=None):
    return forms.DateField(
        label=label,
        required=required,
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
        widget=DATE_WIDGET,
        help_text=help_text or _("dd/mm/yyyy; để trống là hôm nay"),
    )


class UnitCreateForm(forms.Form):
    kind = forms.ChoiceField(label=_("Loại đơn vị"), choices=[c for c in UnitKind.choices if c[0] != UnitKind.PROVINCE])
    name = forms.CharField(label=_("Tên đơn vị"), max_length=200)
    official_code = forms.CharField(label=_("Mã đơn vị"), max_length=20)
    parent = forms.TypedChoiceField(label=_("Thuộc"), coerce=int)
    valid_from = _date(_("Hiệu lực từ"))


class UnitRenameForm(forms.Form):
    name = forms.CharField(label=_("Tên mới"), max_length=200)
    official_code = forms.CharField(label=_("Mã mới (nếu đổi)"), max_length=20, required=False)
    on = _date(_("Hiệu lực từ"))


class UnitTargetForm(forms.Form):
    target = forms.TypedChoiceField(label=_("Đơn vị đích"), coerce=int)
    on = _date(_("Hiệu lực từ"))


class OnDateForm(forms.Form):
    on = _date(_("Hiệu lực từ"))


class SchoolCreateForm(forms.Form):
    code = forms.CharField(label=_("Mã trường (Bộ GD&ĐT)"), max_length=20)
    name = forms.CharField(label=_("Tên trường"), max_length=200)
    levels = forms.MultipleChoiceField(
        label=_("Cấp học"), choices=SchoolLevel.choices, widget=forms.CheckboxSelectMultiple
    )
    unit = forms.TypedChoiceField(label=_("Đơn vị quản lý"), coerce=int)
    slug = forms.CharField(label=_("Tên miền con"), max_length=40, help_text=_("ví dụ: thcs-nguyen-du"))


class ProvisionUploadForm(forms.Form):
    # An empty file is the reader's to refuse, with its own message.
    file = forms.FileField(label=_("Tệp CSV hoặc XLSX (cột code,name,levels,unit_code,slug)"), allow_empty_file=True)
    create_valid = forms.BooleanField(
        label=_("Vẫn tạo các dòng hợp lệ khi tệp có dòng lỗi"),
        required=False,
        help_text=_("Mặc định: nếu có dòng lỗi thì không tạo trường nào."),
    )
    dry_run = forms.BooleanField(required=False, widget=forms.HiddenInput)  # set by the “Kiểm tra trước” button


class AccountCreateForm(forms.Form):
    full_name = forms.CharField(label=_("Họ và tên"), max_length=150)
    username = forms.CharField(label=_("Tên đăng nhập"), max_length=150)
    email = forms.EmailField(label=_("Email"), required=False)
    password = forms.CharField(
        label=_("Mật khẩu ban đầu"), widget=forms.PasswordInput(render_value=False), min_length=10
    )
    role = forms.ChoiceField(label=_("Vai trò"))

    def __init__(self, *args, roles: list[Role], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", _("— chọn vai trò —")), *[(r.value, r.label) for r in roles]]


class MembershipGrantForm(forms.Form):
    username = forms.CharField(label=_("Tên đăng nhập hoặc email của tài khoản"), max_length=150)
    role = forms.ChoiceField(label=_("Vai trò"))
    valid_from = _date(_("Từ ngày"))
    valid_to = _date(_("Đến ngày (không bắt buộc)"), help_text=_("dd/mm/yyyy; để trống là không có ngày kết thúc"))

    def __init__(self, *args, roles: list[Role], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", _("— chọn vai trò —")), *[(r.value, r.label) for r in roles]]


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Tên gợi nhớ"), max_length=100, help_text=_("Ví dụ: phần mềm quản lý điểm"))
    scope = forms.ChoiceField(label=_("Phạm vi"))
    mode = forms.ChoiceField(
        label=_("Quyền"), choices=[("read", _("Chỉ đọc")), ("write", _("Đọc và ghi"))], initial="read"
    )
    days = forms.IntegerField(label=_("Thời hạn (ngày)"), min_value=1)

    def __init__(self, *args, scopes, max_days: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = [(c.key, f"{c.name} — {c.role_labels}") for c in scopes]
        self.fields["days"].max_value = max_days
        self.fields["days"].validators.append(MaxValueValidator(max_days))
        self.fields["days"].widget.attrs["max"] = max_days
        self.fields["days"].initial = min(30, max_days)
        self.fields["days"].help_text = _("Tối đa %(max)s ngày.") % {"max": max_days}


class AccessGrantRequestForm(forms.Form):
    """Ask a school to let one read named records for a while: whole classes, or students named in one class."""

    class_ids = forms.TypedMultipleChoiceField(
        label=_("Cả lớp"),
        coerce=int,
        required=False,
        help_text=_("Mọi học sinh đang học các lớp đã chọn."),
    )
    student_class = forms.TypedChoiceField(label=_("Học sinh của lớp"), coerce=int, required=False, empty_value=None)
    student_names = forms.CharField(
        label=_("Họ và tên học sinh"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Mỗi dòng một học sinh, đúng họ tên như trong học bạ (gõ có dấu hoặc không dấu)."),
    )
    purpose = forms.CharField(
        label=_("Mục đích"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Hiệu trưởng đọc mục đích này trước khi duyệt."),
    )
    until = moment_field(_("Xem đến"), required=False)

    def __init__(self, *args, classes: list[tuple[int, str]], max_days: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["class_ids"].choices = classes
        self.fields["student_class"].choices = [("", "—"), *classes]
        self.fields["until"].help_text = _("dd/mm/yyyy HH:MM, giờ Việt Nam; tối đa %(days)s ngày kể từ bây giờ.") % {
            "days": max_days
        }

    def names(self) -> list[str]:
        lines = (self.cleaned_data.get("student_names") or "").splitlines()
        return [" ".join(line.split()) for line in lines if line.strip()]
