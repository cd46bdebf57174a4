"""The student's page links to the record book hand-over for those who may make it (``records.export``: the
principal), and only for them; the link opens the hand-over page."""

from __future__ import annotations

import re

from tests.support import SCHOOL_A_HOST

LINK = re.compile(r'<a [^>]*id="handover-link"[^>]*href="([^"]+)"')


def test_the_principal_sees_the_hand_over_link_and_it_opens_the_hand_over_page(w, klass, login):
    student = klass.students[0]
    client = login("principal_a", SCHOOL_A_HOST)
    page = client.get(f"/students/{student}/")
    assert page.status_code == 200
    found = LINK.search(page.content.decode())
    assert found is not None and "Bàn giao học bạ" in page.content.decode()
    assert found.group(1) == f"/archive/students/{student}/handover/"
    handover = client.get(found.group(1))
    assert handover.status_code == 200
    assert "Hồ sơ bàn giao học bạ" in handover.content.decode()


def test_a_teacher_does_not_see_the_hand_over_link(w, klass, login):
    student = klass.students[0]
    for name in ("teacher_a", "homeroom_a"):
        client = login(name, SCHOOL_A_HOST)
        page = client.get(f"/students/{student}/")
        assert page.status_code == 200, name
        assert 'id="handover-link"' not in page.content.decode(), name
        assert "/handover/" not in page.content.decode(), name
        assert client.get(f"/archive/students/{student}/handover/").status_code in (403, 404), name
