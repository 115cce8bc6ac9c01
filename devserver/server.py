"""The aiohttp adapter: ``create_app()`` and the one catch-all handler behind it.

aiohttp's router freezes at start-up, so devserver registers a single catch-all route and does
its own routing with the current :class:`~devserver.state.AppState`, which a reload swaps in one
assignment (STYLE §6). Only this module and its helpers know aiohttp.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from .config import Config
from .errorpages import (
    ErrorInfo,
    SourceLine,
    error_response,
    from_exception,
    own_templates,
    source_context,
)
from .keys import CONFIG, OWN_TEMPLATES, STATE
from .loader import Handler, RouteModule
from .negotiation import Preference, preference
from .request import FORM_TYPES, BodyError, Req, flatten, read_body
from .responses import Result, ResultError, json_body, normalize, redirect_status
from .routing import InvalidPath, Match
from .sessions import install_sessions, load_session, replace_session, resolve_secret, touch_session
from .state import AppState, build_state

__all__ = ["create_app"]

log = logging.getLogger("devserver")

_OVERRIDABLE = frozenset({"PUT", "PATCH", "DELETE"})


def create_app(root: str | Path | Config, *, dev: bool = True,
               max_body: int | None = None) -> web.Application:
    """The devserver application for the app folder ``root``.

    >>> app = create_app("demo")          # dev mode: tracebacks, explanations
    >>> app = create_app("demo", dev=False)  # production: no tracebacks, paths or dashboard
    """
    config = root if isinstance(root, Config) else Config(Path(root).resolve(), dev=dev)
    if max_body is not None:
        config = Config(config.root, config.dev, config.host, config.port, config.reload, max_body,
                        config.editor)
    # NOTE: aiohttp enforces client_max_size while reading; our own check on Content-Length
    # answers 413 before reading anything.
    app = web.Application(client_max_size=config.max_body)
    app[CONFIG] = config
    app[OWN_TEMPLATES] = own_templates()
    app[STATE] = build_state(config)
    key, _source = resolve_secret(config.state_dir)
    install_sessions(app, key)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


def swap_state(app: web.Application, state: AppState) -> None:
    """Install a new snapshot; requests already running keep the one they started with."""
    app[STATE] = state


async def dispatch(request: web.Request) -> web.StreamResponse:
    app = request.app
    state = app[STATE]
    config = app[CONFIG]
    pref = preference(request.headers.get("Accept"))
    try:
        match = state.table.match(request.raw_path)
    except InvalidPath as exc:
        return _error(request, ErrorInfo(400, f"bad request path: {exc.reason}"), pref)
    if match is None:
        return _not_found(request, state, pref)
    route = match.spec
    if route.errors:
        info = ErrorInfo(500, route.errors[0].message, kind="RouteConflict", problems=route.errors)
        return _error(request, info, pref)
    module = state.modules.get(route.id)
    if module is None:
        return _error(request, ErrorInfo(404, f"{route.id} has no API module"), pref)
    if module.error is not None:
        err = module.error
        info = ErrorInfo(500, err.message, err.kind, err.file, err.line, traceback=err.traceback or None,
                         source=_source_of(config.root, err.file, err.line))
        return _error(request, info, pref)
    response = await _run_api(request, match, module, pref)
    _finish(request, response, config)
    return response


async def _run_api(request: web.Request, match: Match, module: RouteModule,
                   pref: Preference) -> web.StreamResponse:
    config = request.app[CONFIG]
    method = request.method
    body: Any = None
    try:
        if method == "POST" and request.content_type in FORM_TYPES:
            body = await read_body(request, config.max_body)
            method = _override(body, method)
        if method == "OPTIONS":
            return web.Response(status=204, headers={"Allow": _allow(module)})
        handler = module.handler_for(method)
        if handler is None:
            return _error(request, ErrorInfo(
                405, f"{match.route} does not export {method.lower()}: method {method} not allowed",
                allow=tuple(sorted(module.methods))), pref)
        if body is None:
            body = await read_body(request, config.max_body)
    except BodyError as exc:
        return _error(request, ErrorInfo(exc.status, exc.message), pref)
    session = await load_session(request)
    req = Req(method, request.path, match.params, flatten(request.query), request.headers, body,
              dict(session), request)
    where = f"{module.file}: {_handler_name(module, method)}()"
    try:
        value = await _call(handler, req, module.is_async.get(method, module.is_async.get("*", True)))
        result = normalize(value, where)
    except web.HTTPException:
        raise
    except ResultError as exc:
        return _error(request, ErrorInfo(500, str(exc), "ResultError", module.file), pref)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a user's handler may raise anything
        return _error(request, from_exception(exc, config.root), pref)
    if isinstance(result, web.StreamResponse):
        return result
    if result.session is not None:
        replace_session(session, result.session)
    try:
        return _api_response(result, method, pref, where)
    except ResultError as exc:
        return _error(request, ErrorInfo(500, str(exc), "ResultError", module.file), pref)


def _override(body: Any, method: str) -> str:
    """An HTML form may POST ``_method=delete|put|patch`` (DESIGN §3)."""
    if isinstance(body, dict):
        wanted = body.pop("_method", None)
        if isinstance(wanted, str) and wanted.upper() in _OVERRIDABLE:
            return wanted.upper()
    return method


async def _call(handler: Handler, req: Req, is_async: bool) -> Any:
    if is_async:
        return await handler(req)
    # NOTE: plain `def` handlers run in a thread so a blocking call cannot stall the server.
    value = await asyncio.to_thread(handler, req)
    if asyncio.iscoroutine(value):
        value = await value
    return value


def _handler_name(module: RouteModule, method: str) -> str:
    if method in module.handlers:
        return {"DELETE": "delete"}.get(method, method.lower())
    if method == "HEAD" and "GET" in module.handlers:
        return "get"
    return "handler"


def _allow(module: RouteModule) -> str:
    return ", ".join(sorted(module.methods))


def _api_response(result: Result, method: str, pref: Preference, where: str) -> web.Response:
    """A handler's result for an API route: JSON, or a redirect for an HTML client."""
    headers = dict(result.headers)
    if result.cache_control is not None:
        headers["Cache-Control"] = result.cache_control
    if result.location is not None:
        if not pref.wants_json:
            headers["Location"] = result.location
            return web.Response(status=redirect_status(result, method), headers=headers)
        # JSON clients are not redirected: 3xx or no status becomes 200; any other keeps Location.
        if result.status is not None and not 300 <= result.status < 400:
            headers["Location"] = result.location
            status = result.status
        else:
            status = 200
    else:
        status = result.status if result.status is not None else 200
    if status in (204, 304) or 100 <= status < 200:
        return web.Response(status=status, headers=headers)
    return web.Response(status=status, body=json_body(result.json, where), headers=headers,
                        content_type="application/json", charset="utf-8")


def _finish(request: web.Request, response: web.StreamResponse, config: Config) -> None:
    """Headers every routed response gets: Vary, and no-cache in dev unless the handler chose."""
    if "Vary" not in response.headers:
        response.headers["Vary"] = "Accept"
    if config.dev and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-cache"
    touch_session(request)


def _not_found(request: web.Request, state: AppState, pref: Preference) -> web.Response:
    config = request.app[CONFIG]
    explanation = None
    if config.dev:
        explanation = state.explain(request.raw_path, request.method)
    path = request.path
    return _error(request, ErrorInfo(404, f"no route matches {path}", explanation=explanation), pref)


def _error(request: web.Request, info: ErrorInfo, pref: Preference) -> web.Response:
    config = request.app[CONFIG]
    if info.status >= 500:
        log.error("%s %s -> %s: %s", request.method, request.path, info.status, info.message)
    return error_response(info, wants_json=pref.wants_json, dev=config.dev,
                          env=request.app[OWN_TEMPLATES])


def _source_of(root: Path, file: str | None, line: int | None) -> tuple[SourceLine, ...]:
    if file is None or line is None:
        return ()
    return source_context(str(root / file), line)
