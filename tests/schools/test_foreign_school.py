"""No one of school A (nor of its unit) ever reaches school B's data: every endpoint that takes an id is called with
school B's ids, with every method its view answers, and refuses; no write changes anything; no name or score of B
shows.

The endpoints are not listed by hand: they come from walking the URL resolvers of ``hocba.urls_school`` (on school
B's site, and on school A's for ids of the platform's tables) and ``hocba.urls_public`` (on the platform's site).
An integer parameter takes school B's object of the kind it names: the parameter's name (``subject``, ``award``…)
or, for ``pk``, the path segment before it (``classes/<int:pk>/`` is a class). A pattern whose parameters cannot be
told fails test_every_id_endpoint_is_exercised until it is taught here (COLLECTIONS, PARAMS, WORDS) or listed in
EXEMPT with a reason. The pages and APIs of school B's site without parameters are called as well, with school B's
ids in the query string.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from dataclasses import dataclass

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter
from django.utils import timezone
from hocba.kernel.permissions import PUBLIC, SIGNED_IN, declared_capability
from rest_framework.views import APIView

from schools.models import RecordBook, Subject
from schools.services.classwork import award_add
from schools.services.common import system_access
from schools.services.exemptions import exemption_record
from schools.services.setup import assignment_set, class_create, school_year_open
from schools.services.sheets import sheet_save
from schools.services.students import guardian_link, student_enrol
from tenants.models import AdministrativeUnit, BackgroundJob, BackgroundJobRow, JobState, Membership, RowOutcome, School
from tenants.services import grants as grant_services
from tenants.services import windows as window_services
from tenants.services.accounts import account_create
from tests.school_fixtures import current_school_year
from tests.support import ACCOUNTS, SCHOOL_A_HOST, SCHOOL_B_HOST, client_for, page_text

PLATFORM_HOST = "hocba.localhost"
OWN_MODULES = ("tenants.", "hocba.", "schools.", "reporting.")
SECRET_NAME = "Quách Bí Mật"
SECRET_COMMENT = "Nhận xét riêng của trường B"
SECRET_REASON = "Lý do riêng của trường B"
SECRETS = (
    SECRET_NAME,
    SECRET_COMMENT,
    SECRET_REASON,
    "079211000999",
    "9Ư1",
    "9,5",
    "Khen riêng trường B",
    "Phụ Huynh Bí Mật",
    "phu-huynh-bi-mat",
    "principal_b",
    "teacher_b",
    "Principal B",
    "Teacher B",
    "99000002",
    "thcs-binh-minh.hocba.localhost/",
)
# Roles whose scope does not cover school B (province staff, unit B and school B's own people do).
OUTSIDERS = [name for name, _role, scope in ACCOUNTS if scope in ("unit_a", "school_a")]
REFUSED = (403, 404, 405)

# ``<int:pk>`` after one of these path segments names an object of that kind.
COLLECTIONS = {
    "classes": "class",
    "students": "student",
    "years": "year",
    "subjects": "subject",
    "departments": "department",
    "records": "record",
    "memberships": "membership",
    "windows": "window",
    "window-exceptions": "exception",
    "exceptions": "exception",
    "units": "unit",
    "schools": "school",
    "jobs": "job",
    "grants": "grant",
    "read-grants": "grant",
}
# Other integer parameters, by name.
PARAMS = {
    "subject": "subject",
    "term": "term",
    "award": "award",
    "account": "guardian",
    "exemption": "exemption",
    "grant": "grant",
    "class_id": "class",  # the board's drill-down to a class (school-local id) under a school
}
# Word parameters and the words they are called with (``kind`` goes with the ``pk`` after it).
WORDS = {
    "operation": ("rename", "move", "merge", "close"),
    "checkpoint": ("mid",),
    "pending": ("phien-ky-khong-co",),  # a device-signing session: random, held for its own account and school only
}
# Parameters that mean the same on every site (ids of the platform's tables, the term): endpoints taking only these are
# called on school A's own site too.
PLATFORM_KINDS = {"membership", "window", "exception", "unit", "school", "scope", "term", "grant"}
# (urlconf, route) → why the pattern is not called with school B's ids.
EXEMPT: dict[tuple[str, str], str] = {
    ("hocba.urls_public", "accounts/tokens/<int:pk>/revoke/"): "an account's own API tokens, of no school: another"
    " account's token is not found (tests/tenants/test_api_tokens.py::test_revoking_is_immediate)",
}
# Tables a refused request may change: the session holds the refusal's message.
VOLATILE_TABLES = {"django_session"}


@dataclass(frozen=True)
class Route:
    urlconf: str
    route: str
    view_class: type | None
    converters: dict

    @property
    def int_params(self) -> list[str]:
        return [name for name, conv in self.converters.items() if isinstance(conv, IntConverter)]

    def methods(self) -> list[str]:
        if self.view_class is None:
            return []
        view = self.view_class()
        return [m.lower() for m in view._allowed_methods() if m.lower() not in ("head", "options")]


def routes(urlconf: str) -> list[Route]:
    def walk(patterns, prefix, converters):
        for p in patterns:
            found = {**converters, **getattr(p.pattern, "converters", {})}
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern), found)
            elif isinstance(p, URLPattern):
                view_class = getattr(p.callback, "view_class", None) or getattr(p.callback, "cls", None)
                yield Route(urlconf, prefix + str(p.pattern), view_class, found)

    return list(walk(get_resolver(urlconf).url_patterns, "", {}))


def _kind(route: str, name: str) -> str | None:
    if name != "pk":
        return PARAMS.get(name)
    before = route.split("<int:pk>")[0].rstrip("/").rsplit("/", 1)[-1]
    return "scope" if before == "<str:kind>" else COLLECTIONS.get(before)


@dataclass(frozen=True)
class Call:
    host: str
    method: str
    path: str
    route: Route


def calls(route: Route, ids: dict[str, list]) -> list[Call]:
    """Every (host, method, path) the route is exercised with; none when its parameters cannot be told."""
    kinds = {name: _kind(route.route, name) for name in route.int_params}
    if not kinds or None in kinds.values() or not route.methods():
        return []
    options: list[list[dict]] = []
    for name in route.converters:
        if name in kinds and kinds[name] != "scope":
            options.append([{name: value} for value in ids[kinds[name]]])
        elif name in kinds:
            options.append([{"kind": word, name: value} for word, value in ids["scope"]])
        elif name in WORDS:
            options.append([{name: word} for word in WORDS[name]])
        elif name != "kind" or "scope" not in kinds.values():
            return []
    if route.urlconf == "hocba.urls_public":
        hosts = [PLATFORM_HOST]
    else:
        hosts = [SCHOOL_B_HOST] + ([SCHOOL_A_HOST] if set(kinds.values()) <= PLATFORM_KINDS else [])
    made = []
    for combination in itertools.product(*options):
        values = {k: v for option in combination for k, v in option.items()}
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m, values=values: str(values[m.group(1)]), route.route)
        made += [Call(host, method, path, route) for host in hosts for method in route.methods()]
    return made


def list_calls(ids: dict[str, list]) -> list[Call]:
    """School B's own pages and APIs without parameters, with its ids in the query string."""
    query = f"?student={ids['student'][0]}&class={ids['class'][0]}&year=2025"
    made = []
    for route in routes("hocba.urls_school"):
        if route.converters or route.view_class is None or not route.view_class.__module__.startswith(OWN_MODULES):
            continue
        for method in route.methods():
            made.append(Call(SCHOOL_B_HOST, method, "/" + route.route + (query if method == "get" else ""), route))
    return made


def id_calls(ids: dict[str, list]) -> list[Call]:
    return [c for urlconf in ("hocba.urls_school", "hocba.urls_public") for r in routes(urlconf) for c in calls(r, ids)]


@pytest.fixture
def school_b_data(w):
    school = School.objects.get(pk=w.school_b)
    unit = AdministrativeUnit.objects.get(pk=w.unit_b)
    parent = account_create(
        actor=None,
        username="phu-huynh-bi-mat",
        full_name="Phụ Huynh Bí Mật",
        role="parent",
        school=school,
        valid_from=dt.date(2025, 7, 1),
    )
    connection.set_tenant(school)
    system = system_access(school.pk)
    year = school_year_open(access=system, start_year=2025, levels=["lower_secondary"])
    klass = class_create(access=system, year=year, name="9Ư1", grade=9, homeroom_teacher_id=w.accounts["teacher_b"])
    math = Subject.objects.get(level="lower_secondary", code="toan")
    assignment_set(access=system, school_class=klass, subject=math, teacher_id=w.accounts["teacher_b"])
    student = student_enrol(
        access=system,
        school_class=klass,
        today=dt.date(2025, 10, 1),
        profile={"full_name": SECRET_NAME, "date_of_birth": "05/03/2011", "gender": "F", "personal_id": "079311000999"},
    )
    sheet_save(
        access=system,
        school_class=klass,
        subject=math,
        term=1,
        cells=[
            {"student": student.pk, "column": "gk", "value": "9,5"},
            {"student": student.pk, "column": "nx", "value": SECRET_COMMENT},
        ],
    )
    award = award_add(
        access=system,
        school_class=klass,
        student_id=student.pk,
        kind="award",
        title="Khen riêng trường B",
        decided_on=dt.date(2025, 11, 20),
    )
    guardian_link(access=system, student=student, account_id=parent.pk)
    exemption = exemption_record(
        access=system,
        school_class=klass,
        student_id=student.pk,
        subject_id=math.pk,
        term=2,
        part="subject",
        reason=SECRET_REASON,
        decision_number="99/QĐ-B",
        decided_on=dt.date(2025, 9, 15),
        today=dt.date(2025, 10, 1),
    )
    record = RecordBook.objects.get(student=student, year=year)
    connection.set_schema_to_public()
    # Two ended jobs whose rows name B's student: school B's own (on its site) and one asked in unit B (on the
    # platform's). Each is called on both sites: a job is found only on its own site.
    jobs = [
        BackgroundJob.objects.create(
            kind=kind,
            requested_by_id=w.accounts[requester],
            capability=capability,
            state=JobState.PARTLY_DONE,
            total=1,
            done=1,
            failed=1,
            summary={"vi": SECRET_REASON, "en": SECRET_REASON},
            params={"title": {"vi": SECRET_NAME}, "back_url": "/"},
            **scope,
        )
        for kind, requester, capability, scope in (
            ("schools.import", "principal_b", "records.view_all", {"school": school}),
            ("schools.provision", "unit_b_admin", "schools.manage", {"unit": unit}),
        )
    ]
    for job in jobs:
        BackgroundJobRow.objects.create(
            job=job, number=2, key=SECRET_NAME, group="9Ư1", outcome=RowOutcome.ERROR, message=SECRET_COMMENT
        )
    now, start = timezone.now(), current_school_year(timezone.localdate())
    unit_window = window_services.window_create(
        actor=None,
        category="scores_1",
        year_start=start,
        unit=unit,
        opens_at=now - dt.timedelta(days=2),
        locks_at=now - dt.timedelta(days=1),
        reason=SECRET_REASON,
    )
    school_window = window_services.window_create(
        actor=None,
        category="scores_2",
        year_start=start,
        school=school,
        opens_at=now - dt.timedelta(hours=1),
        locks_at=now + dt.timedelta(days=1),
        reason=SECRET_REASON,
    )
    exception = window_services.exception_request(
        actor=w.account("principal_b"),
        window=unit_window,
        school=school,
        until=now + dt.timedelta(hours=2),
        reason=SECRET_REASON,
        class_ids=[klass.pk],
    )
    read_grant = grant_services.grant_request(
        actor=w.account("inspector"),
        school=school,
        class_ids=[klass.pk],
        student_ids=[student.pk],
        targets_label=SECRET_NAME,
        purpose=SECRET_REASON,
        until=now + dt.timedelta(days=1),
    )
    grant_services.grant_decide(
        actor=w.account("principal_b"), grant_id=read_grant.pk, school_id=school.pk, approve=True
    )
    return {
        "class": [klass.pk],
        "student": [student.pk],
        "year": [year.pk],
        "subject": [math.pk],
        "department": [math.department_id],
        "record": [record.pk],
        "award": [award.pk],
        "exemption": [exemption.pk],
        "guardian": [parent.pk],
        "term": [1],
        "unit": [unit.pk],
        "school": [school.pk],
        "scope": [("school", school.pk), ("unit", unit.pk)],
        "membership": [Membership.objects.filter(school=school, account_id=w.accounts["teacher_b"]).get().pk],
        "window": [unit_window.pk, school_window.pk],
        "exception": [exception.pk],
        "job": [job.pk for job in jobs],
        "grant": [read_grant.pk],
    }


def _payload(ids: dict[str, list]) -> dict:
    """One body for every write: the fields the school's and the platform's forms and APIs take, with B's ids."""
    student, klass = ids["student"][0], ids["class"][0]
    return {
        "cells": [{"student": student, "column": "gk", "value": "1"}],
        "student": student,
        "students": [student],
        "class_ids": [klass],
        "student_ids": [student],
        "to_class": klass,
        "account": ids["guardian"][0],
        "account_id": ids["guardian"][0],
        "school_id": ids["school"][0],
        "unit_id": ids["unit"][0],
        "target": ids["unit"][0],
        "username": "teacher_b",
        "full_name": "Tên Mới",
        "name": "Tên mới",
        "title": "Mới",
        "role": "principal",
        "reason": "Đổi",
        "note": "Đổi",
        "approve": True,
        "on": "01/10/2025",
    }


def _send(client, call: Call, payload: dict):
    if call.method == "get":
        return client.get(call.path, HTTP_HOST=call.host)
    if issubclass(call.route.view_class, APIView):
        return getattr(client, call.method)(
            call.path, json.dumps(payload), content_type="application/json", HTTP_HOST=call.host
        )
    form = {k: v for k, v in payload.items() if not isinstance(v, list | dict)}
    return client.post(call.path, form, HTTP_HOST=call.host)


def _body(response) -> str:
    if response.get("Content-Type", "").startswith("text/html"):
        return page_text(response)
    return b"".join(response.streaming_content if response.streaming else [response.content]).decode(errors="replace")


def _refusal_problem(call: Call, response) -> str | None:
    """Why the answer is not a refusal (None when it is)."""
    status = response.status_code
    if status == 302 and call.method != "get" and not issubclass(call.route.view_class, APIView):
        # A form's refusal may go back to the requester's page, with an error message and nothing done.
        levels = [m.level for m in get_messages(response.wsgi_request)]
        if levels and messages.SUCCESS not in levels and max(levels) >= messages.ERROR:
            return None
        return f"302 to {response.get('Location')} without an error message"
    if status in REFUSED:
        return None
    if call.route.converters or call.method != "get":
        return f"answered {status}"
    capability = declared_capability(call.route.view_class())
    return None if capability in (PUBLIC, SIGNED_IN) else f"answered {status} ({capability})"


def _state(schemas: list[str]) -> dict[str, tuple]:
    """Every readable table of the schemas: row count and a digest of its rows."""
    state = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s)"
            " AND has_table_privilege(format('%%I.%%I', schemaname, tablename), 'SELECT') ORDER BY 1, 2",
            [schemas],
        )
        for schema, table in cursor.fetchall():
            if table in VOLATILE_TABLES:
                continue
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                f' FROM "{schema}"."{table}" t'
            )
            state[f"{schema}.{table}"] = cursor.fetchone()
    return state


def _attack(w, name: str, ids: dict[str, list], made: list[Call]) -> None:
    client = client_for(w.account(name), PLATFORM_HOST)
    schemas = ["public", *School.objects.filter(pk__in=[w.school_a, w.school_b]).values_list("schema_name", flat=True)]
    before = _state(schemas)
    payload = _payload(ids)
    problems = []
    for call in made:
        response = _send(client, call, payload)
        body = _body(response)
        problem = _refusal_problem(call, response)
        leaked = [secret for secret in SECRETS if secret in body]
        if problem or leaked:
            problems.append(f"{call.method.upper()} {call.host}{call.path}: {problem or ''} {leaked or ''}")
    connection.set_schema_to_public()
    after = _state(schemas)
    changed = sorted(table for table in before.keys() | after.keys() if before.get(table) != after.get(table))
    assert not problems, f"{name}:\n" + "\n".join(problems)
    assert changed == [], f"{name}'s refused requests changed {changed}"
    assert len(before) >= 40


@pytest.mark.parametrize("name", OUTSIDERS)
def test_school_b_ids_are_refused_everywhere(w, school_b_data, name):
    _attack(w, name, school_b_data, id_calls(school_b_data))


@pytest.mark.parametrize("name", OUTSIDERS)
def test_school_b_lists_refuse_school_a_and_its_unit(w, school_b_data, name):
    _attack(w, name, school_b_data, list_calls(school_b_data))


def test_school_b_ids_are_real(w, school_b_data):
    """School B's principal (on its site) and unit B's admin (on the platform) open every page and API the refusals
    above were asked for: those are about the school, not the ids."""
    owners = {
        SCHOOL_B_HOST: client_for(w.account("principal_b"), SCHOOL_B_HOST),
        PLATFORM_HOST: client_for(w.account("unit_b_admin"), PLATFORM_HOST),
    }
    answers = {}
    for call in id_calls(school_b_data):
        if call.method == "get" and call.host in owners:
            answers[call.host, call.path] = owners[call.host].get(call.path, HTTP_HOST=call.host).status_code
    # The qualities of TT27 are a primary class's; school B's class is of lower secondary. A job is found on its own
    # site only: the school's job on B's, the unit's on the platform's.
    school_job, unit_job = school_b_data["job"]
    misplaced = {f"/jobs/{unit_job}/", f"/api/v1/jobs/{unit_job}/"}
    misplaced_public = {f"/jobs/{school_job}/", f"/api/v1/jobs/{school_job}/"}
    expected = {(host, path): 400 for host, path in answers if "/qualities/" in path}
    expected |= {(SCHOOL_B_HOST, path): 404 for path in misplaced} | {(PLATFORM_HOST, p): 404 for p in misplaced_public}
    # A read grant's pages open to its holder only (a member reads the school's records on its own pages).
    holder = client_for(w.account("inspector"), SCHOOL_B_HOST)
    granted = {
        path for host, path in answers if host == SCHOOL_B_HOST and re.match(r"/grants/\d+/(read|students)/", path)
    }
    assert granted and all(holder.get(path).status_code == 200 for path in granted)
    expected |= {(SCHOOL_B_HOST, path): 403 for path in granted}
    # School B has archived nothing: its bundles are refused with a message (409, a page shows it as 403); the
    # principal's own bundles are tested in tests/reporting/test_archive.py.
    expected |= {(SCHOOL_B_HOST, path): 403 for host, path in answers if re.match(r"/archive/\w+/\d+/bundle/", path)}
    assert {key: status for key, status in answers.items() if status != 200} == expected
    page = owners[SCHOOL_B_HOST].get(
        "/classes/{}/sheets/{}/1/".format(school_b_data["class"][0], school_b_data["subject"][0])
    )
    assert page.status_code == 200 and SECRET_NAME in page.content.decode()


def _placeholder_ids() -> dict[str, list]:
    kinds = {*COLLECTIONS.values(), *PARAMS.values()}
    return {**{kind: [1] for kind in kinds}, "guardian": [1], "scope": [("school", 1), ("unit", 1)]}


@pytest.mark.parametrize("urlconf", ["hocba.urls_school", "hocba.urls_public"])
def test_every_id_endpoint_is_exercised(urlconf):
    """A new pattern with an integer parameter is called with school B's ids above, or exempted here with a reason."""
    with_ids = [r for r in routes(urlconf) if r.int_params]
    exercised = {r.route for r in with_ids if calls(r, _placeholder_ids())}
    missed = [r.route for r in with_ids if r.route not in exercised and (urlconf, r.route) not in EXEMPT]
    assert missed == [], f"taught to none of COLLECTIONS, PARAMS, WORDS nor EXEMPT: {missed}"
    exempt = {route for conf, route in EXEMPT if conf == urlconf}
    stale = exempt - ({r.route for r in with_ids} - exercised)
    assert stale == set(), f"exempted, but gone or exercised: {sorted(stale)}"
    pairs = {(r.route, m) for r in with_ids for m in r.methods() if r.route in exercised}
    assert len(pairs) >= (90 if urlconf == "hocba.urls_school" else 20)
