"""Errors Django answers itself (hocba.kernel.errorpages) and the retry of a read whose database connection was
lost (hocba.kernel.dbretry).

* under /api/, every error is the refusal body (code, Vietnamese and English, request id), 500 included, never
  a stack trace;
* a page's error is shown in the page's language only;
* a GET whose database connection is lost runs once more and succeeds; a POST is never run twice; a database
  refusal that is not a lost connection (a statement timeout) is not retried.
"""

from __future__ import annotations

import logging
import time

import psycopg.errors
import pytest
from django.db import connections
from django.db.utils import InterfaceError, OperationalError
from django.test import Client
from hocba.kernel.views import ApiSchemaView, HealthView

from tests.support import SCHOOL_B_HOST, admin_connection, server_database_url

SECRET = "bí mật trong ngoại lệ 7f3a"  # must never reach the client
VI_500 = "Máy chủ gặp lỗi nên chưa hoàn thành yêu cầu."
EN_500 = "The server ran into an error and did not complete the request."


def _client(host: str = "hocba.localhost", **headers) -> Client:
    return Client(HTTP_HOST=host, raise_request_exception=False, **headers)


def _boom(*args, **kwargs):
    raise RuntimeError(SECRET)


def _failing_then_ok(monkeypatch, exc_factory, method: str = "get"):
    """HealthView's ``method`` raises ``exc_factory()`` the first time, then answers; returns the call count."""
    calls = []
    original = HealthView.get

    def view(self, request, *args, **kwargs):
        calls.append(request.method)
        if len(calls) == 1:
            raise exc_factory()
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(HealthView, method, view, raising=False)
    return calls


def _lost_connection() -> OperationalError:
    try:
        raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")
    except psycopg.errors.AdminShutdown as cause:
        exc = OperationalError("terminating connection due to administrator command")
        exc.__cause__ = cause
        return exc


def _statement_timeout() -> OperationalError:
    exc = OperationalError("canceling statement due to statement timeout")
    exc.__cause__ = psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
    return exc


# --- the API: always the refusal body -----------------------------------------------------------------------------


def test_an_unexpected_api_exception_is_a_json_500_with_the_request_id(w, monkeypatch):
    monkeypatch.setattr(ApiSchemaView, "get", _boom)
    response = _client().get("/api/v1/schema/")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "server_error"
    assert body["detail"].startswith(VI_500) and body["detail_en"].startswith(EN_500)
    assert body["request_id"] and body["request_id"] == response["X-Request-ID"]
    text = response.content.decode()
    assert SECRET not in text and "Traceback" not in text and "RuntimeError" not in text and "<html" not in text


def test_the_client_request_id_is_kept_in_the_500(w, monkeypatch):
    monkeypatch.setattr(ApiSchemaView, "get", _boom)
    response = _client(HTTP_X_REQUEST_ID="req-from-client-42").get("/api/v1/schema/")
    assert response.status_code == 500 and response.json()["request_id"] == "req-from-client-42"


def test_an_unknown_api_path_is_a_json_404(w):
    response = _client().get("/api/v1/khong-co-dau/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "not_found" and body["detail"] == "Không tìm thấy trang này."
    assert body["detail_en"] == "This page does not exist." and body["request_id"]


# --- pages: one language, the page's ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "shown", "hidden"),
    [("vi", VI_500, EN_500), ("en", EN_500, VI_500)],
)
def test_a_page_500_speaks_the_page_language_only(w, monkeypatch, language, shown, hidden):
    monkeypatch.setattr(HealthView, "get", _boom)
    response = _client(HTTP_ACCEPT_LANGUAGE=language).get("/healthz")
    assert response.status_code == 500 and response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert shown in text and hidden not in text
    assert f'<html lang="{language}">' in text and 'lang="en"' not in text.replace('<html lang="en">', "")
    assert response["X-Request-ID"] in text and SECRET not in text and "Traceback" not in text
    assert 'data-status="500"' in text  # the error page itself, not the fixed page of last resort


@pytest.mark.parametrize(
    ("language", "shown", "hidden"),
    [("vi", "Không tìm thấy trang này.", "This page does not exist."), ("en", "This page does not exist.", "Không")],
)
def test_a_page_404_speaks_the_page_language_only(w, language, shown, hidden):
    client = _client()
    client.cookies["django_language"] = language
    response = client.get("/khong-co-trang-nay/")
    assert response.status_code == 404
    text = response.content.decode()
    assert shown in text and hidden not in text


def test_a_refusal_page_speaks_the_page_language_only(login):
    client = login("teacher_a", SCHOOL_B_HOST)
    vi = client.get("/").content.decode()
    assert "không thuộc" in vi and "does not belong" not in vi
    client.cookies["django_language"] = "en"
    en = client.get("/").content.decode()
    assert "does not belong" in en and "không thuộc" not in en


# --- a lost database connection: a read runs once more, a write never ---------------------------------------------


def test_a_get_whose_connection_was_lost_is_run_again(w, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="hocba.kernel.dbretry")
    calls = _failing_then_ok(monkeypatch, _lost_connection)
    response = _client(HTTP_X_REQUEST_ID="req-retry-1").get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert calls == ["GET", "GET"]
    assert response["X-Request-ID"] == "req-retry-1"
    assert any("running the request again" in r.getMessage() for r in caplog.records)


def test_an_interface_error_on_an_api_read_is_run_again(w, monkeypatch):
    calls = []
    original = ApiSchemaView.get

    def view(self, request, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise InterfaceError("connection already closed")
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(ApiSchemaView, "get", view)
    response = _client().get("/api/v1/schema/")
    assert response.status_code == 200 and len(calls) == 2


def test_a_get_is_retried_once_only(w, monkeypatch):
    calls = []

    def view(self, request, *args, **kwargs):
        calls.append(1)
        raise _lost_connection()

    monkeypatch.setattr(HealthView, "get", view)
    response = _client().get("/healthz")
    assert response.status_code == 500 and len(calls) == 2


def test_a_post_whose_connection_was_lost_is_not_run_again(w, monkeypatch):
    calls = _failing_then_ok(monkeypatch, _lost_connection, method="post")
    response = _client().post("/healthz", {"x": "1"})
    assert response.status_code == 500 and calls == ["POST"]


def test_a_statement_timeout_is_not_retried(w, monkeypatch):
    calls = _failing_then_ok(monkeypatch, _statement_timeout)
    response = _client().get("/healthz")
    assert response.status_code == 500 and calls == ["GET"]


@pytest.fixture
def probe_connection(w):
    """A second connection to the test database, outside the test's transaction and without health checks, so that
    a backend ended from outside is met by the next query (as a request meets a database restart)."""
    # The test case refuses to open connections for aliases it does not know (ensure_connection is patched);
    # connect() is not, so the views below open it themselves when it is closed.
    alias = "retry_probe"
    connections.settings[alias] = {**connections["default"].settings_dict, "CONN_HEALTH_CHECKS": False}
    conn = connections[alias]
    try:
        yield conn
    finally:
        conn.close()
        del connections[alias]
        del connections.settings[alias]


def _kill_backend_of(conn) -> int:
    """End the connection's server process from another session (pg_terminate_backend), as a restart does."""
    conn.connect()
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with admin_connection(server_database_url()) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
        for _ in range(100):  # gone once pg_stat_activity no longer lists it
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchall():
                break
            time.sleep(0.02)
    return pid


def test_a_get_meeting_a_really_killed_connection_is_run_again(probe_connection, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="hocba.kernel.dbretry")
    calls = []
    original = HealthView.get

    def view(self, request, *args, **kwargs):
        if probe_connection.connection is None:
            probe_connection.connect()
        with probe_connection.cursor() as cursor:
            calls.append(probe_connection.connection.info.backend_pid)
            cursor.execute("SELECT 1")
        return original(self, request)

    monkeypatch.setattr(HealthView, "get", view)
    killed = _kill_backend_of(probe_connection)
    response = _client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert len(calls) == 2 and calls[0] == killed and calls[1] != killed  # a new connection the second time
    assert any("running the request again" in r.getMessage() for r in caplog.records)


def test_a_post_meeting_a_really_killed_connection_is_not_run_again(probe_connection, monkeypatch):
    calls = []

    def view(self, request, *args, **kwargs):
        calls.append(1)
        if probe_connection.connection is None:
            probe_connection.connect()
        with probe_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return HealthView.get(self, request)

    monkeypatch.setattr(HealthView, "post", view, raising=False)
    _kill_backend_of(probe_connection)
    response = _client().post("/healthz", {})
    assert response.status_code == 500 and len(calls) == 1


def test_a_malformed_api_body_is_a_refusal_body(login):
    client = login("province_admin")
    response = client.post("/api/v1/windows/", "{không phải json", content_type="application/json")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "parse_error" and "JSON" in body["detail"] and body["detail_en"]
