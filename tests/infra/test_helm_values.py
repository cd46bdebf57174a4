"""The chart's sizing files, autoscalers, disruption budgets, probes, buckets and values checks; compose's pins.

Like test_infra.py: helm from infra/get-helm.sh, no cluster (KEDA's API is announced with --api-versions),
compose.yaml read as YAML. Nothing here touches a database.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
CHART = ROOT / "helm" / "hocba"
PROVINCE_VALUES = CHART / "ci" / "province-values.yaml"
SIZES = ("small", "large")
KEDA = ("--api-versions", "keda.sh/v1alpha1")
REQUIRED = {
    "province": "ha-noi",
    "baseDomain": "hanoi.hocba.example.vn",
    "archive": {"bucket": "hocba-ha-noi-archive"},
    "backup": {"bucket": "hocba-ha-noi-backup"},
    "s3": {"endpointUrl": "https://s3.example.vn"},
}


@pytest.fixture(scope="module")
def helm() -> str:
    result = subprocess.run(
        ["sh", str(INFRA / "get-helm.sh"), sys.executable], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    path = result.stdout.strip().splitlines()[-1]
    assert os.access(path, os.X_OK), path
    return path


def template(helm: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [helm, "template", "hocba", str(CHART), "--namespace", "hocba-ha-noi", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def render(helm: str, *args: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(template(helm, *args).stdout) if doc]


def sized(helm: str, size: str, *args: str) -> list[dict]:
    return render(helm, "-f", str(CHART / f"values-{size}.yaml"), "-f", str(PROVINCE_VALUES), *args)


def find(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def container(workload: dict) -> dict:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


def values(size: str) -> dict:
    return yaml.safe_load((CHART / f"values-{size}.yaml").read_text())


def values_file(tmp_path: Path, data: dict) -> str:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


# --- values-small.yaml / values-large.yaml ---------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_sized_values_render_replicas_resources_and_budgets(helm: str, size: str) -> None:
    spec = values(size)
    docs = sized(helm, size)
    deployments = find(docs, "Deployment")
    web, worker, beat = (deployments[f"hocba-{c}"] for c in ("web", "worker", "beat"))
    # Autoscaled: the Deployments leave replicas to the autoscaler; beat stays one.
    assert "replicas" not in web["spec"] and "replicas" not in worker["spec"]
    assert beat["spec"]["replicas"] == 1
    assert container(web)["resources"] == spec["web"]["resources"]
    assert container(worker)["resources"] == spec["worker"]["resources"]
    assert container(beat)["resources"] == spec["beat"]["resources"]
    threads = str(spec["web"]["threads"])
    assert container(web)["args"][:3] == ["web", "--threads", threads]
    assert container(worker)["args"][:3] == ["worker", "--concurrency", str(spec["worker"]["concurrency"])]
    config = find(docs, "ConfigMap")["hocba"]["data"]
    assert config["WEB_CONCURRENCY"] == str(spec["web"]["concurrency"])

    budgets = find(docs, "PodDisruptionBudget")
    assert set(budgets) == {"hocba-web", "hocba-worker"}
    for component in ("web", "worker"):
        budget = budgets[f"hocba-{component}"]["spec"]
        assert budget["maxUnavailable"] == spec[component]["pdb"]["maxUnavailable"]
        assert budget["selector"]["matchLabels"]["app.kubernetes.io/component"] == component

    # Without KEDA's API: CPU HPAs for both, bounds from the file.
    hpas = find(docs, "HorizontalPodAutoscaler")
    assert set(hpas) == {"hocba-web", "hocba-worker"}
    for component in ("web", "worker"):
        hpa = hpas[f"hocba-{component}"]["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (
            spec[component]["autoscaling"]["minReplicas"],
            spec[component]["autoscaling"]["maxReplicas"],
        )
        assert hpa["metrics"][0]["resource"]["name"] == "cpu"
    assert not find(docs, "ScaledObject")


def test_large_is_bigger_than_small() -> None:
    small, large = values("small"), values("large")
    for component in ("web", "worker"):
        assert large[component]["autoscaling"]["maxReplicas"] > small[component]["autoscaling"]["maxReplicas"]
        assert large[component]["autoscaling"]["minReplicas"] >= small[component]["autoscaling"]["minReplicas"]
    assert large["worker"]["concurrency"] > small["worker"]["concurrency"]
    assert large["migrate"]["workers"] > small["migrate"]["workers"]
    assert large["database"]["maxConnections"] > small["database"]["maxConnections"]


@pytest.mark.parametrize("size", SIZES)
def test_connection_arithmetic_in_the_comments_holds(size: str) -> None:
    """The file's comment states the worst case; recompute it from the values and compare with max_connections."""
    text = (CHART / f"values-{size}.yaml").read_text()
    spec = yaml.safe_load(text)

    def with_surge(pods: int) -> int:
        return pods + -(-pods * 25 // 100)

    web = with_surge(spec["web"]["autoscaling"]["maxReplicas"]) * spec["web"]["concurrency"] * spec["web"]["threads"]
    worker = with_surge(spec["worker"]["autoscaling"]["maxReplicas"]) * (spec["worker"]["concurrency"] + 1)
    total = web + worker + 2 + spec["migrate"]["workers"] + 1
    database = spec["database"]
    assert total <= database["maxConnections"] - database["reservedConnections"]
    stated = re.search(r"total\s*=\s*(\d+)", text)
    assert stated and int(stated.group(1)) == total, (stated, total)
    assert f"max_connections = {database['maxConnections']}" in text


@pytest.mark.parametrize("size", SIZES)
def test_the_chart_refuses_more_connections_than_the_server_allows(helm: str, size: str) -> None:
    too_many = str(values(size)["database"]["maxConnections"] // 4)
    result = template(
        helm,
        "-f",
        str(CHART / f"values-{size}.yaml"),
        "-f",
        str(PROVINCE_VALUES),
        "--set",
        f"database.maxConnections={too_many}",
        check=False,
    )
    assert result.returncode != 0
    assert "database connections: worst case" in result.stderr
    assert f"exceeds database.maxConnections {too_many}" in result.stderr


# --- the worker's autoscaler ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_keda_scales_the_worker_on_the_celery_queue_when_its_api_is_there(helm: str, size: str) -> None:
    spec = values(size)["worker"]["autoscaling"]
    docs = sized(helm, size, *KEDA)
    (scaled,) = find(docs, "ScaledObject").values()
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == "hocba-worker"
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (
        spec["minReplicas"],
        spec["maxReplicas"],
    )
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] == "celery"
    assert trigger["metadata"]["listLength"] == str(spec["keda"]["listLength"])
    assert re.fullmatch(r"[^:/]+:\d+", trigger["metadata"]["address"])
    # Never two autoscalers on one Deployment: KEDA owns the worker's HPA; web keeps its CPU HPA.
    assert set(find(docs, "HorizontalPodAutoscaler")) == {"hocba-web"}


def test_keda_watches_every_queue_and_can_be_forced_or_refused(helm: str) -> None:
    base = ["-f", str(PROVINCE_VALUES), "--set", "worker.autoscaling.enabled=true"]
    forced = render(
        helm,
        *base,
        *("--set", "worker.autoscaling.keda.enabled=true", "--set", "worker.extraArgs={-Q,celery,pdf}"),
        *("--set", "worker.autoscaling.keda.queues={celery,pdf}"),
    )
    (scaled,) = find(forced, "ScaledObject").values()
    assert [t["metadata"]["listName"] for t in scaled["spec"]["triggers"]] == ["celery", "pdf"]
    assert not find(forced, "HorizontalPodAutoscaler")
    refused = render(helm, *base, *KEDA, "--set", "worker.autoscaling.keda.enabled=false")
    assert not find(refused, "ScaledObject")
    assert set(find(refused, "HorizontalPodAutoscaler")) == {"hocba-worker"}


def test_keda_needs_the_redis_address(helm: str) -> None:
    result = template(
        helm,
        *("-f", str(PROVINCE_VALUES), "--set", "worker.autoscaling.enabled=true", *KEDA),
        *("--set", "worker.autoscaling.keda.redisAddress="),
        check=False,
    )
    assert result.returncode != 0
    assert "worker.autoscaling.keda.redisAddress is required" in result.stderr


def test_external_metric_hpa_without_keda(helm: str) -> None:
    docs = sized(helm, "large", "--set", "worker.autoscaling.externalMetric.enabled=true")
    assert not find(docs, "ScaledObject")
    hpa = find(docs, "HorizontalPodAutoscaler")["hocba-worker"]["spec"]
    (metric,) = hpa["metrics"]
    assert metric["type"] == "External"
    assert metric["external"]["metric"]["name"] == "hocba_celery_queue_length"
    assert metric["external"]["metric"]["selector"] == {"matchLabels": {"queue": "celery"}}
    assert metric["external"]["target"] == {"type": "AverageValue", "averageValue": "10"}
    # With KEDA present, KEDA wins and the external-metric HPA is not rendered.
    with_keda = sized(helm, "large", "--set", "worker.autoscaling.externalMetric.enabled=true", *KEDA)
    assert set(find(with_keda, "HorizontalPodAutoscaler")) == {"hocba-web"}
    assert find(with_keda, "ScaledObject")


def test_no_autoscaler_and_no_budget_for_a_single_replica(helm: str) -> None:
    province = ("-f", str(PROVINCE_VALUES))
    docs = render(helm, *province, *KEDA, "--set", "web.replicaCount=1", "--set", "worker.replicaCount=1")
    assert not find(docs, "HorizontalPodAutoscaler") and not find(docs, "ScaledObject")
    assert not find(docs, "PodDisruptionBudget")
    docs = render(helm, *province, "--set", "web.pdb.maxUnavailable=", "--set", "web.pdb.minAvailable=50%")
    web = find(docs, "PodDisruptionBudget")["hocba-web"]["spec"]
    assert web["minAvailable"] == "50%" and "maxUnavailable" not in web
    budgets = find(render(helm, *province, "--set", "worker.pdb.enabled=false"), "PodDisruptionBudget")
    assert set(budgets) == {"hocba-web"}


def test_a_budget_takes_one_bound(helm: str) -> None:
    result = template(helm, "-f", str(PROVINCE_VALUES), "--set", "web.pdb.minAvailable=1", check=False)
    assert result.returncode != 0
    assert "web.pdb: set minAvailable or maxUnavailable, not both" in result.stderr


# --- probes -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_probes(helm: str, size: str) -> None:
    docs = sized(helm, size)
    deployments = find(docs, "Deployment")
    web = container(deployments["hocba-web"])
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe"):
        assert {"name": "Host", "value": "hanoi.hocba.example.vn"} in web[probe]["httpGet"]["httpHeaders"]
    config = find(docs, "ConfigMap")["hocba"]["data"]
    assert config["HOCBA_HEARTBEAT_FILE"] == "/tmp/hocba-heartbeat"
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    for component in ("worker", "beat"):
        probe = container(deployments[f"hocba-{component}"])["livenessProbe"]
        max_age = str(defaults[component]["livenessProbe"]["maxAge"])
        assert probe["exec"]["command"] == ["python", "-m", "hocba.heartbeat", "--max-age", max_age]
        assert "maxAge" not in probe
        assert probe["periodSeconds"] > 0 and probe["failureThreshold"] >= 1
    # Beat may sleep minutes between ticks: it gets the longer leash.
    assert defaults["beat"]["livenessProbe"]["maxAge"] > defaults["worker"]["livenessProbe"]["maxAge"]


def test_heartbeat_age_and_file_from_values(helm: str) -> None:
    docs = render(
        helm,
        *("-f", str(PROVINCE_VALUES), "--set", "worker.livenessProbe.maxAge=45"),
        *("--set", "heartbeatFile=/tmp/beat/alive"),
    )
    worker = container(find(docs, "Deployment")["hocba-worker"])
    assert worker["livenessProbe"]["exec"]["command"][-1] == "45"
    assert find(docs, "ConfigMap")["hocba"]["data"]["HOCBA_HEARTBEAT_FILE"] == "/tmp/beat/alive"


# --- archive, backup, S3, database ------------------------------------------------------------------------------


def test_archive_backup_and_s3_settings_reach_the_configmap_and_the_job(helm: str) -> None:
    docs = sized(helm, "small", "--set", "archive.anchorRetentionDays=4000", "--set", "backup.retentionDays=30")
    data = find(docs, "ConfigMap")["hocba"]["data"]
    assert data["HOCBA_ARCHIVE_BUCKET"] == "hocba-ha-noi-archive"
    assert data["HOCBA_ANCHOR_RETENTION_DAYS"] == "4000"
    assert data["HOCBA_BACKUP_BUCKET"] == "hocba-ha-noi-backup"
    assert data["HOCBA_BACKUP_RETENTION_DAYS"] == "30"
    assert data["S3_ENDPOINT_URL"] == "https://s3.example.vn"
    assert data["S3_REGION"] == "ap-southeast-1"
    assert "HOCBA_PROVINCE" not in data
    job = container(find(docs, "Job")["hocba-migrate"])
    env = {e["name"]: e.get("value") for e in job["env"]}
    assert env["HOCBA_ARCHIVE_BUCKET"] == "hocba-ha-noi-archive"
    assert env["HOCBA_BACKUP_BUCKET"] == "hocba-ha-noi-backup"


def test_record_retention_and_verification_settings_reach_the_pods(helm: str) -> None:
    docs = sized(helm, "small")
    data = find(docs, "ConfigMap")["hocba"]["data"]
    assert data["HOCBA_RECORD_RETENTION_DAYS"] == "7300"
    assert (data["HOCBA_VERIFY_MAX_BYTES"], data["HOCBA_VERIFY_RATE_LIMIT"], data["HOCBA_VERIFY_RATE_WINDOW"]) == (
        "20971520",
        "30",
        "600",
    )
    assert "HOCBA_PUBLIC_URL" not in data and "HOCBA_TRUST_ROOTS_DIR" not in data  # the application's defaults
    for deployment in find(docs, "Deployment").values():
        assert "trust-roots" not in {v["name"] for v in deployment["spec"]["template"]["spec"]["volumes"]}

    docs = sized(
        helm,
        "small",
        *("--set", "archive.recordRetentionDays=3650", "--set", "verification.maxUploadBytes=5000000"),
        *("--set", "verification.publicUrl=https://hocba.hanoi.edu.vn"),
        *("--set", "verification.trustRootsConfigMap=hocba-trust-roots"),
    )
    data = find(docs, "ConfigMap")["hocba"]["data"]
    assert data["HOCBA_RECORD_RETENTION_DAYS"] == "3650" and data["HOCBA_VERIFY_MAX_BYTES"] == "5000000"
    assert data["HOCBA_PUBLIC_URL"] == "https://hocba.hanoi.edu.vn"
    assert data["HOCBA_TRUST_ROOTS_DIR"] == "/etc/hocba/trust-roots"
    for name in ("hocba-web", "hocba-worker", "hocba-beat"):
        pod = find(docs, "Deployment")[name]["spec"]["template"]["spec"]
        assert {"name": "trust-roots", "configMap": {"name": "hocba-trust-roots"}} in pod["volumes"]
        mount = next(m for m in container(find(docs, "Deployment")[name])["volumeMounts"] if m["name"] == "trust-roots")
        assert mount == {"name": "trust-roots", "mountPath": "/etc/hocba/trust-roots", "readOnly": True}
    job = container(find(docs, "Job")["hocba-migrate"])
    assert {e["name"]: e.get("value") for e in job["env"]}["HOCBA_RECORD_RETENTION_DAYS"] == "3650"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("archive.recordRetentionDays=0", "archive.recordRetentionDays must be a positive number of days"),
        ("verification.rateLimit=0", "verification.rateLimit must be a positive number"),
        ("verification.publicUrl=hocba.hanoi.edu.vn", 'verification.publicUrl "hocba.hanoi.edu.vn": an absolute'),
    ],
)
def test_bad_record_and_verification_values_fail(helm: str, tmp_path: Path, setting: str, message: str) -> None:
    result = template(helm, "-f", values_file(tmp_path, REQUIRED), "--set", setting, check=False)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def test_env_example_names_the_record_archive_and_verification_settings() -> None:
    env = {}
    for line in (INFRA / "env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    assert int(env["HOCBA_RECORD_RETENTION_DAYS"]) > 0 and env["HOCBA_ARCHIVE_BUCKET"]
    for key in ("HOCBA_VERIFY_MAX_BYTES", "HOCBA_VERIFY_RATE_LIMIT", "HOCBA_VERIFY_RATE_WINDOW"):
        assert int(env[key]) > 0, key
    assert "HOCBA_PUBLIC_URL" in env and "HOCBA_TRUST_ROOTS_DIR" in env


def test_database_urls_and_s3_keys_from_their_own_secrets(helm: str) -> None:
    docs = render(
        helm,
        *("-f", str(PROVINCE_VALUES), "--set", "database.owner.existingSecret=pg-owner"),
        *("--set", "database.app.existingSecret=pg-app", "--set", "database.app.key=url"),
        *("--set", "s3.existingSecret=s3-keys"),
    )

    def refs(c: dict) -> dict[str, tuple[str, str]]:
        return {
            e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
            for e in c.get("env", [])
            if "valueFrom" in e
        }

    s3 = {key: ("s3-keys", key) for key in ("S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")}
    for component in ("web", "worker", "beat"):
        # The application's pods never see the owner's URL.
        assert refs(container(find(docs, "Deployment")[f"hocba-{component}"])) == {
            "DATABASE_URL": ("pg-app", "url"),
            "DATABASE_APP_URL": ("pg-app", "url"),
            **s3,
        }
    assert refs(container(find(docs, "Job")["hocba-migrate"])) == {"DATABASE_URL": ("pg-owner", "DATABASE_URL"), **s3}
    plain = render(helm, "-f", str(PROVINCE_VALUES))
    assert "env" not in container(find(plain, "Deployment")["hocba-web"])


# --- bad values: a clear message, non-zero exit -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("province", "province is required"),
        ("baseDomain", "baseDomain is required"),
        ("archive", "archive.bucket is required"),
        ("backup", "backup.bucket is required"),
        ("s3", "s3.endpointUrl is required"),
    ],
)
def test_a_values_file_without_a_required_value_fails(helm: str, tmp_path: Path, missing: str, message: str) -> None:
    data = {key: value for key, value in REQUIRED.items() if key != missing}
    result = template(helm, "-f", str(CHART / "values-small.yaml"), "-f", values_file(tmp_path, data), check=False)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert not result.stdout.strip()


def test_the_defaults_alone_do_not_render(helm: str) -> None:
    result = template(helm, check=False)
    assert result.returncode != 0
    assert "is required" in result.stderr


def test_backup_bucket_equal_to_archive_bucket_fails(helm: str, tmp_path: Path) -> None:
    data = {**REQUIRED, "backup": {"bucket": REQUIRED["archive"]["bucket"]}}
    result = template(helm, "-f", values_file(tmp_path, data), check=False)
    assert result.returncode != 0
    assert 'backup.bucket must differ from archive.bucket (both "hocba-ha-noi-archive")' in result.stderr


def test_archive_bucket_must_be_a_bucket_name(helm: str, tmp_path: Path) -> None:
    data = {**REQUIRED, "archive": {"bucket": "Hà Nội archive"}}
    result = template(helm, "-f", values_file(tmp_path, data), check=False)
    assert result.returncode != 0
    assert 'archive.bucket "Hà Nội archive" is not a valid S3 bucket name' in result.stderr


# --- make helm --------------------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_helm_lints_and_renders_both_sizes(helm: str) -> None:
    # -o: take the virtualenv as it is (never reinstall it from here); infra/get-helm.sh finds helm in .tools.
    result = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "helm", f"PY={sys.executable}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "values-small.yaml" in result.stdout and "values-large.yaml" in result.stdout
    assert "0 chart(s) failed" in result.stdout


# --- compose ----------------------------------------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load((INFRA / "compose.yaml").read_text())


def test_compose_pins_postgres_16_and_minio_releases() -> None:
    services = compose()["services"]
    assert services["postgres"]["image"] == "postgres:16"
    for name, repository in (("minio", "minio/minio"), ("createbucket", "minio/mc")):
        image = services[name]["image"]
        default = re.fullmatch(r"\$\{[A-Z_]+:-(.+)\}", image)
        image = default.group(1) if default else image
        assert re.fullmatch(rf"{repository}:RELEASE\.\d{{4}}-\d\d-\d\dT\d\d-\d\d-\d\dZ", image), image
    for name, service in services.items():
        if "build" not in service:  # our own image is built; every other one carries a tag, never `latest`
            assert ":" in service["image"] and not service["image"].rstrip("}").endswith(":latest"), name


def test_compose_creates_the_backup_bucket_beside_the_archive() -> None:
    script = compose()["services"]["createbucket"]["command"][0]
    lines = [line.strip() for line in script.splitlines()]
    archive = next(line for line in lines if line.startswith("mc mb") and "HOCBA_ARCHIVE_BUCKET" in line)
    backup = next(line for line in lines if line.startswith("mc mb") and "HOCBA_BACKUP_BUCKET" in line)
    assert "--with-lock" in archive and "--with-lock" not in backup
    expiry = next(line for line in lines if line.startswith("mc ilm rule add"))
    assert "--expire-days" in expiry and "HOCBA_BACKUP_RETENTION_DAYS" in expiry and "HOCBA_BACKUP_BUCKET" in expiry
    assert any("mc encrypt set sse-s3" in line and "HOCBA_BACKUP_BUCKET" in line for line in lines)
    assert any('"$$HOCBA_BACKUP_BUCKET" = "$$HOCBA_ARCHIVE_BUCKET"' in line for line in lines)


def test_compose_worker_and_beat_check_their_heartbeat() -> None:
    services = compose()["services"]
    for name in ("worker", "beat"):
        test = services[name]["healthcheck"]["test"]
        assert test[:4] == ["CMD", "python", "-m", "hocba.heartbeat"]
        assert test[4] == "--max-age" and int(test[5]) > 0


def test_env_example_names_a_separate_backup_bucket() -> None:
    env = {}
    for line in (INFRA / "env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    assert env["HOCBA_BACKUP_BUCKET"] and env["HOCBA_BACKUP_BUCKET"] != env["HOCBA_ARCHIVE_BUCKET"]
    assert int(env["HOCBA_BACKUP_RETENTION_DAYS"]) > 0
    assert env["MINIO_KMS_SECRET_KEY"].startswith("hocba-key:")
