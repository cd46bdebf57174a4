"""Refusals that reach a person: a stable code and a message in Vietnamese and English."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import DatabaseError
from django.utils import translation
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler


def render(message: Any, params: dict[str, Any] | None = None) -> str:
    """Render a lazy message in the active language; lazy parameters are rendered in it too."""
    text = str(message)
    if params:
        text = text % {k: str(v) for k, v in params.items()}
    return text


def both_languages(message: Any, params: dict[str, Any] | None = None) -> dict[str, str]:
    """Render a lazy translatable message in Vietnamese and in English."""
    out = {}
    for lang in ("vi", "en"):
        with translation.override(lang):
            out[lang] = render(message, params)
    return out


class RowProblem:
    """A mixin for a report row of an import: its problem (``text``, a catalogue message, with ``params``) in
    both languages, empty while the row is ``ok``."""

    text: Any
    params: dict[str, Any]
    ok: bool  # a property of the row class: the row has no problem

    @property
    def message(self) -> str:
        return "" if self.ok else both_languages(self.text, self.params)["vi"]

    @property
    def message_en(self) -> str:
        return "" if self.ok else both_languages(self.text, self.params)["en"]


class Message:
    """A catalogue message bound to its parameters, rendered in the active language each time it is read: a
    message quoted inside another one (a cell's refusal inside an import's report)."""

    __slots__ = ("message", "params")

    def __init__(self, message: Any, params: dict[str, Any] | None = None):
        self.message = message
        self.params = params or {}

    def __str__(self) -> str:
        return render(self.message, self.params)


class TextPair:
    """A text written in both languages by code that cannot use the catalogue (the rules are pure Python,
    without Django): it reads like a lazy message, in English while English is active, else in Vietnamese."""

    __slots__ = ("vi", "en")

    def __init__(self, vi: str, en: str):
        self.vi = vi
        self.en = en

    def __str__(self) -> str:
        return self.en if translation.get_language() == "en" else self.vi


class DomainError(Exception):
    """A request the platform refuses. Nothing has been changed when it is raised from a service."""

    http_status = 400

    def __init__(
        self,
        code: str,
        message: Any,
        *,
        params: dict[str, Any] | None = None,
        field: str | None = None,
        http_status: int | None = None,
        extra: dict[str, Any] | None = None,
    ):
        self.code = code
        self.message = message
        self.params = params or {}
        self.field = field
        self.extra = extra or {}  # more of the body, e.g. the fields' own errors
        if http_status is not None:
            self.http_status = http_status
        super().__init__(render(message, self.params))

    def as_dict(self) -> dict[str, Any]:
        texts = both_languages(self.message, self.params)
        data = {"code": self.code, "detail": texts["vi"], "detail_en": texts["en"]}
        if self.field:
            data["field"] = self.field
        data.update(self.extra)
        return data


class NotAllowed(DomainError):
    http_status = 403


class NotFound(DomainError):
    http_status = 404


DbErrorTranslator = Callable[[BaseException], "DomainError | None"]
_db_error_translators: list[DbErrorTranslator] = []


def register_db_error_translator(translator: DbErrorTranslator) -> None:
    """Apps register how a database refusal of theirs reads to a person (in ``AppConfig.ready()``)."""
    if translator not in _db_error_translators:
        _db_error_translators.append(translator)


def translate_db_error(exc: BaseException) -> DomainError | None:
    """The registered refusal a database error stands for, else None."""
    for translator in _db_error_translators:
        refusal = translator(exc)
        if refusal is not None:
            return refusal
    return None


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DatabaseError):
        exc = translate_db_error(exc) or exc
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.http_status)
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, APIException) and isinstance(response.data, dict):
        detail = response.data.get("detail")
        # Every DRF refusal with one message (401, 403, 404, 405, a malformed body's 400, 406, 415, 429) gets the
        # refusal body's code and English; unexpected exceptions are the 500 of hocba.kernel.errorpages.
        if detail is not None and response.status_code >= status.HTTP_400_BAD_REQUEST:
            response.data.setdefault("code", getattr(exc, "default_code", "error"))
            response.data.setdefault("detail_en", both_languages(getattr(exc, "default_detail", detail))["en"])
    return response
