"""Translations: our Vietnamese msgids have English, the third-party screens have Vietnamese.

* ``platform/hocba/locale/en``: every msgid of our code and templates (they are Vietnamese) in English.
* ``platform/hocba/locale/vi``: django-allauth (no Vietnamese of its own), and the DRF / Django messages
  their own Vietnamese catalogues lack. None of our msgids.

No database, and nothing is written into the repository: compiling and ``makemessages`` run in tmp_path.
"""

from __future__ import annotations

import ast
import gettext as gnu_gettext
import io
import os
import re
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation.template import templatize
from hocba import i18n_compile

REPO = Path(__file__).resolve().parents[2]
LOCALE = REPO / "platform" / "hocba" / "locale"
EN_PO = LOCALE / "en" / "LC_MESSAGES" / "django.po"
VI_PO = LOCALE / "vi" / "LC_MESSAGES" / "django.po"

# What ``makemessages`` scans when run from the repository root (README / Makefile): every .py, .html and
# .txt file, except hidden files and directories, ``locale`` directories and these directories.
EXTENSIONS = {".py", ".html", ".txt"}
SKIPPED_DIRS = {"tests", "bench", ".venv", ".data", ".tools", "locale", "__pycache__", "node_modules"}
# The Python keywords makemessages hands to xgettext: name -> (context argument, msgid argument).
KEYWORDS = {
    "_": (None, 0),
    "gettext": (None, 0),
    "gettext_lazy": (None, 0),
    "gettext_noop": (None, 0),
    "ngettext": (None, 0),
    "ngettext_lazy": (None, 0),
    "pgettext": (0, 1),
    "pgettext_lazy": (0, 1),
    "npgettext": (0, 1),
    "npgettext_lazy": (0, 1),
}
THIRD_PARTY_SOURCES = ("allauth/", "rest_framework/", "django/")
VIETNAMESE_LETTERS = re.compile("[ăâđêôơưĂÂĐÊÔƠƯ\u0300-\u0323\u1ea0-\u1ef9]")


# --- extraction, as makemessages does it, without GNU gettext --------------------------------------


def source_files() -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(REPO):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if not name.startswith(".") and path.suffix in EXTENSIONS:
                found.append(path)
    return found


def _literal(tokens: list[tokenize.TokenInfo]) -> str | None:
    """The string an argument spells when it is only string literals (implicitly concatenated)."""
    if not tokens or any(t.type != tokenize.STRING for t in tokens):
        return None
    try:
        parts = [ast.literal_eval(t.string) for t in tokens]
    except (ValueError, SyntaxError):  # f-strings
        return None
    return "".join(parts) if all(isinstance(p, str) for p in parts) else None


def _calls(source: str):
    """(keyword, line, [literal argument or None, ...]) for each gettext-family call in Python source."""
    skip = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT}
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in skip]
    for i, tok in enumerate(tokens[:-1]):
        if tok.type != tokenize.NAME or tok.string not in KEYWORDS or tokens[i + 1].string != "(":
            continue
        if i and tokens[i - 1].string == "def":
            continue
        args: list[list[tokenize.TokenInfo]] = [[]]
        depth = 0
        for t in tokens[i + 2 :]:
            if t.type == tokenize.OP and t.string in "([{":
                depth += 1
            elif t.type == tokenize.OP and t.string in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif t.type == tokenize.OP and t.string == "," and depth == 0:
                args.append([])
                continue
            args[-1].append(t)
        yield tok.string, tok.start[0], [_literal(a) for a in args]


def extract_msgids() -> dict[tuple[str, str], list[str]]:
    """(msgctxt or "", msgid) -> ["file:line", ...] for every translatable string of our code and templates."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in source_files():
        rel = path.relative_to(REPO).as_posix()
        source = path.read_text(encoding="utf-8")
        if path.suffix != ".py":
            source = templatize(source, origin=rel)
        for keyword, line, args in _calls(source):
            ctx_at, msgid_at = KEYWORDS[keyword]
            msgid = args[msgid_at] if len(args) > msgid_at else None
            ctx = (args[ctx_at] if len(args) > ctx_at else None) if ctx_at is not None else ""
            if msgid and ctx is not None:
                found.setdefault((ctx, msgid), []).append(f"{rel}:{line}")
    return found


def _entries(po_path: Path) -> dict[tuple[str, str], polib.POEntry]:
    return {(e.msgctxt or "", e.msgid): e for e in polib.pofile(str(po_path)) if not e.obsolete}


@pytest.fixture(scope="module")
def ours() -> dict[tuple[str, str], list[str]]:
    return extract_msgids()


# --- the catalogues ---------------------------------------------------------------------------------


def test_both_catalogues_exist_and_check_reports_nothing():
    assert EN_PO.exists() and VI_PO.exists()
    assert {EN_PO, VI_PO} <= set(i18n_compile.catalogues())
    assert i18n_compile.check() == []


def test_catalogues_compile_with_polib(tmp_path):
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE, copy, ignore=shutil.ignore_patterns("*.mo"))
    written = i18n_compile.compile_all(copy)
    assert sorted(p.relative_to(copy).as_posix() for p in written) == [
        "en/LC_MESSAGES/django.mo",
        "vi/LC_MESSAGES/django.mo",
    ]
    assert i18n_compile.check(copy) == []
    with (copy / "en/LC_MESSAGES/django.mo").open("rb") as fh:
        en = gnu_gettext.GNUTranslations(fh)
    assert en.gettext("Không tìm thấy đơn vị quản lý.") == "Managing unit not found."
    with (copy / "vi/LC_MESSAGES/django.mo").open("rb") as fh:
        vi = gnu_gettext.GNUTranslations(fh)
    assert vi.info()["language"] == "vi" and vi.gettext("Sign In") == "Đăng nhập"
    assert vi.ngettext("You have added %(count)s security key.", "You have added %(count)s security keys.", 5) == (
        "Bạn đã thêm %(count)s khóa bảo mật."
    )


def test_the_command_line_compiles_and_checks(tmp_path):
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE, copy, ignore=shutil.ignore_patterns("*.mo"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)])}
    command = [sys.executable, "-m", "hocba.i18n_compile", "--locale-dir", str(copy)]
    before = subprocess.run([*command, "--check"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert before.returncode == 1 and "missing" in before.stderr
    compiled = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert compiled.returncode == 0, compiled.stderr
    assert (copy / "en/LC_MESSAGES/django.mo").exists() and (copy / "vi/LC_MESSAGES/django.mo").exists()
    after = subprocess.run([*command, "--check"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert after.returncode == 0 and after.stderr == ""


def test_check_finds_untranslated_fuzzy_broken_and_stale_catalogues(tmp_path):
    po_path = tmp_path / "xx" / "LC_MESSAGES" / "django.po"
    po_path.parent.mkdir(parents=True)
    po = polib.POFile()
    po.metadata = {
        "Content-Type": "text/plain; charset=UTF-8",
        "Language": "xx",
        "Plural-Forms": "nplurals=2; plural=(n != 1);",
    }
    po.append(polib.POEntry(msgid="Xin chào", msgstr="Hello"))
    po.append(polib.POEntry(msgid="Chưa dịch", msgstr=""))
    po.append(polib.POEntry(msgid="Mờ", msgstr="Fuzzy", flags=["fuzzy"]))
    po.append(polib.POEntry(msgid="Trường %(name)s", msgstr="School %(nam)s", flags=["python-format"]))
    po.append(
        polib.POEntry(
            msgid="%(n)s trường",
            msgid_plural="%(n)s trường",
            msgstr_plural={0: "%(n)s school"},
            flags=["python-format"],
        )
    )
    po.save(str(po_path))
    problems = "\n".join(i18n_compile.check(tmp_path))
    assert "missing; run" in problems  # no .mo yet
    for expected in (
        "untranslated: 'Chưa dịch'",
        "fuzzy: 'Mờ'",
        "['nam'] are not in the msgid",
        "['name'] are missing",
        "1 plural forms, the header says 2",
    ):
        assert expected in problems

    for entry in po:
        entry.flags = [f for f in entry.flags if f != "fuzzy"]
        entry.msgstr = entry.msgstr.replace("%(nam)s", "%(name)s") or ("Untranslated" if not entry.msgid_plural else "")
        if entry.msgid_plural:
            entry.msgstr_plural = {0: "%(n)s school", 1: "%(n)s schools"}
    po.save(str(po_path))
    i18n_compile.compile_catalogue(po_path)
    assert i18n_compile.check(tmp_path) == []

    po[0].msgstr = "Hi"
    po.save(str(po_path))
    mo = i18n_compile.mo_path(po_path)
    os.utime(mo, (mo.stat().st_atime, po_path.stat().st_mtime - 60))
    problems = "\n".join(i18n_compile.check(tmp_path))
    assert "older than its .po" in problems and "differs from its .po in 1 message" in problems


# --- what people see ------------------------------------------------------------------------------


def test_our_messages_render_in_english():
    from hocba.kernel.errors import DomainError
    from hocba.kernel.roles import Role

    template = Template(
        '{% load i18n %}{% trans "Đơn vị hành chính" %} | '
        '{% blocktrans with name="Lan" %}Xin chào, {{ name }}{% endblocktrans %}'
    )
    error = DomainError("x", translation.gettext_lazy("Mã trường %(code)s đã tồn tại."), params={"code": "79000001"})
    with translation.override("en"):
        assert gettext("Không tìm thấy đơn vị quản lý.") == "Managing unit not found."
        assert gettext("Đã lưu thay đổi.") == "Changes saved."
        assert Role.PRINCIPAL.label == "Principal" and Role.HOMEROOM_TEACHER.label == "Homeroom teacher"
        assert Role.DEPARTMENT_HEAD.label == "Head of department"
        assert template.render(Context()) == "Administrative units | Hello, Lan"
    with translation.override("vi"):
        assert gettext("Không tìm thấy đơn vị quản lý.") == "Không tìm thấy đơn vị quản lý."
        assert Role.PRINCIPAL.label == "Hiệu trưởng"
        assert template.render(Context()) == "Đơn vị hành chính | Xin chào, Lan"
    assert error.as_dict() == {
        "code": "x",
        "detail": "Mã trường 79000001 đã tồn tại.",
        "detail_en": "School code 79000001 already exists.",
    }


def test_allauth_renders_in_vietnamese():
    from allauth.account.forms import LoginForm

    with translation.override("vi"):
        assert gettext("Sign In") == "Đăng nhập"
        assert gettext("Password") == "Mật khẩu"
        assert pgettext("field label", "Login") == "Tên đăng nhập"
        assert gettext("Too many failed login attempts. Try again later.") == (
            "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau."
        )
        assert gettext("The username and/or password you specified are not correct.") == (
            "Tên đăng nhập hoặc mật khẩu không đúng."
        )
        assert gettext("Incorrect code.") == "Mã không đúng."
        assert gettext("Two-Factor Authentication") == "Xác thực hai lớp"
        assert gettext("Recovery codes") == "Mã khôi phục"
        assert ngettext(
            "There is %(unused_count)s out of %(total_count)s recovery codes available.",
            "There are %(unused_count)s out of %(total_count)s recovery codes available.",
            2,
        ) == ("Còn %(unused_count)s trên %(total_count)s mã khôi phục chưa dùng.")
        form = LoginForm()
        assert str(form.fields["password"].label) == "Mật khẩu"
        assert render_to_string("account/messages/logged_out.txt").strip() == "Bạn đã đăng xuất."
        assert render_to_string("mfa/messages/totp_activated.txt").strip() == "Đã bật ứng dụng xác thực."
    with translation.override("en"):
        assert gettext("Sign In") == "Sign In" and gettext("Password") == "Password"


def test_api_errors_render_in_vietnamese():
    from rest_framework import exceptions, serializers

    with translation.override("vi"):
        assert str(exceptions.NotAuthenticated().detail) == "Chưa cung cấp thông tin xác thực."
        assert str(exceptions.AuthenticationFailed().detail) == "Thông tin xác thực không đúng."
        with pytest.raises(serializers.ValidationError) as info:
            serializers.IntegerField().run_validation("mười")
        assert info.value.detail == ["Cần một số nguyên hợp lệ."]
        with pytest.raises(serializers.ValidationError) as info:
            serializers.ChoiceField(choices=["a"]).run_validation("b")
        assert info.value.detail == ["“b” không phải là lựa chọn hợp lệ."]


# --- coverage -------------------------------------------------------------------------------------


def test_every_msgid_of_our_code_has_an_english_translation(ours):
    assert len(ours) > 150  # the extraction works
    en = _entries(EN_PO)
    missing = [
        f"{msgid!r} ({', '.join(where[:2])})"
        for (ctx, msgid), where in sorted(ours.items())
        if (ctx, msgid) not in en or not en[(ctx, msgid)].translated()
    ]
    assert not missing, (
        "untranslated in platform/hocba/locale/en: run makemessages -l en (README), translate, then "
        "PYTHONPATH=platform python -m hocba.i18n_compile:\n  " + "\n  ".join(missing)
    )


def test_the_vietnamese_catalogue_holds_only_third_party_messages(ours):
    vi = _entries(VI_PO)
    assert len(vi) > 300
    foreign = [
        e.msgid
        for e in vi.values()
        if not e.occurrences or any(not f.startswith(THIRD_PARTY_SOURCES) for f, _ in e.occurrences)
    ]
    assert not foreign, f"entries that are not third-party messages: {foreign[:5]}"
    vietnamese = [e.msgid for e in vi.values() if VIETNAMESE_LETTERS.search(e.msgid)]
    assert not vietnamese, f"our Vietnamese msgids do not belong in the vi catalogue: {vietnamese[:5]}"
    assert {k for k in ours if VIETNAMESE_LETTERS.search(k[1])} & set(vi) == set()


@pytest.mark.skipif(not (shutil.which("xgettext") and shutil.which("msgmerge")), reason="needs GNU gettext")
def test_makemessages_finds_the_same_strings(tmp_path, monkeypatch, settings, ours):
    """makemessages itself, on a copy of the sources: nothing it finds is missing from the en catalogue."""
    for path in source_files():
        target = tmp_path / path.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    settings.LOCALE_PATHS = [str(tmp_path / "locale")]
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=["en"], no_obsolete=True, verbosity=0)
    extracted = _entries(tmp_path / "locale" / "en" / "LC_MESSAGES" / "django.po")
    assert set(extracted) == set(ours)
    en = _entries(EN_PO)
    assert not [k for k in extracted if k not in en or not en[k].translated()]


@pytest.mark.skipif(not shutil.which("msgfmt"), reason="needs GNU gettext")
@pytest.mark.parametrize("po", [EN_PO, VI_PO], ids=["en", "vi"])
def test_gnu_msgfmt_accepts_the_catalogue(po):
    result = subprocess.run(
        ["msgfmt", "--check", "--output-file=/dev/null", str(po)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
