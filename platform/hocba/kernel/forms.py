"""Form vocabulary every side shares: a moment typed the Vietnamese way (dd/mm/yyyy HH:MM, Vietnam time)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy

LOCAL_FORMAT = "%d/%m/%Y %H:%M"
LOCAL_PLACEHOLDER = "dd/mm/yyyy HH:MM"
DATETIME_INPUT_FORMATS = [
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%H:%M %d/%m/%Y",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
]
DATE_ONLY_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]

DATETIME_WIDGET = forms.DateTimeInput(
    format=LOCAL_FORMAT, attrs={"placeholder": LOCAL_PLACEHOLDER, "inputmode": "numeric"}
)


def moment_field(label, required: bool = True) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=DATETIME_INPUT_FORMATS,
        widget=DATETIME_WIDGET,
        help_text=gettext_lazy("dd/mm/yyyy HH:MM, giờ Việt Nam"),
    )


def local_text(moment: dt.datetime | None) -> str:
    """A moment as people here read it: dd/mm/yyyy HH:MM, Vietnam time ("" for none)."""
    return timezone.localtime(moment).strftime(LOCAL_FORMAT) if moment else ""
