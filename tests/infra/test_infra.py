"""Deployment files: container image, entrypoint, compose, Helm chart (infra/, helm/).

No Docker engine and no cluster are needed: the chart is checked with `helm lint` / `helm template`
(helm comes from infra/get-helm.sh), the entrypoint in its dry-run mode and against a throw-away
PostgreSQL, the Dockerfile and compose file as text. Nothing here touches Django's test database.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
CHART = ROOT / "helm" / "hocba"
ENTRYPOINT = INFRA / "entrypoint.sh"
DOCKERFILE = INFRA / "Dockerfile"

BASE_DOMAIN = "hanoi.hocba.example.vn"
ARCHIVE_BUCKET = "hocba-ha-noi-archive"
# The values every release must give (province, base domain, archive bucket, S3 endpoint), as a values file.
PROVINCE_VALUES = CHART / "ci" / "province-values.yaml"
REQUIRED_SECRETS = ("HOCBA_SECRET_KEY", "HOCBA_MFA_KEY", "DATABASE_URL", "REDIS_URL")


# --- helm ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def helm() -> str:
    result = subprocess.run(
        ["sh", str(INFRA / "get-helm.sh"), sys.executable],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    path = result.stdout.strip().splitlines()[-1]
    assert os.access(path, os.X_OK), path
    return path


def helm_template(helm: str, *sets: str, check: bool = True) -> subprocess.CompletedProcess:
    args = [helm, "template", "hocba", str(CHART), "--namespace", "hocba-ha-noi"]
    required = ("province=ha-noi", f"baseDomain={BASE_DOMAIN}", f"archive.bucket={ARCHIVE_BUCKET}")
    for value in (*required, "backup.bucket=hocba-ha-noi-backup", "s3.endpointUrl=https://s3.example.vn", *sets):
        args += ["--set", value]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def render(helm: str, *sets: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(helm_template(helm, *sets).stdout) if doc]


def find(docs: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[dict], kind: str, name: str) -> dict:
    found = find(docs, kind, name)
    assert len(found) == 1, f"{kind}/{name}: {[d['metadata']['name'] for d in find(docs, kind)]}"
    return found[0]


def container(workload: dict) -> dict:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


@pytest.fixture(scope="session")
def rendered(helm: str) -> list[dict]:
    return render(helm)


def test_get_helm_is_idempotent(helm: str) -> None:
    again = subprocess.run(
        ["sh", str(INFRA / "get-helm.sh"), sys.executable], capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == helm == str(ROOT / ".tools" / "helm")
    version = subprocess.run([helm, "version", "--short"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("v3."), version


def test_helm_lint_passes(helm: str) -> None:
    result = subprocess.run(
        [helm, "lint", "--strict", str(CHART), "-f", str(PROVINCE_VALUES)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_helm_lint_passes_with_every_option_on(helm: str) -> None:
    sets = [
        "province=da-nang",
        "web.autoscaling.enabled=true",
        "worker.autoscaling.enabled=true",
        "secrets.create=true",
        *(f"secrets.values.{key}=x" for key in REQUIRED_SECRETS),
        "migrate.existingSecret=hocba-owner",
        "ingress.className=nginx",
        "imagePullSecrets[0].name=registry",
        "worker.autoscaling.keda.enabled=true",
        "database.owner.existingSecret=hocba-owner",
        "database.app.existingSecret=hocba-app",
        "s3.existingSecret=hocba-s3",
        "web.threads=4",
    ]
    args = [helm, "lint", "--strict", str(CHART), "-f", str(PROVINCE_VALUES)]
    for value in sets:
        args += ["--set", value]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_chart_is_api_v2(rendered: list[dict]) -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "hocba"


def test_template_renders_web_worker_beat(rendered: list[dict]) -> None:
    names = {d["metadata"]["name"]: d for d in find(rendered, "Deployment")}
    assert set(names) == {"hocba-web", "hocba-worker", "hocba-beat"}
    for component in ("web", "worker", "beat"):
        workload = names[f"hocba-{component}"]
        c = container(workload)
        assert c["args"][0] == component
        assert c["image"] == "registry.example.vn/hocba/hocba:0.1.0"
        refs = [next(iter(source.values()))["name"] for source in c["envFrom"]]
        assert refs == ["hocba", "hocba-secrets"]
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["serviceAccountName"] == "hocba"
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert labels["hocba/province"] == "ha-noi"
        assert labels["app.kubernetes.io/component"] == component
        assert workload["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == component


def test_web_probes_healthz_with_base_domain_as_host(rendered: list[dict]) -> None:
    web = container(one(rendered, "Deployment", "hocba-web"))
    assert {"name": "http", "containerPort": 8000, "protocol": "TCP"} in web["ports"]
    # Liveness: the process only (/healthz); readiness: the dependencies (/readyz).
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = web[probe]["httpGet"]
        assert get["path"] == path
        assert get["port"] == "http"
        assert {"name": "Host", "value": BASE_DOMAIN} in get["httpHeaders"]
    service = one(rendered, "Service", "hocba-web")
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "web"
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_beat_is_one_replica_recreated(helm: str, rendered: list[dict]) -> None:
    beat = one(rendered, "Deployment", "hocba-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    # Scaling knobs meant for others (or a stray value) never give beat a second replica.
    scaled = render(helm, "beat.replicaCount=3", "web.replicaCount=5", "worker.autoscaling.enabled=true")
    assert one(scaled, "Deployment", "hocba-beat")["spec"]["replicas"] == 1
    assert not [h for h in find(scaled, "HorizontalPodAutoscaler") if "beat" in h["metadata"]["name"]]


def test_replicas_from_values(helm: str) -> None:
    docs = render(helm, "web.replicaCount=4", "worker.replicaCount=7")
    assert one(docs, "Deployment", "hocba-web")["spec"]["replicas"] == 4
    assert one(docs, "Deployment", "hocba-worker")["spec"]["replicas"] == 7


def test_migration_job_is_a_pre_install_pre_upgrade_hook(rendered: list[dict]) -> None:
    job = one(rendered, "Job", "hocba-migrate")
    annotations = job["metadata"]["annotations"]
    assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    c = container(job)
    assert c["args"] == ["migrate", "--workers", "4"]
    # A hook runs before the release's ConfigMap exists: the environment is inlined.
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["DJANGO_SETTINGS_MODULE"] == "hocba.settings.production"
    assert env["HOCBA_BASE_DOMAIN"] == BASE_DOMAIN
    assert env["HOCBA_ARCHIVE_BUCKET"] == ARCHIVE_BUCKET
    assert "HOCBA_PROVINCE" not in env  # read by nothing: the province is a label
    assert [s["secretRef"]["name"] for s in c["envFrom"]] == ["hocba-secrets"]
    assert "serviceAccountName" not in pod  # the chart's ServiceAccount does not exist yet


def test_migration_job_can_use_the_owner_role(helm: str) -> None:
    docs = render(helm, "migrate.existingSecret=hocba-owner", "migrate.workers=8", "migrate.args={--schema,s1}")
    c = container(one(docs, "Job", "hocba-migrate"))
    assert [s["secretRef"]["name"] for s in c["envFrom"]] == ["hocba-secrets", "hocba-owner"]
    assert c["args"] == ["migrate", "--workers", "8", "--schema", "s1"]
    assert not find(render(helm, "migrate.enabled=false"), "Job")


def test_ingress_serves_base_domain_and_wildcard(rendered: list[dict]) -> None:
    ingress = one(rendered, "Ingress", "hocba")
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    assert hosts == [BASE_DOMAIN, f"*.{BASE_DOMAIN}"]
    for rule in ingress["spec"]["rules"]:
        backend = rule["http"]["paths"][0]["backend"]["service"]
        assert backend == {"name": "hocba-web", "port": {"name": "http"}}
    assert ingress["spec"]["tls"][0]["hosts"] == hosts


def test_configmap_holds_the_non_secret_environment(rendered: list[dict]) -> None:
    data = one(rendered, "ConfigMap", "hocba")["data"]
    assert data["DJANGO_SETTINGS_MODULE"] == "hocba.settings.production"
    assert data["HOCBA_BASE_DOMAIN"] == BASE_DOMAIN
    assert data["HOCBA_ALLOWED_HOSTS"] == f"{BASE_DOMAIN},.{BASE_DOMAIN}"
    assert data["HOCBA_ARCHIVE_BUCKET"] == ARCHIVE_BUCKET
    assert "HOCBA_PROVINCE" not in data
    assert data["S3_ENDPOINT_URL"].startswith("https://")
    assert data["WEB_CONCURRENCY"] == "2"
    assert not set(data) & {*REQUIRED_SECRETS, "S3_SECRET_ACCESS_KEY"}
    assert all(isinstance(value, str) for value in data.values())


def test_rollup_mode_is_inline_unless_outbox_is_chosen(helm: str, rendered: list[dict]) -> None:
    assert one(rendered, "ConfigMap", "hocba")["data"]["HOCBA_ROLLUP_MODE"] == "inline"
    outbox = render(helm, "rollups.mode=outbox")
    assert one(outbox, "ConfigMap", "hocba")["data"]["HOCBA_ROLLUP_MODE"] == "outbox"
    bad = helm_template(helm, "rollups.mode=sometimes", check=False)
    assert bad.returncode != 0 and "rollups.mode" in bad.stderr


def test_secret_only_when_asked(helm: str, rendered: list[dict]) -> None:
    assert not find(rendered, "Secret")
    docs = render(helm, "secrets.create=true", *(f"secrets.values.{k}=v-{k}" for k in REQUIRED_SECRETS))
    secret = one(docs, "Secret", "hocba")
    assert secret["stringData"] == {k: f"v-{k}" for k in REQUIRED_SECRETS}
    assert "pre-install" in secret["metadata"]["annotations"]["helm.sh/hook"]
    assert container(one(docs, "Deployment", "hocba-web"))["envFrom"][1] == {"secretRef": {"name": "hocba"}}
    missing = helm_template(helm, "secrets.create=true", check=False)
    assert missing.returncode != 0
    assert "secrets.values.HOCBA_SECRET_KEY is required" in missing.stderr


def test_autoscaling_is_off_by_default(helm: str, rendered: list[dict]) -> None:
    assert not find(rendered, "HorizontalPodAutoscaler")
    docs = render(helm, "web.autoscaling.enabled=true", "worker.autoscaling.enabled=true")
    hpas = {h["metadata"]["name"]: h for h in find(docs, "HorizontalPodAutoscaler")}
    assert set(hpas) == {"hocba-web", "hocba-worker"}
    assert hpas["hocba-worker"]["spec"]["scaleTargetRef"]["name"] == "hocba-worker"
    assert "replicas" not in one(docs, "Deployment", "hocba-web")["spec"]
    assert "replicas" not in one(docs, "Deployment", "hocba-worker")["spec"]
    assert one(docs, "Deployment", "hocba-beat")["spec"]["replicas"] == 1


def test_service_account(rendered: list[dict]) -> None:
    account = one(rendered, "ServiceAccount", "hocba")
    assert account["automountServiceAccountToken"] is False


def test_province_must_be_a_slug(helm: str) -> None:
    bad = helm_template(helm, "province=Hà Nội", check=False)
    assert bad.returncode != 0
    assert "lowercase slug" in bad.stderr


def test_values_declare_province_and_fixed_beat() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert "province" in values and "baseDomain" in values
    assert values["secrets"]["existingSecret"] and values["secrets"]["create"] is False
    assert "replicaCount" not in values["beat"]
    assert values["web"]["autoscaling"]["enabled"] is False
    assert values["worker"]["autoscaling"]["enabled"] is False


# --- entrypoint ----------------------------------------------------------------------------------


def run_entrypoint(*args: str, dry_run: bool = True, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HOCBA_", "DJANGO_", "WEB_CONCURRENCY", "DATABASE_URL", "PYTHONPATH"))
    }
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment.get("PATH", "")])
    if dry_run:
        environment["HOCBA_ENTRYPOINT_DRY_RUN"] = "1"
    environment.update(env)
    return subprocess.run(
        [str(ENTRYPOINT), *args], capture_output=True, text=True, env=environment, cwd="/", timeout=120
    )


def test_entrypoint_syntax() -> None:
    result = subprocess.run(["sh", "-n", str(ENTRYPOINT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert os.access(ENTRYPOINT, os.X_OK)


def test_entrypoint_stops_at_the_first_failing_step(tmp_path: Path) -> None:
    """``migrate`` runs its steps in order and gives up at the first that fails, with its exit status."""
    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "python"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nprintf \'%s\\n\' "$*" >> "$FAKE_CALLS"\nexit 3\n')
    fake.chmod(0o755)
    result = run_entrypoint(
        "migrate",
        dry_run=False,
        HOCBA_SKIP_WAIT="1",
        FAKE_CALLS=str(calls),
        PATH=os.pathsep.join([str(fake.parent), os.environ.get("PATH", "")]),
    )
    assert result.returncode == 3, result.stderr
    assert calls.read_text().splitlines() == ["manage.py migrate_schemas --shared --noinput"]


GUNICORN = (
    "gunicorn hocba.wsgi:application --bind 0.0.0.0:8000 --workers 2 --access-logfile -"
    " --config python:hocba.gunicorn_conf"
)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), [f"exec: {GUNICORN}"]),
        (("web",), [f"exec: {GUNICORN}"]),
        (("worker",), ["exec: celery -A hocba worker -l info"]),
        (("beat",), ["exec: celery -A hocba beat -l info --schedule /tmp/celerybeat-schedule"]),
        (
            ("migrate",),
            [
                "run: python manage.py migrate_schemas --shared --noinput",
                "run: python manage.py db_roles",
                "exec: python manage.py migrate_schools",
            ],
        ),
        (("manage", "createsuperuser", "--noinput"), ["exec: python manage.py createsuperuser --noinput"]),
        (
            ("check",),
            [
                "run: python manage.py check --deploy --fail-level WARNING",
                "exec: python manage.py migrate_schools --check",
            ],
        ),
        (("sh", "-c", "echo hi"), ["exec: sh -c echo hi"]),
        (("python", "-V"), ["exec: python -V"]),
    ],
)
def test_entrypoint_maps_subcommands(args: tuple[str, ...], expected: list[str]) -> None:
    # A DATABASE_URL nobody listens on: the dry run must not wait for it.
    result = run_entrypoint(*args, DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == expected
    assert sum(line.startswith("exec:") for line in lines) == 1


def test_entrypoint_passes_extra_arguments_and_environment() -> None:
    web = run_entrypoint("web", "--timeout", "60", WEB_CONCURRENCY="5")
    assert web.stdout.strip() == (
        "exec: gunicorn hocba.wsgi:application --bind 0.0.0.0:8000 --workers 5 --access-logfile -"
        " --config python:hocba.gunicorn_conf --timeout 60"
    )
    worker = run_entrypoint("worker", "--concurrency", "4", "-Q", "pdf")
    assert worker.stdout.strip() == "exec: celery -A hocba worker -l info --concurrency 4 -Q pdf"
    migrate = run_entrypoint("migrate", "--workers", "8")
    assert migrate.stdout.splitlines()[-1] == "exec: python manage.py migrate_schools --workers 8"
    beat = run_entrypoint("beat", HOCBA_BEAT_SCHEDULE="/var/run/beat/schedule")
    assert beat.stdout.strip().endswith("--schedule /var/run/beat/schedule")


def test_entrypoint_runs_commands_from_the_source_tree_in_production_mode() -> None:
    result = run_entrypoint(
        "sh", "-c", 'echo "$PWD|$PYTHONPATH|$DJANGO_SETTINGS_MODULE"', dry_run=False, HOCBA_SKIP_WAIT="1"
    )
    assert result.returncode == 0, result.stderr
    cwd, pythonpath, settings = result.stdout.strip().split("|")
    assert Path(cwd).resolve() == ROOT.resolve()
    assert pythonpath.split(":")[:2] == [f"{ROOT.resolve()}/platform", str(ROOT.resolve())]
    assert settings == "hocba.settings.production"


def test_entrypoint_gives_up_waiting_for_postgres() -> None:
    result = run_entrypoint(
        "web",
        "--version",
        dry_run=False,
        DATABASE_URL="postgresql://hocba:not-printed@127.0.0.1:1/hocba",
        HOCBA_WAIT_RETRIES="2",
        HOCBA_WAIT_DELAY="0",
    )
    assert result.returncode != 0
    assert "PostgreSQL not ready (2/2)" in result.stderr
    assert "gave up waiting for PostgreSQL after 2 attempts" in result.stderr
    assert "not-printed" not in result.stderr + result.stdout
    assert "gunicorn" not in result.stdout


def test_entrypoint_skip_wait() -> None:
    result = run_entrypoint(
        "web",
        "--version",
        dry_run=False,
        DATABASE_URL="postgresql://hocba@127.0.0.1:1/hocba",
        HOCBA_SKIP_WAIT="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("gunicorn ")


def test_entrypoint_waits_for_a_real_postgres_then_execs(settings) -> None:
    """Against the suite's own PostgreSQL server (the configured one, else the embedded one)."""
    db = settings.DATABASES["default"]
    url = make_conninfo(host=db["HOST"], port=db["PORT"], dbname="postgres", user=db["USER"], password=db["PASSWORD"])
    result = run_entrypoint("web", "--version", dry_run=False, DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert "PostgreSQL is ready" in result.stderr
    assert result.stdout.startswith("gunicorn ")


# --- Dockerfile ----------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1] if " " in text else "") for text in logical]


def test_dockerfile_is_multi_stage_on_slim_bookworm() -> None:
    froms = [args for op, args in dockerfile_instructions() if op == "FROM"]
    assert len(froms) >= 2
    text = DOCKERFILE.read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in text
    assert all(args.startswith("${PYTHON_IMAGE}") for args in froms)
    assert "COPY --from=builder /opt/venv /opt/venv" in text


def test_dockerfile_installs_with_the_constraints_file() -> None:
    runs = " ".join(args for op, args in dockerfile_instructions() if op == "RUN")
    assert "pip install -c constraints.txt ." in runs
    copies = [args for op, args in dockerfile_instructions() if op == "COPY"]
    assert any("constraints.txt" in args.split() for args in copies)


def test_dockerfile_entrypoint_user_healthcheck() -> None:
    instructions = dockerfile_instructions()
    assert ("ENTRYPOINT", '["/app/infra/entrypoint.sh"]') in instructions
    assert ("CMD", '["web"]') in instructions
    users = [args for op, args in instructions if op == "USER"]
    assert users, "no USER"
    final_user = users[-1].split(":")[0]
    assert final_user not in {"root", "0"}
    assert "useradd" in DOCKERFILE.read_text() and " hocba" in DOCKERFILE.read_text()
    assert final_user in {"hocba", "10001"}
    healthcheck = [args for op, args in instructions if op == "HEALTHCHECK"]
    assert len(healthcheck) == 1 and "/app/infra/healthcheck.py" in healthcheck[0]
    text = DOCKERFILE.read_text()
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz0b", "libffi8", "shared-mime-info"):
        assert package in text


def build_time_env() -> dict[str, str]:
    runs = [args for op, args in dockerfile_instructions() if op == "RUN" and "collectstatic" in args]
    assert len(runs) == 1
    block = runs[0].split(" export ", 1)[1].split("python manage.py collectstatic", 1)[0]
    return dict(re.findall(r"([A-Z][A-Z0-9_]*)=(\S+)", block))


def test_collectstatic_works_with_the_build_time_environment(tmp_path: Path) -> None:
    """The image build runs collectstatic under production settings with dummy values."""
    dummy = build_time_env()
    assert {"HOCBA_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "S3_ENDPOINT_URL", "HOCBA_MFA_KEY"} <= set(dummy)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOCBA_", "DJANGO_", "S3_"))}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(dummy)
    env.update(
        DJANGO_SETTINGS_MODULE="hocba.settings.production",
        HOCBA_DATA_DIR=str(tmp_path),
        PYTHONPATH=os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "static files copied" in result.stdout


def test_dockerignore_keeps_what_the_image_needs() -> None:
    patterns = [
        line.strip()
        for line in (INFRA / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return any(
            fnmatch.fnmatch(prefix, pattern) or fnmatch.fnmatch(prefix, pattern.removeprefix("**/"))
            for pattern in patterns
            for prefix in prefixes
        )

    for needed in (
        "pyproject.toml",
        "constraints.txt",
        "manage.py",
        "infra/entrypoint.sh",
        "infra/healthcheck.py",
        "platform/hocba/settings/production.py",
        "tenants/models.py",
        "schools/models.py",
        "reporting/models.py",
    ):
        assert not ignored(needed), needed
    for unwanted in (".git/HEAD", ".venv/bin/python", ".tools/helm", ".data/pg", "tests/conftest.py"):
        assert ignored(unwanted), unwanted


def load_healthcheck():
    spec = importlib.util.spec_from_file_location("hocba_infra_healthcheck", INFRA / "healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_healthcheck_asks_healthz_with_the_base_domain() -> None:
    healthcheck = load_healthcheck()
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append((self.path, self.headers["Host"]))
            ok = self.path == "/healthz" and self.headers["Host"] == BASE_DOMAIN
            self.send_response(200 if ok else 400)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/healthz"
        assert healthcheck.http_ok(url, BASE_DOMAIN) is True
        assert healthcheck.http_ok(url, "evil.example") is False
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [("/healthz", BASE_DOMAIN), ("/healthz", "evil.example")]
    assert healthcheck.http_ok("http://127.0.0.1:1/healthz", BASE_DOMAIN, timeout=1) is False


def test_healthcheck_only_checks_http_where_gunicorn_runs(tmp_path: Path) -> None:
    healthcheck = load_healthcheck()

    def proc(*commands: list[str]) -> str:
        root = tmp_path / str(len(list(tmp_path.iterdir())))
        for pid, argv in enumerate(commands, start=1):
            (root / str(pid)).mkdir(parents=True)
            (root / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
        (root / "self").mkdir(parents=True, exist_ok=True)
        return str(root)

    web = ["/opt/venv/bin/python", "/opt/venv/bin/gunicorn", "hocba.wsgi:application"]
    worker = ["/opt/venv/bin/python", "/opt/venv/bin/celery", "-A", "hocba", "worker"]
    assert healthcheck.runs_gunicorn(proc(web)) is True
    assert healthcheck.runs_gunicorn(proc(["/sbin/docker-init", "--", "/app/infra/entrypoint.sh"], web))
    assert healthcheck.runs_gunicorn(proc(worker)) is False
    assert healthcheck.runs_gunicorn(proc(["/opt/venv/bin/python", "/opt/venv/bin/celery", "beat"])) is False


# --- compose and env.example ---------------------------------------------------------------------


def test_compose_services() -> None:
    compose = yaml.safe_load((INFRA / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "minio", "createbucket", "migrate", "web", "worker", "beat"}
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    assert services["minio"]["command"][:2] == ["server", "/data"]
    assert "--with-lock" in services["createbucket"]["command"][0]
    assert services["createbucket"]["restart"] == "no"
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert service["command"] == [name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["createbucket"]["condition"] == "service_completed_successfully"
        assert service["build"] == {"context": "..", "dockerfile": "infra/Dockerfile"}
        assert [entry["path"] for entry in service["env_file"]][0] == "env.example"
    assert "deploy" not in services["beat"] and "scale" not in services["beat"]


def test_env_example_sets_what_production_requires() -> None:
    values = {}
    for line in (INFRA / "env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value
    for key in ("HOCBA_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "S3_ENDPOINT_URL", "HOCBA_MFA_KEY"):
        assert values.get(key), key
    for key in (
        "HOCBA_BASE_DOMAIN",
        "HOCBA_ALLOWED_HOSTS",
        "S3_ACCESS_KEY_ID",
        "S3_SECRET_ACCESS_KEY",
        "S3_REGION",
        "HOCBA_EMAIL_HOST",
    ):
        assert key in values, key
    assert values["DATABASE_URL"].startswith("postgresql://")
    assert values["DJANGO_SETTINGS_MODULE"] == "hocba.settings.production"
    from cryptography.fernet import Fernet

    Fernet(values["HOCBA_MFA_KEY"].encode())  # a well-formed placeholder key
    assert values["MINIO_ROOT_USER"] == values["S3_ACCESS_KEY_ID"]
    assert values["MINIO_ROOT_PASSWORD"] == values["S3_SECRET_ACCESS_KEY"]


def _secret_refs(c: dict) -> dict[str, tuple[str, str]]:
    return {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in c.get("env", [])
        if "valueFrom" in e
    }


def test_backup_schedule_values_reach_the_configmap_and_the_migration_job(helm: str, rendered: list[dict]) -> None:
    data = one(rendered, "ConfigMap", "hocba")["data"]
    assert (data["HOCBA_BACKUP_SCHEDULE"], data["HOCBA_BACKUP_HOUR"]) == ("on", "2")
    assert data["HOCBA_DB_BACKUP_USER"] == "hocba_backup_reader"
    docs = render(helm, "backup.schedule.enabled=false", "backup.schedule.hour=23", "database.backup.user=sao_luu")
    data = one(docs, "ConfigMap", "hocba")["data"]
    assert (data["HOCBA_BACKUP_SCHEDULE"], data["HOCBA_BACKUP_HOUR"], data["HOCBA_DB_BACKUP_USER"]) == (
        "off",
        "23",
        "sao_luu",
    )
    # The migration job (a hook, before the ConfigMap) gets them too: db_roles creates the backups' login.
    job = {e["name"]: e.get("value") for e in container(one(docs, "Job", "hocba-migrate"))["env"]}
    assert job["HOCBA_DB_BACKUP_USER"] == "sao_luu" and job["HOCBA_BACKUP_HOUR"] == "23"
    for bad in ("24", "-1", "2.5", "hai"):
        result = helm_template(helm, f"backup.schedule.hour={bad}", check=False)
        assert result.returncode != 0 and "backup.schedule.hour" in result.stderr


def test_the_backup_login_secret_reaches_the_worker_only(helm: str, rendered: list[dict]) -> None:
    assert all("DATABASE_BACKUP_URL" not in _secret_refs(container(d)) for d in find(rendered, "Deployment"))
    docs = render(
        helm,
        "database.backup.existingSecret=pg-backup",
        "database.app.existingSecret=pg-app",
        "database.app.key=url",
    )
    worker = _secret_refs(container(one(docs, "Deployment", "hocba-worker")))
    assert worker["DATABASE_BACKUP_URL"] == ("pg-backup", "DATABASE_BACKUP_URL")
    assert worker["DATABASE_APP_URL"] == ("pg-app", "url")
    for name in ("hocba-web", "hocba-beat"):
        refs = _secret_refs(container(one(docs, "Deployment", name)))
        assert "DATABASE_BACKUP_URL" not in refs and refs["DATABASE_APP_URL"] == ("pg-app", "url")
    assert "DATABASE_BACKUP_URL" not in _secret_refs(container(one(docs, "Job", "hocba-migrate")))
    keyed = render(helm, "database.backup.existingSecret=pg-backup", "database.backup.key=url")
    worker = _secret_refs(container(one(keyed, "Deployment", "hocba-worker")))
    assert worker["DATABASE_BACKUP_URL"] == ("pg-backup", "url")


def test_a_chart_made_secret_carries_the_backup_login(helm: str) -> None:
    docs = render(
        helm,
        "secrets.create=true",
        *(f"secrets.values.{k}=v-{k}" for k in REQUIRED_SECRETS),
        "secrets.values.HOCBA_DB_BACKUP_PASSWORD=mat-khau-sao-luu",
    )
    data = find(docs, "Secret")[0]["stringData"]
    assert data["HOCBA_DB_BACKUP_PASSWORD"] == "mat-khau-sao-luu" and "DATABASE_BACKUP_URL" not in data
