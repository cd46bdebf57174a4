"""``make run``'s web server survives a greedy client: 150 keep-alive connections, each with one request sent and
its socket held, leave the database's connections bounded and another client served; a static path with ``..``
is a 404, not a 500.

The server is the one ``make run`` starts (``hocba.dev.run.web_command``) after the same setup steps, on a
database of its own (tests/servers.py).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import sys
import time
from pathlib import Path

import psycopg
import pytest
from hocba.dev.run import WEB_THREADS, WEB_WORKERS

from tenants.demo import SCHOOLS
from tests.servers import app_database, app_env, demo_web, serve, setup_database

pytestmark = pytest.mark.server

BASE = "hocba.localhost"
GREEDY = 150


def _request(port: int, host: str, path: str, timeout: float = 20) -> tuple[int, float]:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": f"{host}:{port}"})
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        conn.close()


def _connections(url: str, name: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]).fetchone()[0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    name = f"hocba_demo_{int(time.time() * 1000) % 10**9}"
    with app_database(name) as url:
        env = app_env(url, BASE)
        setup_database(env, label="demo")
        log = tmp_path_factory.mktemp("demo") / "web.log"
        with serve(demo_web(), {**env, "HOCBA_DB_ROLE": "app"}, base_domain=BASE, log=log) as server:
            yield server, url, name


def test_a_greedy_client_leaves_the_demo_serving(demo):
    server, url, name = demo
    school = f"{SCHOOLS[0][4]}.{BASE}"
    page = "/accounts/login/"  # on a school's subdomain: the school is looked up in the database
    assert _request(server.port, school, page)[0] == 200

    held: list[socket.socket] = []
    try:
        for _ in range(GREEDY):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(f"GET {page} HTTP/1.1\r\nHost: {school}:{server.port}\r\n\r\n".encode())
            held.append(sock)
        time.sleep(1.0)  # their requests reach the workers
        health, health_s = _request(server.port, BASE, "/healthz")
        login, login_s = _request(server.port, school, page)
        busy = _connections(url, name)
        answered = 0
        for sock in held:
            with contextlib.suppress(OSError):
                sock.settimeout(10)
                if sock.recv(12).startswith(b"HTTP/1.1 200"):
                    answered += 1
    finally:
        for sock in held:
            sock.close()
    print(
        f"\n[demo] {GREEDY} held connections: /healthz {health} in {health_s * 1000:.0f} ms, school login page {login}"
        f" in {login_s * 1000:.0f} ms; greedy requests answered 200: {answered}/{GREEDY};"
        f" database connections {busy} (bound {WEB_WORKERS} × {WEB_THREADS})",
        file=sys.stderr,
    )
    assert health == 200 and login == 200
    assert answered == GREEDY
    assert busy <= WEB_WORKERS * WEB_THREADS + 1  # + the one counting
    assert "Traceback" not in Path(server.log).read_text(errors="replace")


@pytest.mark.parametrize("path", ["/static/../settings.py", "/static/../../manage.py", "/static/%2e%2e/manage.py"])
def test_a_static_path_climbing_out_is_not_found(demo, path):
    server, _url, _name = demo
    assert _request(server.port, BASE, path)[0] == 404
