"""hocba.dev.lint: each rule finds exactly the offending modules of a small tree, and the CLI reports them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hocba.dev import lint

REPO = Path(__file__).resolve().parents[2]

# path → source; the comment on the first line says what the rules must find there (nothing when "clean").
TREE = {
    # orm-in-view
    "schools/views/bad.py": """
        # orm-in-view
        from schools.models import Student

        def page(request):
            return Student.objects.filter(active=True)
    """,
    "tenants/api/bad.py": """
        # orm-in-view
        def endpoint(request, model):
            return model.objects.count()
    """,
    "reporting/views.py": """
        # orm-in-view
        from reporting.models import Export

        LATEST = Export.objects.order_by("-id")
    """,
    "schools/views/good.py": """
        # clean: names, strings and comments are not managers
        from schools.selectors import students

        def page(request):
            # Student.objects.filter() belongs in a selector
            objects = students(request.school)
            return {"help": "Student.objects.all()", "objects": objects}
    """,
    "schools/services/manager.py": """
        # clean: services use the ORM
        from schools.models import Student

        def student_add(name):
            return Student.objects.create(name=name)
    """,
    # environ
    "tenants/reads.py": """
        # environ
        import os

        LEAD = float(os.environ.get("HOCBA_WINDOW_REMIND_DAYS", "3"))
    """,
    "tenants/getenv.py": """
        # environ
        from os import getenv

        BUCKET = getenv("HOCBA_ARCHIVE_BUCKET")
    """,
    "tenants/renamed.py": """
        # environ
        import os as operating_system

        PORT = operating_system.environ["HOCBA_PORT"]
    """,
    "platform/hocba/settings/base.py": """
        # environ
        DAYS = int(__import__("os").environ.get("HOCBA_WINDOW_EXCEPTION_MAX_DAYS", "14"))
    """,
    "platform/hocba/env.py": """
        # clean: the one module that reads the environment
        import os

        DEBUG = os.environ.get("HOCBA_DEBUG", "")
    """,
    "platform/hocba/dev/tool.py": """
        # clean: developer tools
        import os

        os.environ["DATABASE_URL"] = "postgresql://postgres@/hocba"
    """,
    "platform/hocba/wsgi.py": """
        # clean: the entry point names its settings module
        import os

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hocba.settings.local")
    """,
    "platform/hocba/celery.py": """
        # environ: the allowed line is allowed, nothing else
        import os

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hocba.settings.local")
        QUEUE = os.environ.get("HOCBA_QUEUE", "celery")
    """,
    "schools/path_only.py": """
        # clean: os.path is not the environment
        import os

        HERE = os.path.dirname(__file__)
    """,
    # function-import
    "schools/inside.py": """
        # function-import
        def as_dict(row):
            from dataclasses import asdict

            return asdict(row)
    """,
    "schools/method.py": """
        # function-import
        class Sheet:
            async def save(self):
                import json

                return json.dumps(self)
    """,
    "tenants/cycle.py": """
        # function-import: a project import is reported even when the function is allowed
        def school_close(school):
            from .models import School

            return School
    """,
    "tenants/lazy.py": """
        # function-import: only openpyxl is allowed here
        def read_rows(upload):
            from openpyxl import load_workbook
            import csv

            return load_workbook(upload), csv
    """,
    "schools/typing_only.py": """
        # clean: TYPE_CHECKING blocks and module-level imports
        from __future__ import annotations

        import json
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from schools.models import Student


        def dump(student: Student) -> str:
            if TYPE_CHECKING:
                from tenants.models import School
            return json.dumps(student.pk)
    """,
    "schools/apps.py": """
        # clean: AppConfig.ready() imports what needs the app registry
        from django.apps import AppConfig


        class SchoolsConfig(AppConfig):
            name = "schools"

            def ready(self):
                from . import signals  # noqa: F401
    """,
    "schools/not_apps.py": """
        # function-import: ready() is special only in apps.py
        class Thing:
            def ready(self):
                from . import signals  # noqa: F401
    """,
    "schools/migrations/0001_initial.py": """
        # clean: migrations are skipped
        import os

        def forwards(apps, schema_editor):
            from schools.models import Student

            return Student.objects.all(), os.environ
    """,
}


def _expected() -> set[tuple[str, str]]:
    """(path, rule) pairs named on the first line of each module of TREE."""
    expected = set()
    for path, source in TREE.items():
        first = textwrap.dedent(source).strip().splitlines()[0].removeprefix("# ")
        rule = first.split(":")[0]
        if rule != "clean":
            expected.add((path, rule))
    return expected


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for path, source in TREE.items():
        file = tmp_path / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(textwrap.dedent(source).lstrip())
    monkeypatch.setitem(lint.LAZY_IMPORTS, "tenants/lazy.py:openpyxl", "heavy, one rare path (test entry)")
    monkeypatch.setitem(lint.LAZY_IMPORTS, "tenants/cycle.py:school_close", "ignored for project imports")
    return tmp_path


def test_each_rule_finds_exactly_the_offending_modules(tree: Path) -> None:
    findings = lint.lint(["platform", "tenants", "schools", "reporting"], root=tree)
    assert {(f.path, f.rule) for f in findings} == _expected()


def test_findings_name_the_lines(tree: Path) -> None:
    findings = lint.lint(["platform/hocba/celery.py", "tenants/lazy.py", "schools/views/bad.py"], root=tree)
    assert [(f.path, f.line, f.rule) for f in findings] == [
        ("platform/hocba/celery.py", 5, "environ"),
        ("schools/views/bad.py", 5, "orm-in-view"),
        ("tenants/lazy.py", 4, "function-import"),
    ]
    assert "csv" in findings[2].message


def test_a_pattern_rule_matches_lines(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\nprint(x)  # debug\n")
    rule: lint.Rule = {"name": "no-print", "description": "no print()", "pattern": r"\bprint\("}
    findings = lint.lint(["a.py"], root=tmp_path, rules=[rule])
    assert [str(f) for f in findings] == ["a.py:2: no-print: no print()"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)])}
    return subprocess.run(
        [sys.executable, "-m", "hocba.dev.lint", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_prints_findings_and_exits_1(tree: Path) -> None:
    bad = _cli("--root", str(tree), "schools/views/bad.py", "tenants/reads.py")
    assert bad.returncode == 1, bad.stderr
    assert bad.stdout.splitlines() == [
        "schools/views/bad.py:5: orm-in-view: ORM manager used here: read through a selector, write through a service",
        "tenants/reads.py:4: environ: environment read outside hocba.env: "
        "add the variable to hocba.env and use it from there",
    ]
    clean = _cli("--root", str(tree), "schools/views/good.py", "platform/hocba/env.py", "schools/apps.py")
    assert (clean.returncode, clean.stdout) == (0, "")


def test_cli_lists_the_rules() -> None:
    listed = _cli("--list")
    assert listed.returncode == 0, listed.stderr
    assert [line.split(":")[0] for line in listed.stdout.splitlines() if not line.startswith(" ")] == [
        rule["name"] for rule in lint.RULES
    ]


def test_the_dev_package_passes_its_own_lint() -> None:
    assert lint.lint(["platform/hocba/dev"]) == []
