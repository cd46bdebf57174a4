"""The sections of the header's menu that the public side serves (registered in ``TenantsConfig.ready()``):
the platform's administration, and on a school's site its home, staff and audit trail, and the way back to the
platform for whoever has more than one place to go."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from hocba.kernel.context_processors import platform_url
from hocba.kernel.menu import PUBLIC, SCHOOL, MenuEntry


def has_other_places(access) -> bool:
    """More than one place to work: a unit or province role, or roles in several schools (the platform's home
    lists them; with one school only, the platform's home sends the person straight back to it)."""
    return access.is_platform_staff or len({g.school_id for g in access.grants if g.school_id}) > 1


def _platform_home(request) -> str:
    return f"{platform_url(request)}/"


ENTRIES = (
    # the platform site
    MenuEntry("platform.home", _("Trang chủ"), "home", PUBLIC, order=0),
    MenuEntry("platform.board", _("Bảng theo dõi"), "board", PUBLIC, ("boards.view",), 5),
    MenuEntry("platform.statistics", _("Thống kê"), "statistics", PUBLIC, ("statistics.view",), 7),
    MenuEntry("platform.units", _("Đơn vị"), "unit_list", PUBLIC, ("units.view",), 10, ("/manage/unit/",)),
    MenuEntry("platform.schools", _("Trường học"), "school_list", PUBLIC, ("schools.view",), 20, ("/manage/school/",)),
    MenuEntry("platform.windows", _("Lịch mở/khóa"), "window_list", PUBLIC, ("windows.view",), 30),
    MenuEntry("platform.exceptions", _("Đề nghị mở khóa"), "window_exceptions", PUBLIC, ("windows.decide",), 40),
    MenuEntry("platform.duty", _("Cập nhật hằng tháng"), "monthly_duty", PUBLIC, ("schools.view",), 50),
    MenuEntry("platform.audit", _("Nhật ký"), "audit_list", PUBLIC, ("audit.view",), 60),
    # a school's site
    MenuEntry("school.home", _("Trang chủ"), "home", SCHOOL, ("school.enter",), 0),
    MenuEntry("school.staff", _("Cán bộ"), "school_staff", SCHOOL, ("school.staff.view",), 30),
    MenuEntry("school.audit", _("Nhật ký"), "audit_list", SCHOOL, ("audit.view",), 60),
    MenuEntry(
        "school.platform",
        _("Trang chung"),
        _platform_home,
        SCHOOL,
        order=90,
        test=has_other_places,
        current_on_path=False,
    ),
)
