"""Bulk school creation as a background job, in a real Chromium with a real Celery worker: the province admin uploads
a file, the job's page moves its progress bar to 100 % (site.js polls /api/v1/jobs/<id>/ every second) and then shows
each row's outcome — at a phone's width (390 px) and a laptop's (1366 px). Screenshots: /tmp/browser-shots/job-*.png.

The session's browser site runs no worker, so this module starts its own server, on a database of its own with the
demo seeded, with a Redis of its own (no other test's messages) and a worker on that Redis.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.browser.conftest import Site
from tests.browser.test_records_browser import sign_in
from tests.servers import app_database, app_env, celery_worker, private_redis, runserver, serve, setup_database
from tests.support import free_port

pytestmark = [pytest.mark.browser, pytest.mark.server]

PROVINCE_ADMIN = "so.quantri"
NO_OVERFLOW = (
    "[...document.querySelectorAll('main *')].every((el) => el.getBoundingClientRect().right <= window.innerWidth + 1)"
)


def _file(prefix: str, n: int, bad: bool = False) -> bytes:
    rows = [
        f"{prefix}{i:02d},Trường THCS Việc Nền {prefix} số {i},THCS,{unit},thcs-nen-{prefix}-{i}"
        for i, unit in ((i, "72-NL" if i % 2 else "72-TA") for i in range(1, n + 1))
    ]
    if bad:
        rows.append(f"{prefix}99,Trường của đơn vị lạ,THCS,XX-99,thcs-nen-{prefix}-la")
    return ("code,name,levels,unit_code,slug\n" + "\n".join(rows) + "\n").encode()


@pytest.fixture(scope="module")
def job_site(tmp_path_factory, shots):
    private = private_redis(tmp_path_factory.mktemp("redis") / "redis.log")
    with private as broker:
        yield from _job_site(broker, shots)


def _job_site(private_broker: str, shots):
    base_domain = "hocba.localhost"
    port = free_port()
    log = shots / "jobs-runserver.log"
    worker_log = shots / "jobs-worker.log"
    with app_database(f"hocba_e2e_jobs_{os.getpid()}") as url:
        env = app_env(url, base_domain, HOCBA_PORT=str(port), REDIS_URL=private_broker)
        setup_database(env, label="jobs-browser")
        app = {**env, "HOCBA_DB_ROLE": "app"}
        with celery_worker(app, worker_log), serve(runserver(), app, base_domain=base_domain, log=log, port=port):
            yield Site(base_domain, port, url, log)


def _upload(page, content: bytes, *, create_valid: bool = False):
    form = page.locator("#provision-form")
    form.locator("input[name=file]").set_input_files({"name": "truong.csv", "mimeType": "text/csv", "buffer": content})
    if create_valid:
        form.locator("input[name=create_valid]").check()
    with page.expect_navigation():
        form.locator("#provision-create").click()


def test_bulk_creation_runs_as_a_job_whose_page_shows_progress_then_each_row(job_site, browser, shots):
    context = browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 900})
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        sign_in(page, job_site, PROVINCE_ADMIN, totp=True)
        for width, prefix, bad in ((390, "7291", False), (1366, "7292", True)):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(job_site.url(path="/manage/schools/provision/"))
            assert page.locator("#provision-template-xlsx").count() == 1
            _upload(page, _file(prefix, 6, bad), create_valid=bad)
            assert re.search(r"/jobs/\d+/$", page.url), page.url
            bar = page.locator("#job-progress")
            assert bar.count() == 1 and page.locator("#job-count").inner_text().endswith("%")
            page.screenshot(path=str(shots / f"job-progress-{width}.png"), full_page=True)
            # The page polls and reloads itself at the end: the result table appears.
            page.wait_for_selector("#job-rows", timeout=180_000)
            assert bar.get_attribute("value") == "100"
            total = 7 if bad else 6
            assert f"Đã xử lý {total}/{total} dòng" in page.locator("#job-count").inner_text()
            assert page.locator("#job-rows tr[data-outcome=created]").count() == 6
            first = page.locator("#job-rows tr[data-number='2']").inner_text()
            assert f"Trường THCS Việc Nền {prefix} số 1 ({prefix}01)" in first and "Xã Nam Lợi (72-NL)" in first
            assert "Đã tạo" in first and f"thcs-nen-{prefix}-1.hocba.localhost" in first
            if bad:
                error = page.locator("#job-rows tr[data-outcome=error]")
                assert error.count() == 1 and "XX-99" in error.inner_text() and "Lỗi" in error.inner_text()
                assert page.locator("#job-state").inner_text() == "Xong một phần"
            else:
                assert page.locator("#job-state").inner_text() == "Đã xong"
            page.screenshot(path=str(shots / f"job-result-{width}.png"), full_page=True)
            assert page.evaluate(NO_OVERFLOW), f"the result is wider than the screen at {width} px"
            created = job_site.sql("SELECT count(*) FROM tenants_school WHERE moet_code LIKE %s", (prefix + "%",))
            assert created[0][0] == 6
    finally:
        context.close()
