"""schools/sql/0003_windows.sql is what the window guards' spec (schools/windowguards.py) generates."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from schools import windowguards


def test_the_checked_in_file_is_the_generated_one():
    assert windowguards.SQL_PATH.read_text(encoding="utf-8") == windowguards.render()


def test_every_guarded_table_has_its_function_and_three_statement_triggers():
    text = windowguards.render()
    for guard in windowguards.GUARDS:
        assert text.count(f"CREATE FUNCTION {guard.function}() RETURNS trigger") == 1
        for suffix, event in (("ins", "INSERT"), ("upd", "UPDATE"), ("del", "DELETE")):
            assert text.count(f"CREATE TRIGGER window_{suffix} AFTER {event} ON {guard.table} REFERENCING ") == 1


def test_the_command_writes_the_file_and_check_accepts_it(tmp_path):
    path = tmp_path / "0003_windows.sql"
    call_command("window_guards_sql", path=path, stdout=StringIO())
    assert path.read_text(encoding="utf-8") == windowguards.render()
    out = StringIO()
    call_command("window_guards_sql", "--check", path=path, stdout=out)
    assert "is what schools/windowguards.py generates" in out.getvalue()


def test_check_refuses_a_file_edited_by_hand(tmp_path):
    path = tmp_path / "0003_windows.sql"
    edited = windowguards.render().replace("'conduct' AS category", "'attendance' AS category")
    path.write_text(edited, encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError, match="not what schools/windowguards.py generates"):
        call_command("window_guards_sql", "--check", path=path, stdout=StringIO(), stderr=err)
    assert "-        FOR g IN SELECT y.start_year AS year, 'attendance' AS category," in err.getvalue()
    assert path.read_text(encoding="utf-8") == edited  # --check writes nothing


def test_check_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError):
        call_command("window_guards_sql", "--check", path=tmp_path / "absent.sql", stdout=StringIO(), stderr=StringIO())
