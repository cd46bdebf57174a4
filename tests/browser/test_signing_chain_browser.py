"""Signed record books end to end in a real Chromium with a real Celery worker (issue 10): after a whole-year lock of
Trường THCS Nguyễn Du, the chain signs class 6A1 through the pages — the subject teacher (Toán), then the homeroom
teacher, each enrolling TOTP from the signing page and re-authenticating — then the principal runs the year-end job
(her signature and the school's seal) and watches its progress; the records end signed and archived, and locked by
her khóa decision. An outsider, not signed in, opens the QR link of the printed copy and uploads the downloaded PDF:
valid, with the school, the year and the signers' initials. The principal revokes one record (a reason is required;
under the lock an exception is needed): the old copy's QR link and upload now say superseded.

The session's browser site runs no worker, so this module starts its own server and worker on a database of its own
(a copy of the seeded demo) and a Redis of its own, like test_jobs_browser.py. Screenshots:
``/tmp/browser-shots/chain-*.png``.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import time
import zipfile
import zlib

import pyotp
import pytest
import qrcode
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader

from tenants.demo import DEMO_PASSWORD
from tests.browser.conftest import Site
from tests.browser.test_phone_pages_browser import DESK, PHONE, PUT_JSON, assert_fits
from tests.browser.test_records_browser import sign_in
from tests.servers import (
    app_database,
    app_env,
    celery_worker,
    manage,
    private_redis,
    runserver,
    serve,
    setup_database,
)
from tests.support import free_port

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCHOOL = "thcs-nguyen-du"
SCHOOL_NAME = "Trường THCS Nguyễn Du"
SCHEMA = "s_" + SCHOOL.replace("-", "_")
SUBJECT_TEACHER = "nguyendu.gvbm"  # Toán in 6A1
HOMEROOM_TEACHER = "nguyendu.gvcn"
PRINCIPAL = "nguyendu.hieutruong"  # TOTP
LOCK_REASON = "Khóa sổ cả năm học 2025–2026"
REVOKE_REASON = "Điểm kiểm tra cuối kì II môn Toán nhập sai, cần sửa và ký lại"
JOB_TIMEOUT = 120_000  # ms: a job of three records takes a few seconds on a quiet machine

# 6A1 taught Toán only (the chain: one subject teacher, the homeroom teacher, the principal, the seal); its first three
# students submitted and approved through the services (incomplete books approved with a reason, as the page allows);
# then a whole-year window of the school that locked a minute ago.
SETUP = r"""
import datetime as dt
from django.db import connection
from django.utils import timezone
from hocba.kernel.roles import Role
from schools.access import school_access
from schools.models import RecordBook, SchoolClass, Subject, TeachingAssignment
from schools.services.records import records_approve, records_submit
from tenants.models import Account, School, Window
school = School.objects.get(slug="__SCHOOL__")
connection.set_tenant(school)
klass = SchoolClass.objects.get(name="6A1", year__start_year=2025)
math = Subject.objects.get(code="toan", level="lower_secondary")
TeachingAssignment.objects.filter(school_class=klass).exclude(subject=math).delete()
people = {a.username: a.pk for a in Account.objects.filter(username__in=["__HOMEROOM__", "__PRINCIPAL__"])}
records = list(RecordBook.objects.filter(school_class=klass).order_by("student__sort_key", "student_id")[:3])
students = [r.student_id for r in records]
homeroom = school_access(people["__HOMEROOM__"], school.pk, {Role.HOMEROOM_TEACHER})
principal = school_access(people["__PRINCIPAL__"], school.pk, {Role.PRINCIPAL})
records_submit(access=homeroom, school_class=klass, student_ids=students)
records_approve(access=principal, school_class=klass, student_ids=students, reason="Duyệt để ký số cuối năm học")
now = timezone.now()
window = Window.objects.create(tier="school", school=school, category="whole_year", year_start=2025,
                               opens_at=now - dt.timedelta(days=60), locks_at=now - dt.timedelta(minutes=1),
                               set_by_id=people["__PRINCIPAL__"], reason="__LOCK__")
print("SETUP", klass.pk, math.pk, window.pk, ",".join(str(s) for s in students))
"""


def _setup_script() -> str:
    return (
        SETUP.replace("__SCHOOL__", SCHOOL)
        .replace("__HOMEROOM__", HOMEROOM_TEACHER)
        .replace("__PRINCIPAL__", PRINCIPAL)
        .replace("__LOCK__", LOCK_REASON)
    )


@pytest.fixture(scope="module")
def chain_site(tmp_path_factory, shots):
    with private_redis(tmp_path_factory.mktemp("redis") / "redis.log") as broker:
        yield from _chain_site(broker, shots)


def _chain_site(private_broker: str, shots):
    base_domain = "hocba.localhost"
    port = free_port()
    log = shots / "chain-runserver.log"
    worker_log = shots / "chain-worker.log"
    with app_database(f"hocba_e2e_chain_{os.getpid()}") as url:
        env = app_env(url, base_domain, HOCBA_PORT=str(port), REDIS_URL=private_broker)
        setup_database(env, label="chain-browser")
        app = {**env, "HOCBA_DB_ROLE": "app"}
        out = manage(["shell", "-c", _setup_script()], app, label="chain-browser")
        worker = celery_worker(app, worker_log, name=f"chain-{os.getpid()}@%h")
        with worker, serve(runserver(), app, base_domain=base_domain, log=log, port=port):
            yield Site(base_domain, port, url, log), _ids(out)


def _ids(out: str) -> dict:
    line = next(line for line in out.splitlines() if line.startswith("SETUP "))
    klass, subject, window, students = line.split()[1:]
    return {
        "class": int(klass),
        "subject": int(subject),
        "window": int(window),
        "students": [int(s) for s in students.split(",")],
    }


# --- helpers -------------------------------------------------------------------------------------------------------


def reauthenticate(page) -> None:
    """allauth's re-authentication (the password) when the page asked for it; the suspended request then goes on."""
    if "/accounts/reauthenticate/" not in page.url:
        return
    form = page.locator("form:has(input[name=password])")
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").first.click()
    page.wait_for_load_state("load")


def enrol_totp(page) -> None:
    """From the signing page's notice: re-authenticate, read the new secret, confirm it with a code."""
    with page.expect_navigation():
        page.locator("#viec-cua-ban .notice.error a").click()
    reauthenticate(page)
    assert "/accounts/2fa/totp/activate/" in page.url, page.url
    secret = page.locator("#authenticator_secret").input_value()
    totp = pyotp.TOTP(secret)
    if totp.interval - time.time() % totp.interval < 2:
        time.sleep(2.1)
    form = page.locator("form:has(input[name=code])")
    form.locator("input[name=code]").fill(totp.now())
    with page.expect_navigation():
        form.locator("button[type=submit]").first.click()
    assert "/accounts/2fa/totp/activate/" not in page.url, page.locator("main").inner_text()[:500]


def wait_job(page, total: int) -> None:
    """The job's page polls its progress and reloads when the job ends: every row done and none failed."""
    assert re.search(r"/jobs/\d+/$", page.url), page.url
    page.wait_for_selector("#job-status[data-finished]", timeout=JOB_TIMEOUT)
    page.wait_for_selector("#job-rows")
    assert page.locator("#job-state").inner_text() == "Đã xong", page.locator("#job-status").inner_text()
    assert page.locator("#job-progress").get_attribute("value") == "100"
    assert f"Đã xử lý {total}/{total} dòng" in page.locator("#job-count").inner_text()
    assert page.locator("#job-rows tr[data-outcome=updated]").count() == total


def sign_class_step(page, site, class_id: int, step: str, total: int, shot=None) -> None:
    """A teacher's step on the class's signing page: TOTP first (the page links to it), then the confirmation; the
    job's page (``shot``: its screenshot as it first shows)."""
    page.goto(site.url(SCHOOL, f"/classes/{class_id}/signing/"))
    item = page.locator(f"#viec-cua-ban .sign-step[data-step={step}]")
    assert f"{total} học bạ chờ ký" in item.locator("h3").inner_text()
    assert page.locator("#viec-cua-ban .notice.error").is_visible()  # no TOTP yet: the confirmation would be refused
    enrol_totp(page)
    page.goto(site.url(SCHOOL, f"/classes/{class_id}/signing/"))
    assert page.locator("#viec-cua-ban .notice.error").count() == 0
    with page.expect_navigation():
        page.locator(f"#viec-cua-ban .sign-step[data-step={step}] button[type=submit]").click()
    reauthenticate(page)
    if shot is not None:
        page.screenshot(path=str(shot), full_page=True)
        assert_fits(page, f"the job's page at {page.viewport_size['width']} px")
    wait_job(page, total)


def _images(xobjects):
    for ref in (xobjects or {}).values():
        obj = ref.get_object()
        if obj.get("/Subtype") == "/Image":
            yield obj
        elif obj.get("/Subtype") == "/Form":
            yield from _images(obj.get("/Resources", {}).get("/XObject"))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def printed_qr(pdf: bytes) -> Image.Image:
    """The QR code printed on the copy's first page: the page's one image, whose Flate data with PNG predictors is a
    PNG's image data as it stands (wrapped back into a PNG for Pillow)."""
    page = PdfFileReader(io.BytesIO(pdf), strict=False).root["/Pages"]["/Kids"][0].get_object()
    (image,) = list(_images(page["/Resources"].get("/XObject")))
    assert image["/Filter"] == "/FlateDecode" and image["/DecodeParms"]["/Predictor"] >= 10, dict(image)
    width, height = int(image["/Width"]), int(image["/Height"])
    colour = {"/DeviceRGB": 2, "/DeviceGray": 0}[image["/ColorSpace"]]
    png = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
    png += _chunk(b"IDAT", image.encoded_data) + _chunk(b"IEND", b"")
    return Image.open(io.BytesIO(png)).convert("L")


def qr_holds(image: Image.Image, text: str) -> bool:
    """Whether the printed QR code is the code of ``text``: each module's centre, dark or light, as the code's."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    size = image.width / len(matrix)
    seen = [
        [image.getpixel((int((x + 0.5) * size), int((y + 0.5) * size))) < 128 for x in range(len(matrix))]
        for y in range(len(matrix))
    ]
    return seen == matrix


def verify(page, site, token: str | None, pdf: bytes | None = None) -> str:
    """The public page: the QR link (``token``) or the upload form; its verdict."""
    page.goto(site.url(path=f"/xac-minh/{token}/" if token else "/xac-minh/"))
    if pdf is not None:
        page.set_input_files(
            "#verify-pdf", files=[{"name": "hoc-ba.pdf", "mimeType": "application/pdf", "buffer": pdf}]
        )
        with page.expect_navigation():
            page.locator("form.verify-form button[type=submit]").click()
    return page.locator("#verify-result").get_attribute("data-verdict")


# --- the walk-through ----------------------------------------------------------------------------------------------


def test_the_chain_signs_a_locked_class_then_an_outsider_verifies_and_a_revocation_supersedes(
    chain_site, browser, shots
):
    site, ids = chain_site
    class_id, subject_id, window_id, students = ids["class"], ids["subject"], ids["window"], ids["students"]
    contexts = []

    def person(username: str, *, totp: bool = False, viewport=DESK):
        context = browser.new_context(locale="vi-VN", viewport=viewport)
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        if username:
            sign_in(page, site, username, totp=totp)
        return page

    try:
        records = dict(
            site.sql(f"SELECT student_id, id FROM {SCHEMA}.schools_recordbook WHERE student_id = ANY(%s)", (students,))
        )
        assert len(records) == 3
        approved = site.sql(
            f"SELECT state FROM {SCHEMA}.schools_recordbook WHERE id = ANY(%s)", (list(records.values()),)
        )
        assert approved == [("approved",)] * 3

        # 1. The whole-year lock is in force: the sheet shows it, and a score of another student is refused (423).
        teacher = person(SUBJECT_TEACHER)
        ((draft,),) = site.sql(
            f"SELECT student_id FROM {SCHEMA}.schools_recordbook WHERE school_class_id = %s AND state = 'draft'"
            " ORDER BY id LIMIT 1",
            (class_id,),
        )
        sheet = f"/classes/{class_id}/sheets/{subject_id}/2/"
        teacher.goto(site.url(SCHOOL, sheet))
        assert teacher.locator(f".window-state.locked[data-window='{window_id}']").is_visible()
        cell = {"student": draft, "column": "nx", "value": "Tiến bộ"}
        status, text = teacher.evaluate(PUT_JSON, [f"/api/v1{sheet}", {"cells": [cell]}])
        assert status == 423 and LOCK_REASON in text, (status, text[:500])

        # 2. The subject teacher, then the homeroom teacher, each from the class's signing page.
        homeroom = person(HOMEROOM_TEACHER)
        homeroom.goto(site.url(SCHOOL, f"/classes/{class_id}/signing/"))
        assert homeroom.locator("#viec-cua-ban").count() == 0  # not their turn: the subject's signature comes first
        assert homeroom.locator("#chains tbody tr[data-state=approved]").count() == 3
        sign_class_step(teacher, site, class_id, "subject", 3)
        sign_class_step(homeroom, site, class_id, "homeroom", 3, shot=shots / "chain-job-progress-1366.png")
        homeroom.goto(site.url(SCHOOL, f"/classes/{class_id}/signing/"))
        signed = homeroom.locator("#chains tbody tr[data-state=approved]").first.inner_text()
        assert "Giáo viên bộ môn (Toán)" in signed and "Giáo viên chủ nhiệm" in signed and "Hiệu trưởng" in signed

        # 3. The principal's year-end job: her signature and the seal, its progress on a phone, then on a laptop.
        principal = person(PRINCIPAL, totp=True, viewport=PHONE)
        principal.goto(site.url(SCHOOL, "/signing/year/?year=2025"))
        assert principal.locator("#ready").inner_text() == "3"
        with principal.expect_navigation():
            principal.locator("#ca-nam button[type=submit]").click()
        assert "/accounts/reauthenticate/" in principal.url  # a server-held key: the password again
        reauthenticate(principal)
        assert re.search(r"/jobs/\d+/$", principal.url), (principal.url, principal.locator("main").inner_text()[:800])
        assert principal.locator("#job-progress").count() == 1 and principal.locator("#job-count").inner_text()
        principal.screenshot(path=str(shots / "chain-job-progress-390.png"), full_page=True)
        assert_fits(principal, "the year-end job's page at 390 px")
        wait_job(principal, 3)
        assert "Đã ký, đóng dấu và lưu trữ." in principal.locator("#job-rows").inner_text()
        assert "3 học bạ đã lưu trữ" in principal.locator("#job-summary").inner_text()
        for size in (PHONE, DESK):
            principal.set_viewport_size(size)
            principal.reload()
            principal.screenshot(path=str(shots / f"chain-job-done-{size['width']}.png"), full_page=True)
            assert_fits(principal, f"the finished job's page at {size['width']} px")
        states = site.sql(
            f"SELECT r.state, d.state, d.uid::text, d.archive_version_id FROM {SCHEMA}.schools_recordbook r"
            f" JOIN {SCHEMA}.reporting_recorddocument d ON d.record_id = r.id WHERE r.id = ANY(%s)",
            (list(records.values()),),
        )
        assert [(r, d) for r, d, _uid, _v in states] == [("signed", "archived")] * 3, states
        assert all(version for *_rest, version in states)
        principal.goto(site.url(SCHOOL, f"/classes/{class_id}/signing/"))
        assert principal.locator("#chains tbody tr[data-state=signed]").count() == 3
        assert "Đã đủ chữ ký" in principal.locator("#chains tbody tr[data-state=signed]").first.inner_text()

        # The archive: the class's manifest is written, the principal locks the class (khóa) and takes its bundle.
        principal.goto(site.url(SCHOOL, "/archive/?year=2025"))
        row = principal.locator(f"#archive-classes tr[data-class='{class_id}']")
        assert row.locator("td[data-archived]").inner_text() == "3"
        assert "Lần 1" in row.inner_text() and "có chữ ký số" in row.inner_text()
        with principal.expect_navigation():
            row.locator("a").first.click()
        with principal.expect_navigation():
            principal.locator("form[action$='/lock/'] button").click()
        assert "Đã khóa 3 học bạ của lớp 6A1." in principal.locator(".messages").inner_text()
        assert principal.locator("#archive-records .tag.locked").count() == 3
        principal.goto(site.url(SCHOOL, "/archive/?year=2025"))
        with principal.expect_download() as got:
            principal.locator(f"#archive-classes tr[data-class='{class_id}'] a[download]").click()
        bundle = zipfile.ZipFile(io.BytesIO(got.value.path().read_bytes()))
        first_uid = site.sql(
            f"SELECT d.uid::text FROM {SCHEMA}.reporting_recorddocument d WHERE d.record_id = %s",
            (records[students[0]],),
        )[0][0]
        (pdf_name,) = [n for n in bundle.namelist() if first_uid in n and n.endswith(".pdf")]
        pdf = bundle.read(pdf_name)
        assert pdf.startswith(b"%PDF-")
        (shots / "chain-record.pdf").write_bytes(pdf)

        # 4. An outsider (not signed in) opens the printed copy's QR link, then uploads the downloaded file.
        ((token, sha256),) = site.sql(
            "SELECT token, sha256 FROM public.tenants_verificationindex WHERE uid = %s", (first_uid,)
        )
        assert hashlib.sha256(pdf).hexdigest() == sha256  # the downloaded file is the registered, archived copy
        link = site.url(path=f"/xac-minh/{token}/")
        qr = printed_qr(pdf)
        assert qr_holds(qr, link), "the printed QR code does not hold the document's verification link"
        assert not qr_holds(qr, site.url(path=f"/xac-minh/{token[::-1]}/"))
        signers = site.sql(
            f"SELECT s.signer_initials FROM {SCHEMA}.reporting_documentsignature s"
            f" JOIN {SCHEMA}.reporting_recorddocument d ON d.id = s.document_id WHERE d.uid = %s ORDER BY s.seq",
            (first_uid,),
        )
        initials = [i for (i,) in signers]
        assert len(initials) == 4 and all(re.fullmatch(r"(\w\.)+", i) for i in initials[:3]), initials
        outsider = person("", viewport=PHONE)
        for size in (PHONE, DESK):
            outsider.set_viewport_size(size)
            assert verify(outsider, site, token) == "valid"
            assert outsider.locator("#verify-school").inner_text() == SCHOOL_NAME
            assert outsider.locator("#verify-year").inner_text() == "2025–2026"
            shown = outsider.locator("#verify-signers tbody").inner_text()
            assert all(i in shown for i in initials[:3]) and SCHOOL_NAME not in outsider.locator("main h1").inner_text()
            outsider.screenshot(path=str(shots / f"chain-verify-link-{size['width']}.png"), full_page=True)
            assert_fits(outsider, f"the QR link's page at {size['width']} px")
        assert verify(outsider, site, None, pdf) == "valid"
        assert outsider.locator("#verify-match").get_attribute("data-match") == "yes"
        assert outsider.locator("#verify-signers tbody tr").count() == 4
        assert outsider.locator("#verify-signers td.sig-valid").count() == 4
        outsider.screenshot(path=str(shots / "chain-verify-upload-1366.png"), full_page=True)
        assert_fits(outsider, "the upload's verdict at 1366 px")

        # 5. The principal revokes the first record: a reason is required; under the lock an exception is needed.
        principal.goto(site.url(SCHOOL, f"/archive/classes/{class_id}/"))
        with principal.expect_navigation():
            principal.locator(f"#archive-records tr[data-record='{records[students[0]]}'] a").click()
        with principal.expect_navigation():
            principal.locator("form[action$='/revoke/'] button[type=submit]").click()
        assert "Cần ghi rõ lý do thu hồi" in principal.locator("#revoke-error").inner_text()
        principal.locator("#id_reason").fill(REVOKE_REASON)
        with principal.expect_navigation():
            principal.locator("form[action$='/revoke/'] button[type=submit]").click()
        assert LOCK_REASON in principal.locator("#revoke-error").inner_text()
        assert principal.locator("#revoke-exception").is_visible()
        # The tier that set the lock (the school) grants the exception for this student until tomorrow.
        site.sql(
            "INSERT INTO public.tenants_windowexception (window_id, school_id, class_ids, student_ids, until, reason,"
            " status, requested_by_id, requested_at, decided_by_id, decided_at, decision_note)"
            " SELECT w.id, w.school_id, '{}', ARRAY[%s]::bigint[], now() + interval '1 day', %s, 'approved',"
            " w.set_by_id, now(), w.set_by_id, now(), '' FROM public.tenants_window w WHERE w.id = %s RETURNING id",
            (students[0], REVOKE_REASON, window_id),
        )
        assert principal.locator("#id_reason").input_value() == REVOKE_REASON  # kept after the refusal
        with principal.expect_navigation():
            principal.locator("form[action$='/revoke/'] button[type=submit]").click()
        assert principal.url.endswith(f"/archive/classes/{class_id}/"), principal.url
        assert "Đã thu hồi học bạ" in principal.locator(".messages").inner_text()
        ((state,),) = site.sql(f"SELECT state FROM {SCHEMA}.schools_recordbook WHERE id = %s", (records[students[0]],))
        assert state == "draft"

        # The old copy: its QR link and the same file now say superseded (a later version replaces it).
        for size in (PHONE, DESK):
            outsider.set_viewport_size(size)
            assert verify(outsider, site, token) == "superseded"
            assert "thay thế" in outsider.locator("#verify-result").inner_text()
            assert outsider.locator("#verify-superseded").is_visible()
            outsider.screenshot(path=str(shots / f"chain-verify-superseded-{size['width']}.png"), full_page=True)
            assert_fits(outsider, f"the superseded verdict at {size['width']} px")
        assert verify(outsider, site, None, pdf) == "superseded"
        assert outsider.locator("#verify-match").get_attribute("data-match") == "yes"
        # The other records stand.
        ((other,),) = site.sql(
            f"SELECT v.token FROM public.tenants_verificationindex v JOIN {SCHEMA}.reporting_recorddocument d"
            " ON d.uid = v.uid WHERE d.record_id = %s",
            (records[students[1]],),
        )
        assert verify(outsider, site, other) == "valid"
    finally:
        for context in contexts:
            context.close()
