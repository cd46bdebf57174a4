"""A web process, once its application is loaded, sets what it loaded aside from the garbage collector.

Django, the templates, the translations and the settings are a quarter of a million objects that live as long as the
process; every full collection walks them all again. A board builds thousands of tuples a request, which triggers
collections, and a full one in the middle of a request is its slowest tail. ``gc.freeze()`` moves what exists now to
a generation the collector never walks (the technique CPython documents for pre-fork servers); what requests make
is still collected as before."""

from __future__ import annotations

import gc


def settle() -> int:
    """Collect once, then freeze what is left; the number of objects set aside."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
