"""Controls for tests: make a route slow, fail or drop the connection, and undo it (dev only).

A control targets a route (``users/[id]``: every path it serves) or one path (``/users/1``), and
optionally one method, for ``times`` requests or until reset. The newest control that applies
wins. From Python, through the pytest plugin (``devserver_live.fail("users/[id]", 503)``); from any
language, over HTTP under ``/__devserver/api/`` (loopback clients only):

======  ===============================  =====================================================
GET     /__devserver/api/journal         ``{"total": n, "requests": [entry, ...]}``
DELETE  /__devserver/api/journal         ``{"cleared": n}``
POST    /__devserver/api/journal/assert  ``{"method", "path", "times"?, "json"?, "form"?,
                                         "timeout_ms"?}`` -> 200 ``{"ok": true, ...}`` or
                                         409 ``{"ok": false, "message": ...}``
GET     /__devserver/api/controls        ``{"controls": [control, ...]}``
POST    /__devserver/api/controls        ``{"route"|"path", "method"?, "delay_ms"?, "status"?,
                                         "json"?, "drop"?, "times"?}`` -> 201 ``{"control": ...}``
DELETE  /__devserver/api/controls        ``{"removed": n}``
DELETE  /__devserver/api/controls/ID     ``{"removed": 1}``
POST    /__devserver/api/reset           ``{"cleared": n, "removed": n}``
======  ===============================  =====================================================
"""

from __future__ import annotations

import asyncio
import difflib
import ipaddress
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .cors import cors_middleware
from .guard import origin_allowed
from .internal import register
from .journal import (
    Journal,
    RequestNotFound,
    is_own_path,
    matched_route,
    note,
    recording,
    route_describer,
)
from .keys import CONFIG, CONTROLS, JOURNAL, STATE
from .request import UNREADABLE, unreadable_reason
from .routing import RouteTable, parse_route_id

__all__ = ["Control", "Controls", "ControlError", "controls_middleware", "with_testing",
           "resolve_target", "API_PREFIX"]

API_PREFIX = "/__devserver/api/"
MAX_DELAY_MS = 10 * 60 * 1000
_UNSET: Any = object()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ControlError(ValueError):
    """A control that cannot be set: an unknown route, a bad status, nothing to do."""


@dataclass(slots=True)
class Control:
    """What to do to matching requests: wait ``delay_ms``, then answer ``status`` or drop."""

    id: int
    route: str | None = None
    path: str | None = None
    method: str | None = None
    delay_ms: int = 0
    status: int | None = None
    json: Any = _UNSET
    drop: bool = False
    times: int | None = None
    hits: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def applies(self, method: str, path: str, route: str | None) -> bool:
        if self.exhausted or (self.method is not None and self.method != method):
            return False
        if self.route is not None:
            return route == self.route
        return path == self.path or (len(path) > 1 and path.rstrip("/") == self.path)

    @property
    def action(self) -> str:
        """``delay 300 ms``, ``status 503``, ``drop``, or ``delay 300 ms, then status 503``."""
        steps = [f"delay {self.delay_ms} ms"] if self.delay_ms else []
        if self.drop:
            steps.append("drop")
        elif self.status is not None:
            steps.append(f"status {self.status}")
        return ", then ".join(steps)

    def describe(self) -> str:
        target = f"route {self.route}" if self.route is not None else f"path {self.path}"
        return f"#{self.id} {self.action} on {self.method or 'any method'} {target}"

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``GET /__devserver/api/controls``."""
        out: dict[str, Any] = {"id": self.id, "route": self.route, "path": self.path,
                               "method": self.method, "delay_ms": self.delay_ms,
                               "status": self.status, "drop": self.drop, "times": self.times,
                               "hits": self.hits, "action": self.action}
        if self.json is not _UNSET:
            out["json"] = self.json
        return out


class Controls:
    """The controls in force, newest last; thread-safe (tests set them from their own thread)."""

    def __init__(self) -> None:
        self._controls: list[Control] = []
        self._next = 1
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._controls)

    def __repr__(self) -> str:
        return f"<Controls {[c.describe() for c in self.all()]}>"

    def all(self) -> list[Control]:
        with self._lock:
            return list(self._controls)

    def add(self, *, route: str | None = None, path: str | None = None, method: str | None = None,
            delay_ms: int = 0, status: int | None = None, json: Any = _UNSET, drop: bool = False,
            times: int | None = None) -> Control:
        """Add a control for ``route`` (an id of the table) or ``path``; see :func:`validate`."""
        fields = validate(route, path, method, delay_ms, status, drop, times)
        with self._lock:
            control = Control(self._next, *fields[:3], delay_ms=fields[3], status=fields[4],
                              json=json, drop=drop, times=fields[5])
            self._next += 1
            self._controls.append(control)
        return control

    def remove(self, control_id: int) -> bool:
        with self._lock:
            kept = [c for c in self._controls if c.id != control_id]
            removed = len(kept) != len(self._controls)
            self._controls[:] = kept  # in place: the journal holds this list (with_testing)
        return removed

    def clear(self) -> int:
        with self._lock:
            count = len(self._controls)
            self._controls.clear()  # in place: the journal holds this list (with_testing)
            self._next = 1  # each test's controls are #1, #2, ... in messages
        return count

    def take(self, method: str, path: str, route: str | None) -> Control | None:
        """The newest control that applies to this request, counted as used."""
        with self._lock:
            for control in reversed(self._controls):
                if control.applies(method, path, route):
                    control.hits += 1
                    return control
        return None


def validate(route: str | None, path: str | None, method: str | None, delay_ms: Any, status: Any,
             drop: Any, times: Any) -> tuple[str | None, str | None, str | None, int, int | None,
                                             int | None]:
    """Check a control's fields, or raise :class:`ControlError` saying what is wrong."""
    if (route is None) == (path is None):
        raise ControlError("a control needs exactly one of `route` (a route id such as users/[id]) "
                           "or `path` (a URL path such as /users/1)")
    if path is not None and (not isinstance(path, str) or not path.startswith("/")):
        raise ControlError(f"`path` must be a URL path starting with /, got {path!r}")
    if not _is_int(delay_ms) or not 0 <= delay_ms <= MAX_DELAY_MS:
        raise ControlError(f"`delay_ms` must be a whole number of milliseconds from 0 to "
                           f"{MAX_DELAY_MS}, got {delay_ms!r}")
    if status is not None and (not _is_int(status) or not 100 <= status <= 599):
        raise ControlError(f"`status` must be an HTTP status from 100 to 599, got {status!r}")
    if not isinstance(drop, bool):
        raise ControlError(f"`drop` must be true or false, got {drop!r}")
    if drop and status is not None:
        raise ControlError("a control either answers a `status` or drops the connection, not both")
    if not drop and status is None and not delay_ms:
        raise ControlError("a control must do something: give `delay_ms`, `status` or `drop`")
    if times is not None and (not _is_int(times) or times < 1):
        raise ControlError(f"`times` must be a positive number of requests, got {times!r}")
    if method is not None and (not isinstance(method, str) or not method.isalpha()):
        raise ControlError(f"`method` must be an HTTP method such as GET, got {method!r}")
    upper = method.upper() if method is not None else None
    trimmed = path.rstrip("/") or "/" if path is not None else None
    return route, trimmed, upper, delay_ms, status, times


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def resolve_target(table: RouteTable, target: str, *, kind: str = "auto") -> tuple[str | None, str | None]:
    """``(route_id, None)`` or ``(None, path)`` for what a test names.

    A route may be named by its id or pattern, in either spelling (``users/$id``, ``/users/[id]``);
    anything else starting with ``/`` is a path (``kind="path"`` forces that). An unknown route
    raises :class:`ControlError` with the nearest route ids.

    >>> from devserver.routing import build_table
    >>> resolve_target(build_table(["users/$id"]), "/users/[id]")
    ('users/$id', None)
    >>> resolve_target(build_table(["users/$id"]), "/users/1")
    (None, '/users/1')
    """
    if kind == "path":
        return None, target
    route = _find_route(table, target)
    if route is not None:
        return route, None
    if kind == "auto" and target.startswith("/"):
        return None, target
    ids = [r.id for r in table.routes]
    near = difflib.get_close_matches(target.strip("/"), ids, n=3, cutoff=0.4)
    hint = f"; did you mean {' or '.join(near)}?" if near else f"; the routes are: {', '.join(ids)}"
    raise ControlError(f"no route {target!r} in the table{hint}")


def _find_route(table: RouteTable, target: str) -> str | None:
    wanted = target.strip("/") or "index"
    if table.get(wanted) is not None:
        return wanted
    parsed = parse_route_id(wanted)
    if not any(s.kind.is_param for s in parsed.segments) and target.startswith("/"):
        return None  # a concrete path such as /users: a path control, unless it is a route id
    shape = "/" + "/".join(s.shape() for s in parsed.segments)
    for route in table.routes:
        if route.shape == shape:
            return route.id
    return None


@web.middleware
async def controls_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply the newest control that matches; PERF: with none set, one length check."""
    controls = request.app[CONTROLS]
    if not len(controls) or is_own_path(request.path):
        return await handler(request)
    control = controls.take(request.method, request.path, matched_route(request)[0])
    if control is None:
        return await handler(request)
    if control.delay_ms:
        note(request, f"#{control.id} delay {control.delay_ms} ms")
        await asyncio.sleep(control.delay_ms / 1000)
    if control.drop:
        note(request, f"#{control.id} drop", dropped=True)
        if request.transport is not None:
            request.transport.close()
        # NOTE: never written: aiohttp finds the transport closed and logs nothing.
        return web.Response(status=204)
    if control.status is not None:
        note(request, f"#{control.id} status {control.status}")
        return _answer(request, control)
    return await handler(request)


def _answer(request: web.Request, control: Control) -> web.Response:
    status = control.status
    assert status is not None
    if status in (204, 304) or status < 200:
        return web.Response(status=status)
    body = control.json if control.json is not _UNSET else {"error": {
        "status": status, "message": f"{request.method} {request.path} answered {status} by "
                                     f"devserver control {control.describe()}"}}
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


def with_testing(app: web.Application, handler: Handler) -> Handler:
    """``handler`` inside the journal, CORS and controls the app's config asks for, outermost first.

    The journal wraps everything so it sees the final status; CORS wraps the controls so a failed
    or delayed route still carries the headers a cross-origin page needs to read it.

    PERF: wrappers around the one route handler, not aiohttp middlewares: with no middleware
    aiohttp skips its middleware chain, and with no control set a request pays one length check.
    """
    config = app[CONFIG]
    if not config.dev:
        return _with_cors(handler) if config.cors else handler
    controls = app[CONTROLS] = Controls()
    journal = app[JOURNAL] = Journal()
    controlled = _controlled(controls, handler)
    # PERF: the controls' list, whose len() is not a call to Controls.__len__. Without CORS the
    # journal calls the controls only while one is set, and the handler itself otherwise.
    if config.cors:
        return recording(_with_cors(controlled), controls._controls, journal)
    return recording(handler, controls._controls, journal, controlled=controlled)


def _controlled(controls: Controls, handler: Handler) -> Handler:
    async def controlled(request: web.Request) -> web.StreamResponse:
        if not controls._controls:  # PERF: the list itself, not a call to __len__
            return await handler(request)
        return await controls_middleware(request, handler)

    return controlled


def _with_cors(handler: Handler) -> Handler:
    async def cors(request: web.Request) -> web.StreamResponse:
        return await cors_middleware(request, handler)

    return cors


# --- the HTTP API --------------------------------------------------------------------------------

def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"status": status, "message": message, **extra}}, status=status)


def _peer_is_loopback(request: web.Request) -> bool:
    remote = request.remote
    if remote is None:
        return False
    try:
        return ipaddress.ip_address(remote.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


async def _api(request: web.Request) -> web.StreamResponse:
    """``/__devserver/api/*``: loopback peers and same-origin (or no-Origin) callers only."""
    if not _peer_is_loopback(request):
        return _error(403, "devserver's test API answers only clients on this machine (loopback)")
    if not origin_allowed(request.headers.get("Origin"), request.headers.get("Host"),
                          request.app[CONFIG].host):
        return _error(403, "devserver's test API refuses requests from web pages on another origin")
    if CONTROLS not in request.app:
        return _error(404, "the test API needs a dev server")
    name = request.path[len(API_PREFIX):].rstrip("/")
    if name.startswith("controls/"):
        return await _guarded(request, {"DELETE": _remove_control})
    routes = _ENDPOINTS.get(name)
    if routes is None:
        return _error(404, f"no devserver test endpoint {request.path}",
                      endpoints=sorted(API_PREFIX + n for n in _ENDPOINTS))
    return await _guarded(request, routes)


async def _guarded(request: web.Request,
                   routes: dict[str, Callable[[web.Request], Awaitable[web.Response]]]) -> web.Response:
    endpoint = routes.get(request.method)
    if endpoint is None:
        allow = ", ".join(sorted(routes))
        response = _error(405, f"{request.path} answers {allow}, not {request.method}")
        response.headers["Allow"] = allow
        return response
    try:
        return await endpoint(request)
    except ControlError as exc:
        return _error(400, str(exc))


async def _json_body(request: web.Request) -> dict[str, Any]:
    # Any content type: curl -d sends a form type, and a foreign page is refused by Origin above.
    try:
        raw = await request.read()
    except UNREADABLE as exc:
        raise ControlError(f"cannot read the request body: {unreadable_reason(exc)}") from None
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ControlError(f"the body must be a JSON object: {exc}") from None
    if not isinstance(body, dict):
        raise ControlError(f"the body must be a JSON object, got {raw[:80]!r}")
    return body


async def _get_journal(request: web.Request) -> web.Response:
    journal = request.app[JOURNAL]
    path = request.query.get("path")
    entries = journal.find(request.query.get("method"), path)
    return web.json_response({"total": journal.total, "requests": [e.as_dict() for e in entries]})


async def _clear_journal(request: web.Request) -> web.Response:
    return web.json_response({"cleared": request.app[JOURNAL].clear()})


async def _assert(request: web.Request) -> web.Response:
    body = await _json_body(request)
    method, path = body.get("method"), body.get("path")
    if not isinstance(method, str) or not isinstance(path, str) or not path.startswith("/"):
        raise ControlError('give "method" (GET) and "path" (/users/1) to assert a request')
    times, timeout = body.get("times"), body.get("timeout_ms", 0)
    if times is not None and (not _is_int(times) or times < 0):
        raise ControlError(f"`times` must be a number of requests, got {times!r}")
    if not _is_int(timeout) or not 0 <= timeout <= MAX_DELAY_MS:
        raise ControlError(f"`timeout_ms` must be a number of milliseconds, got {timeout!r}")
    extra = {k: body[k] for k in ("json", "form") if k in body}
    journal, describe = request.app[JOURNAL], route_describer(request.app)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout / 1000
    while True:
        try:
            found = journal.assert_requested(method, path, times=times, describe=describe, **extra)
        except RequestNotFound as exc:
            if loop.time() >= deadline:
                return web.json_response({"ok": False, "message": str(exc)}, status=409)
            await asyncio.sleep(0.02)
            continue
        return web.json_response({"ok": True, "count": len(found),
                                  "requests": [e.as_dict() for e in found]})


async def _get_controls(request: web.Request) -> web.Response:
    return web.json_response({"controls": [c.as_dict() for c in request.app[CONTROLS].all()]})


async def _add_control(request: web.Request) -> web.Response:
    body = await _json_body(request)
    known = {"route", "path", "method", "delay_ms", "status", "json", "drop", "times"}
    unknown = sorted(set(body) - known)
    if unknown:
        near = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ControlError(f"unknown field {unknown[0]!r}{hint} (fields: {', '.join(sorted(known))})")
    route = body.get("route")
    if route is not None:
        if not isinstance(route, str):
            raise ControlError(f"`route` must be a route id such as users/[id], got {route!r}")
        route = resolve_target(request.app[STATE].state.table, route, kind="route")[0]
    control = request.app[CONTROLS].add(
        route=route, path=body.get("path"), method=body.get("method"),
        delay_ms=body.get("delay_ms", 0), status=body.get("status"), json=body.get("json", _UNSET),
        drop=body.get("drop", False), times=body.get("times"))
    return web.json_response({"control": control.as_dict()}, status=201)


async def _clear_controls(request: web.Request) -> web.Response:
    return web.json_response({"removed": request.app[CONTROLS].clear()})


async def _remove_control(request: web.Request) -> web.Response:
    text = request.path[len(API_PREFIX + "controls/"):].rstrip("/")
    if not text.isdigit() or not request.app[CONTROLS].remove(int(text)):
        return _error(404, f"no control {text!r}; GET {API_PREFIX}controls lists them")
    return web.json_response({"removed": 1})


async def _reset(request: web.Request) -> web.Response:
    return web.json_response({"cleared": request.app[JOURNAL].clear(),
                              "removed": request.app[CONTROLS].clear()})


_ENDPOINTS: dict[str, dict[str, Callable[[web.Request], Awaitable[web.Response]]]] = {
    "journal": {"GET": _get_journal, "DELETE": _clear_journal},
    "journal/assert": {"POST": _assert},
    "controls": {"GET": _get_controls, "POST": _add_control, "DELETE": _clear_controls},
    "reset": {"POST": _reset},
}

register(API_PREFIX, _api, prefix=True)
