"""Per-school backup and restore (issue 15, conflicts 2–4): a logical export with a manifest, restored as the owner
into a fresh schema with the triggers off for the load only, verified (row counts, SHA-256, the audit chain and its
anchor) before the school row is switched; refusals change nothing.

Everything runs on the owner's connection inside the test's transaction (``as_owner``), which rolls back the new
schema, the switch and the data; the buckets are moto's, in this process."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.utils import timezone
from hocba.kernel import archive, context

from schools.models import Subject
from schools.services.common import system_access
from schools.services.setup import assignment_set, class_create, school_year_open
from schools.services.sheets import sheet_save
from schools.services.students import student_enrol
from tenants import anchors, backups, provisioning
from tenants.models import PlatformAuditEntry, School
from tests.schools.test_audit_verify_outside import _rehash
from tests.support import SCHOOL_A_HOST, as_owner, client_for, page_text

OWNER = pytest.mark.django_db(databases=["default", "owner"])
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", 'Lê "Hoàng" Cường\tTab', "Phạm Thu Dung\\"]


@pytest.fixture
def s3(settings, monkeypatch):
    from moto import mock_aws

    settings.S3_ENDPOINT_URL, settings.S3_REGION = None, "us-east-1"
    settings.S3_ACCESS_KEY_ID, settings.S3_SECRET_ACCESS_KEY = "testing", "testing"
    monkeypatch.setenv("HOCBA_ARCHIVE_BUCKET", "anchors-test")
    monkeypatch.setenv("HOCBA_BACKUP_BUCKET", "backups-test")
    monkeypatch.setenv("HOCBA_BACKUP_RETENTION_DAYS", "21")
    with mock_aws():
        yield archive.archive_client()


@pytest.fixture
def owned(w, s3):
    """School A with a year, a class, students with scores (audit entries) — written by the owner — and anchored."""
    with as_owner():
        school = School.objects.get(pk=w.school_a)
        connection.set_tenant(school)
        token = context.activate(
            context.ActorContext(
                account_id=w.accounts["teacher_a"], role="subject_teacher", tier="school", request_id="r1", source="web"
            )
        )
        try:
            system = system_access(school.pk)
            year = school_year_open(access=system, start_year=2025, levels=["lower_secondary"])
            six_a = class_create(
                access=system, year=year, name="6A1", grade=6, homeroom_teacher_id=w.accounts["homeroom_a"]
            )
            math = Subject.objects.get(level="lower_secondary", code="toan")
            assignment_set(access=system, school_class=six_a, subject=math, teacher_id=w.accounts["teacher_a"])
            students = [
                student_enrol(
                    access=system,
                    school_class=six_a,
                    today=dt.date(2025, 10, 1),
                    profile={"full_name": n, "date_of_birth": "05/03/2014", "gender": "M"},
                ).pk
                for n in NAMES
            ]
            sheet_save(
                access=system,
                school_class=six_a,
                subject=math,
                term=1,
                cells=[{"student": s, "column": "gk", "value": "8,5"} for s in students],
            )
        finally:
            context.reset(token)
            connection.set_schema_to_public()
        anchors.audit_chain_anchor([school.schema_name], client=s3)
    yield school, six_a.pk


def _hashes(schema: str) -> dict[str, tuple[int, str]]:
    with connection.cursor() as cursor:
        backups._pin(cursor)
        return {
            t.name: (c.rows, c.sha256)
            for t in backups.school_tables(cursor, schema)
            for c in [backups.copy_out(cursor, schema, t, keep=False)]
        }


def _run(name: str, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _backup_key(out: str) -> str:
    return out.rsplit("-> s3://backups-test/", 1)[1].strip()


@OWNER
def test_backup_restore_switches_the_school_to_a_verified_copy(w, owned, s3):
    school, class_id = owned
    with as_owner():
        other = School.objects.get(pk=w.school_b)
        other_before = _hashes(other.schema_name)
        before = _hashes(school.schema_name)
        assert before["schools_student"][0] == len(NAMES) and before["schools_auditentry"][0] > 5

        out, _ = _run("school_backup", school.slug)
        key = _backup_key(out)
        manifest = json.loads(s3.get_object(Bucket="backups-test", Key=f"{key}/manifest.json")["Body"].read())
        assert {n: (m["rows"], m["sha256"]) for n, m in manifest["tables"].items()} == before
        assert manifest["school"]["schema"] == school.schema_name and manifest["anchor"]["key"].startswith("anchors/")
        # The backup bucket: its own, encrypted, expiring.
        obj = s3.head_object(Bucket="backups-test", Key=f"{key}/schools_student.copy.gz")
        assert obj["ServerSideEncryption"] == "AES256"
        rules = s3.get_bucket_lifecycle_configuration(Bucket="backups-test")["Rules"]
        assert rules[0]["Expiration"]["Days"] == 21 and rules[0]["Filter"]["Prefix"] == "backups/"

        out, err = _run("school_restore", key, "--as", "restored_a")
        assert "audit chain intact" in out and "matches" in out and "kept" in out
        switched = School.objects.get(pk=school.pk)
        assert switched.schema_name == "restored_a"
        assert _hashes("restored_a") == before
        # The chain recomputed from the restored rows holds against the anchor in the archive store.
        anchor = anchors.latest_anchor(s3, "anchors-test", school.schema_name, today=timezone.localdate())
        report = anchors.chain_check("restored_a", [anchor])
        assert report.broken is None and [a.status for a in report.anchors] == ["holds"]
        # … and its head is anchored under the new schema's name at once: audit_verify finds it.
        assert f"anchored: anchors/{timezone.localdate().isoformat()}/restored_a.json" in out
        verified, _ = _run("audit_verify", "--schema", "restored_a")
        assert f"anchor {report.head['last_id']} matches" in verified
        # Triggers are back on: a write to the restored schema is audited, continuing the chain.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE c.relnamespace = 'restored_a'::regnamespace AND NOT t.tgisinternal"
                " AND t.tgenabled = 'D'"
            )
            assert cursor.fetchone()[0] == 0
            cursor.execute('SELECT last_value FROM "restored_a".schools_student_id_seq')
            assert cursor.fetchone()[0] == max_id("restored_a", "schools_student")
        # The school's pages read the restored data.
        html = page_text(client_for(w.account("homeroom_a"), SCHOOL_A_HOST).get(f"/classes/{class_id}/"))
        assert "Nguyễn Văn An" in html
        # The old schema is kept for the operator; another school is untouched.
        assert provisioning.schema_exists(school.schema_name)
        assert School.objects.get(pk=w.school_b).schema_name == other.schema_name
        assert _hashes(other.schema_name) == other_before
        entry = PlatformAuditEntry.objects.filter(action="school.restore").latest("id")
        assert (entry.school_id, entry.before, entry.after["schema_name"]) == (
            school.pk,
            {"schema_name": school.schema_name},
            "restored_a",
        )


def max_id(schema: str, table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT max(id) FROM "{schema}"."{table}"')
        return cursor.fetchone()[0]


@OWNER
def test_restore_from_a_directory_and_a_tampered_file_is_refused(w, owned, tmp_path):
    school, _ = owned
    with as_owner():
        out, _ = _run("school_backup", school.moet_code, "--to", str(tmp_path))
        backup_dir = next((tmp_path / school.schema_name).iterdir())
        # A changed score: the file no longer matches the manifest.
        path = backup_dir / "schools_assessment.copy.gz"
        data = gzip.decompress(path.read_bytes()).replace(b"8.5", b"9.5")
        path.write_bytes(gzip.compress(data))
        with pytest.raises(CommandError, match="does not match the manifest"):
            _run("school_restore", str(backup_dir), "--as", "restored_bad")
        assert not provisioning.schema_exists("restored_bad")
        assert School.objects.get(pk=school.pk).schema_name == school.schema_name


@OWNER
def test_history_rewritten_and_rehashed_before_the_backup_is_refused_by_the_anchor(w, owned, tmp_path):
    """The owner rewrites an anchored audit entry and re-hashes the chain, then backs up: checksums and links all
    agree, the anchor in the archive store does not."""
    school, _ = owned
    with as_owner() as owner:
        owner.set_schema(school.schema_name)
        try:
            with owner.cursor() as cursor:
                cursor.execute("SELECT min(id) FROM schools_auditentry WHERE table_name = 'schools_student'")
                target = cursor.fetchone()[0]
                cursor.execute("ALTER TABLE schools_auditentry DISABLE TRIGGER audit_no_update")
                cursor.execute(
                    "UPDATE schools_auditentry SET new_values = replace(new_values, 'Văn An', 'Văn Ân') WHERE id = %s",
                    [target],
                )
                assert cursor.rowcount == 1
                _rehash(cursor, target)
                cursor.execute("ALTER TABLE schools_auditentry ENABLE TRIGGER audit_no_update")
        finally:
            owner.set_schema_to_public()
        _run("school_backup", school.slug, "--to", str(tmp_path))
        backup_dir = next((tmp_path / school.schema_name).iterdir())
        with pytest.raises(CommandError, match="does not match the anchor"):
            _run("school_restore", str(backup_dir), "--as", "restored_bad")
        assert not provisioning.schema_exists("restored_bad")
        assert School.objects.get(pk=school.pk).schema_name == school.schema_name


@OWNER
def test_a_changed_audit_file_with_its_checksum_rewritten_is_refused_by_the_chain(w, owned, tmp_path):
    """Change an audit entry in the backup and rewrite the manifest's SHA-256: the chain recomputed in Python breaks."""
    school, _ = owned
    with as_owner():
        _run("school_backup", school.slug, "--to", str(tmp_path))
        backup_dir = next((tmp_path / school.schema_name).iterdir())
        manifest = json.loads((backup_dir / "manifest.json").read_text())
        path = backup_dir / "schools_auditentry.copy.gz"
        lines = gzip.decompress(path.read_bytes()).split(b"\n")
        lines[0] = lines[0].replace(b"INSERT", b"UPDATE", 1)
        data = b"\n".join(lines)
        path.write_bytes(gzip.compress(data))
        manifest["tables"]["schools_auditentry"]["sha256"] = hashlib.sha256(data).hexdigest()
        (backup_dir / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(CommandError, match="audit chain"):
            _run("school_restore", str(backup_dir), "--as", "restored_bad")
        assert not provisioning.schema_exists("restored_bad")
        assert School.objects.get(pk=school.pk).schema_name == school.schema_name


@OWNER
def test_bad_input_is_refused_and_changes_nothing(w, owned, tmp_path, monkeypatch, s3):
    school, _ = owned
    with as_owner():
        with pytest.raises(CommandError, match="no school"):
            _run("school_backup", "no-such-school")
        School.objects.filter(pk=w.school_b).update(status="closed")
        with pytest.raises(CommandError, match="closed"):
            _run("school_backup", "thcs-binh-minh")
        _run("school_backup", school.slug, "--to", str(tmp_path))
        backup_dir = next((tmp_path / school.schema_name).iterdir())
        with pytest.raises(CommandError, match="exists already"):
            _run("school_restore", str(backup_dir), "--as", school.schema_name)
        with pytest.raises(CommandError, match="neither a backup directory"):
            _run("school_restore", str(tmp_path / "nothing"), "--as", "restored_x")
        monkeypatch.setenv("HOCBA_BACKUP_BUCKET", "anchors-test")
        with pytest.raises(CommandError, match="is the archive bucket"):
            _run("school_backup", school.slug)
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["anchors-test"]
        assert School.objects.get(pk=school.pk).schema_name == school.schema_name
    # The application's role may not restore.
    with pytest.raises(CommandError, match="owner"):
        _run("school_restore", str(backup_dir), "--as", "restored_y")


@OWNER
def test_the_backup_role_reads_school_data_only(w):
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege('hocba_backup', %s, 'SELECT'),"
            " has_table_privilege('hocba_backup', %s, 'INSERT'),"
            " has_table_privilege('hocba_backup', 'public.tenants_school', 'SELECT'),"
            " has_table_privilege('hocba_backup', 'public.tenants_account', 'SELECT'),"
            " has_schema_privilege('hocba_backup', %s, 'USAGE'), has_schema_privilege('hocba_backup', %s, 'CREATE')",
            [f'"{School.objects.get(pk=w.school_a).schema_name}".schools_student'] * 2
            + [School.objects.get(pk=w.school_a).schema_name] * 2,
        )
        assert cursor.fetchone() == (True, False, True, False, True, False)


@OWNER
def test_nightly_backup_fans_out_in_chunks(w, monkeypatch, s3):
    from hocba.celery import app

    from tenants import tasks

    # Read as the owner here; through the backup login and never as the application's role: test_backup_role.py.
    monkeypatch.setattr(backups, "backup_connection", lambda: "owner")
    entry = app.conf.beat_schedule["school-backups"]
    assert entry["task"] == "tenants.tasks.school_backups"
    sent = []
    monkeypatch.setattr(tasks.school_backups_chunk, "delay", sent.append)
    assert tasks.school_backups() == len(sent) >= 1
    assert School.objects.get(pk=w.school_a).schema_name in [s for chunk in sent for _i, s in chunk]
    school = School.objects.get(pk=w.school_a)
    assert tasks.school_backups_chunk.run([[school.pk, school.schema_name]]) == {"done": 1, "failed": 0}
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="backups-test")["Contents"]]
    assert any(k.startswith(f"backups/{school.schema_name}/") and k.endswith("/manifest.json") for k in keys)
    monkeypatch.setenv("HOCBA_BACKUP_SCHEDULE", "off")
    sent.clear()
    assert tasks.school_backups() == 0 and sent == []
