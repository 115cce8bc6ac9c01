"""The ``/__routes`` dashboard: the live route table and the URL tester (DESIGN §6).

Three endpoints, dev only, behind the Host check of :mod:`devserver.internal`:

- ``/__routes``: the page (``templates/dashboard.html`` with ``static/dashboard.{css,js}``);
- ``/__routes.json``: ``devserver routes --json`` plus the last reload and editor links;
- ``/__routes/match?method=GET&path=/x&accept=...``: ``devserver match --json`` plus the
  representation the server would answer with and the winning route's row.

The dashboard only renders data: it reads the current state and the last reload, and never
changes either (STYLE §15).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web
from markupsafe import Markup

from .config import Config
from .internal import register
from .keys import CONFIG, LIVE, OWN_TEMPLATES, STATE
from .negotiation import Preference, preference
from .report import route_rows, state_dict
from .routing import Explanation, Route
from .state import AppState

__all__ = ["editor_link", "dashboard_data", "match_data", "representation"]

# Where "open in editor" links point. ``{path}`` is the absolute file path, ``{line}`` the line.
# Any other URL scheme name gives ``SCHEME://file/ABS_PATH:LINE``, as VS Code and its forks use;
# a value with ``{file}`` in it is used as the template itself.
EDITORS = {
    "vscode": "vscode://file{path}:{line}",
    "vscode-insiders": "vscode-insiders://file{path}:{line}",
    "vscodium": "vscodium://file{path}:{line}",
    "cursor": "cursor://file{path}:{line}",
    "windsurf": "windsurf://file{path}:{line}",
    "zed": "zed://file{path}:{line}",
    "idea": "idea://open?file={path}&line={line}",
    "pycharm": "pycharm://open?file={path}&line={line}",
    "sublime": "subl://open?url=file://{path}&line={line}",
    "textmate": "txmt://open?url=file://{path}&line={line}",
    "macvim": "mvim://open?url=file://{path}&line={line}",
}
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")
# NOTE: a file name is attacker-shaped text (a cloned repository may hold anything); a
# `javascript:` link would run it once percent-decoded, so script-capable schemes never link.
_UNSAFE_SCHEMES = ("javascript", "data", "vbscript", "blob", "about")
_METHOD = re.compile(r"^[A-Za-z]{1,20}$")
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                              "\u2028": "\\u2028", "\u2029": "\\u2029"})

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# NOTE: every piece of data reaches the page through textContent; the policy is the second
# line of defence. The response preview is an iframe with an empty `sandbox` (no scripts);
# its inline styles need 'unsafe-inline' to look like the real page.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src * data: blob:; font-src * data:; connect-src 'self'; frame-src 'self'; "
       "object-src 'none'; form-action 'self'; frame-ancestors 'none'")


def editor_link(editor: str, root: Path, file: str | None, line: int | None = None) -> str | None:
    """The "open in editor" URL for ``file`` (relative to ``root``) at ``line``, or None.

    >>> editor_link("vscode", Path("/srv/app"), "app/api/users/$id.py", 6)
    'vscode://file/srv/app/app/api/users/%24id.py:6'
    """
    if file is None:
        return None
    name = editor.strip()
    if name.lower() in ("", "none", "off", "false"):
        return None
    template = EDITORS.get(name.lower())
    if template is None:
        if "{file}" in name:
            template = name.replace("{file}", "{path}")
        elif _SCHEME.match(name.lower()):
            template = name.lower() + "://file{path}:{line}"
        else:
            return None  # not a URL scheme: no links
    scheme = template.partition(":")[0].lower()
    if not _SCHEME.match(scheme) or scheme in _UNSAFE_SCHEMES:
        return None
    path = quote((root / file).as_posix(), safe="/")
    return template.replace("{path}", path).replace("{line}", str(line or 1))


def _rows(state: AppState, config: Config) -> list[dict[str, Any]]:
    """``route_rows`` plus an editor link for every file, handler and error."""
    def link(file: str | None, line: int | None = None) -> str | None:
        return editor_link(config.editor, config.root, file, line)

    rows = route_rows(state)
    for row in rows:
        first = min((h["line"] for h in row["handlers"] if h["line"]), default=None)
        for handler in row["handlers"]:
            handler["link"] = link(row["api_file"], handler["line"])
        error = row["error"]
        row["links"] = {
            "api": link(row["api_file"], first),
            "page": link(row["page_file"]),
            "error": link(error["file"], error["line"]) if error else None,
        }
    return rows


def dashboard_data(state: AppState, config: Config, last_reload: dict[str, Any] | None) -> dict[str, Any]:
    """``/__routes.json``: the CLI's ``routes --json`` with links, the last reload and the project."""
    data = state_dict(state)
    data["routes"] = _rows(state, config)
    preflight = data["preflight_error"]
    if preflight is not None:
        preflight["link"] = editor_link(config.editor, config.root, preflight["file"], preflight["line"])
    data["last_reload"] = last_reload
    data["project"] = {"root": str(config.root), "name": config.root.name, "editor": config.editor,
                       "reload": config.reload}
    return data


def _wants_page(route: Route, pref: Preference) -> bool:
    """Mirrors ``server._wants_page``: HTML for a page unless the client prefers JSON from an API."""
    if not route.has_page:
        return False
    return not (pref.wants_json and route.has_api) and pref.html_acceptable


def representation(state: AppState, ex: Explanation, accept: str | None) -> dict[str, Any]:
    """What the server would answer to ``ex.method ex.path`` with this ``Accept`` (DESIGN §4).

    ``kind`` is ``page``, ``json``, ``not-acceptable`` (406), ``error`` or ``options``;
    ``status`` is the default (a handler may choose another); ``redirect`` is the status used
    if the handler returns a ``location`` (None where clients are not redirected).
    """
    pref = preference(accept)
    wanted = "application/json" if pref.wants_json else "text/html"
    out: dict[str, Any] = {"kind": "error", "status": ex.status, "content_type": wanted,
                           "template": None, "handler": None, "redirect": None,
                           "accept": {"html": pref.html, "json": pref.json}}
    route = state.table.get(ex.winner) if ex.winner else None
    if route is None or ex.status >= 400:
        form = "a JSON error body, as this Accept prefers JSON" if pref.wants_json else \
            "an HTML error page, as this Accept does not prefer JSON"
        return {**out, "summary": form}
    if ex.method == "OPTIONS":
        return {**out, "kind": "options", "status": 204, "content_type": None,
                "summary": f"204 No Content with `Allow: {', '.join(ex.allowed)}`"}
    module = state.modules.get(route.id)
    handler = module.handler_for(ex.method) if module is not None else None
    redirect = 302 if ex.method in ("GET", "HEAD") else 303
    if handler is not None:
        out["handler"] = {"file": module.file if module else None, "name": handler.name,
                          "line": handler.line}
    if handler is None:  # a page without an API function for this method: GET or HEAD
        if not pref.html_acceptable:
            return {**out, "kind": "not-acceptable", "status": 406,
                    "summary": f"{route.page_file} is HTML only, and this Accept takes no HTML"}
        return {**out, "kind": "page", "status": 200, "content_type": "text/html",
                "template": route.page_file, "summary": f"renders {route.page_file}"}
    call = f"{handler.name}() in {route.api_file}"
    if _wants_page(route, pref):
        return {**out, "kind": "page", "status": 200, "content_type": "text/html",
                "template": route.page_file, "redirect": redirect,
                "summary": f"{call} runs, then {route.page_file} renders with its `json` as the "
                           f"store; a returned `location` redirects with {redirect}"}
    if pref.wants_json:
        return {**out, "kind": "json", "status": 200, "content_type": "application/json",
                "summary": f"the `json` returned by {call}; JSON clients are not redirected"}
    why = "the route has no page" if not route.has_page else "this Accept takes no HTML"
    return {**out, "kind": "json", "status": 200, "content_type": "application/json",
            "redirect": redirect,
            "summary": f"the `json` returned by {call}, as {why}; a returned `location` "
                       f"redirects with {redirect}"}


def match_data(state: AppState, config: Config, path: str, method: str = "GET",
               accept: str | None = None) -> dict[str, Any]:
    """``/__routes/match``: the explanation, the representation and the winning route's row."""
    ex = state.explain(path, method.upper())
    data = ex.as_dict()
    data["accept"] = accept
    data["representation"] = representation(state, ex, accept)
    data["route"] = next((r for r in _rows(state, config) if r["id"] == ex.winner), None)
    return data


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers={**SECURITY_HEADERS, **(headers or {})},
                             dumps=lambda d: json.dumps(d, ensure_ascii=False))


def _refuse_method(request: web.Request) -> web.Response | None:
    if request.method in ("GET", "HEAD"):
        return None
    return _json({"error": {"status": 405, "message": f"{request.path} answers GET and HEAD only"}},
                 405, {"Allow": "GET, HEAD"})


def _last_reload(request: web.Request) -> dict[str, Any] | None:
    report = request.app[LIVE].last_reload
    return report.as_dict() if report is not None else None


def _display_root(root: Path) -> str:
    """``/home/ada/code/shop`` -> ``~/code/shop``: the header shows where the project is, briefly."""
    try:
        return "~/" + root.relative_to(Path.home()).as_posix()
    except (ValueError, RuntimeError):
        return str(root)


async def routes_page(request: web.Request) -> web.StreamResponse:
    if (refused := _refuse_method(request)) is not None:
        return refused
    config = request.app[CONFIG]
    data = dashboard_data(request.app[STATE].state, config, _last_reload(request))
    text = json.dumps(data, ensure_ascii=False).translate(_SCRIPT_SAFE)
    html = request.app[OWN_TEMPLATES].get_template("dashboard.html").render(
        project=config.root.name, root=str(config.root), root_display=_display_root(config.root),
        data=Markup(text))
    return web.Response(text=html, content_type="text/html",
                        headers={**SECURITY_HEADERS, "Content-Security-Policy": CSP})


async def routes_json(request: web.Request) -> web.StreamResponse:
    if (refused := _refuse_method(request)) is not None:
        return refused
    data = dashboard_data(request.app[STATE].state, request.app[CONFIG], _last_reload(request))
    data["process"] = _process()
    return _json(data)


def _process() -> dict[str, int]:
    """The serving worker, for a soak test watching for leaks (RSS and fds are in /proc/PID)."""
    return {"pid": os.getpid(), "tasks": len(asyncio.all_tasks()), "threads": threading.active_count()}


async def routes_match(request: web.Request) -> web.StreamResponse:
    if (refused := _refuse_method(request)) is not None:
        return refused
    path = request.query.get("path", "")
    method = request.query.get("method", "GET") or "GET"
    if not path.startswith("/"):
        return _bad_query("`path` is required and must start with /, as in /__routes/match?path=/users/42")
    if not _METHOD.match(method):
        return _bad_query(f"`method` must be an HTTP method, got {method!r}")
    accept = request.query.get("accept")
    return _json(match_data(request.app[STATE].state, request.app[CONFIG], path, method, accept or None))


def _bad_query(message: str) -> web.Response:
    return _json({"error": {"status": 400, "message": message}}, 400)


async def routes_slash(request: web.Request) -> web.StreamResponse:
    query = f"?{request.query_string}" if request.query_string else ""
    raise web.HTTPPermanentRedirect("/__routes" + query)


register("/__routes", routes_page)
register("/__routes/", routes_slash)
register("/__routes.json", routes_json)
register("/__routes/match", routes_match)
