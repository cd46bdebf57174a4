"""The public verification page in a real Chromium (issue 10, build 6): a QR link of a registered document and the
upload form, without signing in, fit a 390-px phone and a 1366-px desk without a page-wide sideways scroll; the
signers' table scrolls in its own box; a file that is not a PDF gets its message. Screenshots:
``/tmp/browser-shots/phone-verify*.png`` and ``desk-verify*.png``."""

from __future__ import annotations

import json
import secrets
import uuid

import pytest

from tests.browser.test_phone_pages_browser import DESK, LAYOUT, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.server]

STEPS = ["subject"] * 12 + ["homeroom", "principal", "seal"]


def test_the_verification_page_fits_a_phone_and_a_desk(site, new_context, shots):
    token = secrets.token_urlsafe(32)
    school_id, school_name = site.sql("SELECT id, name FROM tenants_school ORDER BY id LIMIT 1")[0]
    signers = [{"step": s, "initials": "N.V.A.", "at": "2026-06-01T08:00:00+07:00"} for s in STEPS]
    site.sql(
        "INSERT INTO tenants_verificationindex (uid, token, school_id, year_start, kind, version, sha256, s3_key, "
        "s3_version_id, signers, sealed_at, archived_at) VALUES (%s, %s, %s, 2025, 'record_book', 1, %s, 'k', 'v', "
        "%s::jsonb, now(), now()) RETURNING id",
        (str(uuid.uuid4()), token, school_id, "ab" * 32, json.dumps(signers)),
    )
    for name, viewport in (("phone", PHONE), ("desk", DESK)):
        page = new_context(viewport=viewport).new_page()
        page.goto(site.url(path=f"/xac-minh/{token}/"))
        assert page.locator("#verify-result").get_attribute("data-verdict") == "valid"
        assert page.locator("#verify-school").inner_text() == school_name
        assert page.locator("#verify-signers tbody tr").count() == 15
        layout = page.evaluate(LAYOUT)
        assert layout["page"] <= layout["window"], (name, layout)
        assert not layout["cramped"], (name, layout["cramped"])
        page.screenshot(path=str(shots / f"{name}-verify.png"), full_page=True)

        page.goto(site.url(path="/xac-minh/"))
        page.set_input_files(
            "#verify-pdf", files=[{"name": "hoc-ba.pdf", "mimeType": "application/pdf", "buffer": b"PK not a pdf"}]
        )
        page.locator("form.verify-form button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator("#verify-result").get_attribute("data-verdict") == "unreadable"
        assert "Tệp không phải là PDF." in page.locator("#verify-result").inner_text()
        layout = page.evaluate(LAYOUT)
        assert layout["page"] <= layout["window"], (name, layout)
        page.screenshot(path=str(shots / f"{name}-verify-upload.png"), full_page=True)
