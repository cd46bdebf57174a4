"""Review, as an attacker, of the page's mark (``X-HocBa-Page``) and of the accent-free search.

The mark only labels a change's source as the web page; it must never be believed from a token client, a request
without a session, another site, and it must not loosen CSRF: a signed-in browser's write without the CSRF token is
refused, mark or not. Search boxes take whatever is typed or sent: a NUL, a very long text, a heap of combining
marks are answered like any other search (PostgreSQL text holds no NUL: sent as is, the query would fail)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from hocba.kernel.middleware import from_own_page
from hocba.kernel.text import fold, search_text

from schools.models import Assessment
from tests.support import SCHOOL_A_HOST, client_for

HOST = SCHOOL_A_HOST
PATH = "/api/v1/classes/1/sheets/1/1/"


def _marked(session=True, **meta) -> bool:
    request = RequestFactory().put(PATH, HTTP_HOST=HOST, HTTP_X_HOCBA_PAGE="1", **meta)
    request.COOKIES = {settings.SESSION_COOKIE_NAME: "s"} if session else {}
    return from_own_page(request)


def test_the_mark_is_believed_only_from_a_signed_in_browser_on_the_same_site():
    assert _marked(HTTP_SEC_FETCH_SITE="same-origin")
    assert _marked(HTTP_ORIGIN=f"http://{HOST}")
    # A token client (whatever else it sends), no session cookie, another site, a sibling school's site, no mark
    # of origin at all, a look-alike origin: the API.
    assert not _marked(HTTP_SEC_FETCH_SITE="same-origin", HTTP_AUTHORIZATION="Token abc")
    assert not _marked(HTTP_SEC_FETCH_SITE="same-origin", HTTP_AUTHORIZATION="")
    assert not _marked(session=False, HTTP_SEC_FETCH_SITE="same-origin")
    assert not _marked(HTTP_SEC_FETCH_SITE="cross-site", HTTP_ORIGIN=f"http://{HOST}")
    assert not _marked(HTTP_SEC_FETCH_SITE="same-site")
    assert not _marked(HTTP_SEC_FETCH_SITE="none")
    assert not _marked()
    assert not _marked(HTTP_ORIGIN="null")
    assert not _marked(HTTP_ORIGIN=f"http://{HOST}.tan-cong.example")
    assert not _marked(HTTP_ORIGIN=f"http://tan-cong.example/{HOST}")
    request = RequestFactory().put(PATH, HTTP_HOST=HOST, HTTP_X_HOCBA_PAGE="yes", HTTP_SEC_FETCH_SITE="same-origin")
    request.COOKIES = {settings.SESSION_COOKIE_NAME: "s"}
    assert not from_own_page(request)


def test_the_mark_does_not_loosen_csrf(w, klass):
    browser = Client(HTTP_HOST=HOST, enforce_csrf_checks=True)
    browser.force_login(w.account("teacher_a"), backend="django.contrib.auth.backends.ModelBackend")
    before = Assessment.objects.count()
    url = f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/"
    cells = {"cells": [{"student": klass.students[0], "column": "tx1", "value": "9"}]}
    for headers in (
        {"HTTP_X_HOCBA_PAGE": "1", "HTTP_SEC_FETCH_SITE": "same-origin"},
        {"HTTP_X_HOCBA_PAGE": "1", "HTTP_ORIGIN": f"http://{HOST}"},
        {"HTTP_X_HOCBA_PAGE": "1", "HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_ORIGIN": "http://tan-cong.example"},
    ):
        response = browser.put(url, cells, content_type="application/json", **headers)
        assert response.status_code == 403, (headers, response.content[:300])
    assert Assessment.objects.count() == before


def test_fold_on_hostile_text():
    assert fold("Nguyễn\x00 Văn\tAn\u200b") == "nguyen van an"
    assert fold("\x00\x01\x7f") == ""
    start = time.perf_counter()
    assert fold("a" + "\u0301\u0323" * 50_000) == "a"  # a long run of marks: no quadratic reordering
    assert time.perf_counter() - start < 0.5
    assert fold("\u0301" * 1000) == ""
    # Longer than any query string reaches a view (gunicorn's request line stops at 4,094 bytes; the forms and
    # ``search_text`` cut a query to 120-150 characters before it is folded).
    long = "Đặng Thị Ánh Tuyết\x00 " * 400
    start = time.perf_counter()
    folded = fold(long)
    assert time.perf_counter() - start < 0.5
    assert folded.startswith("dang thi anh tuyet dang") and "\x00" not in folded
    assert fold(None) == ""  # type: ignore[arg-type]


def test_search_text_is_what_a_query_may_carry():
    assert search_text("  Nguyễn\x00Du \r\n") == "NguyễnDu"
    assert len(search_text("x" * 10_000)) == 150
    assert search_text("\x00") == ""


@pytest.mark.parametrize(
    "name,host,path,param",
    [
        ("province_admin", "hocba.localhost", "/manage/schools/", "q"),
        ("province_admin", "hocba.localhost", "/manage/units/", "q"),
        ("province_admin", "hocba.localhost", "/manage/audit/", "who"),
        ("principal_a", SCHOOL_A_HOST, "/history/", "q"),
        ("principal_a", SCHOOL_A_HOST, "/audit/", "who"),
    ],
)
def test_a_hostile_search_is_answered_not_a_server_error(w, name, host, path, param):
    c = client_for(w.account(name), host)
    for typed in ("\x00", "Nguy\x00ễn", "a" * 20_000, "\u0301" * 2_000, "%_\\", "' OR 1=1 --"):
        response = c.get(path, {param: typed})
        assert response.status_code == 200, (path, typed[:20], response.status_code)


@pytest.mark.parametrize(
    "name,host,path,params",
    [
        ("province_admin", "hocba.localhost", "/manage/audit/", {"page": "9" * 20}),
        ("province_admin", "hocba.localhost", "/manage/audit/export/", {"page": "9" * 20}),
        ("principal_a", SCHOOL_A_HOST, "/history/", {"page": "9" * 20}),
        ("principal_a", SCHOOL_A_HOST, "/history/", {"entry": "9" * 20}),
        ("principal_a", SCHOOL_A_HOST, "/history/", {"student": "9" * 20}),
        ("principal_a", SCHOOL_A_HOST, "/history/", {"teacher": "9" * 20}),
        ("principal_a", SCHOOL_A_HOST, "/history/export/", {"entry": "9" * 20}),
        ("province_admin", "hocba.localhost", "/manage/monthly-duty/", {"month": "1" * 5000}),
    ],
)
def test_out_of_range_numbers_are_answered_not_a_server_error(w, name, host, path, params):
    response = client_for(w.account(name), host).get(path, params)
    assert response.status_code in (200, 400), (path, params, response.status_code)
