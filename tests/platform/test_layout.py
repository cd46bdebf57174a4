"""The layout of DESIGN §2 and the tenancy rules of §3 that code can check."""

from __future__ import annotations

import importlib
import sysconfig
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parents[2]


def test_import_platform_is_the_standard_library():
    module = importlib.import_module("platform")
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(module.__file__).resolve().parent == stdlib
    assert callable(module.python_version)


@pytest.mark.parametrize(
    "entry",
    [
        "pyproject.toml",
        "platform",
        "tenants",
        "schools",
        "reporting",
        "infra",
        "helm",
        "tests",
        "README.md",
        "Makefile",
        "manage.py",
        ".ci/run",
        "bench",
        "constraints.txt",
    ],
)
def test_top_level_layout(entry):
    assert (REPO / entry).exists(), entry


def test_every_project_app_declares_its_side():
    for name in ("tenants", "schools", "reporting"):
        config = apps.get_app_config(name)
        side = getattr(config, "schema_side", None)
        assert side in {"public", "school"}, name
        if side == "public":
            assert name in settings.SHARED_APPS and name not in settings.TENANT_APPS
        else:
            assert name in settings.TENANT_APPS and name not in settings.SHARED_APPS


def test_school_schemas_hold_only_the_school_side_apps_tables(world, db):
    """No contrib app (auth, sessions, allauth, DRF…) has a table in a school's schema."""
    from tenants.models import School

    school_apps = {c.label for c in apps.get_app_configs() if getattr(c, "schema_side", None) == "school"}
    schema = School.objects.get(pk=world.school_a).schema_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        tables = [name for (name,) in cursor.fetchall()]
    assert "schools_student" in tables
    assert [t for t in tables if t != "django_migrations" and t.split("_", 1)[0] not in school_apps] == []


def test_school_schema_is_lean(world, db):
    from tenants.models import School

    schema = School.objects.get(pk=world.school_a).schema_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [schema])
        (tables,) = cursor.fetchone()
    assert 1 <= tables <= 30


# TENANT_LIMIT_SET_CALLS is on, and safe: tests/platform/test_search_path.py.
