"""The request journal: what a dev server was asked, and how it answered (dev only).

Every request that reaches the app is recorded with its method, path, query, the route that
matched (or None), its params, the status, the duration and a preview of the body, in a bounded
deque. Tests read it through the pytest plugin (``devserver_live.assert_requested``) or over HTTP
(``GET /__devserver/api/journal``). A failed assertion lists the requests that came closest and
the routes they hit, so the test explains itself::

    expected GET /users/2 to be requested, but it was not.
    The nearest of 3 recorded requests:
      GET /users/1 -> 200 (route users/$id; id='1')
      POST /users/1 -> 303 (route users/$id; id='1') body name=Ada
      GET /user/2 -> 404 (no route)
    Routing GET /users/2: users/$id answers /users/2
"""

from __future__ import annotations

import difflib
import json
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sized
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from .keys import CONFIG, JOURNAL, STATE
from .request import UNREADABLE
from .routing import InvalidPath

__all__ = ["Entry", "Journal", "RequestNotFound", "journal_middleware", "recording", "matched_route", "note",
           "is_own_path", "nearest", "route_describer", "DEFAULT_SIZE", "BODY_LIMIT"]

DEFAULT_SIZE = 1000  # entries kept; the oldest go first
BODY_LIMIT = 64 * 1024  # bytes of a body kept for json=/form= assertions
PREVIEW = 200  # characters of a body shown in an entry and a failure message

Describe = Callable[[str, str], str]  # (method, path) -> where the app would route it

_MISSING: Any = object()
# The route match dispatch made for this request (None: no route), so the journal need not match
# the path again. web.RequestKey is new in aiohttp 3.14; older versions take a string key.
MATCHED: Any = web.RequestKey("devserver_match", object) if hasattr(web, "RequestKey") \
    else "devserver_match"
# What the dispatcher's fast path saw of a GET without a body: (its match, its headers, its raw
# path). PERF: so the journal need not read the request's method, body_exists, headers and
# raw_path again (aiohttp properties, ~600 instructions each).
SEEN: Any = web.RequestKey("devserver_seen", object) if hasattr(web, "RequestKey") \
    else "devserver_seen"
# What the controls did to this request ("#1 delay 300 ms", "#2 drop"), when they did anything.
# PERF: kept on the request by :func:`note`, so a request no control touched costs nothing here.
NOTES: Any = web.RequestKey("devserver_notes", object) if hasattr(web, "RequestKey") \
    else "devserver_notes"


@dataclass(slots=True)
class _Notes:
    texts: list[str] = field(default_factory=list)
    dropped: bool = False


class RequestNotFound(AssertionError):
    """``assert_requested`` failed; the message shows the nearest requests and their routes."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One request as the server saw it; ``status`` is None when the connection was dropped."""

    method: str
    path: str
    query: str = ""
    route: str | None = None
    params: dict[str, str | list[str]] = field(default_factory=dict)
    status: int | None = None
    duration_ms: float = 0.0
    body: bytes = b""
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    control: str | None = None
    at: float = field(default_factory=time.time)

    @property
    def url(self) -> str:
        """The path with its query: ``/search?q=x``."""
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def preview(self) -> str:
        """The first characters of the body, for people: ``{"name": "Ada"}``."""
        if not self.body:
            return ""
        text = self.body[: PREVIEW * 4].decode("utf-8", "replace")
        return text if len(text) <= PREVIEW else text[:PREVIEW] + "…"

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` when it is not JSON."""
        return json.loads(self.body)

    def form(self) -> dict[str, str | list[str]]:
        """An urlencoded body as a dict (a list for a repeated key)."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] if len(v) == 1 else v for k, v in parsed.items()}

    def describe(self) -> str:
        """``POST /users/1 -> 303 via users/$id {id: 1} body name=Ada`` on one line."""
        status = "dropped" if self.status is None else str(self.status)
        route = f"route {self.route}" if self.route is not None else "no route"
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        text = f"{self.method} {self.url} -> {status} ({route}{f'; {params}' if params else ''})"
        if self.control:
            text += f" [control: {self.control}]"
        if self.body:
            text += f" body {self.preview}"
        return text

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape served by ``GET /__devserver/api/journal``."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "route": self.route,
            "params": self.params,
            "status": self.status,
            "duration_ms": round(self.duration_ms, 3),
            "body": self.preview,
            "content_type": self.content_type,
            "headers": self.headers,
            "control": self.control,
            "at": self.at,
        }


# What the middleware keeps of a request: Entry's fields, with the request's params and headers
# not yet copied into dicts (see Journal.record_fields).
_Fields = tuple[str, str, str, str | None, Mapping[str, Any], int | None, float, bytes, str,
                Mapping[str, str], str | None, float]


class Journal:
    """A bounded, thread-safe record of requests (the live fixture reads it from another thread)."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._entries: deque[Entry | _Fields] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._unread = 0  # entries still kept as fields
        self.total = 0  # recorded since the last clear, including those the deque let go

    def record(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)
            self.total += 1

    def record_fields(self, fields: _Fields) -> None:
        """Record a request as :class:`Entry`'s fields, in order.

        PERF: building a frozen 12-field Entry and copying the headers took more time than the
        rest of the journal; every request is recorded and few are ever read, so the Entry is
        built when the journal is read.
        """
        lock = self._lock
        lock.acquire()  # PERF: not `with`, whose __enter__ and __exit__ are looked up and called
        try:
            self._entries.append(fields)
            self._unread += 1
            self.total += 1
        finally:
            lock.release()

    def clear(self) -> int:
        """Forget every entry; returns how many there were."""
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
            self.total = 0
        return count

    @property
    def entries(self) -> list[Entry]:
        """A snapshot, oldest first."""
        with self._lock:
            if self._unread:
                self._entries = deque(map(_as_entry, self._entries), maxlen=self._entries.maxlen)
                self._unread = 0
            return list(self._entries)  # type: ignore[arg-type] # every item is an Entry now

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<Journal {len(self)} requests>"

    def find(self, method: str | None = None, path: str | None = None, *, json: Any = _MISSING,
             form: Any = _MISSING) -> list[Entry]:
        """The entries for ``method`` and ``path`` (with ``?query``: exact, without: any query)."""
        return [e for e in self.entries if _same_request(e, method, path)
                and _body_matches(e, json, form)]

    def assert_requested(self, method: str, path: str, *, times: int | None = None,
                         json: Any = _MISSING, form: Any = _MISSING,
                         describe: Describe | None = None) -> list[Entry]:
        """Check that ``method path`` was requested (``times`` times, with this body); return those.

        ``times=None`` means at least once; ``times=0`` that it never was. On failure, raises
        :class:`RequestNotFound` listing the nearest requests and the routes they hit, and (with
        ``describe``) where the app would route the expected request.
        """
        __tracebackhide__ = True
        method = method.upper()
        entries = self.entries
        same = [e for e in entries if _same_request(e, method, path)]
        found = [e for e in same if _body_matches(e, json, form)]
        if (times is None and found) or (times is not None and len(found) == times):
            return found
        raise RequestNotFound(_failure(method, path, times, json, form, entries, same, found,
                                       describe))


def _same_request(entry: Entry, method: str | None, path: str | None) -> bool:
    if method is not None and entry.method != method.upper():
        return False
    if path is None:
        return True
    if "?" in path:
        return _same_path(entry.url, path)
    return _same_path(entry.path, path)


def _same_path(seen: str, wanted: str) -> bool:
    # One trailing slash is tolerated, as the router does (DESIGN §2).
    return seen == wanted or (len(seen) > 1 and len(wanted) > 1 and seen.rstrip("/") == wanted.rstrip("/"))


def _body_matches(entry: Entry, json_value: Any, form: Any) -> bool:
    try:
        if json_value is not _MISSING and entry.json() != json_value:
            return False
    except ValueError:
        return False
    return form is _MISSING or entry.form() == form


def _failure(method: str, path: str, times: int | None, json_value: Any, form: Any,
             entries: list[Entry], same: list[Entry], found: list[Entry],
             describe: Describe | None) -> str:
    body = _wanted_body(json_value, form)
    wanted = f"{method} {path}{body}"
    if times is None:
        head = f"expected {wanted} to be requested, but it was not"
    else:
        head = (f"expected {wanted} to be requested {_count(times)}, but it was requested "
                f"{_count(len(found))}")
    lines = [head + "."]
    if same and not found:
        lines.append(f"{method} {path} was requested {_count(len(same))}, with other bodies:")
        lines += [f"  {e.describe()}" for e in same[-5:]]
    elif found:
        lines.append("The matching requests:")
        lines += [f"  {e.describe()}" for e in found[-10:]]
    if not entries:
        lines.append("No request was recorded since the last reset.")
    elif not found:
        near = nearest(entries, method, path)
        lines.append("The only recorded request:" if len(entries) == 1 else
                     f"The nearest of {len(entries)} recorded requests:")
        lines += [f"  {e.describe()}" for e in near]
    if describe is not None:
        lines.append(f"Routing {method} {path.split('?', 1)[0]}: {describe(method, path)}")
    return "\n".join(lines)


def _wanted_body(json_value: Any, form: Any) -> str:
    if json_value is not _MISSING:
        return f" with json {json.dumps(json_value, default=str)[:PREVIEW]}"
    if form is not _MISSING:
        return f" with form {form!r}"[:PREVIEW]
    return ""


def _count(n: int) -> str:
    return {0: "0 times", 1: "once", 2: "twice"}.get(n, f"{n} times")


def nearest(entries: list[Entry], method: str, path: str, limit: int = 5) -> list[Entry]:
    """The entries closest to ``method path``: path similarity (difflib), then same method."""

    def score(entry: Entry) -> float:
        ratio = difflib.SequenceMatcher(None, entry.url if "?" in path else entry.path, path).ratio()
        return ratio + (0.3 if entry.method == method else 0.0)

    unique: dict[tuple[str, str, int | None], Entry] = {}
    for entry in reversed(entries):  # the latest of identical requests stands for them all
        unique.setdefault((entry.method, entry.url, entry.status), entry)
    return sorted(unique.values(), key=score, reverse=True)[:limit]


def note(request: web.Request, text: str, *, dropped: bool = False) -> None:
    """Say what a control did to ``request``; the journal records it on the request's entry."""
    notes: _Notes | None = request.get(NOTES)
    if notes is None:
        notes = request[NOTES] = _Notes()
    notes.texts.append(text)
    notes.dropped = notes.dropped or dropped


_OWN_PREFIXES = ("/__devserver/", "/__routes")


def is_own_path(path: str) -> bool:
    """devserver's own endpoints and WebSocket are not part of the app under test."""
    return path.startswith(_OWN_PREFIXES)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def recording(handler: Handler, controls: Sized | None = None,
              journal: Journal | None = None, *, controlled: Handler | None = None) -> Handler:
    """``handler`` with every app request (not devserver's own) recorded in ``journal``
    (by default the request's ``app[JOURNAL]``).

    While ``controls`` (the test controls, anything with a length) is not empty, each request gets
    a record of what they did to it (:func:`note`), kept on its entry, and is passed to
    ``controlled`` instead of ``handler`` when it is given (PERF: with no control set, a request
    then goes straight to ``handler``, without a wrapper that checks the controls again).

    PERF: a wrapped handler, not an aiohttp middleware: an app without middlewares skips
    aiohttp's middleware chain on every request. Recording is a clock read, a tuple and a deque
    append; the body is only kept when the handler already read it or it is small, and never
    for multipart uploads.
    """

    async def record(request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith(_OWN_PREFIXES):  # is_own_path, PERF: without the call
            return await handler(request)
        notes = None
        call = handler
        if controls is not None and len(controls):
            notes = request[NOTES] = _Notes()
            if controlled is not None:
                call = controlled
        started = time.perf_counter()
        try:
            response = await call(request)
        except web.HTTPException as exc:
            await _record(request, exc.status, started, notes, journal)
            raise
        except Exception:
            await _record(request, 500, started, notes, journal)  # aiohttp answers 500 for it
            raise
        # PERF: a request without a body, that no control touched (a GET, as a rule): _store's
        # work without its calls, the body's coroutine or the match's lookups when the
        # dispatcher left its match (it always does for a routed request). Not Mapping.get's
        # two calls: the request's own dict.
        # NOTE: a /_public/ file has no match left by the dispatcher; _matched gives it no route.
        duration = (time.perf_counter() - started) * 1000
        kept = request._state
        seen = kept.get(SEEN) if notes is None else None
        if seen is not None:  # the dispatcher's fast path: a GET without a body
            match, headers, raw = seen
            method = "GET"
        elif notes is not None or request.body_exists:
            await _record(request, response.status, started, notes, journal)
            return response
        else:
            match = kept.get(MATCHED, _MISSING)
            method, headers, raw = request.method, request.headers, request.raw_path
        if match is _MISSING:
            route, params = _matched(request)
        elif match is None:
            route, params = None, _NO_PARAMS
        else:
            route, params = match.route, match.params
        # NOTE: "?" not in the raw path: no query, known without building the URL's. The fields
        # are _fields' for a request without a body or notes.
        query = request.query_string if "?" in raw else ""
        (journal if journal is not None else request.app[JOURNAL]).record_fields(
            (method, path, query, route, params, response.status, duration, b"", "", headers,
             None, time.time()))
        return response

    return record


@web.middleware
async def journal_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """:func:`recording` as an aiohttp middleware, for an app that adds it itself."""
    return await recording(handler)(request)


async def _record(request: web.Request, status: int | None, started: float,
                  notes: _Notes | None, journal: Journal | None) -> None:
    duration = _elapsed(started)  # before the body is read: the handler's time, not ours
    dropped = notes is not None and notes.dropped
    body = b"" if dropped or not request.body_exists else await _body(request)
    _store(request, status, duration, body, notes, journal)


def _elapsed(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _store(request: web.Request, status: int | None, duration: float, body: bytes,
           notes: _Notes | None, journal: Journal | None) -> None:
    """Record the request in ``journal``, or the app's; a dropped connection has no status."""
    if notes is not None and notes.dropped:
        status = None
    # NOTE: `journal or ...` would ask an empty Journal's __len__, and find it false.
    (journal if journal is not None else request.app[JOURNAL]).record_fields(
        _fields(request, status, duration, body, notes))


def _fields(request: web.Request, status: int | None, duration: float, body: bytes,
            notes: _Notes | None) -> _Fields:
    route, params = _matched(request)
    return (request.method, request.path, request.query_string, route, params, status, duration,
            body, request.content_type if request.body_exists else "", request.headers,
            "; ".join(notes.texts) if notes is not None and notes.texts else None, time.time())


def _as_entry(item: Entry | _Fields) -> Entry:
    if isinstance(item, Entry):
        return item
    method, path, query, route, params, status, duration, body, ctype, headers, control, at = item
    return Entry(method, path, query, route, dict(params), status, duration, body, ctype,
                 dict(headers), control, at)


def matched_route(request: web.Request) -> tuple[str | None, dict[str, str | list[str]]]:
    """The id of the route that answers this request and its params, or ``(None, {})``."""
    route, params = _matched(request)
    return route, dict(params)


_NO_PARAMS: Mapping[str, str | list[str]] = MappingProxyType({})  # copied by _as_entry


def _matched(request: web.Request) -> tuple[str | None, Mapping[str, str | list[str]]]:
    if request.path.startswith("/_public/"):
        return None, _NO_PARAMS
    match = request.get(MATCHED, _MISSING)
    if match is _MISSING:
        try:
            match = request.app[STATE].state.table.match(request.raw_path)
        except InvalidPath:
            return None, _NO_PARAMS
    return (match.route, match.params) if match is not None else (None, _NO_PARAMS)


def route_describer(app: web.Application) -> Describe:
    """Where ``app`` would send a request, for the last line of a failed assertion."""

    def describe(method: str, path: str) -> str:
        explanation = app[STATE].state.explain(path.split("?", 1)[0], method)
        text = explanation.summary
        if explanation.suggestions:
            text += f" (did you mean {' or '.join(explanation.suggestions)}?)"
        return text

    return describe


async def _body(request: web.Request) -> bytes:
    """The body, when it is cheap to have: small, or already read by the handler (cached)."""
    if not request.body_exists or request.content_type.startswith("multipart/"):
        return b""
    length = request.content_length
    limit = min(BODY_LIMIT, request.app[CONFIG].max_body)
    if length is None or length > limit:
        return b""
    try:
        return (await request.read())[:BODY_LIMIT]
    except (web.HTTPException, ConnectionError, OSError, *UNREADABLE):
        return b""
