"""The sections of the header's menu on a school's site that the school's pages serve (registered in
``SchoolsConfig.ready()``); the public side registers the school's home, staff and audit trail."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from hocba.kernel.menu import SCHOOL, MenuEntry

# Who sees the classes: whoever enters scores or class work, reads records beyond their own child's, or keeps the
# students' profiles (the office: every class's student list, not its records).
CLASS_READERS = (
    "sheets.enter",
    "class.enter",
    "records.view_all",
    "records.view_class",
    "records.view_department",
    "profiles.edit",
)

ENTRIES = (
    MenuEntry(
        "school.classes",
        _("Lớp học"),
        "pages:class_list",
        SCHOOL,
        CLASS_READERS,
        10,
        ("/classes/", "/students/", "/records/", "/year-end/", "/excel/"),
    ),
    MenuEntry(
        "school.children", _("Con của tôi"), "pages:my_children", SCHOOL, ("records.view_child",), 15, ("/students/",)
    ),
    MenuEntry("school.summary", _("Tổng quan"), "school_summary", SCHOOL, ("summary.view",), 5),
    MenuEntry("school.setup", _("Thiết lập năm học"), "setup:home", SCHOOL, ("school.setup",), 20),
    MenuEntry("school.windows", _("Lịch mở/khóa"), "windows:school_windows", SCHOOL, ("windows.view",), 40),
    MenuEntry("school.signing", _("Ký số học bạ"), "signing:year", SCHOOL, ("records.seal",), 33, ("/signing/",)),
    MenuEntry("school.archive", _("Lưu trữ học bạ"), "archive:year", SCHOOL, ("records.archive",), 35, ("/archive/",)),
    MenuEntry("school.grants", _("Quyền xem học bạ"), "grants:list", SCHOOL, ("grants.decide",), 45, ("/grants/",)),
    MenuEntry("school.history", _("Lịch sử"), "school_history", SCHOOL, ("school.audit.view",), 50),
)
