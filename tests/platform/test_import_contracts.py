"""The sides of the code are kept by a machine: ``make lint`` runs the import contracts of ``.importlinter``, and a
new crossing — one of each kind below, planted in a copy of the tree — fails it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = {"tenants": "tenants", "schools": "schools", "reporting": "reporting", "hocba": "platform/hocba"}


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'platform'}"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(ROOT / ".importlinter")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """The project's packages, copied: probes are planted here, never in the checkout."""
    root = tmp_path_factory.mktemp("tree")
    for _name, rel in PACKAGES.items():
        shutil.copytree(
            ROOT / rel,
            root / rel,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "static", "templates", "locale"),
        )
    return root


def test_the_tree_keeps_every_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


# (where the probe goes, what it imports, the contract that must break)
CROSSINGS = [
    ("tenants/_probe.py", "from schools.models import Student", "Public code enters a school only through"),
    ("tenants/views/_probe.py", "from schools import compliance", "Public code enters a school only through"),
    ("schools/_probe.py", "from tenants.models import School", "School code uses the public side through"),
    ("schools/services/_probe.py", "from tenants.views import windows", "School code uses the public side through"),
    ("reporting/_probe.py", "from tenants.perschool import run_in_school", "School code uses the public side through"),
    ("platform/hocba/kernel/_probe.py", "from tenants import selectors", "The kernel imports no app"),
    ("schools/api/_probe.py", "from schools.views import classes", "API modules never import page modules"),
    ("tenants/api/_probe.py", "from tenants.views import windows", "API modules never import page modules"),
    ("schools/rules/_probe.py", "from django.db import models", "The assessment rules import no Django"),
]


@pytest.mark.parametrize("where,statement,contract", CROSSINGS, ids=[c[0] + ": " + c[1] for c in CROSSINGS])
def test_a_new_crossing_fails_the_lint(tree, where, statement, contract):
    probe = tree / where
    # Inside a function too: an import placed in a function to hide a cycle is still a crossing.
    probe.write_text(f"def probe():\n    {statement}\n")
    try:
        result = lint_imports(tree)
    finally:
        probe.unlink()
    assert result.returncode != 0
    report = " ".join(result.stdout.split())  # long contract names wrap over lines
    verdict = re.search(re.escape(contract) + r".*? (KEPT|BROKEN)\b", report)
    assert verdict is not None and verdict.group(1) == "BROKEN", result.stdout
