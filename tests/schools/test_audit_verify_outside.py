"""The audit chain verified outside the database it checks (DESIGN §7).

The database's owner can rewrite an entry and re-hash the rest of the chain, or replace the database's own check
functions. ``audit_verify`` recomputes every hash in Python from the rows (read with plain SELECTs) and compares
what it computed with the anchor it reads from the archive store itself; these tests tamper as the owner."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from hocba.kernel import archive, auditchain
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from schools.audit.chain import first_broken_link
from tenants import anchors
from tenants.models import School
from tests.support import as_owner

OWNER = pytest.mark.django_db(databases=["default", "owner"])


@pytest.fixture
def s3(settings, monkeypatch):
    from moto import mock_aws

    settings.S3_ENDPOINT_URL, settings.S3_REGION = None, "us-east-1"
    settings.S3_ACCESS_KEY_ID, settings.S3_SECRET_ACCESS_KEY = "testing", "testing"
    monkeypatch.setenv("HOCBA_ARCHIVE_BUCKET", "anchors-test")
    with mock_aws():
        yield archive.archive_client()


def _school_b(w) -> School:
    return School.objects.get(pk=w.school_b)


def _write_some(cursor) -> list[int]:
    """A few entries by the owner (raw SQL is audited too), with text that tests the serialisation."""
    cursor.execute(
        "INSERT INTO schools_schoolyear (start_year, starts_on, term2_starts_on, ends_on)"
        " VALUES (2040, '2040-09-05', '2041-01-12', '2041-05-31'), (2041, '2041-09-05', '2042-01-12', '2042-05-31')"
    )
    for end in ("2041-05-30", "2041-05-29", "2041-05-28"):
        cursor.execute("UPDATE schools_schoolyear SET ends_on = %s WHERE start_year = 2040", [end])
    cursor.execute("DELETE FROM schools_schoolyear WHERE start_year = 2041")
    cursor.execute("SELECT id FROM schools_auditentry ORDER BY id")
    return [r[0] for r in cursor.fetchall()]


def _rehash(cursor, first: int) -> None:
    """As the owner: every entry from ``first`` on re-hashed with the database's ``audit_payload()``."""
    cursor.execute(
        f"""
        DO $$
        DECLARE r record; prev text;
        BEGIN
            FOR r IN SELECT * FROM schools_auditentry WHERE id >= {int(first)} ORDER BY id LOOP
                SELECT hash INTO prev FROM schools_auditentry WHERE id < r.id ORDER BY id DESC LIMIT 1;
                prev := coalesce(prev, repeat('0', 64));
                UPDATE schools_auditentry SET prev_hash = prev,
                    hash = audit_payload(prev, r.at, r.account_id, r.role, r.tier, r.request_id, r.source,
                                         r.table_name, r.operation, r.rows, r.old_values, r.new_values)
                WHERE id = r.id;
            END LOOP;
        END $$
        """
    )


def _verify(*args) -> tuple[str, bool]:
    out = io.StringIO()
    try:
        call_command("audit_verify", *args, stdout=out)
    except CommandError:
        return out.getvalue(), False
    return out.getvalue(), True


# --- the hash, byte for byte --------------------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)


@hsettings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prev=st.sampled_from(["0" * 64, "ab" * 32]),
    at=st.datetimes(
        min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.sampled_from([dt.UTC])
    ),
    account=st.one_of(st.none(), st.integers(min_value=1, max_value=2**62)),
    texts=st.lists(TEXT, min_size=8, max_size=8),
    rows=st.integers(min_value=0, max_value=10**6),
)
def test_python_hash_is_the_databases(w, prev, at, account, texts, rows):
    role, tier, request_id, source, table, operation, old, new = texts
    args = (prev, at, account, role, tier, request_id, source, table, operation, rows, old, new)
    school = _school_b(w)
    connection.set_tenant(school)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT audit_payload(%s::text, %s::timestamptz, %s::bigint, %s::text, %s::text, %s::text, %s::text,"
                " %s::text, %s::text, %s::integer, %s::text, %s::text)",
                [prev, at, account, role, tier, request_id, source, table, operation, rows, old, new],
            )
            expected = cursor.fetchone()[0]
    finally:
        connection.set_schema_to_public()
    assert auditchain.entry_hash(*args) == expected


def test_time_text_is_utc_with_microseconds():
    at = dt.datetime(2026, 12, 3, 21, 5, 7, 42, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert auditchain.utc_text(at) == "2026-12-03T14:05:07.000042"
    with pytest.raises(ValueError):
        auditchain.utc_text(dt.datetime(2026, 1, 1))


# --- intact -------------------------------------------------------------------------------------------------


@OWNER
def test_intact_chain_verifies_and_matches_its_anchor(w, s3):
    school = _school_b(w)
    with as_owner() as owner:
        owner.set_schema(school.schema_name)
        with owner.cursor() as cursor:
            ids = _write_some(cursor)
        owner.set_schema_to_public()
        call_command("audit_anchor", "--schema", school.schema_name, stdout=io.StringIO())
        out, ok = _verify("--schema", school.schema_name)
        # Small batches: the check carries over from one batch to the next.
        report = anchors.chain_check(school.schema_name, batch=2)
    assert ok, out
    assert f"{school.schema_name}: intact ({len(ids)} entries, head {ids[-1]} at" in out
    assert f"anchor {ids[-1]} matches" in out and "1 school(s) checked, 0 broken" in out
    assert report.intact and report.entries == len(ids) and report.head["last_id"] == ids[-1]


# --- tampering the database's own check cannot hide -------------------------------------------------------


@OWNER
def test_rewritten_and_rehashed_chain_is_caught_by_the_anchor(w, s3):
    """The owner changes an entry and re-hashes every entry after it with the database's own function: each link
    holds, and the database's check says intact. The anchor taken before does not match what is recomputed."""
    school = _school_b(w)
    with as_owner() as owner:
        owner.set_schema(school.schema_name)
        with owner.cursor() as cursor:
            ids = _write_some(cursor)
        owner.set_schema_to_public()
        call_command("audit_anchor", "--schema", school.schema_name, stdout=io.StringIO())
        target = ids[-3]  # one of the updates of ends_on
        owner.set_schema(school.schema_name)
        with owner.cursor() as cursor:
            cursor.execute("ALTER TABLE schools_auditentry DISABLE TRIGGER audit_no_update")
            cursor.execute(
                "UPDATE schools_auditentry SET new_values = replace(new_values, '2041-05-29', '2041-06-15')"
                " WHERE id = %s",
                [target],
            )
            _rehash(cursor, target)
        assert first_broken_link(using="owner") is None  # the database's check is fooled
        owner.set_schema_to_public()
        out, ok = _verify("--schema", school.schema_name)
        links_only, links_ok = _verify("--schema", school.schema_name, "--no-anchors")
    assert not ok
    assert f"{school.schema_name}: intact" in out  # every link holds: re-hashed consistently…
    assert f"ANCHOR {ids[-1]} (taken " in out and "DOES NOT MATCH" in out  # …but not what was anchored
    assert f"entries up to {ids[-1]} were rewritten and the chain re-hashed to hide it" in out
    assert "1 broken" in out
    assert links_ok and f"{school.schema_name}: intact" in links_only  # which is why the anchors are the default


@OWNER
def test_replaced_check_function_does_not_hide_a_changed_entry(w, s3):
    """The owner makes ``audit_first_broken_link()`` always say intact and changes an entry without re-hashing:
    the command does not ask that function, it recomputes the entry's hash and names the entry."""
    school = _school_b(w)
    with as_owner() as owner:
        owner.set_schema(school.schema_name)
        with owner.cursor() as cursor:
            ids = _write_some(cursor)
            target = ids[-2]
            cursor.execute("SELECT at FROM schools_auditentry WHERE id = %s", [target])
            at = cursor.fetchone()[0]
            cursor.execute(
                "CREATE OR REPLACE FUNCTION audit_first_broken_link() RETURNS bigint LANGUAGE sql"
                " AS $$ SELECT NULL::bigint $$"
            )
            cursor.execute("ALTER TABLE schools_auditentry DISABLE TRIGGER audit_no_update")
            cursor.execute(
                "UPDATE schools_auditentry SET new_values = replace(new_values, '2041-05-28', '2041-07-01')"
                " WHERE id = %s",
                [target],
            )
        assert first_broken_link(using="owner") is None  # the database's check now lies
        owner.set_schema_to_public()
        out, ok = _verify("--schema", school.schema_name, "--no-anchors")
    assert not ok
    assert (
        f"{school.schema_name}: BROKEN at entry {target} ({at.astimezone(dt.UTC).isoformat()}): its stored hash is "
        "not the hash of its content (the entry was changed after it was written)"
    ) in out


@OWNER
def test_replaced_hash_function_and_rehash_is_found(w, s3):
    """The owner replaces ``audit_payload()`` too and re-hashes the whole chain with it, so that the database's
    check agrees with the changed entry: the hash recomputed here agrees with none, from the first entry on."""
    school = _school_b(w)
    with as_owner() as owner:
        owner.set_schema(school.schema_name)
        with owner.cursor() as cursor:
            ids = _write_some(cursor)
            target = ids[-4]
            assert ids[0] < target
            cursor.execute(
                "CREATE OR REPLACE FUNCTION audit_payload(prev text, at timestamptz, account bigint, role text,"
                " tier text, request_id text, source text, table_name text, operation text, n integer,"
                " old_values text, new_values text) RETURNS text LANGUAGE sql IMMUTABLE AS"
                " $$ SELECT md5(prev || new_values) || md5(old_values) $$"
            )
            cursor.execute("ALTER TABLE schools_auditentry DISABLE TRIGGER audit_no_update")
            cursor.execute(
                "UPDATE schools_auditentry SET new_values = replace(new_values, '2041-05-30', '2041-08-01')"
                " WHERE id = %s",
                [target],
            )
            _rehash(cursor, ids[0])
        assert first_broken_link(using="owner") is None
        owner.set_schema_to_public()
        out, ok = _verify("--schema", school.schema_name, "--no-anchors")
    assert not ok and f"BROKEN at entry {ids[0]} (" in out and "changed after it was written" in out


@OWNER
def test_removed_entry_breaks_the_link_of_the_next(w, s3):
    school = _school_b(w)
    with as_owner() as owner:
        owner.set_schema(school.schema_name)
        with owner.cursor() as cursor:
            ids = _write_some(cursor)
            cursor.execute("ALTER TABLE schools_auditentry DISABLE TRIGGER audit_no_update")
            cursor.execute("DELETE FROM schools_auditentry WHERE id = %s", [ids[-3]])
        owner.set_schema_to_public()
        out, ok = _verify("--schema", school.schema_name, "--no-anchors")
    assert not ok and f"BROKEN at entry {ids[-2]} (" in out and "does not follow the entry before it" in out


@OWNER
def test_removed_tail_is_caught_by_the_anchor(w, s3):
    school = _school_b(w)
    with as_owner() as owner:
        owner.set_schema(school.schema_name)
        with owner.cursor() as cursor:
            ids = _write_some(cursor)
        owner.set_schema_to_public()
        call_command("audit_anchor", "--schema", school.schema_name, stdout=io.StringIO())
        owner.set_schema(school.schema_name)
        with owner.cursor() as cursor:
            cursor.execute("ALTER TABLE schools_auditentry DISABLE TRIGGER audit_no_update")
            cursor.execute("DELETE FROM schools_auditentry WHERE id >= %s", [ids[-2]])
        owner.set_schema_to_public()
        out, ok = _verify("--schema", school.schema_name)
    assert not ok and f"ANCHOR {ids[-1]} (taken " in out and f"entry {ids[-1]} is gone" in out


# --- the daily anchor continues the last one --------------------------------------------------------------


@OWNER
def test_anchor_reads_only_what_was_added_since_the_last_anchor(w, s3, monkeypatch):
    school = _school_b(w)
    with as_owner() as owner:
        owner.set_schema(school.schema_name)
        with owner.cursor() as cursor:
            first_ids = _write_some(cursor)
        owner.set_schema_to_public()
        call_command("audit_anchor", "--schema", school.schema_name, stdout=io.StringIO())
        owner.set_schema(school.schema_name)
        with owner.cursor() as cursor:
            cursor.execute("UPDATE schools_schoolyear SET ends_on = '2041-05-20' WHERE start_year = 2040")
            cursor.execute("SELECT id, hash FROM schools_auditentry ORDER BY id DESC LIMIT 1")
            head_id, head_hash = cursor.fetchone()
        owner.set_schema_to_public()
        reads = []
        real = anchors.perschool.audit_rows
        monkeypatch.setattr(
            anchors.perschool,
            "audit_rows",
            lambda schema, after, limit: reads.append(after) or real(schema, after, limit),
        )
        written = anchors.audit_chain_anchor([school.schema_name])
        out, ok = _verify("--schema", school.schema_name)
    assert reads[0] == first_ids[-1] - 1  # from the anchored entry on, not from the first entry
    assert (written[0]["last_id"], written[0]["hash"]) == (head_id, head_hash)
    assert ok and f"anchor {head_id} matches" in out


@OWNER
def test_a_rewritten_history_is_not_anchored(w, s3):
    school = _school_b(w)
    with as_owner() as owner:
        owner.set_schema(school.schema_name)
        with owner.cursor() as cursor:
            ids = _write_some(cursor)
        owner.set_schema_to_public()
        call_command("audit_anchor", "--schema", school.schema_name, stdout=io.StringIO())
        key = f"anchors/{anchors.timezone.localdate().isoformat()}/{school.schema_name}.json"
        owner.set_schema(school.schema_name)
        with owner.cursor() as cursor:
            cursor.execute("ALTER TABLE schools_auditentry DISABLE TRIGGER audit_no_update")
            cursor.execute(
                "UPDATE schools_auditentry SET new_values = replace(new_values, '2041-05-29', '2041-06-15')"
                " WHERE id = %s",
                [ids[-3]],
            )
            _rehash(cursor, ids[-3])
        owner.set_schema_to_public()
        out = io.StringIO()
        with pytest.raises(CommandError, match="not anchored"):
            call_command("audit_anchor", "--schema", school.schema_name, stdout=out)
    assert f"{school.schema_name}: NOT ANCHORED: BROKEN at the anchored entry {ids[-1]}" in out.getvalue()
    assert "0 anchor(s) written" in out.getvalue()
    versions = s3.list_object_versions(Bucket="anchors-test", Prefix=key)["Versions"]
    assert len(versions) == 1  # the first anchor only
