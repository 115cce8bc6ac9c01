"""The aiohttp adapter: ``create_app()`` and the one catch-all handler behind it.

aiohttp's router freezes at start-up, so devserver registers a single catch-all route and does
its own routing with the current :class:`~devserver.state.AppState`, which a reload swaps in one
assignment (STYLE §6). Only this module and its helpers know aiohttp.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import hdrs, web
from multidict import CIMultiDict

from .config import Config
from .controls import with_testing
from .errorpages import ErrorInfo, error_response, from_exception, own_templates, source_context
from .handlers import HandlerFailure, call_raw, checked, override_method, run_preflight
from .internal import handle_internal, is_internal
from .journal import MATCHED, SEEN
from .keys import CONFIG, LIVE, OWN_TEMPLATES, PAGES, STATE
from .live import LiveHub, client_snippet
from .loader import BoundHandler, LoadError
from .logs import quiet_client_errors
from .negotiation import Preference, preference
from .pages import PageRenderer, StoreError, inject_before_body_end, merge_store, store_script
from .public import PREFIX as PUBLIC_PREFIX
from .public import PublicPathError, serve_public
from .request import FORM_TYPES, BodyError, Req, flatten, make_req, read_body
from .responses import Result, ResultError, json_body, redirect_status
from .routing import InvalidPath, Match, Route
from .sessions import (
    SESSION,
    install_sessions,
    load_session,
    replace_session,
    resolve_secret,
    save_session,
    session_dict,
)
from .state import AppState, CurrentState, build_state

__all__ = ["create_app", "swap_state"]

log = logging.getLogger("devserver")

_ONLY_OPTIONS = frozenset({"OPTIONS"})  # what a route answers when it has no API module


def create_app(root: str | Path | Config, *, dev: bool = True,
               max_body: int | None = None) -> web.Application:
    """The devserver application for the project folder ``root``.

    ``dev=False`` is production: no tracebacks, file paths or dashboard, no reload.
    """
    if isinstance(root, Config):
        config = root
    else:
        config = Config(Path(root).resolve(), dev=dev, reload=False)
    if max_body is not None:
        config = replace(config, max_body=max_body)
    # NOTE: aiohttp enforces client_max_size while reading a body; read_body also checks
    # Content-Length first, so an oversized upload is refused before it is read.
    app = web.Application(client_max_size=config.max_body)
    quiet_client_errors()  # a malformed request is one log line, not a traceback
    app[CONFIG] = config
    app[OWN_TEMPLATES] = own_templates()
    app[PAGES] = PageRenderer(config.pages_dir, dev=config.dev)
    watching = config.dev and config.reload
    if watching:
        from .reloader import install_import_graph, reload_context

        install_import_graph(app)
    app[STATE] = CurrentState(build_state(config))
    app[LIVE] = LiveHub()
    key, _source = resolve_secret(config.state_dir)
    install_sessions(app, key)
    # dev: the request journal and test controls; --cors: CORS headers
    # PERF: the route handler gets the config and the state's holder bound, not looked up per request.
    dispatch = partial(_dispatch, config, app[STATE], _FastRoutes())
    app.router.add_route("*", "/{tail:.*}", with_testing(app, dispatch))
    if watching:
        app.cleanup_ctx.append(reload_context)
    return app


def swap_state(app: web.Application, state: AppState) -> None:
    """Install a new snapshot; requests already running keep the one they started with."""
    app[STATE].state = state


class _Fast:
    """What a GET to a route needs when it can take the dispatcher's fast path, per route of one
    state: the handler's coroutine function and where it is, for error messages.

    PERF: worked out once per route and state (on the route's first request), not per request.
    """

    __slots__ = ("fn", "where", "file", "line", "has_page")

    def __init__(self, handler: BoundHandler, file: str, has_page: bool) -> None:
        self.fn = handler.fn
        self.where = f"{file}: {handler.name}()"
        self.file = file
        self.line = handler.line
        self.has_page = has_page


class _FastRoutes:
    """:class:`_Fast` by route for one state: by ``id()`` of the route, kept alive with it (two
    routes of a table may share an id string; a new table may reuse the old one's routes).

    PERF: the dispatcher reads ``routes`` itself and calls :meth:`add` only for a route it has
    not seen in this state (a method call per request cost ~1,000 instructions).
    """

    __slots__ = ("state", "routes")

    def __init__(self) -> None:
        self.state: AppState | None = None
        self.routes: dict[int, tuple[Route, _Fast | None]] = {}

    def add(self, state: AppState, route: Route) -> tuple[Route, _Fast | None]:
        if state is not self.state:  # a reload swapped the state in: start over
            self.state, self.routes = state, {}
        found = self.routes[id(route)] = (route, _fast(state, route))
        return found


def _fast(state: AppState, route: Route) -> _Fast | None:
    """The route's :class:`_Fast`, or None when its GETs take the general path: a route with a
    problem, a module that failed to load, no GET handler, or a plain ``def`` one (a thread)."""
    if route.problems and route.errors:
        return None
    module = state.modules.get(route.id)
    if module is None or module.error is not None:
        return None
    handler = module.handler_for("GET")
    if handler is None or not handler.is_async or not route.has_api:
        return None  # NOTE: with an API, _dispatch decides between page and JSON without a call
    return _Fast(handler, module.file, route.has_page)


async def _dispatch(config: Config, current: CurrentState, fast_routes: _FastRoutes,
                    request: web.Request) -> web.StreamResponse:
    """Every request: devserver's own paths, then the route table."""
    raw = request.raw_path
    if raw.startswith("/_"):
        if raw.startswith(PUBLIC_PREFIX):
            return _public(request)
        if config.dev and is_internal(request.path):
            return await handle_internal(request)
    state = current.state
    try:
        match = state.table.match(raw)
    except InvalidPath as exc:
        return _error(request, ErrorInfo(400, f"bad request path: {exc.reason}"),
                      preference(request.headers.get(hdrs.ACCEPT)))
    # The journal records this match instead of matching again. PERF: into the request's own
    # dict: `request[MATCHED] = ...` is a Python call (aiohttp's __setitem__ checks the key).
    kept = request._state
    kept[MATCHED] = match
    if match is None:
        return _not_found(request, state, preference(request.headers.get(hdrs.ACCEPT)))
    route = match.spec
    found = fast_routes.routes.get(id(route))
    if found is None or found[0] is not route or state is not fast_routes.state:
        found = fast_routes.add(state, route)
    fast = found[1]
    headers = request.headers
    if fast is not None and request.method == "GET" and not request.body_exists and \
            hdrs.COOKIE not in headers:
        # PERF: the usual request, a GET without a body or a session cookie to an async handler:
        # no body to read, no session to load or save, the Accept header parsed only when the
        # route has a page (or for an error), and a {"json": ...} answer straight to a final
        # response. Anything else goes on as _serve would, from the handler's return value.
        pref = preference(headers.get(hdrs.ACCEPT)) if fast.has_page else None
        if pref is None or not pref.prefers_html:  # _wants_page, for a route with an API
            kept[SEEN] = (match, headers, raw)  # for the journal, which would read them again
            req = make_req("GET", request.path, match.params,
                           flatten(request.query) if "?" in raw else {}, headers, {}, {}, request)
            try:
                try:
                    value = await fast.fn(req)  # call_raw's excepts, without its coroutine
                except web.HTTPException:
                    raise
                except (Exception, SystemExit) as exc:  # noqa: BLE001 - a user's handler may raise anything
                    response: web.StreamResponse = _error(
                        request, _failure_info(request, HandlerFailure.of(exc), fast.file, fast.line),
                        pref or preference(headers.get(hdrs.ACCEPT)))
                else:
                    if type(value) is dict and len(value) == 1 and "json" in value:
                        return _plain_json(request, config.dev, value["json"], fast.where, fast.file,
                                           fast.line, pref)  # final, and no session was loaded
                    response = await _answer(request, config, state, match,
                                             pref or preference(headers.get(hdrs.ACCEPT)), "GET",
                                             False, fast.file, fast.line, fast.where, req, value)
            except web.HTTPException as exc:
                _finish(exc, config.dev)  # a handler raised it: answered as it is
                await save_session(request, exc)
                raise
            _finish(response, config.dev)
            await save_session(request, response)  # one a returned `session` loaded
            return response
    request[SESSION] = None  # not loaded (yet); PERF: every later lookup finds the key
    try:
        response = await _serve(request, config, state, match, preference(headers.get(hdrs.ACCEPT)))
    except web.HTTPException as exc:
        _finish(exc, config.dev)  # a handler raised it: answered as it is, with the headers below
        await save_session(request, exc)
        raise
    _finish(response, config.dev)
    if request[SESSION] is not None:  # only a routed request ever loads the session
        await save_session(request, response)
    return response


async def _serve(request: web.Request, config: Config, state: AppState, match: Match,
                 pref: Preference) -> web.StreamResponse:
    route = match.spec
    if route.problems and route.errors:
        info = ErrorInfo(500, route.errors[0].message, kind="RouteConflict", problems=route.errors)
        return _error(request, info, pref)
    module = state.modules.get(route.id)
    if module is not None and module.error is not None:
        gone = _removed(request, module.file) if _vanished(request, module.error) else None
        return _error(request, gone or _load_error_info(request, module.error), pref)
    method = request.method
    body: Any = None
    try:
        if module is not None and method == "POST" and request.content_type in FORM_TYPES:
            body = await read_body(request, config.max_body)
            method = override_method(body, method)
    except BodyError as exc:
        return _error(request, ErrorInfo(exc.status, exc.message), pref)
    if method == "OPTIONS":
        allowed = state.methods.get(route.id, _ONLY_OPTIONS)
        return web.Response(status=204, headers={"Allow": ", ".join(sorted(allowed))})
    html = route.has_page and _wants_page(route, pref)  # PERF: no call for an API-only route
    handler = module.handler_for(method) if module is not None else None
    if handler is None:
        if route.has_page and method in ("GET", "HEAD"):
            if not pref.html_acceptable:
                return _not_acceptable(request, route, pref)
            return await _page(request, config, state, match, Result(), method, pref)
        allowed = state.methods.get(route.id, _ONLY_OPTIONS)
        return _error(request, ErrorInfo(
            405, f"{route.id} does not export {method.lower()}: method {method} not allowed",
            allow=tuple(sorted(allowed))), pref)
    assert module is not None
    try:
        if body is None:
            # PERF: no body (a GET): read_body's answer is {} without a coroutine.
            body = await read_body(request, config.max_body) if request.body_exists else {}
    except BodyError as exc:
        return _error(request, ErrorInfo(exc.status, exc.message), pref)
    headers = request.headers
    # PERF: without a Cookie header the session is empty, known without a coroutine.
    session = await session_dict(request) if hdrs.COOKIE in headers else {}
    req = make_req(method, request.path, match.params, _query(request), headers, body, session,
                   request)
    where = f"{module.file}: {handler.name}()"
    try:
        value = await call_raw(handler, req)
    except HandlerFailure as failure:
        return _error(request, _failure_info(request, failure, module.file, handler.line), pref)
    if not html and type(value) is dict and len(value) == 1 and "json" in value:
        return _plain_json(request, config.dev, value["json"], where, module.file, handler.line, pref)
    return await _answer(request, config, state, match, pref, method, html, module.file,
                         handler.line, where, req, value)


def _plain_json(request: web.Request, dev: bool, value: object, where: str, file: str, line: int,
                pref: Preference | None) -> web.Response:
    """What most handlers return, ``{"json": value}``: 200 with its headers as :func:`_finish`
    leaves them, without a Result; or the error for a value JSON cannot encode (finished too).

    ``pref`` None: the Accept header not parsed yet (the fast path), only needed for an error.
    """
    try:
        body = json_body(value, where)
    except ResultError as exc:
        response = _error(request, _result_error(request, str(exc), file, line),
                          pref or preference(request.headers.get(hdrs.ACCEPT)))
        _finish(response, dev)
        return response
    # Response copies the shared headers.
    return web.Response(status=200, body=body, headers=_JSON_DEV if dev else _JSON_PROD)


async def _answer(request: web.Request, config: Config, state: AppState, match: Match,
                  pref: Preference, method: str, html: bool, file: str, line: int, where: str,
                  req: Req, value: object) -> web.StreamResponse:
    """The response for what a handler returned (other than a plain ``{"json": ...}``)."""
    try:
        result = checked(value, where)
    except HandlerFailure as failure:
        return _error(request, _failure_info(request, failure, file, line), pref)
    if not isinstance(result, Result):  # PERF: not StreamResponse, an ABC: a slower isinstance
        return result
    if result.session is not None:
        replace_session(await load_session(request), result.session)
    try:
        if html and result.location is None:
            if method not in ("GET", "HEAD") and config.dev:
                log.info("%s %s re-rendered %s; return a `location` to redirect after a form "
                         "submission, so a reload does not submit it again", method, request.path,
                         match.spec.page_file)
            return await _page(request, config, state, match, result, method, pref, req)
        return _api_response(result, method, pref, where)
    except ResultError as exc:
        return _error(request, _result_error(request, str(exc), file, line), pref)


def _query(request: web.Request) -> dict[str, Any]:
    return flatten(request.query) if request.query_string else {}


def _wants_page(route: Route, pref: Preference) -> bool:
    """HTML for a route with a page unless the client prefers JSON and the route has an API."""
    if not route.has_page:
        return False
    return pref.prefers_html if route.has_api else pref.html_acceptable


def _not_acceptable(request: web.Request, route: Route, pref: Preference) -> web.Response:
    # Outside dev no file path is ever shown, not even the one we suggest.
    hint = f"; add app/api/{route.id}.py to answer JSON" if request.app[CONFIG].dev else ""
    return _error(request, ErrorInfo(
        406, f"{route.id} has only a page (HTML), and this client accepts no HTML{hint}"), pref)


async def _page(request: web.Request, config: Config, state: AppState, match: Match, result: Result,
                method: str, pref: Preference, req: Req | None = None) -> web.StreamResponse:
    """Render the route's page with preflight's dict updated by the handler's ``json``."""
    route = match.spec
    if req is None:
        req = make_req(method, request.path, match.params, _query(request), request.headers, {},
                       await session_dict(request), request)
    try:
        # PERF: no preflight.py (and no error loading one): no coroutine to run.
        base = {} if state.preflight is None and state.preflight_error is None \
            else await run_preflight(state, req)
    except HandlerFailure as failure:
        return _error(request, _failure_info(request, failure, "app/preflight.py"), pref)
    store = merge_store(base, result.json, result.has_json)
    name = route.page_file.removeprefix("app/pages/") if route.page_file else ""
    try:
        html = request.app[PAGES].render(name, {"store": store, "req": req.as_context()})
    except (jinja2.TemplateNotFound, FileNotFoundError) as exc:
        # Jinja checks that the file exists, then opens it: a deletion in between is the second.
        own = exc.name == name if isinstance(exc, jinja2.TemplateNotFound) else \
            os.path.normpath(str(exc.filename)) == os.path.normpath(config.pages_dir / name)
        gone = _removed(request, route.page_file) if own else None
        return _error(request, gone or from_exception(exc, config.root), pref)
    except Exception as exc:  # noqa: BLE001 - template errors of every kind become a 500 page
        return _error(request, from_exception(exc, config.root), pref)
    try:
        snippet = store_script(store)
    except StoreError as exc:
        return _error(request, ErrorInfo(500, str(exc), "StoreError"), pref)
    if config.dev and config.reload:
        snippet += client_snippet(route.id)
    html = inject_before_body_end(html, snippet)
    headers = _result_headers(result)
    headers.setdefault("Content-Type", "text/html; charset=utf-8")
    status = result.status if result.status is not None else 200
    # A lone surrogate (an undecodable file name shown in a page) must not crash the answer.
    return web.Response(status=status, body=html.encode("utf-8", "replace"), headers=headers)


def _api_response(result: Result, method: str, pref: Preference, where: str) -> web.Response:
    """A handler's result as JSON, or a redirect for an HTML client (DESIGN §3)."""
    headers = _result_headers(result)
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
    if status in (204, 304) or status < 200:
        return web.Response(status=status, headers=headers)
    headers.setdefault("Content-Type", _JSON_TYPE["Content-Type"])
    return web.Response(status=status, body=json_body(result.json, where), headers=headers)


_JSON_TYPE = {"Content-Type": "application/json; charset=utf-8"}
# A {"json": ...} answer's headers as _finish leaves them, in dev and in production.
_JSON_PROD: CIMultiDict[str] = CIMultiDict(_JSON_TYPE, Vary="Accept")
_JSON_DEV: CIMultiDict[str] = CIMultiDict(_JSON_PROD, **{"Cache-Control": "no-cache"})


def _result_headers(result: Result) -> CIMultiDict[str]:
    """The handler's ``headers`` and ``cacheControl``; its Content-Type, if any, is kept."""
    headers = CIMultiDict(result.headers)
    if result.cache_control is not None:
        headers["Cache-Control"] = result.cache_control
    return headers


def _finish(response: web.StreamResponse, dev: bool) -> None:
    """Headers every routed response gets: Vary, and no-cache in dev unless the handler chose."""
    if response.prepared:
        return  # streamed by the handler: its headers are already sent
    headers = response.headers
    # PERF: aiohttp's istr names: a lookup by a plain str case-folds it first (twice the time).
    vary = headers.get(hdrs.VARY)
    if vary is None:
        headers["Vary"] = "Accept"
    elif vary != "Accept" and vary.strip() != "*" and \
            "accept" not in {v.strip().lower() for v in vary.split(",")}:
        headers["Vary"] = f"{vary}, Accept"
    if dev and hdrs.CACHE_CONTROL not in headers:
        headers["Cache-Control"] = "no-cache"


def _public(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    try:
        return serve_public(config.public_dir, request.raw_path, dev=config.dev,
                            method=request.method)
    except PublicPathError as exc:
        pref = preference(request.headers.get(hdrs.ACCEPT))
        path = request.raw_path.split("?", 1)[0]
        message = (f"no file {path} in public/" if exc.status == 404 else
                   f"{path} is a static file: {exc.reason}" if exc.status == 405 else
                   f"bad path: {exc.reason}")
        return _error(request, ErrorInfo(exc.status, message, allow=exc.allow), pref)


def _removed(request: web.Request, file: str | None) -> ErrorInfo | None:
    """A route file deleted or renamed since the table was built: 404, as after the rescan.

    NOTE: a reload rescans once the deletion's events settle (and reloads a file saved again);
    a request in between must not get a 500. A dangling symlink keeps its 500 naming the file.
    """
    config = request.app[CONFIG]
    path = config.root / file if file is not None else None
    if path is None or (os.path.islink(path) and not os.path.exists(path)):
        return None
    removed = f": {file} was removed" if config.dev else ""
    return ErrorInfo(404, f"no route matches {request.path}{removed}")


def _vanished(request: web.Request, err: LoadError) -> bool:
    """The module's own file was missing when it was loaded (not a FileNotFoundError of its code)."""
    path = str(request.app[CONFIG].root / err.file)
    return bool(err.kind == "FileNotFoundError" and err.line is None and path in err.message)


def _load_error_info(request: web.Request, err: LoadError) -> ErrorInfo:
    root = request.app[CONFIG].root
    source = source_context(str(root / err.file), err.line) if err.line else ()
    return ErrorInfo(500, err.message, err.kind, err.file, err.line, source,
                     traceback=err.traceback or None)


def _failure_info(request: web.Request, failure: HandlerFailure, file: str,
                  line: int | None = None) -> ErrorInfo:
    if failure.exc is None:
        return _result_error(request, failure.message, file, line)
    return from_exception(failure.exc, request.app[CONFIG].root)


def _result_error(request: web.Request, message: str, file: str, line: int | None) -> ErrorInfo:
    """A bad return value: no traceback to show, so point at the handler that returned it."""
    line = line or None
    source = source_context(str(request.app[CONFIG].root / file), line) if line else ()
    return ErrorInfo(500, message, "ResultError", file, line, source)


def _not_found(request: web.Request, state: AppState, pref: Preference) -> web.Response:
    explanation = None
    if request.app[CONFIG].dev:
        explanation = state.explain_miss(request.raw_path, request.method)
    info = ErrorInfo(404, f"no route matches {request.path}", explanation=explanation)
    return _error(request, info, pref)


def _error(request: web.Request, info: ErrorInfo, pref: Preference) -> web.Response:
    """The error as JSON or HTML, with the app's own 404.html / 500.html when it has them."""
    config = request.app[CONFIG]
    if info.status >= 500:
        log.error("%s %s -> %s: %s", request.method, request.path, info.status, info.message)
    html = None
    if not pref.wants_json:
        html = _app_error_page(request, info)
    response = error_response(info, wants_json=pref.wants_json, dev=config.dev,
                              env=request.app[OWN_TEMPLATES], html=html)
    if config.dev and config.reload and not pref.wants_json and isinstance(response.text, str):
        # The error page reloads itself once the file that broke is saved again.
        response.text = inject_before_body_end(response.text, client_snippet(None))
    return response


def _app_error_page(request: web.Request, info: ErrorInfo) -> str | None:
    name = "404.html" if info.status == 404 else "500.html" if info.status >= 500 else None
    pages = request.app[PAGES]
    if name is None or not pages.has(name):
        return None
    dev = request.app[CONFIG].dev
    error: dict[str, Any] = {"status": info.status, "title": info.title,
                             "message": info.public_message(dev)}
    if dev:
        error.update(file=info.file, line=info.line, traceback=info.traceback, type=info.kind,
                     explanation=info.explanation)
    # The same shape pages get, so a layout that reads `req.query` renders here too; no route
    # matched, and the session is not loaded for an error (an empty one, as for a new visitor).
    req = {"method": request.method, "path": request.path, "params": {},
           "query": flatten(request.query), "session": {}}
    context = {"error": error, "store": {}, "req": req}
    try:
        return pages.render(name, context)
    except Exception as exc:  # noqa: BLE001 - a broken error page must not hide the error
        log.error("app/pages/%s failed to render (%s: %s); showing devserver's own page", name,
                  type(exc).__name__, exc)
        return None
