"""Compile the project's translation catalogues with polib, and check them.

``python -m hocba.i18n_compile`` (from the repository root, ``PYTHONPATH=platform``) writes a ``.mo`` next
to every ``.po`` under ``platform/hocba/locale``; GNU gettext is needed only to *extract* messages
(``makemessages``), never to compile them or at run time.  ``--check`` writes nothing and exits 1 when
``check()`` finds a problem.

``check()`` returns one line per problem:

* a ``.po`` that cannot be parsed;
* an untranslated entry (an empty ``msgstr``, or a plural form missing or empty) or a fuzzy one — Django
  would show the msgid (fuzzy entries are left out of the ``.mo``);
* a translation whose placeholders (``%(name)s``, ``%s``, ``{name}``) do not match its msgid's, which
  would fail or lose data when the message is formatted;
* a ``.mo`` that is missing, older than its ``.po``, or whose messages differ from what the ``.po``
  compiles to (compared entry by entry, so a ``.mo`` written by GNU ``msgfmt`` counts as up to date).

This module imports nothing from Django, so it runs without settings.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# A checkout writes a .po and its .mo within moments of each other, in either order.
MTIME_SLACK_SECONDS = 2.0

_PERCENT_RE = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])"
)
_BRACE_RE = re.compile(r"\{\{|\}\}|\{(?P<name>[^{}:!]*)(?:![rsa])?(?::[^{}]*)?\}")


def catalogues(locale_dir: Path | str = LOCALE_DIR) -> list[Path]:
    """Every ``.po`` under ``locale_dir``, sorted."""
    return sorted(Path(locale_dir).rglob("*.po"))


def mo_path(po_path: Path | str) -> Path:
    return Path(po_path).with_suffix(".mo")


def _load(po_path: Path | str) -> polib.POFile:
    return polib.pofile(str(po_path), wrapwidth=0)


def compile_catalogue(po_path: Path | str, mo_file: Path | str | None = None) -> Path:
    """Compile one ``.po``; the ``.mo`` is replaced atomically.  Returns the ``.mo`` path."""
    po = _load(po_path)
    target = Path(mo_file) if mo_file is not None else mo_path(po_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(po.to_binary())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def compile_all(locale_dir: Path | str = LOCALE_DIR) -> list[Path]:
    """Compile every catalogue under ``locale_dir``; returns the ``.mo`` paths written."""
    return [compile_catalogue(po) for po in catalogues(locale_dir)]


# --- checks -------------------------------------------------------------------------------------


def _placeholders(text: str, flags: list[str]) -> tuple[list[str], list[str]]:
    """(named placeholders, positional conversions) of ``text`` according to the entry's format flags."""
    named: list[str] = []
    positional: list[str] = []
    if "python-format" in flags:
        for m in _PERCENT_RE.finditer(text):
            if m.group("conv") == "%":
                continue
            if m.group("name") is not None:
                named.append(m.group("name"))
            else:
                positional.append(m.group("conv"))
    if "python-brace-format" in flags:
        for m in _BRACE_RE.finditer(text):
            name = m.group("name")
            if name is None:
                continue  # an escaped brace
            (named if name and not name.isdigit() else positional).append(name)
    return named, positional


def _entry_label(entry: polib.POEntry) -> str:
    msgid = entry.msgid if len(entry.msgid) <= 70 else entry.msgid[:67] + "..."
    ctx = f"[{entry.msgctxt}] " if entry.msgctxt else ""
    return f"{ctx}{msgid!r} (line {entry.linenum})"


def _nplurals(po: polib.POFile) -> int | None:
    m = re.search(r"nplurals\s*=\s*(\d+)", po.metadata.get("Plural-Forms", ""))
    return int(m.group(1)) if m else None


def _placeholder_problems(entry: polib.POEntry) -> list[str]:
    flags = entry.flags
    if "python-format" not in flags and "python-brace-format" not in flags:
        return []
    source_named, source_positional = _placeholders(entry.msgid, flags)
    if entry.msgid_plural:
        plural_named, plural_positional = _placeholders(entry.msgid_plural, flags)
        allowed = set(source_named) | set(plural_named)
        translations = [entry.msgstr_plural[k] for k in sorted(entry.msgstr_plural)]
    else:
        allowed = set(source_named)
        translations = [entry.msgstr]
    problems = []
    for text in translations:
        if not text:
            continue
        named, positional = _placeholders(text, flags)
        extra = set(named) - allowed
        if extra:
            problems.append(f"placeholders {sorted(extra)} are not in the msgid")
        if not entry.msgid_plural and set(source_named) - set(named):
            problems.append(f"placeholders {sorted(set(source_named) - set(named))} are missing")
        if positional and not entry.msgid_plural and positional != source_positional:
            problems.append(f"positional placeholders {positional} differ from the msgid's {source_positional}")
        elif not entry.msgid_plural and source_positional and not positional:
            problems.append(f"positional placeholders {source_positional} are missing")
    return problems


def _messages(entries, metadata: dict) -> dict:
    """What a catalogue says, as compared between a .po and a .mo: translated entries and the header."""
    out: dict = {("", "__metadata__"): tuple(sorted(metadata.items()))}
    for e in entries:
        if e.msgid_plural:
            value = (e.msgid_plural, tuple(e.msgstr_plural[k] for k in sorted(e.msgstr_plural)))
        else:
            value = e.msgstr
        out[(e.msgctxt or "", e.msgid)] = value
    return out


def check_catalogue(po_path: Path | str) -> list[str]:
    """The problems of one catalogue and its ``.mo`` (see the module docstring)."""
    po_path = Path(po_path)
    where = str(po_path)
    try:
        po = _load(po_path)
    except (OSError, ValueError) as exc:
        return [f"{where}: cannot be read: {exc}"]
    problems: list[str] = []
    nplurals = _nplurals(po)
    if nplurals is None:
        problems.append(f"{where}: the header has no Plural-Forms")
    for entry in po:
        if entry.obsolete:
            continue
        label = _entry_label(entry)
        if entry.fuzzy:
            problems.append(f"{where}: fuzzy: {label}")
            continue
        if entry.msgid_plural:
            forms = entry.msgstr_plural
            if nplurals is not None and sorted(forms) != list(range(nplurals)):
                problems.append(f"{where}: {len(forms)} plural forms, the header says {nplurals}: {label}")
            if not forms or any(not forms[k] for k in forms):
                problems.append(f"{where}: untranslated: {label}")
                continue
        elif not entry.msgstr:
            problems.append(f"{where}: untranslated: {label}")
            continue
        problems.extend(f"{where}: {p}: {label}" for p in _placeholder_problems(entry))

    mo_file = mo_path(po_path)
    if not mo_file.exists():
        problems.append(f"{mo_file}: missing; run python -m hocba.i18n_compile")
        return problems
    if mo_file.stat().st_mtime + MTIME_SLACK_SECONDS < po_path.stat().st_mtime:
        problems.append(f"{mo_file}: older than its .po; run python -m hocba.i18n_compile")
    try:
        mo = polib.mofile(str(mo_file))
    except (OSError, ValueError) as exc:
        problems.append(f"{mo_file}: cannot be read: {exc}")
        return problems
    compiled = _messages(po.translated_entries(), po.metadata)
    stored = _messages([e for e in mo if e.msgid], mo.metadata)
    if compiled != stored:
        changed = sorted(k for k in compiled.keys() | stored.keys() if compiled.get(k) != stored.get(k))
        sample = ", ".join(repr(k[1])[:60] for k in changed[:3])
        problems.append(
            f"{mo_file}: differs from its .po in {len(changed)} message(s) ({sample}); run python -m hocba.i18n_compile"
        )
    return problems


def check(locale_dir: Path | str = LOCALE_DIR) -> list[str]:
    """Every problem of every catalogue under ``locale_dir``; an empty list when all is well."""
    locale_dir = Path(locale_dir)
    problems: list[str] = []
    pos = catalogues(locale_dir)
    if not pos:
        problems.append(f"{locale_dir}: no .po catalogue")
    for po_path in pos:
        problems.extend(check_catalogue(po_path))
    known = {mo_path(p) for p in pos}
    problems.extend(f"{mo}: has no .po" for mo in sorted(locale_dir.rglob("*.mo")) if mo not in known)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hocba.i18n_compile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if check() finds a problem")
    parser.add_argument("--locale-dir", type=Path, default=LOCALE_DIR, help=f"default: {LOCALE_DIR}")
    args = parser.parse_args(argv)
    if not args.check:
        for po_path in catalogues(args.locale_dir):
            po = _load(po_path)
            target = compile_catalogue(po_path)
            print(f"{target}: {len(po.translated_entries())} of {len([e for e in po if not e.obsolete])} messages")
    problems = check(args.locale_dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    if args.check:
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
