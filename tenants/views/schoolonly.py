"""Printing, export and hand-over of record books exist on a school's own site only (004 art. 10.3): the platform
site answers their addresses (``/archive/…``) with a refusal that says where to go, never a bare 404."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.views import View
from hocba.kernel.errors import DomainError
from hocba.kernel.permissions import PUBLIC
from hocba.kernel.refusals import refusal_response


class SchoolSiteOnlyView(View):
    """Public: it changes and shows nothing, and says the same to anyone (signed in or not)."""

    required_capability = PUBLIC
    http_method_names = ["get", "post", "head"]

    def dispatch(self, request, *args, **kwargs):
        return refusal_response(
            request,
            DomainError(
                "records.school_site_only",
                _(
                    "In, xuất, lưu trữ và bàn giao học bạ chỉ thực hiện trên trang riêng của nhà trường (theo điều "
                    "10.3 của quy định), không thực hiện trên trang của Sở hay Phòng. Hãy mở trang của trường."
                ),
                http_status=403,
            ),
        )
