"""Every school page and API read runs a fixed number of statements, whatever the size of the class."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from schools.services.common import system_access
from schools.services.students import student_enrol
from tests.support import SCHOOL_A_HOST, client_for

PAGES = [
    "/classes/",
    "/classes/{c}/",
    "/classes/{c}/sheets/{m}/1/",
    "/classes/{c}/conduct/1/",
    "/classes/{c}/attendance/",
    "/year-end/classes/{c}/",
    "/year-end/classes/{c}/comments/",
    "/year-end/classes/{c}/awards/",
    "/setup/",
    "/setup/classes/{c}/",
    "/setup/classes/{c}/assignments/{m}/parts/",
    "/setup/subjects/",
    "/setup/departments/",
    "/students/{s}/",
    "/students/{s}/record/",
    "/students/{s}/move/",
    "/students/{s}/transfer-out/",
    "/students/{s}/guardians/",
    "/students/classes/{c}/carry-over/",
    "/api/v1/classes/{c}/students/",
    "/api/v1/classes/{c}/year-end/",
    "/api/v1/classes/{c}/awards/",
    "/api/v1/years/",
    "/api/v1/classes/{c}/assignments/",
    "/api/v1/classes/{c}/assignments/{m}/parts/",
    "/api/v1/students/{s}/enrolments/",
    "/history/",
]


def _statements(client, klass) -> dict[str, tuple[int, int]]:
    """(status, statements) of each page; the tenant's ``SET search_path`` is not a statement of ours."""
    out = {}
    for page in PAGES:
        url = page.format(c=klass.school_class.pk, m=klass.math.pk, s=klass.students[0])
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        out[page] = (
            response.status_code,
            len([q for q in ctx.captured_queries if not q["sql"].startswith("SET search_path")]),
        )
    return out


def test_statements_per_page_do_not_grow_with_the_class(w, klass):
    client = client_for(w.account("principal_a"), SCHOOL_A_HOST)
    before = _statements(client, klass)
    system = system_access(w.school_a)
    connection.set_tenant(klass.school)
    for i in range(10):  # 6 students become 16
        student_enrol(
            access=system,
            school_class=klass.school_class,
            today=dt.date(2025, 10, 1),
            profile={"full_name": f"Học Sinh Thêm {chr(65 + i)}", "date_of_birth": "01/01/2014", "gender": "M"},
        )
    connection.set_schema_to_public()
    after = _statements(client, klass)
    assert all(status == 200 for status, _n in [*before.values(), *after.values()]), (before, after)
    grown = {page: (before[page][1], after[page][1]) for page in PAGES if after[page][1] > before[page][1]}
    assert not grown, grown
