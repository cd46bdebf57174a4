"""The public verification pages (no sign-in; the platform's site): ``/xac-minh/`` (upload a PDF) and
``/xac-minh/<token>/`` (the QR link; a PDF may be uploaded there too, to compare it with that document).

Every check counts against the client address's rate limit (429 beyond it, with ``Retry-After``); an upload larger
than ``VERIFY_MAX_UPLOAD_BYTES`` is refused from its announced length, before its body is read (413). Bad input gets
a message in the page, never an error page."""

from __future__ import annotations

from django.conf import settings
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from hocba.kernel.permissions import PUBLIC, CapabilityRequiredMixin

from .checks import Check, Verdict, check_file, check_token
from .limits import rate_take
from .uploads import MULTIPART_SLACK

TEMPLATE = "reporting/verify.html"


# No CSRF token: the POST changes nothing (it checks a file and answers), and an oversized upload is left unparsed
# (``uploads``), so a token in the form could not be read — the view must still answer 413, not a CSRF refusal.
@method_decorator(csrf_exempt, name="dispatch")
class VerifyView(CapabilityRequiredMixin, View):
    required_capability = PUBLIC  # anyone holding a printed or downloaded record book

    def _page(self, request, check: Check | None, token: str | None, *, error=None, status: int = 200):
        context = {
            "check": check,
            "token": token,
            "error": error,
            "max_size": filesizeformat(int(settings.VERIFY_MAX_UPLOAD_BYTES)),
        }
        response = render(request, TEMPLATE, context, status=check.status if check else status)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "no-referrer"  # the token stays off other sites' logs
        response["X-Robots-Tag"] = "noindex"
        return response

    def _limited(self, request, token: str | None):
        allowance = rate_take(request)
        if allowance.allowed:
            return None
        error = _("Bạn đã kiểm tra quá nhiều lần trong thời gian ngắn. Vui lòng thử lại sau %(minutes)s phút.") % {
            "minutes": max((allowance.retry_after + 59) // 60, 1)
        }
        response = self._page(request, None, token, error=error, status=429)
        response["Retry-After"] = str(allowance.retry_after)
        return response

    def get(self, request, token: str | None = None):
        if token is None:
            return self._page(request, None, None)
        return self._limited(request, token) or self._page(request, check_token(token), token)

    def post(self, request, token: str | None = None):
        limited = self._limited(request, token)
        if limited:
            return limited
        too_large = _("Tệp vượt quá dung lượng cho phép (tối đa %(size)s).") % {
            "size": filesizeformat(int(settings.VERIFY_MAX_UPLOAD_BYTES))
        }
        try:
            announced = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            announced = 0
        if announced > int(settings.VERIFY_MAX_UPLOAD_BYTES) + MULTIPART_SLACK:
            return self._page(request, None, token, error=too_large, status=413)
        try:
            upload = request.FILES.get("pdf")
        except (MultiPartParserError, OSError):
            upload = None
        if upload is None and announced > int(settings.VERIFY_MAX_UPLOAD_BYTES):
            return self._page(request, None, token, error=too_large, status=413)  # stopped while it streamed
        if upload is None:
            return self._page(request, None, token, error=_("Hãy chọn một tệp PDF để kiểm tra."), status=400)
        if upload.size > int(settings.VERIFY_MAX_UPLOAD_BYTES):
            return self._page(request, None, token, error=too_large, status=413)
        check = check_file(upload.read(), token=token)
        if check.verdict is Verdict.UNREADABLE and check.status == 413:
            return self._page(request, None, token, error=too_large, status=413)
        return self._page(request, check, token)
