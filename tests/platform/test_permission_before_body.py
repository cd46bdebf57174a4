"""Permission is checked before the body is validated (issue 13): a refusal names no field, whatever was sent."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from openpyxl import Workbook
from rest_framework.test import APIClient
from rest_framework.views import APIView

from tests.support import SCHOOL_A_HOST, client_for

WRITES = ("post", "put", "patch", "delete")


def api(w, name: str, host: str = "hocba.localhost") -> APIClient:
    client = APIClient(HTTP_HOST=host)
    client.force_authenticate(w.account(name))
    return client


def names_no_field(response) -> dict:
    body = response.json()
    assert "errors" not in body and "field" not in body and "rows" not in body, body
    assert set(body) >= {"code", "detail"}, body
    return body


def test_a_subject_teacher_enrolling_is_refused_the_same_with_any_body(w, klass):
    url = f"/api/v1/classes/{klass.school_class.pk}/students/"
    client = api(w, "teacher_a", SCHOOL_A_HOST)
    valid = client.post(url, {"full_name": "Ngô Văn Bảo", "date_of_birth": "01/02/2014", "gender": "M"}, format="json")
    invalid = client.post(url, {"full_name": 7, "date_of_birth": "hôm qua", "gender": "?"}, format="json")
    empty = client.post(url, {}, format="json")
    assert valid.status_code == invalid.status_code == empty.status_code == 403
    assert names_no_field(valid) == names_no_field(invalid) == names_no_field(empty)


def test_a_teacher_not_assigned_to_a_sheet_is_refused_before_its_cells_are_read(w, klass):
    url = f"/api/v1/classes/{klass.other_class.pk}/sheets/{klass.math.pk}/1/"
    client = api(w, "teacher_a", SCHOOL_A_HOST)
    answers = [client.put(url, body, format="json") for body in ({"cells": []}, {"cells": "nonsense"}, [])]
    assert len({r.status_code for r in answers}) == 1 and answers[0].status_code in (403, 404)
    assert len({str(names_no_field(r)) for r in answers}) == 1


def test_a_subject_teacher_is_refused_conduct_before_the_body(w, klass):
    url = f"/api/v1/classes/{klass.school_class.pk}/conduct/1/"
    client = api(w, "teacher_a", SCHOOL_A_HOST)
    answers = [client.put(url, body, format="json") for body in ({"entries": []}, {"entries": [{"x": 1}]}, {})]
    assert len({r.status_code for r in answers}) == 1 and answers[0].status_code in (403, 404)
    assert len({str(names_no_field(r)) for r in answers}) == 1


def workbook() -> bytes:
    wb = Workbook()
    wb.active.append(["Loại dữ liệu", "Khối", "Mở lúc", "Khóa lúc", "Lý do"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "who,unit,code",
    [("unit_a_staff", "unit_a", "permission_denied"), ("unit_a_admin", "unit_b", "windows.out_of_scope")],
)
def test_the_window_import_is_refused_the_same_with_any_body(w, who, unit, code):
    client = api(w, who)
    unit_id = getattr(w, unit)
    bodies = [
        {"unit_id": unit_id, "year_start": 2025, "file": SimpleUploadedFile("lich.xlsx", workbook())},
        {"unit_id": unit_id, "year_start": "năm nay"},
        {"unit_id": unit_id},
    ]
    answers = [client.post("/api/v1/windows/import/", body, format="multipart") for body in bodies]
    assert {r.status_code for r in answers} == {403}
    assert {names_no_field(r)["code"] for r in answers} == {code}


@pytest.mark.parametrize(
    "path,body",
    [
        ("/api/v1/windows/", {"unit_id": "unit_b", "category": "??"}),
        ("/api/v1/units/", {"parent_id": "unit_b", "kind": "??"}),
        ("/api/v1/schools/", {"unit_id": "unit_b", "code": ""}),
        ("/api/v1/accounts/", {"school_id": "school_b", "username": ""}),
        ("/api/v1/memberships/", {"school_id": "school_b", "role": "nobody"}),
    ],
)
def test_a_scope_named_in_the_body_is_checked_before_the_body(w, path, body):
    ids = {"unit_b": w.unit_b, "school_b": w.school_b}
    body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    response = api(w, "unit_a_admin").post(path, body, format="json")
    assert response.status_code in (403, 404), response.content
    names_no_field(response)


# --- every write endpoint, with an empty and a nonsense body, as someone who may not write there -------------------


def api_views(resolver, prefix=""):
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            yield from api_views(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            cls = getattr(p.callback, "view_class", None)
            if cls and issubclass(cls, APIView) and any(hasattr(cls, m) for m in WRITES):
                yield prefix + str(p.pattern), cls


def concrete(route: str, pk: int) -> str:
    return "/" + re.sub(r"<(?:int:)?\w+>", str(pk), route).replace("<str:checkpoint>", "t1").lstrip("^").rstrip("$")


@pytest.mark.parametrize(
    "urlconf,host,who",
    [("hocba.urls_school", SCHOOL_A_HOST, "parent_a"), ("hocba.urls_public", "hocba.localhost", "inspector")],
)
def test_every_write_endpoint_refuses_before_reading_the_body(w, klass, urlconf, host, who):
    client = api(w, who, host)
    checked = 0
    for route, cls in api_views(get_resolver(urlconf)):
        if getattr(cls, "required_capability", "") in ("public", "signed_in"):
            continue  # anyone signed in may write there (their own tokens): nothing to refuse
        url = re.sub(r"<str:\w+>", "t1", concrete(route, klass.school_class.pk))
        for method in WRITES:
            if not hasattr(cls, method):
                continue
            for body in ({}, {"name": ["?"], "entries": "?", "file": 1}):
                response = getattr(client, method)(url, body, format="json")
                assert response.status_code in (403, 404), (method, url, response.status_code, response.content)
                names_no_field(response)
                checked += 1
    assert checked > 20


# --- pages ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/manage/windows/new/", "/manage/windows/import/"])
def test_a_window_page_refuses_another_units_scope_before_the_form(w, path):
    client = client_for(w.account("unit_a_admin"))
    response = client.post(path, {"scope": f"unit:{w.unit_b}", "category": "??", "opens_at": "hôm qua"})
    html = response.content.decode()
    assert response.status_code == 403 and "ngoài thẩm quyền đặt lịch" in html
    assert 'class="field-error"' not in html and "errorlist" not in html


def test_the_enrol_form_of_a_class_one_may_not_edit_is_refused_before_it_is_read(w, klass):
    client = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    response = client.post(
        f"/classes/{klass.other_class.pk}/students/new/", {"enrol-full_name": "", "enrol-gender": "?"}
    )
    html = response.content.decode()
    assert response.status_code in (403, 404)
    assert 'class="field-error"' not in html and "errorlist" not in html


def page_views(resolver, prefix=""):
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            yield from page_views(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            cls = getattr(p.callback, "view_class", None)
            if cls and not issubclass(cls, APIView) and hasattr(cls, "post"):
                yield prefix + str(p.pattern), cls


@pytest.mark.parametrize(
    "urlconf,host,who",
    [("hocba.urls_school", SCHOOL_A_HOST, "parent_a"), ("hocba.urls_public", "hocba.localhost", "inspector")],
)
def test_every_page_form_refuses_before_reading_the_form(w, klass, urlconf, host, who):
    client = client_for(w.account(who), host)
    checked = 0
    for route, cls in page_views(get_resolver(urlconf)):
        if getattr(cls, "required_capability", "public") in ("public", "signed_in"):
            continue  # sign-in, one's own account: nothing to refuse
        url = re.sub(r"<str:\w+>", "move", concrete(route, klass.school_class.pk))
        for body in ({}, {"name": "", "scope": "?", "file": "x", "new-username": ""}):
            response = client.post(url, body)
            html = response.content.decode() if response.get("Content-Type", "").startswith("text/html") else ""
            assert response.status_code in (403, 404), (url, response.status_code)
            assert "errorlist" not in html and 'class="field-error"' not in html, url
            checked += 1
    assert checked > 10
