"""The trust roots of the public verification: every ``*.pem`` of ``settings.HOCBA_TRUST_ROOTS_DIR`` (production:
the national root CA and the CAs that certify teachers and schools — the remote-signing providers' and the
Government CA's for the VGCA seal tokens —, mounted read-only from a ConfigMap) plus, in the local and test settings,
the test PKI's province roots (``settings.HOCBA_TEST_PKI_DIR``, ``<province>/root.pem``).

Parsed once per process and read again only when a file changes (its modification time), so adding a root needs no
restart and a request costs a few ``stat`` calls."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from cryptography import x509
from django.conf import settings

log = logging.getLogger(__name__)

_lock = threading.Lock()
_cache: dict[tuple, tuple[x509.Certificate, ...]] = {}


def root_files() -> list[Path]:
    files: list[Path] = []
    configured = settings.HOCBA_TRUST_ROOTS_DIR
    if configured:
        files.extend(sorted(Path(configured).glob("*.pem")))
    test_pki = settings.HOCBA_TEST_PKI_DIR
    if test_pki:
        files.extend(sorted(Path(test_pki).glob("*/root.pem")))
    return files


def _load(path: Path) -> list[x509.Certificate]:
    try:
        return list(x509.load_pem_x509_certificates(path.read_bytes()))
    except (OSError, ValueError) as exc:
        log.warning("trust root %s unreadable: %r", path, exc)
        return []


def trust_roots() -> tuple[x509.Certificate, ...]:
    """The certificates a signature must chain to (an empty tuple: nothing is trusted, every signer is unknown)."""
    files = root_files()
    key = []
    for path in files:
        try:
            key.append((str(path), path.stat().st_mtime_ns))
        except OSError:
            continue
    key_t = tuple(key)
    with _lock:
        cached = _cache.get(key_t)
        if cached is None:
            cached = tuple(cert for name, _mtime in key_t for cert in _load(Path(name)))
            _cache.clear()
            _cache[key_t] = cached
    return cached
