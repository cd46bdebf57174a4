"""schools/sql/0003_windows.sql is what the window guards' spec (schools/windowguards.py) generates."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from schools import windowguards


def test_the_checked_in_file_is_the_generated_one():
    assert windowguards.SQL_PATH.read_text(encoding="utf-8") == windowguards.render()


def test_one_function_and_three_statement_triggers_per_guarded_table():
    # The file's tables, and those of the migrations that made a table later (each installs its own triggers).
    text = windowguards.render() + "".join(
        windowguards.added_sql(m) for m in sorted({g.migration for g in windowguards.GUARDS if g.migration})
    )
    assert text.count("CREATE FUNCTION ") == 1
    assert text.count(f"CREATE FUNCTION {windowguards.FUNCTION}() RETURNS trigger") == 1
    for guard in windowguards.GUARDS:
        assert f"WHEN '{guard.placement.name}' THEN" in text
        for suffix, event, table in windowguards.EVENTS:
            # The record book's UPDATE trigger also passes the old rows (the signing path, signed records).
            old = " OLD TABLE AS old_rows" if event == "UPDATE" and guard.model == "recordbook" else ""
            assert (
                text.count(
                    f"CREATE TRIGGER window_{suffix} AFTER {event} ON {guard.table} "
                    f"REFERENCING {table} AS changed_rows{old} FOR EACH STATEMENT "
                )
                == 1
            )


@pytest.mark.parametrize(
    "model,event,arguments",
    [
        ("assessment", "INSERT", "('year', 'scores_1', 'scores_2')"),
        ("conduct", "DELETE", "('year', 'conduct')"),
        ("recordbook", "INSERT", "('record', 'profile')"),
        ("recordbook", "UPDATE", "('record', 'year_end')"),  # changing a record is year-end work (signing aside)
        ("student", "UPDATE", "('student', 'profile')"),
        ("enrolment", "DELETE", "('class', 'profile')"),
    ],
)
def test_a_trigger_passes_its_placement_and_categories(model, event, arguments):
    line = next(
        line
        for line in windowguards.render().splitlines()
        if line.startswith("CREATE TRIGGER window_") and f" AFTER {event} ON schools_{model} " in line
    )
    assert line.endswith(f"EXECUTE FUNCTION {windowguards.FUNCTION}{arguments};")


def test_only_rows_placed_by_their_year_are_categorised_by_term():
    with pytest.raises(ValueError, match="by term"):
        windowguards.Guard("enrolment", windowguards.SCORES, windowguards.ROW_CLASS)


def test_a_placement_without_its_branch_is_refused(tmp_path):
    source = tmp_path / "0003_windows.sql"
    text = windowguards.SQL_PATH.read_text(encoding="utf-8")
    source.write_text(text.replace("WHEN 'class' THEN", "WHEN 'klass' THEN"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"missing: \['class'\]"):
        windowguards.render(source)


def test_the_command_writes_the_file_and_check_accepts_it(tmp_path):
    path = tmp_path / "0003_windows.sql"
    call_command("window_guards_sql", path=path, stdout=StringIO())
    assert path.read_text(encoding="utf-8") == windowguards.render()
    out = StringIO()
    call_command("window_guards_sql", "--check", path=path, stdout=out)
    assert "is what schools/windowguards.py generates" in out.getvalue()


def test_check_refuses_a_file_edited_by_hand(tmp_path):
    path = tmp_path / "0003_windows.sql"
    edited = windowguards.render().replace("window_guard('year', 'conduct')", "window_guard('year', 'attendance')")
    path.write_text(edited, encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError, match="not what schools/windowguards.py generates"):
        call_command("window_guards_sql", "--check", path=path, stdout=StringIO(), stderr=err)
    assert (
        "-CREATE TRIGGER window_ins AFTER INSERT ON schools_conduct REFERENCING NEW TABLE AS changed_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'attendance');"
    ) in err.getvalue()
    assert path.read_text(encoding="utf-8") == edited  # --check writes nothing


def test_check_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError):
        call_command("window_guards_sql", "--check", path=tmp_path / "absent.sql", stdout=StringIO(), stderr=StringIO())


def test_a_table_made_later_is_guarded_by_its_own_migration_not_by_the_file():
    guard = next(g for g in windowguards.GUARDS if g.model == "exemption")
    assert guard.migration == "0009_exemptions"
    assert "schools_exemption" not in windowguards.render()
    assert "schools_exemption" not in windowguards.upgrade_sql()  # migration 0007 ran before the table existed
    assert windowguards.added_sql("0009_exemptions") == windowguards.render_triggers(guard)
    with pytest.raises(ValueError, match="no window guard"):
        windowguards.added_sql("0001_initial")


def test_the_signing_migration_replaces_the_function_and_the_record_books_triggers():
    function = windowguards.function_sql()
    assert function.count(f"CREATE OR REPLACE FUNCTION {windowguards.FUNCTION}()") == 1
    assert "CREATE TRIGGER" not in function and "WHEN 'record' THEN" in function and "HB409" in function
    triggers = windowguards.retrigger_sql("recordbook")
    assert triggers.count("DROP TRIGGER IF EXISTS window_") == 3 and triggers.count("CREATE TRIGGER window_") == 3
    assert "REFERENCING NEW TABLE AS changed_rows OLD TABLE AS old_rows" in triggers
