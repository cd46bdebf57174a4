"""A web worker sets what it loaded aside from the garbage collector (``hocba.kernel.gcsettle``, called by gunicorn's
``post_worker_init``): the objects alive at that moment are frozen, what is made afterwards is still collected."""

from __future__ import annotations

import ast
import gc
import weakref
from pathlib import Path

from hocba.kernel import gcsettle


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_settle_freezes_what_lives_and_later_garbage_is_still_collected():
    try:
        frozen = gcsettle.settle()
        assert frozen == gc.get_freeze_count() > 1000  # Django and the test's modules at least
        made_after = _Cycle()
        ref = weakref.ref(made_after)
        del made_after
        gc.collect()
        assert ref() is None  # a cycle made after the freeze is collected as before
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_gunicorn_settles_each_worker_once_the_application_is_loaded():
    # read, not imported: importing the configuration turns on multiprocess metrics for the whole test process (the
    # real gunicorn of tests/platform/test_health_metrics.py runs the hook)
    source = Path(gcsettle.__file__).parents[1] / "gunicorn_conf.py"
    hooks = {n.name: n for n in ast.parse(source.read_text()).body if isinstance(n, ast.FunctionDef)}
    calls = {ast.unparse(c.func) for c in ast.walk(hooks["post_worker_init"]) if isinstance(c, ast.Call)}
    assert "gcsettle.settle" in calls
