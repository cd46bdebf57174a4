"""Developer machine: ``make run``. Starts embedded services for whatever is not configured."""

from hocba.dev.services import ensure_services

ensure_services()

from .base import *  # noqa: E402,F403

DEBUG = True

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 — whitenoise looks here even when using finders
