"""DRF's parsers, answering every string in NFC (``hocba.kernel.text``).

The JSON parser reads the body in one piece: the same answers and refusals, without decoding the stream through a
codecs reader (a grade sheet's body is tens of kB, parsed on every save). The form and multipart parsers are DRF's,
their fields normalised the same way (file contents are not text and stay as sent)."""

from __future__ import annotations

import json

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json as drf_json

from .text import nfc


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            body = stream.read() if stream is not None else b""
            text = body.decode(encoding) if isinstance(body, bytes) else body
            return nfc(json.loads(text, parse_constant=drf_json.strict_constant if self.strict else None))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(_("Nội dung JSON không hợp lệ: %(error)s") % {"error": exc}) from exc


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return nfc(super().parse(stream, media_type, parser_context))


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        return parsers.DataAndFiles(nfc(parsed.data), parsed.files)
