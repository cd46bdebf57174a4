"""A heartbeat file for the processes that serve no HTTP (the Celery worker and beat), and its check.

The worker touches ``HOCBA_HEARTBEAT_FILE`` (default ``/tmp/hocba-heartbeat``) every ``HOCBA_HEARTBEAT_INTERVAL``
seconds (default 15) from its timer, and beat from its scheduler loop (``hocba.celery``): a process whose loop
hangs stops touching it. Kubernetes' exec probes run the check::

    python -m hocba.heartbeat --max-age 120

which exits 0 when the file was touched less than ``--max-age`` seconds ago, else 1 with the reason on stderr.
The probe starts no Django and connects to nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from hocba.env import runtime

DEFAULT_FILE = "/tmp/hocba-heartbeat"
DEFAULT_INTERVAL = 15.0
DEFAULT_MAX_AGE = 120.0


def heartbeat_file() -> Path:
    return Path(runtime("HOCBA_HEARTBEAT_FILE", DEFAULT_FILE) or DEFAULT_FILE)


def interval() -> float:
    return float(runtime("HOCBA_HEARTBEAT_INTERVAL", "") or DEFAULT_INTERVAL)


def touch(path: Path | None = None) -> None:
    """Write the time into the file (created when missing) and set its modification time to now."""
    path = path or heartbeat_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{time.time():.3f} {os.getpid()}\n")
    except OSError as exc:  # a probe then fails on its own; the process keeps working
        print(f"heartbeat: cannot write {path}: {exc}", file=sys.stderr)


def age(path: Path | None = None, *, now: float | None = None) -> float | None:
    """Seconds since the file was last touched, None when there is none."""
    path = path or heartbeat_file()
    try:
        modified = path.stat().st_mtime
    except OSError:
        return None
    return max(0.0, (time.time() if now is None else now) - modified)


def check(max_age: float, path: Path | None = None) -> tuple[bool, str]:
    path = path or heartbeat_file()
    seconds = age(path)
    if seconds is None:
        return False, f"heartbeat: {path} does not exist"
    if seconds > max_age:
        return False, f"heartbeat: {path} is {seconds:.0f} s old (more than {max_age:g} s)"
    return True, f"heartbeat: {path} is {seconds:.0f} s old"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hocba.heartbeat", description=__doc__.splitlines()[0])
    parser.add_argument("--max-age", type=float, default=DEFAULT_MAX_AGE, help="seconds (default 120)")
    parser.add_argument("--file", type=Path, default=None, help="default: HOCBA_HEARTBEAT_FILE or " + DEFAULT_FILE)
    args = parser.parse_args(argv)
    ok, message = check(args.max_age, args.file)
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
