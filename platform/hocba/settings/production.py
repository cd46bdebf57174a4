"""Production: everything comes from the environment; nothing is started here; only tightens."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS as _BASE_HOSTS
from .base import ENV, LOGGING, log_format

for _name, _value in {
    "HOCBA_SECRET_KEY": ENV.secret_key,
    "DATABASE_URL": ENV.database_url,
    "REDIS_URL": ENV.redis_url,
    "S3_ENDPOINT_URL": ENV.s3_endpoint_url,
    "HOCBA_MFA_KEY": ENV.mfa_key,
}.items():
    if not _value:
        raise ImproperlyConfigured(f"{_name} must be set in production")

DEBUG = False
ARCHIVE_CREATE_BUCKET = False  # the archive bucket is made beforehand, with Object Lock; never created here
# The base domain and its subdomains only: no loopback address, whatever HOCBA_ALLOWED_HOSTS says.
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0"}
ALLOWED_HOSTS = [
    host
    for host in (_BASE_HOSTS if ENV.allowed_hosts else [ENV.base_domain, f".{ENV.base_domain}"])
    if host == ENV.base_domain
    or host == f".{ENV.base_domain}"
    or (host not in _LOOPBACK and not host.startswith("127."))
]
WHITENOISE_USE_FINDERS = False
SESSION_COOKIE_DOMAIN = f".{ENV.base_domain}"
CSRF_COOKIE_DOMAIN = f".{ENV.base_domain}"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Plain HTTP is redirected to HTTPS (the ingress terminates TLS and says so in X-Forwarded-Proto), except the probes,
# which the kubelet and Docker send over plain HTTP. HOCBA_SSL_REDIRECT=false only for a trial without TLS in front.
SECURE_SSL_REDIRECT = ENV.ssl_redirect
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_TRUSTED_ORIGINS = [f"https://*.{ENV.base_domain}", f"https://{ENV.base_domain}"]
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = ENV.email_host
# Logs as JSON lines unless HOCBA_LOG_FORMAT=text.
LOG_FORMAT = log_format("json")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
