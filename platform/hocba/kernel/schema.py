"""The refusals every API operation may answer, written into the OpenAPI schema once (a drf-spectacular hook).

Every refusal has one body (``kernel.errors``): ``code``, ``detail`` (Vietnamese), ``detail_en``, and where it
applies ``field`` (the input refused), ``errors`` (one per refused cell or row, each naming it) or ``window`` (the
open/lock window that refused a write on a school's site: HTTP 423).
"""

from __future__ import annotations

ERROR_REF = {"$ref": "#/components/schemas/Refusal"}
WRITE_METHODS = ("post", "put", "patch", "delete")
SCHOOL_URLCONF = "hocba.urls_school"

REFUSAL_SCHEMA = {
    "type": "object",
    "description": "A refusal: nothing was changed.",
    "required": ["code", "detail"],
    "properties": {
        "code": {"type": "string", "description": "stable machine code, e.g. sheet.invalid, window.locked"},
        "detail": {"type": "string", "description": "the message in Vietnamese"},
        "detail_en": {"type": "string", "description": "the message in English"},
        "field": {"type": "string", "description": "the input refused, when it is one field"},
        "request_id": {
            "type": "string",
            "description": "the request's id (also the X-Request-ID header), on the errors the server answers itself "
            "(404 of an unknown path, 500): give it to support",
        },
        "errors": {
            "type": "array",
            "description": "one entry per refused cell or row (a sheet, a class's entries, an import)",
            "items": {
                "type": "object",
                "required": ["code", "detail"],
                "properties": {
                    "code": {"type": "string"},
                    "detail": {"type": "string"},
                    "detail_en": {"type": "string"},
                    "index": {"type": "integer", "description": "position of the entry in the request"},
                    "student": {"type": "integer"},
                    "subject": {"type": "integer"},
                    "column": {"type": "string"},
                    "field": {"type": "string"},
                },
            },
        },
        "window": {
            "type": "object",
            "description": "the open/lock window that refused the write (HTTP 423)",
            "properties": {
                "id": {"type": "integer"},
                "tier": {"type": "string"},
                "category": {"type": "string"},
                "opens_at": {"type": "string", "format": "date-time"},
                "locks_at": {"type": "string", "format": "date-time"},
                "set_by": {"type": "string"},
            },
        },
    },
}

RESPONSES = {
    "400": "The input is refused (each refused cell or row is named); nothing was saved.",
    "403": "Not allowed to you, or not signed in.",
    "404": "Not found, or outside what you may see (another school's ids never resolve).",
    "423": "An open/lock window of the province, the unit or the school refuses the write now (the window is named).",
    "500": "The server failed; the body is still a refusal (code server_error, request_id), never a stack trace.",
}


def add_refusals(result: dict, generator, request, public) -> dict:
    """POSTPROCESSING_HOOKS: each operation answers 403, 404 and 500; a write also 400, and on a school's site 423."""
    on_school_site = getattr(generator, "urlconf", None) == SCHOOL_URLCONF
    result.setdefault("components", {}).setdefault("schemas", {})["Refusal"] = REFUSAL_SCHEMA
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = ["403", "404"]
            if method in WRITE_METHODS:
                codes.insert(0, "400")
                if on_school_site:
                    codes.append("423")
            codes.append("500")
            for code in codes:
                operation["responses"].setdefault(
                    code, {"description": RESPONSES[code], "content": {"application/json": {"schema": ERROR_REF}}}
                )
    return result
