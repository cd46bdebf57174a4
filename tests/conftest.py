"""Session-wide world: a province, two units, two schools created once; each test rolls back."""

from __future__ import annotations

import pytest
from django.test import Client
from hocba.kernel.roles import Role

from tests.support import ACCOUNTS, DAY, PASSWORD, World, client_for, give_totp


def _login_as(user: str, password: str = "") -> None:
    from django.db import connections

    conn = connections["default"]
    conn.close()
    conn.settings_dict.update(USER=user, PASSWORD=password)


@pytest.fixture(scope="session")
def world(django_db_setup, django_db_blocker):
    from django.conf import settings
    from django.core.management import call_command

    from tenants import provisioning
    from tenants.models import UnitKind
    from tenants.services.accounts import account_create
    from tenants.services.schools import school_create
    from tenants.services.units import unit_create

    with django_db_blocker.unblock():
        # As the owner: the application's role, its privileges and the school template.
        owner = dict(settings.DATABASES["default"])
        call_command("db_roles", verbosity=0)
        provisioning.template_current()
        # Everything else runs as the application does, with a role that owns nothing.
        _login_as(settings.DB_APP_USER, settings.DB_APP_PASSWORD)
        province = unit_create(
            actor=None, kind=UnitKind.PROVINCE, name="Sở GD&ĐT Thử nghiệm", official_code="99", valid_from=DAY
        )
        unit_a = unit_create(
            actor=None,
            kind=UnitKind.COMMUNE,
            name="Xã An Thạnh",
            official_code="99-AT",
            parent=province,
            valid_from=DAY,
        )
        unit_b = unit_create(
            actor=None,
            kind=UnitKind.WARD,
            name="Phường Bình Minh",
            official_code="99-BM",
            parent=province,
            valid_from=DAY,
        )
        school_a = school_create(
            actor=None,
            code="99000001",
            name="Trường THCS An Thạnh",
            levels="THCS",
            unit=unit_a,
            slug="thcs-an-thanh",
            on=DAY,
        )
        school_b = school_create(
            actor=None,
            code="99000002",
            name="Trường THCS Bình Minh",
            levels="THCS",
            unit=unit_b,
            slug="thcs-binh-minh",
            on=DAY,
        )
        scopes = {
            "province": (province, None),
            "unit_a": (unit_a, None),
            "unit_b": (unit_b, None),
            "school_a": (None, school_a),
            "school_b": (None, school_b),
        }
        ids = {}
        for name, role, scope in ACCOUNTS:
            unit, school = scopes[scope]
            account = account_create(
                actor=None,
                username=name,
                full_name=name.replace("_", " ").title(),
                email=f"{name}@example.vn",
                password=PASSWORD,
                role=role.value,
                unit=unit,
                school=school,
                valid_from=DAY,
            )
            if role in (Role.PROVINCE_ADMIN, Role.UNIT_ADMIN, Role.PRINCIPAL, Role.SCHOOL_IT_ADMIN):
                give_totp(account)
            ids[name] = account.pk
    yield World(province.pk, unit_a.pk, unit_b.pk, school_a.pk, school_b.pk, ids)
    with django_db_blocker.unblock():
        from django.db import connections

        connections["owner"].close()  # or dropping the test database finds it still in use
        _login_as(owner["USER"], owner["PASSWORD"])


@pytest.fixture
def w(world, db) -> World:
    return world


@pytest.fixture
def login(w):
    def make(name: str, host: str = "hocba.localhost") -> Client:
        return client_for(w.account(name), host)

    return make


class _Queries:
    def __init__(self, captured):
        self._captured = captured

    @property
    def statements(self) -> list[str]:
        # The tenant backend sets search_path on every new cursor; that is not a query of ours.
        return [q["sql"] for q in self._captured.captured_queries if not q["sql"].startswith("SET search_path")]

    def __len__(self) -> int:
        return len(self.statements)


@pytest.fixture
def queries():
    """``with queries() as q: …`` then ``len(q)``: statements run, search_path settings left out."""
    from contextlib import contextmanager

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    @contextmanager
    def capture():
        with CaptureQueriesContext(connection) as ctx:
            yield _Queries(ctx)

    return capture


from tests.school_fixtures import klass, klass_now  # noqa: E402,F401  (the fixture, for tests/schools and tests/windows)


@pytest.fixture(autouse=True)
def _language_reset():
    """A request in English (Accept-Language) leaves its language active in the thread; the next test starts in
    the site's default (Vietnamese) again."""
    yield
    from django.utils import translation

    translation.deactivate()
