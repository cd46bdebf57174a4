#!/bin/sh
# Container entrypoint of the HọcBạ image.
#
#   web                 gunicorn (WEB_CONCURRENCY workers, default 2) on :8000
#   worker              celery worker
#   beat                celery beat: run exactly ONE of these per deployment
#   migrate [args…]     as the owner: migrate_schemas --shared, db_roles, then migrate_schools [args…]
#   manage <args…>      python manage.py <args…>
#   provision <file> [args…]   manage.py provision_schools <file> [--dry-run | --create-valid]
#   backup <school> [args…]    manage.py school_backup <school> [--to s3|DIR] (the backups' login when
#                              DATABASE_BACKUP_URL or HOCBA_DB_BACKUP_PASSWORD is set, else DATABASE_URL's
#                              login as is: the owner or a login in hocba_backup; `backup --all` every school)
#   restore <backup> <schema>  as the owner: manage.py school_restore <backup> --as <schema> (a fresh
#                              schema, verified, then the school switched to it)
#   check               check --deploy --fail-level WARNING, then migrate_schools --check
#   anything else       exec'd as is (e.g. `sh`, `python -V`)
#
# Extra arguments after web/worker/beat are passed on to gunicorn/celery.
#
# Environment:
#   HOCBA_SKIP_WAIT=1            do not wait for PostgreSQL before web/worker/beat/migrate
#   HOCBA_WAIT_RETRIES (30)      connection attempts before giving up
#   HOCBA_WAIT_DELAY (2)         seconds between attempts
#   HOCBA_ENTRYPOINT_DRY_RUN=1   print the command instead of running it (`exec: …`, preceded by
#                                `run: …` for the steps that would run first) and exit 0; waits for
#                                nothing, connects to nothing
#   HOCBA_BEAT_SCHEDULE          beat's schedule file (default /tmp/celerybeat-schedule; /app is
#                                read-only for the hocba user)
#   HOCBA_APP_DIR                the source tree (default: the parent of this script's directory)
set -eu

APP_DIR=${HOCBA_APP_DIR:-$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)}
cd "$APP_DIR"

# The project package lives in platform/; the apps at the root.
case ":${PYTHONPATH:-}:" in
    *":$APP_DIR/platform:"*) ;;
    *) PYTHONPATH="$APP_DIR/platform:$APP_DIR${PYTHONPATH:+:$PYTHONPATH}" ;;
esac
export PYTHONPATH
: "${DJANGO_SETTINGS_MODULE:=hocba.settings.production}"
export DJANGO_SETTINGS_MODULE

dry_run() {
    [ "${HOCBA_ENTRYPOINT_DRY_RUN:-0}" = 1 ]
}

# A step that must succeed before the final command.
run() {
    if dry_run; then
        printf 'run: %s\n' "$*"
    else
        echo "entrypoint: $*" >&2
        "$@"
    fi
}

# The final command: it replaces this shell, so that it gets the signals (SIGTERM) itself.
run_exec() {
    if dry_run; then
        printf 'exec: %s\n' "$*"
        exit 0
    fi
    exec "$@"
}

# Bounded wait for PostgreSQL at DATABASE_URL (never prints the URL: it holds the password).
WAIT_FOR_POSTGRES='
import os, sys, time
import psycopg

url = os.environ.get("DATABASE_URL", "")
if not url:
    print("entrypoint: DATABASE_URL is not set; not waiting for PostgreSQL", file=sys.stderr)
    sys.exit(0)
tries = max(1, int(os.environ.get("HOCBA_WAIT_RETRIES") or 30))
delay = float(os.environ.get("HOCBA_WAIT_DELAY") or 2)
for attempt in range(1, tries + 1):
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"entrypoint: PostgreSQL not ready ({attempt}/{tries}): {reason}", file=sys.stderr)
        if attempt < tries:
            time.sleep(delay)
    else:
        print("entrypoint: PostgreSQL is ready", file=sys.stderr)
        sys.exit(0)
print(f"entrypoint: gave up waiting for PostgreSQL after {tries} attempts", file=sys.stderr)
sys.exit(1)
'

wait_for_postgres() {
    if dry_run || [ "${HOCBA_SKIP_WAIT:-0}" = 1 ]; then
        return 0
    fi
    python -c "$WAIT_FOR_POSTGRES"
}

if [ "$#" -eq 0 ]; then
    set -- web
fi
command=$1
shift

case "$command" in
    web)
        wait_for_postgres
        run_exec gunicorn hocba.wsgi:application \
            --bind "0.0.0.0:${HOCBA_PORT:-8000}" \
            --workers "${WEB_CONCURRENCY:-2}" \
            --access-logfile - --config python:hocba.gunicorn_conf "$@"
        ;;
    worker)
        wait_for_postgres
        # The pool's processes share their metrics through files there (hocba.kernel.metrics); /tmp is writable.
        export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/hocba-metrics-worker}"
        run_exec celery -A hocba worker -l info "$@"
        ;;
    beat)
        wait_for_postgres
        run_exec celery -A hocba beat -l info \
            --schedule "${HOCBA_BEAT_SCHEDULE:-/tmp/celerybeat-schedule}" "$@"
        ;;
    migrate)
        # Migrations, the application's role and its grants, and the school template need the
        # owner's login (DATABASE_URL of the migration job); the application's processes do not.
        wait_for_postgres
        export HOCBA_DB_ROLE=owner
        run python manage.py migrate_schemas --shared --noinput
        run python manage.py db_roles
        run_exec python manage.py migrate_schools "$@"
        ;;
    manage)
        run_exec python manage.py "$@"
        ;;
    provision)
        if [ "$#" -lt 1 ]; then
            echo "entrypoint: usage: provision <schools.csv|schools.xlsx> [--dry-run | --create-valid]" >&2
            exit 2
        fi
        wait_for_postgres
        run_exec python manage.py provision_schools "$@"
        ;;
    backup)
        if [ "$#" -lt 1 ]; then
            echo "entrypoint: usage: backup <school slug|MoET code|--all> [--to s3|DIR]" >&2
            exit 2
        fi
        # DATABASE_URL's login as it is (the owner, or a backup login in hocba_backup), never the app's.
        wait_for_postgres
        export HOCBA_DB_ROLE=owner
        run_exec python manage.py school_backup "$@"
        ;;
    restore)
        if [ "$#" -ne 2 ]; then
            echo "entrypoint: usage: restore <backups/<schema>/<stamp> | s3://bucket/… | DIR> <new schema>" >&2
            exit 2
        fi
        # Only the owner restores (the load disables the triggers of the fresh schema).
        wait_for_postgres
        export HOCBA_DB_ROLE=owner
        run_exec python manage.py school_restore "$1" --as "$2"
        ;;
    check)
        run python manage.py check --deploy --fail-level WARNING
        run_exec python manage.py migrate_schools --check
        ;;
    *)
        run_exec "$command" "$@"
        ;;
esac
