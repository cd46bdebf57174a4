"""The embedded S3 (hocba.dev.services, moto) keeps every version of an object across a restart, with its retention
and the bucket's Object Lock settings: the anchors of a school are versions of one key in a locked bucket.

Only the S3 server is embedded here (the configured PostgreSQL and Redis are passed on); it runs in a subprocess
with a temporary data directory, started and stopped twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from hocba.dev.services import ensure_services

    assert "S3_ENDPOINT_URL" in ensure_services()
    import boto3
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT_URL"],
        aws_access_key_id=os.environ["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["S3_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    key = "anchors/2026-12-01/school_99000001.json"
    if sys.argv[1] == "write":
        s3.create_bucket(Bucket="archive", ObjectLockEnabledForBucket=True)
        s3.put_object_lock_configuration(
            Bucket="archive",
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}},
            },
        )
        for n in range(3):
            s3.put_object(
                Bucket="archive", Key=key, Body=json.dumps({"last_id": n}).encode(),
                ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=f"2100-01-0{n + 1}T00:00:00Z",
            )
        s3.put_object(Bucket="archive", Key="other.json", Body=b"{}")
    out = {"versions": []}
    for v in s3.list_object_versions(Bucket="archive", Prefix=key)["Versions"]:
        body = s3.get_object(Bucket="archive", Key=key, VersionId=v["VersionId"])["Body"].read().decode()
        head = s3.head_object(Bucket="archive", Key=key, VersionId=v["VersionId"])
        out["versions"].append(
            [v["VersionId"], v["IsLatest"], body, head["ObjectLockMode"], head["ObjectLockRetainUntilDate"].isoformat()]
        )
    out["latest"] = s3.get_object(Bucket="archive", Key=key)["Body"].read().decode()
    out["lock"] = s3.get_object_lock_configuration(Bucket="archive")["ObjectLockConfiguration"]
    out["versioning"] = s3.get_bucket_versioning(Bucket="archive").get("Status")
    out["keys"] = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="archive")["Contents"])
    print(json.dumps(out))
    """
)


def _run(data_dir: Path, mode: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3_", "MOTO_", "HOCBA_"))}
    env["HOCBA_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "platform"), str(REPO)])
    assert env.get("DATABASE_URL") and env.get("REDIS_URL")  # only S3 is embedded here
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_version_and_its_retention_survive_a_restart(tmp_path):
    data_dir = tmp_path / "data"
    first = _run(data_dir, "write")
    assert len(first["versions"]) == 3
    assert sorted(v[2] for v in first["versions"]) == [json.dumps({"last_id": n}) for n in range(3)]
    assert first["latest"] == json.dumps({"last_id": 2})

    second = _run(data_dir, "read")  # a new S3 server, loaded from what the first one saved
    assert second["versions"] == first["versions"], "versions, their contents or their retention were lost"
    assert [v[3] for v in second["versions"]] == ["COMPLIANCE"] * 3
    assert second["latest"] == first["latest"]
    assert second["lock"] == first["lock"]
    assert first["lock"]["ObjectLockEnabled"] == "Enabled"
    assert (first["lock"]["Rule"]["DefaultRetention"]["Mode"], first["lock"]["Rule"]["DefaultRetention"]["Days"]) == (
        "GOVERNANCE",
        30,
    )
    assert second["versioning"] == first["versioning"] == "Enabled"
    assert second["keys"] == first["keys"] == ["anchors/2026-12-01/school_99000001.json", "other.json"]

    third = _run(data_dir, "read")  # and again: what was loaded is saved whole as well
    assert third["versions"] == first["versions"]
