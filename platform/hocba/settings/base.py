"""Settings shared by every environment; local, test and production only adjust them."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from hocba.celery import VISIBILITY_TIMEOUT, broker_transport_options
from hocba.env import REPO_ROOT, ArchiveSettings, Env, database_settings, rollup_mode, runtime
from hocba.kernel.clientip import parse_networks

ENV = Env.read()
BASE_DIR = REPO_ROOT
PACKAGE_DIR = Path(__file__).resolve().parents[1]

DEBUG = ENV.debug
SECRET_KEY = ENV.secret_key or "insecure-local-key-change-me"
BASE_DOMAIN = ENV.base_domain
ALLOWED_HOSTS = list(ENV.allowed_hosts) or [BASE_DOMAIN, f".{BASE_DOMAIN}", "127.0.0.1"]
# Proxies whose X-Forwarded-For is believed (addresses or CIDR ranges; hocba.kernel.clientip): the audit trail's
# address and allauth's rate limits. Empty: REMOTE_ADDR is the client. A malformed entry stops the start.
TRUSTED_PROXIES = [str(network) for network in parse_networks(ENV.trusted_proxies)]

# --- tenancy -------------------------------------------------------------------------------------
SHARED_APPS = [
    "django_tenants",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "tenants.adminapp.OperatorAdminConfig",  # django.contrib.admin, read-only for operators
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "hocba.kernel",
    "tenants",
]
# Each school schema holds only these apps' tables (DESIGN §3: lean schemas, no contrib apps).
TENANT_APPS = [
    "schools",
    "reporting",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.School"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
TENANT_TEMPLATE_SCHEMA = "school_template"
# One `SET search_path` per connection and tenant, not one per cursor (12 → 1 per sheet save). Safe since
# django-tenants 4.0.1: a ROLLBACK or ROLLBACK TO SAVEPOINT (which revert a SET issued inside them) makes the
# next cursor set it again (tests/platform/test_search_path.py proves both against the database).
TENANT_LIMIT_SET_CALLS = True
SHOW_PUBLIC_IF_NO_TENANT_FOUND = True
PUBLIC_SCHEMA_URLCONF = "hocba.urls_public"
ROOT_URLCONF = "hocba.urls_school"
DATABASE_ROUTERS = ["hocba.kernel.routers.SchemaRouter", "django_tenants.routers.TenantSyncRouter"]

# The application logs in as a role that owns nothing (DESIGN §7); migrations and the school
# template run as the owner (HOCBA_DB_ROLE=owner). DATABASE_URL is the owner's login unless the
# application's own DATABASE_APP_URL is given; otherwise the application's user replaces it.
DB_ROLE = ENV.db_role
DB_APP_USER = ENV.db_app_user
DB_APP_PASSWORD = ENV.db_app_password
DATABASES = {}
if ENV.database_url:
    DATABASES["default"] = database_settings(ENV.database_url)
    if DB_ROLE != "owner":
        if ENV.database_app_url:
            DATABASES["default"] = database_settings(ENV.database_app_url)
        else:
            DATABASES["default"].update(USER=DB_APP_USER, PASSWORD=DB_APP_PASSWORD)
# The per-school backups (tenants.backups) read through "backup": a login that db_roles grants the read-only role
# hocba_backup — DATABASE_BACKUP_URL, else DATABASE_URL's server with HOCBA_DB_BACKUP_USER and
# HOCBA_DB_BACKUP_PASSWORD. A login of its own rather than SET ROLE from the application's: a session that could
# RESET ROLE back to a writer would not be read-only. Neither given: backups run only where "default" is the owner.
DB_BACKUP_USER = ENV.db_backup_user
DB_BACKUP_PASSWORD = ENV.db_backup_password
if ENV.database_url and (ENV.database_backup_url or ENV.db_backup_password):
    DATABASES["backup"] = database_settings(ENV.database_backup_url or ENV.database_url)
    if not ENV.database_backup_url:
        DATABASES["backup"].update(USER=DB_BACKUP_USER, PASSWORD=DB_BACKUP_PASSWORD)

# --- requests ------------------------------------------------------------------------------------
MIDDLEWARE = [
    # Outermost: every request's time, by view (hocba/kernel/metrics.py); then the probes made to answer on any host.
    "hocba.kernel.metrics.RequestMetricsMiddleware",
    "hocba.kernel.middleware.ProbeMiddleware",
    # A GET whose database connection was lost runs once more (hocba/kernel/dbretry.py).
    "hocba.kernel.dbretry.DatabaseRetryMiddleware",
    "hocba.kernel.csp.ContentSecurityPolicyMiddleware",
    "tenants.middleware.SchoolTenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "hocba.kernel.middleware.RequestContextMiddleware",
    "hocba.kernel.middleware.NfcMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "tenants.middleware.SchoolMembershipMiddleware",
    "tenants.middleware.MfaRequiredMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hocba.kernel.context_processors.platform",
                "hocba.kernel.csp.nonce",
            ]
        },
    }
]
WSGI_APPLICATION = "hocba.wsgi.application"
ASGI_APPLICATION = "hocba.asgi.application"

# --- accounts ------------------------------------------------------------------------------------
AUTH_USER_MODEL = "tenants.Account"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "tenants.auth.AccountAdapter"
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_GET = False
# Login attempts are limited through the cache, which is Redis (per process while Redis is down: kernel/cache.py).
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "5/5m/ip,5/5m/key",
    "reset_password": "5/m/ip,3/m/key",
    "change_password": "5/m/user",
}
MFA_ADAPTER = "tenants.auth.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "HọcBạ"
MFA_KEY = ENV.mfa_key

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_NAME = "hocba_session"
SESSION_COOKIE_AGE = 60 * 60 * 10
CSRF_COOKIE_NAME = "hocba_csrf"
# One session across the school subdomains: the cookie belongs to the base domain. A bare
# "localhost" cannot carry one (browsers keep its cookies host-only), hence "hocba.localhost".
SESSION_COOKIE_DOMAIN = f".{BASE_DOMAIN}" if "." in BASE_DOMAIN else None
CSRF_COOKIE_DOMAIN = SESSION_COOKIE_DOMAIN

# --- i18n ----------------------------------------------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Tiếng Việt")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Ho_Chi_Minh"
DATE_INPUT_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]
FORMAT_MODULE_PATH = ["hocba.formats"]

# --- static --------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = ENV.data_dir / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
WHITENOISE_USE_FINDERS = True  # development and tests serve straight from the apps; production collects
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, Celery -------------------------------------------------------------------------------


def _redis_urls(url: str) -> tuple[str, str]:
    """Return (cache URL, Celery broker URL); an embedded server is reached through a unix socket."""
    if url.startswith("unix://"):
        return url, "redis+socket://" + url.removeprefix("unix://")
    return url, url


REDIS_URL = ENV.redis_url
_cache_url, CELERY_BROKER_URL = _redis_urls(REDIS_URL) if REDIS_URL else ("", "memory://")
CACHES = {
    "default": (
        # One Redis may serve several databases (tests, demos): keep their keys apart.
        {
            # Redis unreachable: each process answers from its own memory, logged (hocba/kernel/cache.py); the
            # timeouts bound what a hung Redis costs the one call per process that finds it gone.
            "BACKEND": "hocba.kernel.cache.FallbackRedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "hocba:" + DATABASES.get("default", {}).get("NAME", ""),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redelivery of a task whose worker died: after the visibility timeout, which follows from the tasks' time limits
# (hocba/celery.py explains the bound; README "Workers"). HOCBA_CELERY_VISIBILITY_TIMEOUT overrides it for tests
# only: below the longest time limit, a slow task still running would be delivered twice.
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(
    int(runtime("HOCBA_CELERY_VISIBILITY_TIMEOUT", str(VISIBILITY_TIMEOUT)))
)

# --- archive store -------------------------------------------------------------------------------
S3_ENDPOINT_URL = ENV.s3_endpoint_url
S3_ACCESS_KEY_ID = ENV.s3_access_key
S3_SECRET_ACCESS_KEY = ENV.s3_secret_key
S3_REGION = ENV.s3_region
# The bucket and its retention periods are read when used (hocba.env.ArchiveSettings); a malformed value fails here.
ArchiveSettings.read()
# Whether the archive writer may create a missing bucket (with Object Lock): on a developer's machine and in tests
# only; production refuses and logs, the bucket is made beforehand (infra/README.md).
ARCHIVE_CREATE_BUCKET = False

# --- signing -------------------------------------------------------------------------------------
# The test PKI (reporting.signing.pki: a root per province, the demo signers' keys, the schools' seals): only the
# local and test settings name a directory; production signs with real keys (PKCS#11, CSC) and has none.
HOCBA_TEST_PKI_DIR = None
# Which key signs for whom (reporting.signing.keys): HOCBA_SIGNING_KEYS (a dict, here: none), else the JSON file
# HOCBA_SIGNING_KEYS_FILE names — PKCS#11 slots, CSC accounts, device certificates, mounted from a Secret, never in
# git. With neither, the settings that name a test PKI sign with its PKCS#12 files; production refuses clearly.
HOCBA_SIGNING_KEYS: dict = {}
HOCBA_SIGNING_KEYS_FILE = runtime("HOCBA_SIGNING_KEYS_FILE", "").strip() or None
# The schools' seal keys that sign the archive manifests (reporting.services.manifests): a directory laid out
# <province>/seals/<school code>.p12 and their passphrase, mounted from a Secret. Unset: the test PKI's seals where
# the settings name one, else each manifest is stored unsigned.
HOCBA_SEAL_DIR = runtime("HOCBA_SEAL_DIR", "").strip() or None
HOCBA_SEAL_PASSPHRASE = runtime("HOCBA_SEAL_PASSPHRASE", "")

# --- public verification (reporting.verify: /xac-minh/) ------------------------------------------
# The address printed under the QR code of every signed page: HOCBA_PUBLIC_URL (e.g. https://hocba.tayninh.edu.vn),
# else https://<base domain>. Whatever it is, the page answers at <it>/xac-minh/<token>/ on the platform's site.
HOCBA_PUBLIC_URL = runtime("HOCBA_PUBLIC_URL", "").strip().rstrip("/") or f"https://{BASE_DOMAIN}"
# The trust roots of the verification (PEM files, every *.pem of the directory): in production the national root
# CA and the CAs that issue teachers' and schools' certificates, mounted from a ConfigMap; local and test settings add
# the test PKI's province roots (HOCBA_TEST_PKI_DIR).
HOCBA_TRUST_ROOTS_DIR = runtime("HOCBA_TRUST_ROOTS_DIR", "").strip() or None
# An upload larger than this is refused unread (413); checks per client address per window (Redis; 429 beyond).
VERIFY_MAX_UPLOAD_BYTES = int(runtime("HOCBA_VERIFY_MAX_BYTES", str(20 * 1024 * 1024)))
VERIFY_RATE_LIMIT = int(runtime("HOCBA_VERIFY_RATE_LIMIT", "30"))
VERIFY_RATE_WINDOW_SECONDS = int(runtime("HOCBA_VERIFY_RATE_WINDOW", "600"))
FILE_UPLOAD_HANDLERS = [
    "reporting.verify.uploads.VerifyUploadLimit",  # /xac-minh/ only: an oversized upload is not parsed
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- API -----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "tenants.auth.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["hocba.kernel.permissions.HasCapability"],
    "DEFAULT_PARSER_CLASSES": [
        "hocba.kernel.parsers.JSONParser",
        "hocba.kernel.parsers.FormParser",
        "hocba.kernel.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "hocba.kernel.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "HọcBạ API",
    "DESCRIPTION": "Units, schools, accounts and memberships of a province.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "hocba.kernel.schema.add_refusals"],
}

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = "hocba@localhost"


def log_format(default: str) -> str:
    """HOCBA_LOG_FORMAT: ``json`` (one object per line with time, level, logger, message, request id, school and
    account: hocba/kernel/logs.py) or ``text``; production defaults to json."""
    value = (runtime("HOCBA_LOG_FORMAT", "") or default).strip().lower()
    if value not in {"json", "text"}:
        raise ImproperlyConfigured(f"HOCBA_LOG_FORMAT must be json or text, not {value!r}")
    return value


LOG_FORMAT = log_format("text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "hocba.kernel.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
WINDOW_EXCEPTION_MAX_DAYS = int(runtime("HOCBA_WINDOW_EXCEPTION_MAX_DAYS", "14"))
# The longest an API token may live (days); each token is issued for at most this long.
API_TOKEN_MAX_DAYS = int(runtime("HOCBA_API_TOKEN_MAX_DAYS", "90"))
# The longest a read grant (an officer reading named records of one school) may last, in days.
HOCBA_GRANT_MAX_DAYS = int(runtime("HOCBA_GRANT_MAX_DAYS", "7"))
# The board's traffic lights (tenants.selectors.boards): a school's next lock is near within WARN_DAYS and imminent
# within ALERT_DAYS; its completion for the lock's data is on track from DONE_PCT, and red below ALERT_PCT once near.
HOCBA_BOARD_WARN_DAYS = float(runtime("HOCBA_BOARD_WARN_DAYS", "14"))
HOCBA_BOARD_ALERT_DAYS = float(runtime("HOCBA_BOARD_ALERT_DAYS", "3"))
HOCBA_BOARD_DONE_PCT = int(runtime("HOCBA_BOARD_DONE_PCT", "95"))
HOCBA_BOARD_ALERT_PCT = int(runtime("HOCBA_BOARD_ALERT_PCT", "60"))
# The board's flags: a school or account far above the province's usual rate of edits after approval or approved
# lock exceptions — more than FLAG_FACTOR times the median, and at least FLAG_MIN_EDITS / FLAG_MIN_EXCEPTIONS.
HOCBA_BOARD_FLAG_FACTOR = float(runtime("HOCBA_BOARD_FLAG_FACTOR", "3"))
HOCBA_BOARD_FLAG_MIN_EDITS = int(runtime("HOCBA_BOARD_FLAG_MIN_EDITS", "10"))
HOCBA_BOARD_FLAG_MIN_EXCEPTIONS = int(runtime("HOCBA_BOARD_FLAG_MIN_EXCEPTIONS", "3"))
# How long a web process keeps the board's slow figures (seconds; 0: asked at every board): the province's medians the
# flags compare with (edits after approval are counted once a day) and the school years on record in a scope. A
# school's own figures are never stale (HOCBA_BOARD_ROWS_SECONDS).
HOCBA_BOARD_KEEP_SECONDS = int(runtime("HOCBA_BOARD_KEEP_SECONDS", "600"))
# How long a web process keeps a scope's board rows (seconds; 0: every row read at every board). Kept rows are brought
# up to date at every board (only the rows written since are read), so they are never older than the request; this
# bounds only how long before they are all read again.
HOCBA_BOARD_ROWS_SECONDS = int(runtime("HOCBA_BOARD_ROWS_SECONDS", "600"))
# How school writes reach the public rollups: "inline" (same transaction) or "outbox" (drained within seconds).
ROLLUP_MODE = rollup_mode()
