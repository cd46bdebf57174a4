"""Docker HEALTHCHECK of the HọcBạ image (Kubernetes uses its own probes, see helm/).

The same image runs web, worker and beat, and only web serves HTTP. When gunicorn runs in the
container (as PID 1, or under an init such as `docker run --init`), GET /healthz with the base domain
as Host, so that ALLOWED_HOSTS and the tenant middleware accept it, and pass on a 2xx answer. A
container without gunicorn (worker, beat, a one-shot command) is reported healthy.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def runs_gunicorn(proc: str = "/proc") -> bool:
    try:
        pids = [name for name in os.listdir(proc) if name.isdigit()]
    except OSError:
        return True  # cannot tell: check HTTP
    for pid in pids:
        try:
            with open(os.path.join(proc, pid, "cmdline"), "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if any(os.path.basename(arg) == b"gunicorn" or arg.startswith(b"gunicorn:") for arg in argv[:3]):
            return True
    return False


def http_ok(url: str, host: str, timeout: float = 4) -> bool:
    request = urllib.request.Request(url, headers={"Host": host, "X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError) as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return False


def main() -> int:
    if not runs_gunicorn():
        return 0
    port = os.environ.get("HOCBA_PORT", "8000")
    url = os.environ.get("HOCBA_HEALTHCHECK_URL", f"http://127.0.0.1:{port}/healthz")
    return 0 if http_ok(url, os.environ.get("HOCBA_BASE_DOMAIN", "localhost")) else 1


if __name__ == "__main__":
    sys.exit(main())
