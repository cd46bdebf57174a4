"""A student's personal data (``PERSONAL_FIELDS``: ethnicity, nationality, place of birth, address, identity number,
MoET code, guardians) shows only to those who keep profiles — the school's leadership, the office, the homeroom
teacher of the student's class, the student's own parents — on every page, API and export of a school's site.

The surfaces are not listed by hand: every GET of ``hocba.urls_school`` is walked (the ids named as in
test_foreign_school: ``classes/<int:pk>/`` is a class…), as every role of the test world, with one student's profile
planted with values found nowhere else. A pattern whose parameters cannot be told fails until it is taught here or
in test_foreign_school. The public site is not walked: the public schema holds no student.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from hocba.kernel.roles import Role
from openpyxl import load_workbook

from schools.access import school_access
from schools.excel.background import JOB_PEERS
from schools.models import Department, GuardianLink, RecordBook, RecordState, SchoolClass, Student, Subject
from schools.selectors import personal_data_readable
from schools.services.classwork import award_add
from schools.services.common import system_access
from schools.services.setup import assignment_set
from schools.services.students import BASIC_FIELDS, PERSONAL_FIELDS, PROFILE_FIELDS, student_move_class
from schools.tasks import IMPORT_KIND
from tenants.models import Account, BackgroundJob, BackgroundJobRow, JobState, RowOutcome, School
from tenants.selectors import access_for
from tenants.services import grants as grant_services
from tenants.services import windows as window_services
from tenants.services.accounts import account_create
from tests.school_fixtures import current_school_year
from tests.schools.test_foreign_school import OWN_MODULES, WORDS, _kind, routes
from tests.support import ACCOUNTS, SCHOOL_A_HOST, client_for, page_text

PROFILE = {
    "ethnicity": "Dân Tộc Zeta",
    "nationality": "Quốc Tịch Zeta",
    "place_of_birth": "Trạm Xá Zeta, xã Mộc Hóa",
    "address": "99 Đường Bí Mật Zeta",
    "personal_id": "079214777001",
    "moet_code": "HSZETA7770",
    "guardians": [
        {"name": "Trần Giám Hộ Zeta", "relation": "Cha", "phone": "0912777001", "occupation": "Thợ Mộc Zeta"}
    ],
}
SECRETS = (
    "Dân Tộc Zeta",
    "Quốc Tịch Zeta",
    "Trạm Xá Zeta",
    "99 Đường Bí Mật Zeta",
    "079214777001",
    "HSZETA7770",
    "Trần Giám Hộ Zeta",
    "0912777001",
    "Thợ Mộc Zeta",
)
# Who keeps the profile of the first student of 6A1 (the planted one).
KEEPERS = {"principal_a", "vice_a", "clerk_a", "homeroom_a", "parent_a"}
# Besides the test world's accounts: the homeroom teacher of 6A2 who teaches Ngữ văn in 6A1, and a parent of another
# student of 6A1.
EXTRA = [("homeroom_other", Role.HOMEROOM_TEACHER), ("parent_other", Role.PARENT)]
ROLES = [name for name, _role, _scope in ACCOUNTS] + [name for name, _role in EXTRA]
# The surfaces that show one student's profile, and what each shows of it to a keeper.
PROFILE_SURFACES = {
    "/students/{s}/": SECRETS,
    "/api/v1/students/{s}/": SECRETS,
    "/students/{s}/record/": SECRETS[:7],  # the record book names the guardians, without phone or occupation
}
# Kinds of ids of the platform's tables, held by no school and showing no student.
PLATFORM_KINDS = {"window"}


@pytest.fixture
def planted(w, klass):
    """The first student of 6A1 with a full profile, an award and an approved record; the other roles' accounts."""
    school = klass.school
    connection.set_schema_to_public()
    extra = {
        name: account_create(
            actor=None,
            username=name.replace("_", "-"),
            full_name=f"Người Thử {name}",
            role=str(role),
            school=school,
            valid_from=dt.date(2025, 7, 1),
        ).pk
        for name, role in EXTRA
    }
    now = timezone.now()
    window = window_services.window_create(
        actor=None,
        category="scores_2",
        year_start=current_school_year(timezone.localdate()),
        school=School.objects.get(pk=w.school_a),
        opens_at=now - dt.timedelta(hours=1),
        locks_at=now + dt.timedelta(days=1),
        reason="Cửa sổ thử",
    )
    connection.set_tenant(school)
    system = system_access(school.pk)
    student = klass.students[0]
    Student.objects.filter(pk=student).update(**PROFILE)
    Department.objects.filter(pk=klass.math.department_id).update(head_id=w.accounts["dept_a"])
    SchoolClass.objects.filter(pk=klass.other_class.pk).update(homeroom_teacher_id=extra["homeroom_other"])
    literature = Subject.objects.get(level="lower_secondary", code="ngu_van")
    assignment_set(
        access=system, school_class=klass.school_class, subject=literature, teacher_id=extra["homeroom_other"]
    )
    GuardianLink.objects.create(student_id=student, account_id=w.accounts["parent_a"])
    GuardianLink.objects.create(student_id=klass.students[1], account_id=extra["parent_other"])
    award = award_add(
        access=system,
        school_class=klass.school_class,
        student_id=student,
        kind="award",
        title="Khen thưởng thử",
        decided_on=dt.date(2025, 11, 20),
    )
    record = RecordBook.objects.get(student_id=student)
    RecordBook.objects.filter(student_id__in=klass.students).update(state=RecordState.APPROVED)
    job = _import_job(w, klass)
    grant = _read_grant(w, klass, student)
    return {
        "accounts": {**w.accounts, **extra},
        "ids": {
            "class": klass.school_class.pk,
            "student": student,
            "year": klass.school_class.year_id,
            "subject": klass.math.pk,
            "department": klass.math.department_id,
            "record": record.pk,
            "award": award.pk,
            "guardian": w.accounts["parent_a"],
            "term": 1,
            "window": window.pk,
            "job": job,
            "grant": grant,
        },
    }


def _read_grant(w, klass, student: int) -> int:
    """The province inspector's read grant on the student's record, approved by the principal."""
    connection.set_schema_to_public()
    school = School.objects.get(pk=w.school_a)
    grant = grant_services.grant_request(
        actor=w.account("inspector"),
        school=school,
        class_ids=[klass.school_class.pk],
        student_ids=[student],
        targets_label="6A1",
        purpose="Kiểm tra hồ sơ theo kế hoạch thanh tra",
        until=timezone.now() + dt.timedelta(days=1),
    )
    grant_services.grant_decide(actor=w.account("principal_a"), grant_id=grant.pk, school_id=school.pk, approve=True)
    connection.set_tenant(klass.school)
    return grant.pk


def _import_job(w, klass) -> int:
    """A failed import of 6A1's student list by its homeroom teacher, as the worker records it: its rows quote the
    identity number and the address the file gave (a number already taken, an address too long)."""
    connection.set_schema_to_public()
    job = BackgroundJob.objects.create(
        kind=IMPORT_KIND,
        school_id=w.school_a,
        requested_by_id=w.accounts["homeroom_a"],
        capability=JOB_PEERS,
        state=JobState.FAILED,
        params={"kind": "students", "class_id": klass.school_class.pk, "title": {}, "back_url": "/"},
    )
    BackgroundJobRow.objects.create(
        job=job,
        number=5,
        key="D5",
        outcome=RowOutcome.ERROR,
        message=f"Số định danh cá nhân {PROFILE['personal_id']} đã thuộc học sinh khác · {PROFILE['address']}",
    )
    connection.set_tenant(klass.school)
    return job.pk


def surfaces(ids: dict) -> list[str]:
    """Every GET path of a school's site, its ids filled in; the ones without ids get the student's in the query."""
    query = f"?student={ids['student']}&class={ids['class']}&year=2025"
    out, untold = [], []
    for route in routes("hocba.urls_school"):
        if route.view_class is None or not route.view_class.__module__.startswith(OWN_MODULES):
            continue
        if "get" not in route.methods():
            continue
        values = {}
        for name in route.converters:
            kind = _kind(route.route, name) if name in route.int_params else None
            if name in WORDS:
                values[name] = WORDS[name][0]
            elif kind in ids:
                values[name] = ids[kind]
            else:
                untold.append(route.route)
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m, values=values: str(values.get(m.group(1))), route.route)
        out.append(path + ("" if route.converters else query))
    assert untold == [], f"parameters not taught (test_foreign_school's COLLECTIONS, PARAMS, WORDS): {untold}"
    return out


def body_text(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    kind = response.get("Content-Type", "")
    if kind.startswith("text/html"):
        return page_text(response)
    if "json" in kind:
        try:
            return json.dumps(json.loads(content), ensure_ascii=False)
        except ValueError:
            return content.decode(errors="replace")
    if "spreadsheetml" in kind:
        workbook = load_workbook(io.BytesIO(content))
        cells = [str(c) for ws in workbook.worksheets for row in ws.iter_rows(values_only=True) for c in row if c]
        return "\n".join(cells + [response.get("Content-Disposition", "")])
    return content.decode(errors="replace")


def test_personal_data_shows_only_to_profile_keepers_on_every_surface(w, klass, planted):
    ids = planted["ids"]
    paths = surfaces(ids)
    named = {
        p.format(s=ids["student"], c=ids["class"], m=ids["subject"])
        for p in (
            "/students/{s}/",
            "/students/{s}/record/",
            "/classes/{c}/",
            "/api/v1/classes/{c}/students/",
            "/api/v1/students/{s}/",
            "/api/v1/students/{s}/record/",
            "/excel/classes/{c}/export.xlsx",
            "/excel/classes/{c}/sheets/{m}/1.xlsx",
            "/excel/classes/{c}/students-template.xlsx",
        )
    }
    assert named <= set(paths), named - set(paths)
    assert any(p.startswith("/my-children/") for p in paths) and any(p.startswith("/history/") for p in paths)
    roles_held = {role for _name, role, _scope in ACCOUNTS} | {role for _name, role in EXTRA}
    assert roles_held == set(Role)

    leaks, seen, status = [], {}, {}
    for name in ROLES:
        client = client_for(w.account(name) if name in w.accounts else _account(planted, name), SCHOOL_A_HOST)
        for path in paths:
            response = client.get(path)
            text = body_text(response) if response.status_code == 200 else response.content.decode(errors="replace")
            found = [secret for secret in SECRETS if secret in text]
            status[name, path] = response.status_code
            seen[name, path] = set(found)
            if found and name not in KEEPERS:
                leaks.append(f"{name} GET {path} → {response.status_code}: {found}")
    # The inspector reading under the grant sees the record book, never the profile's personal data.
    holder = client_for(w.account("inspector"), SCHOOL_A_HOST)
    granted = [path for path in paths if re.match(r"/grants/\d+/", path)]
    assert granted
    for path in granted:
        response = holder.get(path)
        assert response.status_code == 200, (path, response.status_code)
        text = body_text(response)
        assert [secret for secret in SECRETS if secret in text] == [], path
    matrix = len(ROLES) * len(paths)
    print(f"\nidentity matrix: {len(ROLES)} roles × {len(paths)} surfaces = {matrix} requests, {len(leaks)} leaks")
    assert leaks == [], "\n".join(leaks)

    # The keepers do see it (the test can fail): each one on the profile surfaces they open.
    for name in KEEPERS:
        for template, expected in PROFILE_SURFACES.items():
            path = template.format(s=ids["student"])
            if name == "clerk_a" and "record" in path:
                assert status[name, path] == 404  # the office keeps profiles, it reads no record book
                continue
            assert status[name, path] == 200, (name, path, status[name, path])
            assert seen[name, path] == set(expected), (name, path, set(expected) - seen[name, path])
    # The ones the finding was about reach the same surfaces, and see the student without the personal data.
    for name in ("teacher_a", "dept_a", "homeroom_other"):
        for template in (*PROFILE_SURFACES, "/api/v1/students/{s}/record/"):
            assert status[name, template.format(s=ids["student"])] == 200, (name, template)
    for name in ("teacher_a", "homeroom_other"):
        assert status[name, f"/api/v1/classes/{ids['class']}/students/"] == 200
        assert status[name, f"/excel/classes/{ids['class']}/export.xlsx"] == 200
    assert matrix >= 17 * 45


def test_a_refused_profile_edit_shows_no_personal_data(w, klass, planted):
    """The profile's writes refuse those who do not keep it (the homeroom teacher of another class who teaches in this
    one holds ``profiles.edit``), change nothing and answer without the profile."""
    student = planted["ids"]["student"]
    for name in ("homeroom_other", "teacher_a", "dept_a"):
        client = client_for(_account(planted, name), SCHOOL_A_HOST)
        answers = [
            client.post(f"/students/{student}/edit/", {"full_name": ""}),
            client.patch(f"/api/v1/students/{student}/", {}, content_type="application/json"),
        ]
        for response in answers:
            assert response.status_code in (403, 404), (name, response.status_code)
            assert not [secret for secret in SECRETS if secret in response.content.decode()], (name, response)
    assert Student.objects.filter(pk=student, **{k: v for k, v in PROFILE.items() if k != "guardians"}).exists()


def _account(planted, name):
    return Account.objects.get(pk=planted["accounts"][name])


def test_the_brief_profile_is_the_basic_fields(w, klass, planted):
    """What a non-keeper reads of a student through the API is exactly ``BASIC_FIELDS`` and the id."""
    student = planted["ids"]["student"]
    teacher = client_for(w.account("teacher_a"), SCHOOL_A_HOST)
    one = teacher.get(f"/api/v1/students/{student}/").json()
    rows = teacher.get(f"/api/v1/classes/{planted['ids']['class']}/students/").json()
    assert set(one) == {"id", *BASIC_FIELDS}
    assert rows and all(set(row) == {"id", *BASIC_FIELDS} for row in rows)
    assert set(PERSONAL_FIELDS) | set(BASIC_FIELDS) == set(PROFILE_FIELDS)
    assert {"address", "personal_id", "guardians", "ethnicity", "place_of_birth"} <= set(PERSONAL_FIELDS)
    homeroom = client_for(w.account("homeroom_a"), SCHOOL_A_HOST).get(f"/api/v1/students/{student}/").json()
    assert set(homeroom) == {"id", *PROFILE_FIELDS}


def test_the_homeroom_teacher_keeps_the_profiles_of_the_class_the_student_is_in_now(w, klass, planted):
    """A student moved to 6A2: its homeroom teacher now reads the profile, 6A1's no longer does."""
    student = planted["ids"]["student"]
    RecordBook.objects.filter(student_id=student).update(state=RecordState.DRAFT)
    system = system_access(klass.school.pk)
    student_move_class(
        access=system, student=Student.objects.get(pk=student), to_class=klass.other_class, on=dt.date(2025, 11, 1)
    )
    before_move = klass.access(w, "homeroom_a")
    assert personal_data_readable(before_move, [student, klass.students[2]]) == {klass.students[2]}
    other = _account(planted, "homeroom_other")
    now_keeper = school_access(other.pk, klass.school.pk, access_for(other).school_roles(klass.school.pk))
    assert personal_data_readable(now_keeper, [student, klass.students[2]]) == {student}
    assert personal_data_readable(klass.access(w, "teacher_a"), [student]) == frozenset()
    assert personal_data_readable(klass.access(w, "parent_a"), [student, klass.students[2]]) == {student}
    assert personal_data_readable(klass.access(w, "clerk_a"), [student]) == {student}
    page = client_for(other, SCHOOL_A_HOST).get(f"/students/{student}/")
    assert page.status_code == 200 and all(secret in page_text(page) for secret in SECRETS)
    assert client_for(w.account("homeroom_a"), SCHOOL_A_HOST).get(f"/students/{student}/").status_code == 404


def test_one_rule_every_surface_asks_the_selector():
    """Only the selector asks ``SchoolAccess.may_see_identity``: a page, API or export that decided for itself would
    drift from the rule."""
    root = Path(__file__).resolve().parents[2]
    callers = sorted(
        str(path.relative_to(root))
        for package in ("schools", "reporting", "tenants", "platform/hocba")
        for path in (root / package).rglob("*.py")
        if "may_see_identity(" in path.read_text(encoding="utf-8")
    )
    assert callers == ["schools/access.py", "schools/selectors/students.py"]
