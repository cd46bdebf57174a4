"""The site's navigation menu: the sections a person may open, on the platform site or on a school's site.

The kernel imports no app, so each app registers its own sections in ``AppConfig.ready()``; the context processor
builds the menu of a request from the access profile the request already read (no query of its own, whatever the
number of entries).

An entry names its URL (a URL name reversed against the request's URL conf, or a function of the request for a
URL on another site), its side (``public``: the platform site, ``school``: a school's site), the capabilities that
open it (any one is enough; none: every signed-in person) and, optionally, a test of the access profile. It is the
current section when the request's path starts with its URL or with one of its extra ``prefixes`` (the longest
match wins: ``/manage/windows/exceptions/`` is the exceptions, not the windows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.urls import NoReverseMatch, reverse

from .access import request_access, request_school

PUBLIC = "public"
SCHOOL = "school"


@dataclass(frozen=True)
class MenuEntry:
    key: str
    label: Any  # a lazy translation
    url: str | Callable[[Any], str]  # a URL name, or a function of the request for a URL on another site
    side: str
    capabilities: tuple[str, ...] = ()
    order: int = 100
    prefixes: tuple[str, ...] = ()
    test: Callable[[Any], bool] | None = None  # a further condition on the access profile
    current_on_path: bool = True  # False: never marked current (a link to another site)

    def __post_init__(self) -> None:
        if self.side not in (PUBLIC, SCHOOL):
            raise ValueError(f"menu entry {self.key}: side must be {PUBLIC!r} or {SCHOOL!r}")


@dataclass(frozen=True)
class MenuLink:
    key: str
    label: str
    url: str
    current: bool = False


@dataclass
class _Registry:
    entries: dict[str, MenuEntry] = field(default_factory=dict)

    def ordered(self, side: str) -> list[MenuEntry]:
        return sorted((e for e in self.entries.values() if e.side == side), key=lambda e: (e.order, e.key))


_registry = _Registry()


def register(*entries: MenuEntry) -> None:
    """Add sections to the menu (an app's ``ready()``); registering a key again replaces its entry."""
    for entry in entries:
        _registry.entries[entry.key] = entry


def registered(side: str) -> list[MenuEntry]:
    return _registry.ordered(side)


def _allowed(entry: MenuEntry, access, school_id: int | None) -> bool:
    if entry.capabilities:
        if school_id is not None:
            held = any(access.has_in_school(c, school_id) for c in entry.capabilities)
        else:
            held = any(access.has(c) for c in entry.capabilities)
        if not held:
            return False
    return entry.test is None or bool(entry.test(access))


def _url(entry: MenuEntry, request) -> str | None:
    if callable(entry.url):
        return entry.url(request)
    try:
        return reverse(entry.url)
    except NoReverseMatch:
        return None


def build(request) -> list[MenuLink]:
    """The sections the signed-in requester may open on this site, in order, the current one marked."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    access = request_access(request)
    school = request_school(request)
    side = SCHOOL if school is not None else PUBLIC
    school_id = school.pk if school is not None else None
    found: list[tuple[MenuEntry, str]] = []
    for entry in registered(side):
        if not _allowed(entry, access, school_id):
            continue
        url = _url(entry, request)
        if url:
            found.append((entry, url))
    current = _current_key(request.path, found)
    return [MenuLink(e.key, str(e.label), url, e.key == current) for e, url in found]


def _current_key(path: str, found: list[tuple[MenuEntry, str]]) -> str | None:
    best, best_len = None, -1
    for entry, url in found:
        if not entry.current_on_path:
            continue
        for prefix in (url, *entry.prefixes):
            if not prefix.startswith("/"):
                continue
            hit = path == prefix if prefix == "/" else path.startswith(prefix)
            if hit and len(prefix) > best_len:
                best, best_len = entry.key, len(prefix)
    return best


def request_menu(request) -> list[MenuLink]:
    """``build`` once per request (the page's header and anything else that asks share it)."""
    cached = getattr(request, "_hocba_menu", None)
    if cached is None:
        cached = build(request)
        request._hocba_menu = cached
    return cached
