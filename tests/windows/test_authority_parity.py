"""One rule for who may schedule a window and who decides an exception to it: what the pages and the API show
(``WindowAuthority``) is exactly what the services let through, for every role against every tier's window."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone
from hocba.kernel.errors import NotAllowed

from tenants.models import AdministrativeUnit, School
from tenants.selectors import access_for
from tenants.services import windows as svc
from tenants.windows import WindowAuthority
from tests.school_fixtures import current_school_year
from tests.support import ACCOUNTS

YEAR = current_school_year(timezone.localdate())


class _RolledBack(Exception):
    pass


def _allowed(call) -> bool:
    """Did the service let the call through? Whatever it did is rolled back."""
    try:
        with transaction.atomic():
            call()
            raise _RolledBack
    except _RolledBack:
        return True
    except NotAllowed:
        return False


@pytest.fixture
def windows(w):
    """A window of every tier and branch (set by the platform), each with a request from a school it applies to."""
    now = timezone.now()
    units = {pk: AdministrativeUnit.objects.get(pk=pk) for pk in (w.province, w.unit_a, w.unit_b)}
    schools = {pk: School.objects.get(pk=pk) for pk in (w.school_a, w.school_b)}
    scopes = [
        (units[w.province], None, w.school_a),
        (units[w.unit_a], None, w.school_a),
        (units[w.unit_b], None, w.school_b),
        (None, schools[w.school_a], w.school_a),
        (None, schools[w.school_b], w.school_b),
    ]
    out = []
    for unit, school, asking in scopes:
        window = svc.window_create(
            actor=None,
            category="scores_1",
            year_start=YEAR,
            unit=unit,
            school=school,
            opens_at=now - dt.timedelta(days=2),
            locks_at=now - dt.timedelta(hours=1),
            reason="Thử nghiệm",
        )
        principal = w.account("principal_a" if asking == w.school_a else "principal_b")
        exception = svc.exception_request(
            actor=principal,
            window=window,
            school=schools[asking],
            until=now + dt.timedelta(days=1),
            reason="Nhập bù",
            class_ids=[1],
        )
        out.append((window, exception))
    return out


@pytest.mark.parametrize("name", [name for name, _role, _scope in ACCOUNTS])
def test_the_pages_show_exactly_what_the_services_allow(w, windows, name):
    actor = w.account(name)
    authority = WindowAuthority(access_for(actor))
    for window, exception in windows:
        schedules = _allowed(lambda window=window: svc.window_cancel(actor=actor, window=window))
        decides = _allowed(
            lambda exception=exception: svc.exception_decide(actor=actor, exception=exception, approve=True)
        )
        assert authority.may_schedule(window) is schedules, (name, window.tier, "schedule")
        assert authority.may_decide(window) is decides, (name, window.tier, "decide")


def test_someone_may_do_each_thing(w, windows):
    """The parity above is not vacuous: each window has someone who schedules it and someone who decides on it."""
    authorities = [WindowAuthority(access_for(w.account(name))) for name, _role, _scope in ACCOUNTS]
    for window, _exception in windows:
        assert any(a.may_schedule(window) for a in authorities), window.tier
        assert any(a.may_decide(window) for a in authorities), window.tier
